"""The page's handlers and its API, through gradio_client against the app served on 127.0.0.1."""

import io
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers import dish_photo, save
from PIL import Image

from foodcls import hub, models, nutrition, ui
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


def test_study_models_are_labelled_and_the_deployed_model_recommended():
    labels = dict((run, label) for label, run in ui.RUN_CHOICES)
    assert "recommended" in labels[models.DEPLOYED_MODEL]
    assert all("study model" in labels[run] for run in models.STUDY_MODELS)


def test_what_it_knows_lists_the_dishes_of_the_chosen_model(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    dishes = ui.known_dishes(store, TABLE, "shallownet")
    assert list(dishes["English"]) == ["Bibimbap", "Ramen", "Sushi"]
    assert list(dishes["한국어"]) == ["비빔밥", "라멘", "초밥"]
