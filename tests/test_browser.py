"""A person's path through the app in a real Chromium: fake webcam, upload, model switch, curves,
and the page as people use it (phone 390x844 and desktop 1280x900, Korean and English): the verdict
in view, an honest headline, keyboard use, an axe-core scan, a curves tab that explains itself.

Needs Debian's chromium (`apt-get install chromium`), the playwright package and axe-core
(`npm ci`); screenshots of every step go to artifacts/screenshots/, axe results and the curves tab's
load times to artifacts/page/.
"""

import json
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from helpers import FOOD_DATA, SHARED_DATA, TWO_DISHES, two_dish_photo
from PIL import Image

from foodcls import models, nutrition, predict, texts
from foodcls.launch import ROOT, free_port, serve_app

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
def open_page(url: str, video: Path, viewport: dict, locale: str, profile: Path | None = None):
    """The app in a Chromium profile (default a fresh one) with a fake webcam playing `video`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile or tempfile.mkdtemp(prefix="chromium-"),
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
            page.wait_for_function("() => ['ko', 'en'].includes(document.documentElement.lang)", timeout=30_000)
            settled(page)  # the page's language has arrived and its first answers with it
            yield page
        finally:
            context.close()


@pytest.fixture
def page(app_url, test_photo, tmp_path, request):
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, {"width": 1280, "height": 1100}, "en-US") as page:
        yield page
        page.screenshot(path=SHOTS / f"end-{request.node.name}.png", full_page=True)


def upload(page, photo: Path) -> None:
    """Choose a photo as a phone's picker does: the page's file input (uploading classifies it)."""
    page.locator("#photo input[type=file]").set_input_files(str(photo))


def open_advanced(page) -> None:
    if not page.locator("#threshold").is_visible():
        page.locator("#advanced button").first.click()
        page.locator("#threshold").wait_for()


def set_threshold(page, value: str) -> None:
    """Type a threshold into the slider's box, as a person does, until the slider shows it: in about
    one walk-through in three the slider dropped a value typed right after the fold opened, and a
    photo sent then went with the old threshold."""
    open_advanced(page)
    box = page.locator("#threshold input[type=number]")
    shown = "v => Number(document.querySelector('#threshold input[type=range]')?.value) === Number(v)"
    for _ in range(3):
        box.fill(value)
        box.press("Enter")
        try:
            page.wait_for_function(shown, arg=value, timeout=10_000)
            return
        except playwright.TimeoutError:
            continue
    raise AssertionError(f"the threshold slider did not take {value} typed three times")


def details_say(page, text: str, timeout: float = 60_000) -> None:
    """Open the advanced fold (model, weights source, timing) and wait until its details hold `text`."""
    open_advanced(page)
    page.wait_for_function(
        "text => (document.getElementById('details')?.textContent || '').includes(text)", arg=text, timeout=timeout
    )


def test_webcam_snapshot_names_the_dish_and_shows_nutrition(page, test_photo):
    page.screenshot(path=SHOTS / "1-start.png")
    set_threshold(page, "0.1")  # a snapshot is not the file: name a dish and show nutrition even when unsure
    page.locator("#photo .source-selection button").nth(1).click()  # the camera, beside the picker
    page.get_by_text(texts.text("webcam", "en")).click()  # Gradio's fixed English, in the page's words
    page.wait_for_function(  # the fake camera's stream is playing: a snapshot now has pixels
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && v.videoWidth > 0; }",
        timeout=30_000,
    )
    page.get_by_label("capture photo").click()
    page.locator("#facts").get_by_text("kcal").filter(visible=True).first.wait_for(timeout=60_000)
    page.screenshot(path=SHOTS / "2-webcam-result.png", full_page=True)
    body = page.inner_text("body")
    assert TABLE.dish(test_photo.parent.name).name_en in body  # the true class is among the guesses
    assert "Korean MFDS" in body and "Traceback" not in body
    assert "No photo" not in body  # changing a setting before the snapshot is not an error


def test_upload_then_switch_model(page, test_photo):
    upload(page, test_photo)
    details_say(page, "EfficientNet-Lite0 · weights from")
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="ResNet18").click()
    details_say(page, "ResNet18 · weights from")
    page.screenshot(path=SHOTS / "3-upload-resnet18.png", full_page=True)
    page.get_by_label("Remove Image").click()  # removing the photo clears its result, without an error
    page.wait_for_function("() => !document.getElementById('details').textContent.includes('ResNet18')")
    assert not page.locator("#verdict h2").count() and "No photo" not in page.inner_text("body")


def test_grad_cam_shows_where_the_model_looked_even_when_not_sure(page, test_photo):
    set_threshold(page, "1")  # not sure: the heat map is of the best guess
    upload(page, test_photo)
    page.get_by_text(texts.text("unsure_headline", "en")).wait_for(timeout=60_000)
    heat_map = page.locator("#heatmap img")
    assert heat_map.count() == 0 and not page.locator("#heatmap").count()  # no empty box
    page.get_by_label("Show where the model looked (Grad-CAM)").check()
    heat_map.wait_for(state="attached", timeout=60_000)
    assert heat_map.get_attribute("alt") == texts.text("heatmap_alt", "en")
    page.screenshot(path=SHOTS / "4-grad-cam.png", full_page=True)
    page.get_by_label("Show where the model looked (Grad-CAM)").uncheck()
    heat_map.wait_for(state="detached", timeout=30_000)


def test_a_photo_that_is_not_food_gets_not_sure_and_a_way_out(page, tmp_path):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8))
    noise.save(tmp_path / "noise.png")
    upload(page, tmp_path / "noise.png")
    page.get_by_text(texts.text("unsure_headline", "en")).wait_for(timeout=60_000)
    assert not page.locator("#facts").is_visible()  # no nutrition for a dish nobody named
    page.locator("#guesses").get_by_text(texts.text("not_food", "en")).click()
    page.get_by_text(texts.text("not_food_note", "en")).wait_for(timeout=30_000)
    page.screenshot(path=SHOTS / "4-not-food.png", full_page=True)


def test_curves_tab_opens_with_its_lesson_and_draws_one_line_per_model(page):
    page.get_by_role("tab", name="Training curves").click()
    page.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for(timeout=60_000)
    lesson = page.locator("#lesson")  # written once the page's language has arrived
    page.wait_for_function(
        "text => document.getElementById('lesson')?.innerText.trim() === text",
        arg=texts.text("curves_lesson", "en"),
        timeout=30_000,
    )
    assert lesson.bounding_box()["y"] < page.locator(".js-plotly-plot").first.bounding_box()["y"]  # above the plots
    traces = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace")
    assert traces.count() == 5
    page.screenshot(path=SHOTS / "5-curves.png", full_page=True)
    page.get_by_label("DeepNet10", exact=True).first.uncheck()
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot').querySelectorAll('.scatterlayer .trace').length === 4",
        timeout=30_000,
    )


# --- a phone photo over a mobile uplink --------------------------------------------------------------

REAL_PHOTOS = SHARED_DATA / "realworld-dev"
UPLINK = {"offline": False, "latency": 100, "uploadThroughput": 1_500_000 / 8, "downloadThroughput": 10_000_000 / 8}


def phone_jpeg(photo: Path, path: Path, seed: int) -> Path:
    """A 12 MP (4000x3000) JPEG of a real photo with a phone sensor's grain: about the bytes a phone sends."""
    image = Image.open(photo).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(seed).normal(0, 6, (3000, 4000, 3))
    Image.fromarray(np.clip(np.asarray(image) + grain, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


@pytest.mark.slow
@pytest.mark.skipif(not REAL_PHOTOS.is_dir(), reason=f"the real photos are not at {REAL_PHOTOS}")
def test_a_12_mp_photo_over_a_mobile_uplink_is_shrunk_before_it_is_sent(app_url, tmp_path):
    """Shutter (the file chosen) to headline over 1.5 Mbit/s up, 100 ms RTT, for five distinct 12 MP
    photos: the bytes sent are asserted, the seconds recorded (artifacts/page/uplink.json) not asserted."""
    photos = sorted((REAL_PHOTOS / "pizza").glob("*.jpg"))[:5]
    video = write_y4m(Image.open(photos[0]), tmp_path / "meal.y4m")
    sent, seconds = [], []
    with open_page(app_url, video, VIEWPORTS["phone"], LOCALES["en"]) as page:
        page.context.new_cdp_session(page).send("Network.emulateNetworkConditions", UPLINK)
        for seed, photo in enumerate(photos):
            big = phone_jpeg(photo, tmp_path / f"phone-{seed}.jpg", seed)
            if page.locator("#verdict h2").count():  # the last answer goes with its photo
                page.get_by_label("Remove Image").click()
                page.locator("#verdict h2").wait_for(state="detached", timeout=30_000)
            started = time.perf_counter()
            upload(page, big)
            sending = page.locator("#photo-status").get_by_text("KB")  # what the person sees while it goes
            sending.wait_for(timeout=30_000)
            sent.append(int(re.search(r"\((\d+) KB\)", sending.inner_text()).group(1)) * 1024)
            page.locator("#verdict h2").wait_for(timeout=60_000)
            seconds.append(round(time.perf_counter() - started, 2))
        page.screenshot(path=SHOTS / "uplink-result.png")
    sizes = [(tmp_path / f"phone-{seed}.jpg").stat().st_size for seed in range(len(photos))]
    report("uplink", {"uplink": UPLINK, "photo_bytes": sizes, "sent_bytes": sent, "seconds": seconds})
    assert len(sent) == len(photos) and min(sizes) > 2_000_000
    assert max(sent) < 400_000, f"a 12 MP photo went as {max(sent)} bytes: it was not shrunk"


@pytest.mark.slow
def test_the_day_log_survives_a_reload_and_a_restart_of_the_app(test_photo, tmp_path):
    """The log lives in the browser, sealed with a fixed secret: a reload and a new app process on the
    same address (a restart or redeploy) both show the same day."""
    port, profile = free_port(), tmp_path / "profile"
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with serve_app(port=port) as (url, _):
        with open_page(url, video, VIEWPORTS["phone"], LOCALES["en"], profile) as page:
            upload(page, test_photo)
            page.locator("#verdict h2").wait_for(timeout=60_000)
            page.locator("#add").click()
            summary = page.locator("#log-summary")
            summary.get_by_text("kcal").wait_for(timeout=30_000)
            logged = summary.inner_text()
            page.reload()
            page.wait_for_function(
                "text => document.getElementById('log-summary')?.innerText === text", arg=logged, timeout=30_000
            )
    with serve_app(port=port) as (url, _):
        with open_page(url, video, VIEWPORTS["phone"], LOCALES["en"], profile) as page:
            page.wait_for_function(
                "text => document.getElementById('log-summary')?.innerText === text", arg=logged, timeout=30_000
            )
            page.screenshot(path=SHOTS / "log-after-restart.png", full_page=True)


@pytest.mark.slow
def test_a_food_of_ones_own_is_logged_from_the_form_and_marked_as_ones_own(app_url, test_photo, tmp_path):
    """On a phone in Korean, without a photo: a food the catalogue lacks, typed in with its kcal, goes
    into the day's log marked as the person's own values; a missing kcal is refused with a message in
    Korean and the form keeps what was typed."""
    t = lambda key, **values: texts.text(key, "ko", **values)  # noqa: E731
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, VIEWPORTS["phone"], LOCALES["ko"]) as page:
        page.locator("#own-food").get_by_text(t("own_food")).click()
        page.locator("#own-name input, #own-name textarea").first.fill("엄마표 잡채")
        page.locator("#own-add").click()
        page.get_by_text("사이의 숫자여야 합니다").first.wait_for(timeout=30_000)  # texts "bad_own_value", in Korean
        assert page.locator(".toast-title").first.inner_text().strip() == t("warning_title")  # not Gradio's English
        assert page.locator("#own-name input, #own-name textarea").first.input_value() == "엄마표 잡채"
        assert "음식 1개" not in page.locator("#log-summary").inner_text()
        page.locator("#own-kcal input, #own-kcal textarea").first.fill("350")
        page.locator("#own-add").click()
        page.locator("#log-summary").get_by_text("음식 1개").wait_for(timeout=30_000)
        settled(page)
        shown = page.locator("#log-table").inner_text()
        assert t("own_dish", name="엄마표 잡채") in shown and "350" in shown
        page.screenshot(path=SHOTS / "own-food-phone-ko.png", full_page=True)


# --- the walk-through: a phone (390x844) and a desktop, Korean and English ------------------------

IN_VIEW = """selector => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
}"""
# The page's text a person reads, less what may be in both languages: dish names (the headline, the
# dish line's name, search results), the language switch's two names, and the cited row's own name.
PAGE_TEXT = """(allowed) => {
  let text = document.body.innerText;
  const names = [...document.querySelectorAll('#verdict h2, #dish strong, #results label, #lang label')]
    .map((e) => e.innerText.trim());
  for (const name of [...names, ...allowed].filter(Boolean)) text = text.split(name).join(' ');
  return text;
}"""
# Names and units that read the same in both languages: the app, the models, the source database, units.
KOREAN_PAGE_WORDS = {"foodcls", "Gradio", "API", "DB", "CSV", "kcal", "mg", "ms", "Grad", "CAM", "weights"} | set(
    re.findall(r"[A-Za-z]{2,}", " ".join(spec.name for spec in models.MODEL_SPECS.values()))
)


def other_language(page, language: str, allowed: list[str]) -> list[str]:
    """Text of the other language on the page: Hangul on an English page, English words on a Korean one."""
    text = page.evaluate(PAGE_TEXT, allowed)
    if language == "en":
        return sorted(set(texts.HANGUL.findall(text)))
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in KOREAN_PAGE_WORDS})


