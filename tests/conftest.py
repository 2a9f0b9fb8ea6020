"""Shared fixtures: small image folders, trained tiny runs, the real data when present (helpers.py makes them)."""

from pathlib import Path

import pytest
from helpers import DISH_COLOURS, FOOD_DATA, dish_photo, make_class_folder

from foodcls import hub, train


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
