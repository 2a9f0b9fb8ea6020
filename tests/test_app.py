"""The app's functions and its API, through gradio_client against the app served on 127.0.0.1."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FOOD_DATA, dish_photo
from fakehub import FakeHub
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from huggingface_hub import constants
from PIL import Image

from foodcls import curves, hub, models, nutrition, predict, ui
from foodcls.store import BUNDLED, ModelUnavailable, RunStore

ROOT = Path(__file__).resolve().parents[1]
TABLE = nutrition.load_table()


@pytest.fixture(scope="module")
def client(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    demo = ui.build_app(store, TABLE)
    demo.queue().launch(
        server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True, max_file_size="10mb"
    )
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def classify(client, path, run="shallownet", threshold=0.0, servings=1.0, cam=False):
    return client.predict(handle_file(str(path)), run, threshold, servings, cam, api_name="/classify")


def test_classify_api_names_the_dish_and_gives_its_nutrition(client, tmp_path):
    labels, facts, verdict, cam = classify(client, save(dish_photo("ramen"), tmp_path / "meal.png"))
    assert labels["label"] == "라면 · Ramyeon"
    assert len(labels["confidences"]) == 3
    energy = dict((row[0], row[1]) for row in facts["value"]["data"])["에너지 Energy"]
    assert energy == "450.0 kcal"
    assert "식품의약품안전처" in verdict and "not a measurement of this plate" in verdict
    assert "ms" in verdict and "bundled weights/" in verdict


def test_grad_cam_heat_map_is_returned_on_request(client, tmp_path):
    *_, cam = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), cam=True)
    assert Image.open(cam).size == (256, 256)


@pytest.mark.parametrize("model_id", list(models.MODEL_SPECS))
def test_grad_cam_draws_a_heat_map_on_every_architecture_as_served(model_id):
    size = models.MODEL_SPECS[model_id].input_size
    config = {"input_size": size, "mean": [0.5] * 3, "std": [0.5] * 3, "classes": list("abc"), "tta_flip": True}
    classifier = predict.Classifier(models.build_model(model_id, 3), config)
    heat_map = predict.grad_cam(classifier, dish_photo("ramen"), class_index=1)
    assert heat_map.size == (256, 256)
    assert np.asarray(heat_map).std() > 0


def test_below_the_threshold_the_app_says_unknown_and_hides_nutrition(client, tmp_path):
    labels, facts, verdict, _ = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), threshold=1.0)
    assert "probably none of the dishes" in verdict
    assert facts["visible"] is False
    assert len(labels["confidences"]) == 3  # the guesses stay visible, marked as such


def test_servings_scale_per_serving_values_but_not_per_100g():
    single, double = nutrition.facts(TABLE["bibimbap"], 1), nutrition.facts(TABLE["bibimbap"], 2)
    assert single.iloc[1, 1] == "637.0 kcal" and double.iloc[1, 1] == "1,274.0 kcal"
    assert single.iloc[0, 1] == "450 g" and double.iloc[0, 1] == "900 g"
    assert single.iloc[1, 2] == double.iloc[1, 2] == f"{637 / 4.5:,.1f} kcal"


def test_a_zero_that_means_not_analysed_is_not_shown_as_zero():
    ramen = nutrition.facts(TABLE["ramen"], 1).set_index("영양소 Nutrient")
    assert ramen.loc["콜레스테롤 Cholesterol"].iloc[0] == "n/a (not analysed)"


def test_nutrition_table_covers_every_training_class_and_common_korean_dishes():
    for dish in ("bibimbap", "chicken_wings", "dumplings", "fried_rice", "gyoza", "miso_soup", "peking_duck", "pho"):
        assert dish in TABLE
    assert TABLE["김치찌개"]["food_code"] == "D000385" and TABLE["sushi"]["name_ko"] == "생선초밥(모듬)"


def test_a_dish_without_a_nutrition_row_says_so(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    table = {k: v for k, v in TABLE.items() if k != "ramen"}
    _, facts, verdict, _ = ui.classify(store, table, dish_photo("ramen"), "shallownet", 0.0, 1.0, False)
    assert "no nutrition data" in verdict and facts.empty


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a photo")
    bomb = folder / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    truncated = io.BytesIO()
    dish_photo("ramen").save(truncated, "JPEG")
    (folder / "cut.jpg").write_bytes(truncated.getvalue()[:300])
    return {
        "zero-byte": (folder / "empty.jpg", "empty"),
        "not an image": (folder / "notes.jpg", "not a readable image"),
        "decompression bomb": (bomb, "too large"),
        "one pixel": (save(Image.new("RGB", (1, 1)), folder / "dot.png"), "too small"),
        "truncated": (folder / "cut.jpg", "not a readable image"),
    }


def test_bad_inputs_get_a_clear_message_and_the_app_keeps_serving(client, tmp_path):
    for case, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(AppError, match=message):
            classify(client, path)
        labels, *_ = classify(client, save(dish_photo("bibimbap"), tmp_path / "ok.png"))
        assert labels["label"] == "비빔밥 · Bibimbap", case


def test_no_photo_gets_a_clear_message(client):
    with pytest.raises(AppError, match="No photo"):
        client.predict(None, "shallownet", 0.5, 1.0, False, api_name="/classify")


def test_unusual_colour_modes_and_animations_classify_correctly(client, tmp_path):
    red = dish_photo("bibimbap", size=80)
    sixteen = Image.fromarray(np.asarray(red.convert("L"), dtype=np.uint16) * 257)
    cases = {
        "rgba.png": (red.convert("RGBA"), {}),
        "cmyk.jpg": (red.convert("CMYK"), {}),
        "palette.png": (red.convert("P"), {}),
        "anim.gif": (red, {"save_all": True, "append_images": [dish_photo("sushi", size=80)]}),
    }
    for name, (image, options) in cases.items():
        labels, *_ = classify(client, save(image, tmp_path / name, **options))
        assert labels["label"] == "비빔밥 · Bibimbap", name
    for name, image in {"grey.png": red.convert("L"), "sixteen.png": sixteen}.items():
        labels, *_ = classify(client, save(image, tmp_path / name))
        assert len(labels["confidences"]) == 3, name


def test_a_rotated_phone_photo_is_turned_upright(tmp_path):
    wide = Image.new("RGB", (120, 60), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 8
    path = save(wide, tmp_path / "phone.jpg", exif=exif)
    assert ui.read_photo(path).size == (60, 120)


def test_curves_figure_has_one_trace_per_model_and_split():
    history = [
        {"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_acc": 0.1 * e, "val_acc": 0.1 * e} for e in (1, 2)
    ]
    histories = {"A": history, "B": history, "C": history}
    assert len(curves.curves_figure(histories, "loss", "both", True).data) == 6
    figure = curves.curves_figure(histories, "accuracy", "val", False)
    assert [trace.name for trace in figure.data] == ["A (validation)", "B (validation)", "C (validation)"]
    assert list(figure.data[0].y) == [0.1, 0.2]


def test_curves_api_serves_the_histories_and_a_missing_one_leaves_the_others(client):
    result = client.predict(api_name="/curves")
    assert set(result["histories"]) == {"ShallowNet", "DeepNet10"}
    assert len(result["histories"]["ShallowNet"]) == 6
    assert "grad_norms" in result["histories"]["DeepNet10"][0]


def test_explanation_quotes_the_measured_numbers(tiny_weights):
    data = ui.CurvesData(RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights)))
    histories, configs, _ = data.get()
    text = curves.explanation(configs, histories)
    assert f"{histories['ShallowNet'][-1]['val_acc']:.1%}" in text


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_weights_download_through_huggingface_hub_and_are_cached(tiny_weights, tmp_path, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource(
            "foodcls/test",
            "v1",
            bundled=tmp_path / "no-bundle",
            endpoint=fake.url,
            manifest=tiny_weights / "SHA256SUMS",
        )
        classifier, label = RunStore(source).classifier("shallownet")
        assert label == "Hugging Face Hub foodcls/test@v1"
        assert "/foodcls/test/resolve/v1/shallownet/model.safetensors" in fake.downloads()
        assert list(hf_cache.rglob("model.safetensors"))
        _, again = RunStore(source).classifier("shallownet")  # a new process would find it in the cache
        assert again == label
        assert fake.downloads().count("/foodcls/test/resolve/v1/shallownet/model.safetensors") == 1
    labels, *_ = ui.classify(RunStore(source), TABLE, dish_photo("ramen"), "shallownet", 0.0, 1.0, False)
    assert next(iter(labels)) == "라면 · Ramyeon"  # served from the cache with the Hub gone


def test_bundled_weights_serve_when_the_hub_is_unreachable(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        url = fake.url  # a port that answers nothing once the server is gone
    store = RunStore(hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=url))
    _, label = store.classifier("shallownet")
    assert label == BUNDLED and store.hub_down


@pytest.mark.parametrize("mode", ["error500", "hang", "corrupt"])
def test_a_failing_hub_falls_back_to_bundled_weights(mode, tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        fake.mode = mode
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url, timeout=1.0)
        store = RunStore(source)
        started = time.monotonic()
        classifier, label = store.classifier("shallownet")
        assert label == BUNDLED
        assert time.monotonic() - started < 25  # not stuck behind the hanging Hub
        assert classifier.predict(dish_photo("sushi"))[0][0] == "sushi"


def test_a_model_missing_everywhere_is_unavailable_while_the_others_work(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")
    assert store.classifier("shallownet")[1] == BUNDLED


def test_a_warmed_up_model_is_ready_for_the_first_request_and_a_missing_one_is_left_to_it(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    store.warm_up("shallownet").join()
    store.warm_up("resnet18").join()  # not in tiny_weights: no exception escapes the warm-up
    assert "shallownet" in store._classifiers
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")


@pytest.mark.skipif(
    not (ROOT / "weights" / "efficientnet_lite0" / "config.json").is_file(), reason="no bundled deployed model"
)
def test_the_deployed_model_puts_a_real_photo_in_its_top_three(client):
    if not FOOD_DATA.is_dir():
        pytest.skip(f"the shared food photos are not at {FOOD_DATA}")
    store = RunStore(hub.WeightsSource(None, "unused"))
    split = (ROOT / "weights" / "efficientnet_lite0" / "split.json").read_text()
    import json

    by_class = {}
    for relative in json.loads(split)["splits"]["test"]:  # two held-out photos of each of the ten dishes
        by_class.setdefault(relative.split("/")[0], []).append(relative)
    test_files = [relative for files in by_class.values() for relative in files[:2]]
    hits = 0
    for relative in test_files:
        labels, *_ = ui.classify(
            store, TABLE, ui.read_photo(FOOD_DATA / relative), "efficientnet_lite0", 0.0, 1.0, False
        )
        hits += nutrition.display_name(relative.split("/")[0], TABLE) in labels
    assert hits >= 17  # top-3 on held-out photos; the card reports the rate on the whole test split


def test_uploads_over_the_size_cap_are_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(11 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        classify(client, big)
    labels, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "ok.png"))
    assert labels["label"] == "생선초밥(모듬) · Assorted sushi"