def checked_walk(page, photo: Path, language: str, case: str) -> dict:
    """The proof of issue 27 on one screen and language; returns axe's findings by state."""
    t = lambda key: texts.text(key, language)  # noqa: E731
    page.get_by_role("tab").first.wait_for()
    page.wait_for_function("lang => document.documentElement.lang === lang", arg=language, timeout=30_000)
    settled(page)
    assert page.evaluate(IN_VIEW, "#photo"), "the photo control is not on the first screen"
    violations = {"start": axe_violations(page)}
    page.screenshot(path=SHOTS / f"walk-{case}-1-start.png")

    upload(page, photo)
    page.locator("#verdict h2").wait_for(timeout=60_000)
    settled(page)
    for selector in ("#verdict h2", "#guesses", "#add"):  # the answer's first screen, nothing scrolled by hand
        assert page.evaluate(IN_VIEW, selector), f"{selector} is not in view after a photo"
    assert page.evaluate("() => document.activeElement.matches('#verdict h2')"), "focus is not on the headline"
    page.screenshot(path=SHOTS / f"walk-{case}-2-named.png")
    source_name = page.locator("#dish").inner_text()
    allowed = [row["source_name"] for row in map(TABLE.row, TABLE.class_ids()) if row["source_name"] in source_name]
    found = other_language(page, language, allowed)
    assert not found, f"other-language text on the {language} page: {found}"
    violations["named"] = axe_violations(page)

    guesses = page.locator("#guesses label")
    second = guesses.nth(1)
    before = second.bounding_box()["y"]
    second.click()  # correcting keeps the tapped control in place
    page.locator("#dish").get_by_text(t("your_choice")).wait_for(timeout=30_000)
    settled(page)
    assert abs(second.bounding_box()["y"] - before) < 2, "the tapped guess moved"

    page.evaluate("window.scrollTo(0, 0)")  # back up to the photo, as a person scrolls to it
    page.locator("#photo .source-selection button").first.click()  # tapping upload clears the photo: no jump
    page.wait_for_timeout(1500)
    assert page.evaluate("window.scrollY") == 0, "tapping upload scrolled the page"

    set_threshold(page, "1")
    page.locator("#gradcam input").check()
    upload(page, photo)
    page.locator("#verdict h2").get_by_text(t("unsure_headline")).wait_for(timeout=60_000)
    page.locator("#heatmap img").wait_for(state="attached", timeout=60_000)
    settled(page)
    assert page.locator("#verdict").inner_text().count(t("unsure_next")) == 1  # what next, once
    page.screenshot(path=SHOTS / f"walk-{case}-3-unsure-gradcam.png", full_page=True)
    violations["not sure with Grad-CAM"] = axe_violations(page)
    found = other_language(page, language, allowed)
    assert not found, f"other-language text on the {language} page: {found}"

    page.locator("#guesses label").first.click()
    settled(page)  # the choice has reached the server before it is added
    page.locator("#add").click()
    page.locator("#log-summary").get_by_text("kcal").wait_for(timeout=30_000)
    settled(page)
    violations["log"] = axe_violations(page)
    page.screenshot(path=SHOTS / f"walk-{case}-4-log.png", full_page=True)
    return violations


