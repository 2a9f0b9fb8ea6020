"""Shared fixtures: small image folders made on the fly, and the path of the real data when present."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from foodcls import hub, train

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
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


@pytest.fixture(scope="session")
def tiny_dishes(tmp_path_factory) -> Path:
    """Three colour 'dishes' (bibimbap, ramen, sushi) of twenty 64 px photos each."""
    root = tmp_path_factory.mktemp("dishes")
    for label, dish in enumerate(DISH_COLOURS):
        (root / dish).mkdir()
        for i in range(20):
            dish_photo(dish, label * 100 + i, 64).save(root / dish / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def tiny_weights(tiny_dishes, tmp_path_factory) -> Path:
    """A weights/ folder with a ShallowNet that tells three colour 'dishes' apart, and a DeepNet10."""
    out = tmp_path_factory.mktemp("weights")
    common = ["--data", str(tiny_dishes), "--out", str(out), "--batch-size", "8"]
    train.main([*common, "--models", "shallownet", "--epochs", "6", "--lr", "0.05"])
    train.main([*common, "--models", "deepnet10", "--epochs", "1"])
    hub.write_manifest(out)  # what a Hub download of these weights is checked against
    return out
