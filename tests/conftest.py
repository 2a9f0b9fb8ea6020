"""Shared fixtures: small image folders made on the fly, and the path of the real data when present."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOOD_DATA = SHARED_DATA / "food101-asian10-64"
COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}


def colour_photo(rgb, seed: int, size: int = 64) -> Image.Image:
    """A flat colour with noise: easy to tell apart by class, never two files the same."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def make_class_folder(root: Path, per_class: int = 12, classes=tuple(COLOURS)) -> Path:
    for label, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            colour_photo(COLOURS[name], seed=label * 1000 + i).save(folder / f"{i}.png")
    return root


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """Three colour classes of twelve 64 px photos each."""
    return make_class_folder(tmp_path / "tiny")


@pytest.fixture
def food_data() -> Path:
    if not FOOD_DATA.is_dir():
        pytest.skip(f"the shared food photos are not at {FOOD_DATA}")
    return FOOD_DATA
