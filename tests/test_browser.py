"""A person's path through the app in a real Chromium: fake webcam, upload, model switch, curves,
and the page as people use it (phone 390x844 and desktop 1280x900, Korean and English): the verdict
in view, an honest headline, keyboard use, an axe-core scan, a curves tab that explains itself.

Needs Debian's chromium (`apt-get install chromium`), the playwright package and axe-core
(`npm ci`); screenshots of every step go to artifacts/screenshots/, axe results and the curves tab's
load times to artifacts/page/.
"""

import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from helpers import FOOD_DATA
from PIL import Image

from foodcls import nutrition, predict, texts
from foodcls.launch import ROOT, serve_app

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (requirements-dev.txt)")
CHROMIUM = shutil.which("chromium")
DEPLOYED = ROOT / "weights" / "efficientnet_lite0"
SHOTS = ROOT / "artifacts" / "screenshots"
REPORTS = ROOT / "artifacts" / "page"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
LOCALES = {"ko": "ko-KR", "en": "en-US"}
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
    """A held-out photo of the deployed model's test split: the first of the 'pho' class that the model,
    reading the file, names right, so the browser tests check the page's path, not the model."""
    split = json.loads((DEPLOYED / "split.json").read_text())["splits"]["test"]
    classifier = predict.load_classifier(DEPLOYED)
    photos = (FOOD_DATA / path for path in split if path.startswith("pho/"))
    return next(photo for photo in photos if classifier.predict(Image.open(photo), k=1)[0][0] == "pho")


@pytest.fixture(scope="module")
def app_url():
    with serve_app() as (url, _):
        yield url


@contextmanager
def open_page(url: str, video: Path, viewport: dict, locale: str):
    """The app in a fresh Chromium profile with a fake webcam playing `video`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-"),
            executable_path=CHROMIUM,
            headless=True,
            args=[*FLAGS, f"--use-file-for-fake-video-capture={video}"],
            viewport=viewport,
            permissions=["camera"],
            locale=locale,
        )
        try:
            page = context.new_page()
            page.goto(url)
            yield page
        finally:
            context.close()


@pytest.fixture
def page(app_url, test_photo, tmp_path, request):
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, {"width": 1280, "height": 1100}, "en-US") as page:
        yield page
        page.screenshot(path=SHOTS / f"end-{request.node.name}.png", full_page=True)


def details_say(page, text: str, timeout: float = 60_000) -> None:
    """Open the details fold (model, weights source, timing) and wait until it holds `text`."""
    if not page.locator("#details").is_visible():
        page.locator("#details-fold button").first.click()
    page.wait_for_function(
        "text => (document.getElementById('details')?.textContent || '').includes(text)", arg=text, timeout=timeout
    )


def test_webcam_snapshot_names_the_dish_and_shows_nutrition(page, test_photo):
    page.screenshot(path=SHOTS / "1-start.png")
    threshold = page.get_by_label("number input for How sure before naming a dish")
    threshold.fill("0.1")  # a snapshot is not the file: name a dish and show nutrition even when unsure
    threshold.press("Enter")
    page.get_by_text("Click to Access Webcam").click()
    page.wait_for_function(  # the fake camera's stream is playing: a snapshot now has pixels
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && v.videoWidth > 0; }",
        timeout=30_000,
    )
    page.get_by_label("capture photo").click()
    page.locator("text=kcal >> visible=true").first.wait_for(timeout=60_000)
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
    details_say(page, "EfficientNet-Lite0 · weights from")
    assert "No photo" not in page.inner_text("body")  # choosing the upload source is not an error
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="ResNet18").click()
    details_say(page, "ResNet18 · weights from")
    page.screenshot(path=SHOTS / "3-upload-resnet18.png", full_page=True)
    page.get_by_label("Remove Image").click()  # removing the photo clears its result, without an error
    page.wait_for_function("() => !document.getElementById('details').textContent.includes('ResNet18')")
    assert "No photo" not in page.inner_text("body")


def test_grad_cam_checkbox_shows_the_heat_map_and_each_new_result_fills_it(page, test_photo):
    threshold = page.get_by_label("number input for How sure before naming a dish")
    threshold.fill("0.1")  # the heat map is drawn only for a dish the model names
    threshold.press("Enter")
    upload(page, test_photo)
    details_say(page, "EfficientNet-Lite0 · weights from")
    heat_map = page.locator("#heatmap img")
    assert heat_map.count() == 0
    page.get_by_label("Show where the model looked (Grad-CAM)").check()
    heat_map.wait_for(timeout=60_000)
    first = heat_map.get_attribute("src")
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="ResNet18").click()
    details_say(page, "ResNet18 · weights from")
    playwright.expect(heat_map).not_to_have_attribute("src", first)  # the new result's heat map
    page.screenshot(path=SHOTS / "4-grad-cam.png", full_page=True)
    page.get_by_label("Show where the model looked (Grad-CAM)").uncheck()
    heat_map.wait_for(state="detached", timeout=30_000)


def test_a_photo_that_is_not_food_gets_the_unknown_dish_message(page, tmp_path):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8))
    noise.save(tmp_path / "noise.png")
    upload(page, tmp_path / "noise.png")
    page.get_by_text(texts.both("unsure_headline", sep=" · ")).wait_for(timeout=60_000)
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


# --- the page as people use it: both viewports, both locales --------------------------------------

IN_VIEW = """selector => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}"""
TABLES_FIT_OR_SCROLL_VISIBLY = """() => [...document.querySelectorAll('table')].filter(t => t.offsetParent).map(t => {
  let scroller = t;  // the nearest box that clips the table, if it is wider than its box
  while (scroller && !(scroller.scrollWidth > scroller.clientWidth + 1)) scroller = scroller.parentElement;
  const bottom = t.closest('.block').getBoundingClientRect().bottom;
  const hinted = [...document.querySelectorAll('.scroll-hint')].some(h => {
    const top = h.getBoundingClientRect().top;
    return h.offsetParent && top >= bottom - 1 && top < bottom + 80;
  });  // phones hide scroll bars: a line right under the table says it scrolls
  return {fits: !scroller && t.getBoundingClientRect().right <= window.innerWidth + 1,
          scrolls_visibly: !!scroller && ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX) && hinted};
})"""
FOCUSED = """() => {
  const e = document.activeElement;
  const block = e.closest('#photo, #model, #threshold, #servings, #gradcam, #classify, #details-fold, #known-dishes');
  return block ? block.id : e.getAttribute('role') || e.tagName;
}"""


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (every rule, whole page)."""
    page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '')),
        }))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def report(name: str, data) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))