@pytest.mark.slow
@pytest.mark.parametrize("language", list(LOCALES))
@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_the_page_as_people_use_it(app_url, test_photo, tmp_path, screen, language):
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run `npm ci` at the repository root")
    case = f"{screen}-{language}"
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, VIEWPORTS[screen], LOCALES[language]) as page:
        violations = checked_walk(page, test_photo, language, case)
        timing = open_curves_tab(page)
        report(f"curves-load-{case}", timing)
        check_curves_explain_themselves(page)
        violations["curves"] = axe_violations(page)
        page.screenshot(path=SHOTS / f"walk-{case}-5-curves.png", full_page=True)
        if screen == "phone" and language == "en":  # the other language, by the switch; remembered
            page.get_by_role("tab").first.click()
            page.locator("#lang").get_by_text("한국어").click()
            page.wait_for_function("() => document.documentElement.lang === 'ko'")
            page.get_by_role("tab", name=texts.LABELS["tab_classify"][0]).wait_for(timeout=30_000)
            page.reload()
            page.get_by_role("tab", name=texts.LABELS["tab_classify"][0]).wait_for(timeout=30_000)
    report(f"axe-{case}", violations)
    assert not any(violations.values()), {state: [v["id"] for v in found] for state, found in violations.items()}


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


# --- several dishes in one photo (a Korean table): tap one, log it, tap the next --------------------

