"""The page's handlers and its API, through gradio_client against the app served on 127.0.0.1."""

import io
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers import dish_photo, save
from PIL import Image

from foodcls import hub, models, nutrition, runs, ui, uploads
from foodcls.service import api_inputs
from foodcls.store import RunStore

TABLE = nutrition.NutritionTable.load()


@pytest.fixture(scope="module")
def client(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    demo = ui.build_app(store, TABLE)
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=None,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size="10mb",
        **ui.launch_options(),
    )
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def classify(client, path, run="shallownet", threshold=0.0, servings=1.0, cam=False):
    settings = api_inputs(model_id=run, threshold=threshold, servings=servings, heat_map=cam)
    return client.predict(handle_file(str(path)), *settings, api_name="/classify")


def test_classify_api_names_the_dish_and_gives_its_nutrition(client, tmp_path):
    labels, facts, verdict, cam, details = classify(client, save(dish_photo("ramen"), tmp_path / "meal.png"))
    assert labels["label"] == "라멘 · Ramen"
    assert len(labels["confidences"]) == 3
    energy = dict((row[0], row[1]) for row in facts["value"]["data"])["에너지 Energy"]
    assert energy == "450.0 kcal"
    assert verdict.startswith("## 라멘 · Ramen\n")  # the named dish is the headline
    assert "식품의약품안전처" in verdict and "not a measurement of this plate" in verdict
    assert "ms" not in verdict and "bundled weights/" not in verdict  # technical details are in the fold
    assert "ms" in details and "bundled weights/" in details


def test_grad_cam_heat_map_is_returned_on_request(client, tmp_path):
    *_, cam, _ = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), cam=True)
    assert Image.open(cam).size == (256, 256)


def test_below_the_threshold_the_app_says_unknown_and_hides_nutrition(client, tmp_path):
    labels, facts, verdict, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), threshold=1.0)
    headline, *rest = verdict.split("\n")
    assert headline == "## 잘 모르겠습니다 · Not sure what this is"  # never a dish as the headline
    assert any(line.startswith("- 초밥 · Sushi (") for line in rest)  # the guesses, offered as candidates
    assert facts["visible"] is False
    assert len(labels["confidences"]) == 3


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
        client.predict(None, *api_inputs(model_id="shallownet", threshold=0.5), api_name="/classify")


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


def test_curves_api_serves_the_histories_and_a_missing_one_leaves_the_others(client):
    result = client.predict(api_name="/curves")
    assert set(result["histories"]) == {"ShallowNet", "DeepNet10"}
    assert len(result["histories"]["ShallowNet"]) == 6
    assert "grad_norms" in result["histories"]["DeepNet10"][0]


def test_uploads_over_the_size_cap_are_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(11 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        classify(client, big)
    labels, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "ok.png"))
    assert labels["label"] == "초밥 · Sushi"


def _raw_classify(client, photo_payload, threshold=0.0, cam=True) -> str:
    """POST the /classify call as an attacker would (a path without `meta`), return the event stream."""
    import httpx

    base = client.src.rstrip("/") + "/gradio_api/call/classify"
    body = {"data": [photo_payload, *api_inputs(model_id="shallownet", threshold=threshold, heat_map=cam)]}
    event = httpx.post(base, json=body, timeout=30).json()["event_id"]
    return httpx.get(f"{base}/{event}", timeout=60).text


@pytest.mark.parametrize("target", ["/etc/passwd", "docs/screenshot.png", "README.md", "/nonexistent.png"])
def test_a_file_outside_the_uploads_cannot_be_read_through_the_api(client, target):
    path = str(Path(__file__).resolve().parents[1] / target) if not target.startswith("/") else target
    stream = _raw_classify(client, {"path": path})
    assert "event: error" in stream and "not an upload of this app" in stream
    assert "image" not in stream.split("event: error")[-1].lower().replace("image/", "")  # no picture came back
    assert path not in stream and "UnidentifiedImageError" not in stream


def test_an_uploaded_photo_is_still_classified_after_the_refusals(client, tmp_path):
    labels, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "ok.png"))
    assert labels["label"] == "초밥 · Sushi"


@pytest.mark.parametrize("threshold", [-0.5, 1.5, "high"])
def test_a_threshold_out_of_range_is_refused_with_a_message(client, tmp_path, threshold):
    with pytest.raises(AppError, match="0에서 1"):
        classify(client, save(dish_photo("ramen"), tmp_path / "t.png"), threshold=threshold)


