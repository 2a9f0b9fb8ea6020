"""Correcting a dish, weighing it, a meal kept in the browser, an iPhone (HEIC) photo, in a real Chromium.

Uses test_browser.py's app server and skip conditions; each test opens its own browser contexts, so
that one with an empty localStorage shows what another browser would see. Screenshots go to
artifacts/screenshots/; with FOODCLS_README_SCREENSHOTS=1 the README's two also replace those in docs/.
"""

import csv
import io
import json
import os

import pillow_heif
import pytest
from PIL import Image
from test_browser import CHROMIUM, DEPLOYED, FLAGS, SHOTS, TABLE, app_url, playwright, pytestmark, upload  # noqa: F401

from foodcls.launch import ROOT

README_SHOTS = ROOT / "docs" if os.environ.get("FOODCLS_README_SCREENSHOTS") == "1" else SHOTS
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def ramen_photo() -> str:
    """A held-out photo of ramen from the deployed model's test split."""
    from helpers import FOOD_DATA

    split = json.loads((DEPLOYED / "split.json").read_text())["splits"]["test"]
    return str(FOOD_DATA / next(path for path in split if path.startswith("ramen/")))


@pytest.fixture
def open_page(app_url):  # noqa: F811
    """open_page() -> a page of the app in a new browser context (its own, empty localStorage)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)

        def open_page():
            context = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="en-US")
            page = context.new_page()
            page.goto(app_url)
            page.get_by_text("No dishes in the meal yet").wait_for(timeout=TIMEOUT)  # the meal was loaded
            return page

        yield open_page
        browser.close()


def energy(page):
    """The nutrition facts' energy cell for the portion."""
    return (
        page.get_by_role("grid", name="Nutrition facts")
        .get_by_role("row", name="Energy")
        .get_by_role("gridcell")
        .nth(1)
    )


def choose(page, search: str, label: str) -> None:
    """Pick a dish from the searchable list by typing part of its name."""
    box = page.get_by_role("combobox", name="Another dish (search in Korean or English)")
    box.click()
    box.fill(search)
    page.get_by_role("option", name=label).click()


def kcal(class_id: str, servings: float = 1.0) -> str:
    return f"{TABLE.row(class_id)['energy_kcal'] * servings:,.1f} kcal"


def test_correct_a_guess_and_weigh_it(open_page, ramen_photo):
    page = open_page()
    page.get_by_label("number input for How sure before naming a dish").fill("0")
    page.get_by_label("number input for How sure before naming a dish").press("Enter")
    upload(page, ramen_photo)
    page.locator("#verdict h2").wait_for(timeout=TIMEOUT)  # a verdict is shown
    page.get_by_text("kcal").first.wait_for(timeout=TIMEOUT)
    guesses = page.locator(".block", has_text="Pick the right dish").get_by_role("radio")
    playwright.expect(guesses).to_have_count(3)
    assert guesses.nth(0).is_checked()  # the model's answer is chosen
    model_energy = energy(page).inner_text()
    guesses.nth(1).check()  # one tap on the second guess
    playwright.expect(page.get_by_text("Your choice.")).to_be_visible(timeout=TIMEOUT)
    playwright.expect(energy(page)).not_to_have_text(model_energy)
    choose(page, "쌀국", "쌀국수 · Pho")  # the full list, searched in Korean
    playwright.expect(page.get_by_text("쌀국수 · Pho · 직접 고른 음식.")).to_be_visible(timeout=TIMEOUT)
    playwright.expect(energy(page)).to_have_text(kcal("pho"), timeout=TIMEOUT)
    labels = page.locator(".block", has_text="Pick the right dish").locator("label").all_inner_texts()
    assert [radio.is_checked() for radio in guesses.all()] == ["Pho" in label for label in labels]
    assert "The model said" in page.inner_text("body")
    assert page.get_by_label("Portion in grams").input_value() == "600"
    page.screenshot(path=SHOTS / "meal-1-corrected.png", full_page=True)
    page.locator(".gradio-container").screenshot(path=README_SHOTS / "screenshot-correct.png")

    grams = page.get_by_label("Portion in grams")
    grams.fill("300")
    grams.press("Enter")
    playwright.expect(energy(page)).to_have_text(kcal("pho", 0.5), timeout=TIMEOUT)
    assert "300 g" in page.inner_text("body") and "0.5 인분" in page.inner_text("body")
    grams.fill("9000")
    grams.press("Enter")
    page.get_by_text("The portion must be at most 5000 g.").first.wait_for(timeout=TIMEOUT)
    playwright.expect(energy(page)).to_have_text(kcal("pho", 0.5))  # the table stays as it was
    grams.fill("1200")
    grams.press("Enter")  # and the app keeps serving
    playwright.expect(energy(page)).to_have_text(kcal("pho", 2), timeout=TIMEOUT)
    choose(page, "ram", "라멘 · Ramen")  # ... searched in English; the grams follow the new dish
    playwright.expect(energy(page)).to_have_text(kcal("ramen"), timeout=TIMEOUT)
    assert "Traceback" not in page.inner_text("body")
    page.screenshot(path=SHOTS / "meal-2-grams.png", full_page=True)


