"""The request layer without Gradio: reading a photo, classifying it, the nutrition of the dish."""

import json

import numpy as np
import pytest
from helpers import FOOD_DATA, ROOT, dish_photo, save
from PIL import Image

from foodcls import hub, nutrition, predict, runs, service, ui
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


def test_dish_facts_gives_a_dish_for_grams_or_servings_as_json():
    one = service.dish_facts(table=TABLE, class_id="pho")
    assert one["label"] == "쌀국수 · Pho" and one["grams"] == 600.0 and one["servings"] == 1.0
    assert one["per_portion"]["energy_kcal"] == TABLE.row("pho")["energy_kcal"] and one["units"]["sodium_mg"] == "mg"
    half = service.dish_facts(table=TABLE, class_id="pho", grams=300)
    assert half["servings"] == 0.5 and half["per_portion"]["energy_kcal"] == pytest.approx(
        one["per_portion"]["energy_kcal"] / 2
    )
    two = service.dish_facts(table=TABLE, class_id="pho", servings=2)
    assert two["grams"] == 1200.0 and two["per_100g"] == one["per_100g"]
    assert json.loads(json.dumps(two, allow_nan=False)) == two  # plain JSON, no NaN
    assert service.dish_facts(table=TABLE, class_id="ramen")["per_portion"]["sugars_g"] is None  # not analysed
    none = service.dish_facts(table=TABLE, class_id="takoyaki")
    assert none["has_data"] is False and none["per_portion"]["energy_kcal"] is None


def test_dish_facts_refuses_an_unknown_dish_and_a_bad_portion_in_both_languages():
    with pytest.raises(service.UnknownDish, match="^모르는 음식입니다. Unknown dish: pick a dish"):  # not echoed
        service.dish_facts(table=TABLE, class_id="pizzza")
    with pytest.raises(ValueError, match="그램.*at most 5000 g"):
        service.dish_facts(table=TABLE, class_id="pho", grams=9000)
    with pytest.raises(ValueError, match="not both"):
        service.dish_facts(table=TABLE, class_id="pho", grams=100, servings=1)


def test_heic_and_avif_photos_read_like_jpegs(tmp_path):
    import pillow_heif

    photo = dish_photo("ramen", size=64)
    heic = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(photo).save(heic, quality=95)  # made by the library itself, as an iPhone would
    assert pillow_heif.is_supported(heic) and heic.read_bytes()[4:12] == b"ftypheic"  # a real HEIC file
    avif = save(photo, tmp_path / "photo.avif", quality=95)
    for path in (heic, avif):
        read = service.read_photo(path)
        assert read.mode == "RGB" and read.size == (64, 64)
        mean = np.asarray(read, dtype=np.float32).mean(axis=(0, 1))
        assert abs(mean - np.asarray(photo, dtype=np.float32).mean(axis=(0, 1))).max() < 8, path.name


@pytest.mark.skipif(not (ROOT / "weights" / runs.DEPLOYED_RUN / "config.json").is_file(), reason="no deployed run")
def test_the_one_line_python_api_answers_what_the_app_answers_for_a_full_size_photo():
    if not FOOD_DATA.is_dir():
        pytest.skip(f"the shared food photos are not at {FOOD_DATA}")
    small = Image.open(next((FOOD_DATA / "pho").iterdir())).convert("RGB")
    photo = small.resize((1600, 1200), Image.Resampling.BICUBIC)  # a phone-sized photo, not square
    expected = predict.load_classifier(ROOT / "weights" / runs.DEPLOYED_RUN).predict(photo, k=service.TOP_K)
    store = RunStore(hub.WeightsSource(None, "unused"))  # the bundled weights, as the app loads them
    result = service.classify(store=store, table=TABLE, photo=photo, model_id=runs.DEPLOYED_RUN, threshold=0.0)
    assert [dish.class_id for dish in result.top] == [class_id for class_id, _ in expected]
    assert [dish.probability for dish in result.top] == pytest.approx([p for _, p in expected], abs=1e-6)
