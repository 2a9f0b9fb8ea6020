"""Shared test helpers: colour photos and class folders made on the fly, where the real data lives."""

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FOOD_DATA = SHARED_DATA / "food101-asian10-64"
COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
DISH_COLOURS = {"bibimbap": COLOURS["red"], "ramen": COLOURS["green"], "sushi": COLOURS["blue"]}


def colour_photo(rgb, seed: int, size: int = 64) -> Image.Image:
    """A flat colour with noise: easy to tell apart by class, never two files the same."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def dish_photo(dish: str, seed: int = 7, size: int = 96) -> Image.Image:
    """A colour 'dish' photo: the tiny trained models learn bibimbap = red, ramen = green, sushi = blue."""
    return colour_photo(DISH_COLOURS[dish], seed, size)


def make_class_folder(root: Path, per_class: int = 12, classes=tuple(COLOURS), suffix: str = ".png") -> Path:
    for label, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            colour_photo(COLOURS[name], seed=label * 1000 + i).save(folder / f"{i}{suffix}")
    return root


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path