def test_a_meal_of_three_dishes_adds_up_and_stays_in_this_browser(open_page):
    page = open_page()
    portions = [
        ("pho", "쌀국", "쌀국수 · Pho", None),
        ("bibimbap", "bibim", "비빔밥 · Bibimbap", 225),
        ("sushi", "sus", "초밥 · Sushi", None),
    ]
    for n, (_, search, label, grams) in enumerate(portions, 1):
        choose(page, search, label)
        playwright.expect(page.get_by_text(f"{label} · 직접 고른 음식.")).to_be_visible(timeout=TIMEOUT)
        if grams is not None:
            page.get_by_label("Portion in grams").fill(str(grams))
        page.get_by_role("button", name="Add to meal").click()
        page.get_by_text(f"Total: {n} dish(es)").wait_for(timeout=TIMEOUT)
    row = {dish: TABLE.row(dish)["energy_kcal"] for dish in ("pho", "bibimbap", "sushi")}
    total = f"{row['pho'] + row['bibimbap'] * 225 / 450 + row['sushi']:,.1f} kcal"
    page.get_by_text(f"Total: 3 dish(es), {total}.").wait_for(timeout=TIMEOUT)
    page.get_by_text("Dishes in the meal").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "meal-3-three-dishes.png", full_page=True)
    page.locator("#meal").screenshot(path=README_SHOTS / "screenshot-meal.png")

    with page.expect_download() as download:
        page.get_by_text("Download as CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert [r["class_id"] for r in rows] == ["pho", "bibimbap", "sushi", ""]
    assert f"{float(rows[-1]['energy_kcal']):,.1f} kcal" == total

    page.reload()
    page.get_by_text(f"Total: 3 dish(es), {total}.").wait_for(timeout=TIMEOUT)  # kept across a reload
    other = open_page()  # another browser does not see it
    assert "No dishes in the meal yet" in other.inner_text("body") and "Total:" not in other.inner_text("body")

    page.get_by_role("combobox", name="Dish to remove").click()
    page.get_by_role("option", name="2. 비빔밥 · Bibimbap · 225 g · 0.5 인분 serving(s)").click()
    page.get_by_role("button", name="Remove").click()
    page.get_by_text(f"Total: 2 dish(es), {row['pho'] + row['sushi']:,.1f} kcal.").wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Clear all").click()
    page.get_by_text("No dishes in the meal yet").wait_for(timeout=TIMEOUT)
    page.reload()
    page.get_by_text("No dishes in the meal yet").wait_for(timeout=TIMEOUT)


def test_an_iphone_heic_photo_classifies_like_a_jpeg(open_page, ramen_photo, tmp_path):
    heic = tmp_path / "IMG_0001.heic"
    pillow_heif.from_pillow(Image.open(ramen_photo).convert("RGB")).save(heic, quality=90)
    page = open_page()
    upload(page, heic)
    page.locator("#verdict h2").wait_for(timeout=TIMEOUT)  # a verdict is shown
    body = page.inner_text("body")
    assert TABLE.dish("ramen").label in body and "not a readable image" not in body
    page.screenshot(path=SHOTS / "meal-4-heic.png", full_page=True)