# The click on the photo's <img> (element coordinates) that Gradio turns into [x, y] of the picture:
# its own rule (the picture scaled to fit the element, centred, never enlarged).
PICTURE_POINT = """([x, y]) => {
  const img = document.querySelector('#photo img');
  const box = img.getBoundingClientRect();
  const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight, 1);
  return {x: (box.width - img.naturalWidth * scale) / 2 + x * scale,
          y: (box.height - img.naturalHeight * scale) / 2 + y * scale};
}"""


def tap_dish(page, x: int, y: int, name: str) -> None:
    """Tap the photo at (x, y) of the picture; wait until the headline names `name`."""
    page.locator("#photo img").first.click(position=page.evaluate(PICTURE_POINT, [x, y]))
    page.locator("#verdict h2").get_by_text(name).wait_for(timeout=60_000)
    page.locator("#region img").wait_for(timeout=30_000)
    settled(page)


@pytest.mark.slow
@pytest.mark.skipif(not all(path.is_file() for path in TWO_DISHES), reason="the real photos are not in shared/data")
def test_two_dishes_in_one_photo_are_tapped_and_logged_one_by_one(app_url, test_photo, tmp_path):
    """On a phone in Korean: a photo of bibimbap and miso soup side by side; pick a large region (each
    dish fills its half), tap the rice, set its portion, add; tap the soup, add: two entries in the
    log, each with its own portion."""
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run `npm ci` at the repository root")
    t = lambda key: texts.text(key, "ko")  # noqa: E731
    rice, soup = TABLE.dish("bibimbap").name_ko, TABLE.dish("miso_soup").name_ko
    photo = tmp_path / "two-dishes.jpg"
    two_dish_photo().save(photo, quality=90)  # 1024 x 512: the browser sends it as it is
    video = write_y4m(Image.open(test_photo), tmp_path / "meal.y4m")
    with open_page(app_url, video, VIEWPORTS["phone"], LOCALES["ko"]) as page:
        upload(page, photo)
        page.locator("#region-hint").get_by_text(t("region_hint")).wait_for(timeout=60_000)
        assert not page.locator("#region img").count() and not page.locator("#whole-photo").count()
        page.locator("#region-size").get_by_label(t("size_large")).check()  # each dish fills half the photo
        settled(page)

        tap_dish(page, 256, 256, rice)
        assert page.locator("#guesses input:checked").count() == 1  # the rice is chosen, with its guesses
        assert page.locator("#region img").get_attribute("alt") == t("region_alt")
        amount = page.locator("#amount input")
        amount.fill("2")
        amount.press("Enter")
        page.locator("#grams").get_by_text("g").wait_for(timeout=30_000)
        settled(page)
        page.locator("#add").click()
        page.locator("#log-summary").get_by_text("음식 1개").wait_for(timeout=30_000)

        page.evaluate("window.scrollTo(0, 0)")  # back up to the photo, as a person scrolls to it
        tap_dish(page, 768, 256, soup)
        page.locator("#region-hint").get_by_text(t("region_next")).wait_for()
        assert page.locator("#whole-photo").is_visible()
        page.screenshot(path=SHOTS / "dishes-phone-ko-1-second-dish.png", full_page=True)
        source_name = page.locator("#dish").inner_text()
        allowed = [row["source_name"] for row in map(TABLE.row, TABLE.class_ids()) if row["source_name"] in source_name]
        found = other_language(page, "ko", allowed)
        assert not found, f"other-language text on the ko page: {found}"
        violations = {"tapped dish": axe_violations(page)}
        page.locator("#add").click()
        page.locator("#log-summary").get_by_text("음식 2개").wait_for(timeout=30_000)
        settled(page)
        table = page.locator("#log-table").inner_text()
        assert rice in table and soup in table
        portions = page.locator(f'#log-table td[data-label="{t("col_amount")}"]').all_inner_texts()
        assert len(portions) == 2 and portions[0].startswith("2 × ") and "×" not in portions[1], portions
        violations["log of two"] = axe_violations(page)
        page.screenshot(path=SHOTS / "dishes-phone-ko-2-log.png", full_page=True)

        page.locator("#whole-photo").click()  # back to the whole photo: no region, the first hint
        page.locator("#region-hint").get_by_text(t("region_hint")).wait_for(timeout=60_000)
        page.locator("#region img").wait_for(state="detached", timeout=30_000)
    report("axe-dishes-phone-ko", violations)
    assert not any(violations.values()), {state: [v["id"] for v in found] for state, found in violations.items()}
