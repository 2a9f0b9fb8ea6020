"""The request layer without Gradio: reading a photo, classifying it, the nutrition of the dish."""

import json

import pytest
from helpers import FOOD_DATA, ROOT, dish_photo, save
from PIL import Image

from foodcls import hub, nutrition, service, ui
from foodcls.store import RunStore

TABLE = nutrition.NutritionTable.load()


def test_a_classification_names_the_dish_with_its_nutrition_and_where_the_weights_came_from(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    result = service.classify(
        store=store, table=TABLE, photo=dish_photo("ramen"), model_id="shallownet", threshold=0.0, grams=1100
    )
    assert result.nutrition.grams == 1100 and abs(result.nutrition.per_portion["energy_kcal"] - 900) < 1e-6
    result = service.classify(store=store, table=TABLE, photo=dish_photo("ramen"), model_id="shallownet", threshold=0.0)
    assert result.best.label == "라멘 · Ramen" and result.best.class_id == "ramen"
    assert len(result.top) == 3 and result.named and result.weights_source == "bundled weights/"
    assert result.nutrition.per_portion["energy_kcal"] == 450.0 and result.inference_ms > 0
    assert "D018163" in result.nutrition.source_line and "closest" in result.nutrition.source_line


def test_a_dish_without_a_nutrition_row_says_so(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    table = nutrition.NutritionTable([TABLE.row(k) for k in TABLE.class_ids() if k != "ramen"])
    result = service.classify(store=store, table=table, photo=dish_photo("ramen"), model_id="shallownet", threshold=0.0)
    assert "No nutrition data" in ui.verdict(result) and result.nutrition is None


def test_a_rotated_phone_photo_is_turned_upright(tmp_path):
    wide = Image.new("RGB", (120, 60), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 8
    path = save(wide, tmp_path / "phone.jpg", exif=exif)
    assert service.read_photo(path).size == (60, 120)


@pytest.mark.skipif(
    not (ROOT / "weights" / "efficientnet_lite0" / "config.json").is_file(), reason="no bundled deployed model"
)
def test_the_deployed_model_puts_a_real_photo_in_its_top_three():
    if not FOOD_DATA.is_dir():
        pytest.skip(f"the shared food photos are not at {FOOD_DATA}")
    store = RunStore(hub.WeightsSource(None, "unused"))
    split = (ROOT / "weights" / "efficientnet_lite0" / "split.json").read_text()
    by_class = {}
    for relative in json.loads(split)["splits"]["test"]:  # two held-out photos of each of the ten dishes
        by_class.setdefault(relative.split("/")[0], []).append(relative)
    test_files = [relative for files in by_class.values() for relative in files[:2]]
    hits = 0
    for relative in test_files:
        photo = service.read_photo(FOOD_DATA / relative)
        result = service.classify(store=store, table=TABLE, photo=photo, model_id="efficientnet_lite0", threshold=0.0)
        hits += TABLE.dish(relative.split("/")[0]).label in [dish.label for dish in result.top]
    assert hits >= 17  # top-3 on held-out photos; the card reports the rate on the whole test split