def tab_through(page, presses: int = 40) -> set[str]:
    """Which controls Tab reaches, from the top of the page."""
    page.locator("body").focus()
    reached = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(FOCUSED))
    return reached


def verdict_headline(page) -> str:
    return page.locator("#verdict h2").inner_text().strip()


def classify_by_keyboard(page, photo: Path, language: str) -> None:
    """Threshold to 100% with End, upload by Enter on the drop area: the page must say it is not sure,
    in view, with the three guesses as candidates and no dish as the headline."""
    slider = page.locator("#threshold input[type=range]")
    slider.focus()
    page.keyboard.press("End")
    page.locator("#photo button[aria-label='Upload file']").click()
    drop_text = texts.GRADIO_LABELS["upload_text.drop_image"][0 if language == "ko" else 1]
    assert drop_text in page.inner_text("#photo")  # Gradio's own string, overridden in the person's language
    drop_area = page.locator("#photo button.upload-container")
    page.wait_for_function("() => window.foodclsKeys")  # the page's keyboard script (ui.PAGE_JS) is in
    file_input = drop_area.locator("input[type=file]")
    file_input.evaluate("input => input.addEventListener('click', () => { window.chooserAsked = true; })")
    drop_area.focus()
    page.keyboard.press("Enter")  # a person gets the file chooser (it opens: see ui.PAGE_JS); here
    page.wait_for_function("() => window.chooserAsked", timeout=10_000)  # headless, it is asked for
    file_input.set_input_files(str(photo))
    page.locator("#verdict h2").wait_for(timeout=60_000)
    assert verdict_headline(page) == texts.both("unsure_headline", sep=" · ")
    try:  # the page scrolls the verdict into view once the answer is drawn
        page.wait_for_function(IN_VIEW, arg="#verdict h2", timeout=10_000)
    except playwright.TimeoutError:
        pytest.fail("the verdict is not in view 10 s after the upload")
    assert page.locator("#verdict li").count() == 3  # the three guesses, as candidates
    assert not any(dish.label in verdict_headline(page) for dish in TABLE.dishes())
    assert page.locator("#photo img").first.get_attribute("alt"), "the photo has no text alternative"


def name_the_dish_with_arrow_keys(page) -> str:
    """Arrow keys on the threshold re-classify: down to 0, the app names the dish in the headline."""
    page.locator("#threshold input[type=range]").focus()
    for _ in range(20):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "text => document.querySelector('#verdict h2')?.innerText.trim() !== text",
        arg=texts.both("unsure_headline", sep=" · "),
        timeout=60_000,
    )
    headline = verdict_headline(page)
    assert headline in [dish.label for dish in TABLE.dishes()], headline
    page.locator("#facts").get_by_text("kcal").filter(visible=True).first.wait_for(timeout=30_000)
    return headline


