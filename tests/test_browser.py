"""A person's path through the app in a real Chromium: fake webcam, upload, model switch, curves.

Needs Debian's chromium (`apt-get install chromium`) and the playwright package; screenshots of
every step go to artifacts/screenshots/.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers import FOOD_DATA
from PIL import Image

from foodcls import nutrition
from foodcls.launch import ROOT, serve_app

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (requirements-dev.txt)")
CHROMIUM = shutil.which("chromium")
DEPLOYED = ROOT / "weights" / "efficientnet_lite0"
SHOTS = ROOT / "artifacts" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]  # fmt: skip
TABLE = nutrition.NutritionTable.load()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not (DEPLOYED / "config.json").is_file(), reason="no bundled deployed model in weights/"),
    pytest.mark.skipif(not FOOD_DATA.is_dir(), reason=f"the shared food photos are not at {FOOD_DATA}"),
]


def write_y4m(photo: Image.Image, path: Path, side: int = 480, frames: int = 5) -> Path:
    """A short raw video (YUV 4:2:0) of one still photo, for Chromium's fake webcam."""
    image = photo.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    y, cb, cr = image.convert("YCbCr").split()
    frame = y.tobytes() + cb.resize((side // 2, side // 2)).tobytes() + cr.resize((side // 2, side // 2)).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame)
    return path


@pytest.fixture(scope="module")
def test_photo() -> Path:
    """A held-out photo of the deployed model's test split (first of the 'pho' class)."""
    split = json.loads((DEPLOYED / "split.json").read_text())["splits"]["test"]
    return FOOD_DATA / next(path for path in split if path.startswith("pho/"))


@pytest.fixture(scope="module")
def app_url():
    with serve_app() as (url, _):
        yield url


@pytest.fixture
def page(app_url, test_photo, tmp_path, request):
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-"),
            executable_path=CHROMIUM,
            headless=True,
            args=[*FLAGS, f"--use-file-for-fake-video-capture={video}"],
            viewport={"width": 1280, "height": 1100},
            permissions=["camera"],
            locale="en-US",
        )
        page = context.new_page()
        page.goto(app_url)
        yield page
        page.screenshot(path=SHOTS / f"end-{request.node.name}.png", full_page=True)
        context.close()


def test_webcam_snapshot_names_the_dish_and_shows_nutrition(page, test_photo):
    page.screenshot(path=SHOTS / "1-start.png")
    threshold = page.get_by_label("number input for Confidence threshold")
    threshold.fill("0.1")  # a hard photo: pho is not the first guess (miso soup is); show nutrition anyway
    threshold.press("Enter")
    page.get_by_text("Click to Access Webcam").click()
    page.wait_for_function(  # the fake camera's stream is playing: a snapshot now has pixels
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && v.videoWidth > 0; }",
        timeout=30_000,
    )
    page.get_by_label("capture photo").click()
    page.get_by_text("kcal").first.wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "2-webcam-result.png", full_page=True)
    body = page.inner_text("body")
    true_dish = TABLE.dish(test_photo.parent.name).label
    assert any(TABLE.dish(dish).label in body for dish in TABLE.class_ids()), "no known dish on the page"
    assert true_dish in body  # the true class is among the top three shown
    assert "식품의약품안전처" in body and "Traceback" not in body
    assert "No photo" not in body  # changing a setting before the snapshot is not an error


def upload(page, photo: Path) -> None:
    page.get_by_label("Upload file").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_label("Drop an image file here to upload").click()
    chooser.value.set_files(str(photo))


def test_upload_then_switch_model(page, test_photo):
    upload(page, test_photo)
    page.wait_for_function("() => document.body.innerText.includes('EfficientNet-Lite0 from')", timeout=60_000)
    assert "No photo" not in page.inner_text("body")  # choosing the upload source is not an error
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="ResNet18").click()
    page.wait_for_function("() => document.body.innerText.includes('ResNet18 from')", timeout=60_000)
    page.screenshot(path=SHOTS / "3-upload-resnet18.png", full_page=True)
    page.get_by_label("Remove Image").click()  # removing the photo clears its result, without an error
    page.wait_for_function("() => !document.body.innerText.includes('ResNet18 from')", timeout=30_000)
    assert "No photo" not in page.inner_text("body")


def test_grad_cam_checkbox_shows_the_heat_map_and_each_new_result_fills_it(page, test_photo):
    threshold = page.get_by_label("number input for Confidence threshold")
    threshold.fill("0.1")  # the heat map is drawn only for a dish the model names
    threshold.press("Enter")
    upload(page, test_photo)
    page.wait_for_function("() => document.body.innerText.includes('EfficientNet-Lite0 from')", timeout=60_000)
    heat_map = page.locator(".block", has_text="Grad-CAM heat map").locator("img")
    assert heat_map.count() == 0
    page.get_by_label("Show where the model looked (Grad-CAM)").check()
    heat_map.wait_for(timeout=60_000)
    first = heat_map.get_attribute("src")
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="ResNet18").click()
    page.wait_for_function("() => document.body.innerText.includes('ResNet18 from')", timeout=60_000)
    playwright.expect(heat_map).not_to_have_attribute("src", first)  # the new result's heat map
    page.screenshot(path=SHOTS / "4-grad-cam.png", full_page=True)
    page.get_by_label("Show where the model looked (Grad-CAM)").uncheck()
    heat_map.wait_for(state="detached", timeout=30_000)


def test_a_photo_that_is_not_food_gets_the_unknown_dish_message(page, tmp_path):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8))
    noise.save(tmp_path / "noise.png")
    upload(page, tmp_path / "noise.png")
    page.get_by_text("probably none of the dishes").wait_for(timeout=60_000)
    assert "kcal" not in page.inner_text("body")
    page.screenshot(path=SHOTS / "4-not-food.png", full_page=True)


def test_curves_tab_draws_one_line_per_model_and_follows_the_selection(page):
    page.get_by_role("tab", name="Training curves").click()
    page.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for(timeout=60_000)
    traces = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace")
    assert traces.count() == 5
    page.screenshot(path=SHOTS / "5-curves.png", full_page=True)
    page.get_by_label("DeepNet10", exact=True).first.uncheck()
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot').querySelectorAll('.scatterlayer .trace').length === 4",
        timeout=30_000,
    )
    page.screenshot(path=SHOTS / "6-curves-without-deepnet10.png", full_page=True)