def test_an_iphone_heic_photo_classifies_like_a_jpeg(client, tmp_path):
    import pillow_heif

    heic = tmp_path / "IMG_0042.HEIC"
    pillow_heif.from_pillow(dish_photo("sushi")).save(heic, quality=95)
    labels, facts, verdict, *_ = classify(client, heic)
    assert labels["label"] == "초밥 · Sushi" and "식품의약품안전처" in verdict


def test_nutrition_api_gives_a_dish_by_id_for_grams_or_servings(client):
    one = client.predict("pho", api_name="/nutrition")
    assert one["label"] == "쌀국수 · Pho" and one["grams"] == TABLE.row("pho")["serving_g"]
    half = client.predict("pho", 300, None, api_name="/nutrition")
    assert half["servings"] == 0.5 and half["per_portion"]["energy_kcal"] == pytest.approx(
        one["per_portion"]["energy_kcal"] / 2
    )
    assert client.predict("pho", None, 2, api_name="/nutrition")["grams"] == 1200
    for args, message in [
        (("pizzza",), "^모르는 음식입니다. Unknown dish: pick"),
        (("pho", 9000, None), "at most 5000 g"),
    ]:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name="/nutrition")
    assert client.predict("ramen", api_name="/nutrition")["per_portion"]["energy_kcal"] == 450.0  # still serving


def test_correcting_the_dish_shows_its_table_and_says_what_the_model_said(tiny_weights, tmp_path):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    path = save(dish_photo("ramen"), uploads.own_upload_dir() / "meal.png")  # only uploads are read
    try:
        *_, answer = ui.classify_photo(store, TABLE, path, "shallownet", 0.0, 1.0, False)
    finally:
        uploads.forget(path)  # as a request's upload is, so no other test finds it
    pick, dish, grams = ui.sync_correction(TABLE, answer, 1.0)
    assert dish == "ramen" and grams == 550.0 and pick.value == "ramen" and len(pick.choices) == 3
    radio, chosen, grams, facts, verdict = ui.choose_dish(TABLE, answer, "pho", 1.0)
    assert radio is None and chosen == "pho" and grams == 600.0
    assert "쌀국수 · Pho" in verdict and "The model said: 라멘 · Ramen" in verdict and "D000156" in verdict
    assert facts.value["data"][1][1] == f"{TABLE.row('pho')['energy_kcal']:,.1f} kcal"
    facts, verdict = ui.weigh(TABLE, answer, "pho", 300, 1.0)
    assert facts.value["data"][0][1] == "300 g"


def test_meal_handlers_add_remove_clear_and_refuse_a_bad_portion_without_a_traceback():
    stored, shown, summary, remove_list, link = ui.add_to_meal(TABLE, [], "pho", 300.0, 1.0)
    assert stored == [{"class_id": "pho", "grams": 300.0, "servings": None}] and "Total: 1 dish(es)" in summary
    assert link.startswith('<a href="data:text/csv;charset=utf-8;base64,') and remove_list.choices[0][1] == 0
    stored, *_ = ui.add_to_meal(TABLE, stored, "sushi", None, 2.0)
    assert stored[-1] == {"class_id": "sushi", "grams": None, "servings": 2.0}
    with pytest.warns(UserWarning, match="at most 5000 g"):
        assert all(out is not None for out in ui.add_to_meal(TABLE, stored, "pho", 9000.0, 1.0))
    with pytest.warns(UserWarning, match="Pick a dish first"):
        ui.add_to_meal(TABLE, stored, None, None, 1.0)
    stored, shown, summary, *_ = ui.remove_from_meal(TABLE, stored, 0)
    assert [entry["class_id"] for entry in stored] == ["sushi"] and len(shown.value["data"]) == 2  # dish + total
    stored, shown, summary, _, link = ui.clear_meal(TABLE)
    assert stored == [] and "No dishes" in summary and link == ""
    stored, *_ = ui.load_meal(TABLE, [{"class_id": "pho", "grams": 1e9}, "junk", {"class_id": "ramen", "servings": 1}])
    assert stored == [{"class_id": "ramen", "grams": None, "servings": 1.0}]


def test_study_models_are_labelled_and_the_deployed_model_recommended():
    labels = dict((run, label) for label, run in ui.RUN_CHOICES)
    assert "recommended" in labels[runs.DEPLOYED_RUN] and "101" in labels[runs.DEPLOYED_RUN]
    assert all("study model" in labels[run] for run in models.STUDY_MODELS)


def test_what_it_knows_lists_the_dishes_of_the_chosen_model(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    dishes = ui.known_dishes(store, TABLE, "shallownet")
    assert list(dishes["English"]) == ["Bibimbap", "Ramen", "Sushi"]
    assert list(dishes["한국어"]) == ["비빔밥", "라멘", "초밥"]