def use_the_other_controls_by_keyboard(page) -> None:
    """Space ticks the Grad-CAM box (the heat map appears, with alt text); Enter opens the details fold."""
    page.locator("#gradcam input").focus()
    page.keyboard.press("Space")
    heat_map = page.locator("#heatmap img")
    heat_map.wait_for(state="attached", timeout=60_000)
    heat_map.scroll_into_view_if_needed()  # as a person scrolls to it: off-screen, a lazy image has no size
    heat_map.wait_for(timeout=10_000)
    assert heat_map.get_attribute("alt"), "the heat map has no text alternative"
    page.locator("#details-fold button").first.focus()
    page.keyboard.press("Enter")
    page.locator("#details").get_by_text("ms").first.wait_for(state="visible", timeout=10_000)
    page.locator("#classify").focus()
    page.keyboard.press("Enter")  # the Classify button acts on Enter: the answer stays in view
    page.locator("#verdict h2").wait_for()
    settled(page)


def settled(page) -> None:
    """No request pending: Gradio fades pending outputs and lays its progress over them, which an axe
    scan must not see."""
    page.wait_for_function("() => !document.querySelector('.pending, .generating, .progress-text')", timeout=60_000)
    page.wait_for_timeout(500)


def open_curves_tab(page) -> dict:
    """Click the curves tab and time it until its three plots are drawn (performance.now, in ms)."""
    started = page.evaluate("performance.now()")
    page.get_by_role("tab").nth(1).click()
    page.wait_for_function(
        """() => { const plots = document.querySelectorAll('.js-plotly-plot');
                   return plots.length === 3 && [...plots].every(p => p.querySelector('.scatterlayer .trace')); }""",
        timeout=60_000,
    )
    drawn = page.evaluate("performance.now()")
    return {"click_to_plots_ms": round(drawn - started), "navigation_to_plots_ms": round(drawn)}


def check_curves_explain_themselves(page) -> None:
    figures = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => ({
            title: p.layout.title.text, y_title: p.layout.yaxis.title.text, y_range: p.layout.yaxis.range,
            names: p.data.map(t => t.name), colours: p.data.map(t => t.line && t.line.color),
            shapes: (p.layout.shapes || []).length,
            annotations: (p.layout.annotations || []).map(a => a.text) }))"""
    )
    accuracy, plain, skip = figures
    assert accuracy["shapes"] == 1 and any("chance" in text for text in accuracy["annotations"])
    assert all(figure["title"] and figure["y_title"] for figure in figures)
    assert plain["y_range"] == skip["y_range"], "the gradient-norm plots do not share their y axis"
    for figure in (plain, skip):
        assert "input side" in figure["names"][0] and "output side" in figure["names"][-1]
        assert len(set(figure["colours"])) == len(figure["colours"])  # one colour per layer
    assert not [e for e in page.get_by_text("Plot", exact=True).all() if e.is_visible()], "a box is labelled 'Plot'"
    widths = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.getBoundingClientRect().right)"
    )
    assert max(widths) <= page.viewport_size["width"] + 1, "a plot is wider than the screen"


@pytest.mark.slow
@pytest.mark.parametrize("language", list(LOCALES))
@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_the_page_as_people_use_it(app_url, test_photo, tmp_path, screen, language):
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run `npm ci` at the repository root")
    case = f"{screen}-{language}"
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, VIEWPORTS[screen], LOCALES[language]) as page:
        page.get_by_role("tab").first.wait_for()
        assert texts.LABELS["tab_classify"][0 if language == "ko" else 1] in page.inner_text("body")
        settled(page)  # the page's own load (meal, curves) has answered: Gradio fades what it waits on
        violations = {"classify": axe_violations(page)}
        classify_by_keyboard(page, test_photo, language)
        page.screenshot(path=SHOTS / f"page-{case}-unsure.png")
        name_the_dish_with_arrow_keys(page)
        reached = tab_through(page)  # with a result shown, before Enter starts another classification
        use_the_other_controls_by_keyboard(page)
        tables = page.evaluate(TABLES_FIT_OR_SCROLL_VISIBLY)
        violations["classify with a result"] = axe_violations(page)
        page.screenshot(path=SHOTS / f"page-{case}-named.png")
        page.screenshot(path=SHOTS / f"page-{case}-named-full.png", full_page=True)
        missing = {"photo", "model", "threshold", "servings", "gradcam", "classify", "details-fold", "known-dishes"}
        missing -= reached
        timing = open_curves_tab(page)
        report(f"curves-load-{case}", timing)
        check_curves_explain_themselves(page)
        tables += page.evaluate(TABLES_FIT_OR_SCROLL_VISIBLY)
        violations["curves"] = axe_violations(page)
        page.screenshot(path=SHOTS / f"page-{case}-curves.png", full_page=True)
        text = page.inner_text("body")
    report(f"axe-{case}", violations)
    assert not missing, f"Tab does not reach {missing}"
    assert all(t["fits"] or t["scrolls_visibly"] for t in tables), tables
    assert "upload_text." not in text  # no raw Gradio keys (Gradio's own "common.complete" remains: texts.py)
    assert not any(violations.values()), {tab: [v["id"] for v in found] for tab, found in violations.items()}
