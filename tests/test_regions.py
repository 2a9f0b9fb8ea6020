"""Several dishes in one photo: the region around a tap, classified through the page's own path, and
each tapped dish logged as its own entry with its own portion."""

import gradio as gr
import pytest
from helpers import TWO_DISHES, dish_photo, save, two_dish_photo
from PIL import Image

from foodcls import catalogue, data, foods, hub, meal, nutrition, regions, runs, texts, ui, uploads
from foodcls.launch import ROOT
from foodcls.store import RunStore

TABLE = nutrition.NutritionTable.load()
CATALOGUE = foods.Foods(catalogue.Catalogue.load())
NOW = "2026-12-05T12:30"
HINT, TAP, REGION, WHOLE, SIZE = 15, 16, 17, 18, 19  # classify_page's outputs after the answer's own


# --- the region around a tap ------------------------------------------------------------------


def test_a_tap_in_the_middle_gets_a_square_of_045_of_the_shorter_side_centred_on_it():
    assert regions.region_box((400, 300), (800, 600)) == (265, 165, 535, 435)  # side 270 = 0.45 x 600


@pytest.mark.parametrize(
    "tap, box",
    [
        ((0, 0), (0, 0, 270, 270)),  # top-left corner
        ((799, 599), (530, 330, 800, 600)),  # bottom-right corner: the last pixel
        ((799, 300), (530, 165, 800, 435)),  # right edge
        ((400, 10), (265, 0, 535, 270)),  # top edge
    ],
)
def test_a_tap_at_a_corner_or_edge_moves_the_square_inside_the_photo(tap, box):
    assert regions.region_box(tap, (800, 600)) == box


@pytest.mark.parametrize("tap", [(-1, 10), (800, 10), (10, 600), (10, -0.5), (1e9, 1e9)])
def test_a_tap_outside_the_photo_gives_no_region(tap):
    assert regions.region_box(tap, (800, 600)) is None


@pytest.mark.parametrize("tap", [None, "12,40", [1], [1, 2, 3], [True, 4], [float("nan"), 4], [{}, 3]])
def test_anything_but_a_point_is_not_a_tap(tap):
    assert regions.tap_point(tap) is None and regions.region_box(tap, (800, 600)) is None


def test_a_tiny_photo_gets_a_region_of_at_least_eight_pixels_and_at_most_the_photo():
    assert regions.region_box((5, 5), (12, 10)) == (1, 1, 9, 9)  # 0.45 x 10 = 4.5 -> 8 px
    assert regions.region_box((2, 2), (6, 5)) == (0, 0, 5, 5)  # shorter than 8: the whole short side
    assert regions.region_box((0, 0), (1, 1)) == (0, 0, 1, 1)


def test_a_tap_on_a_big_jpeg_decoded_smaller_lands_on_the_same_spot(tmp_path):
    big = Image.new("RGB", (2000, 1000), (40, 60, 200))
    big.paste((200, 40, 40), (1500, 0, 2000, 500))  # a red patch at the top-right
    photo = data.open_rgb(save(big, tmp_path / "big.jpg", quality=90), 256)
    assert photo.size[0] < 2000 and photo.info["full_size"] == (2000, 1000)  # decoded at a reduced scale
    region = regions.crop(photo, (1750, 250), photo.info["full_size"])
    red, green, blue = region.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert red > 150 and blue < 100  # the patch, not the blue around it
    assert all(abs(side - 450 * photo.width / 2000) <= 1 for side in region.size)


def test_a_tap_on_a_turned_photo_counts_in_the_upright_photo_the_browser_shows(tmp_path):
    stored = Image.new("RGB", (300, 100), (40, 60, 200))
    stored.paste((200, 40, 40), (0, 0, 60, 60))  # stored top-left: upright (turned 90 degrees right) top-right
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to show
    path = tmp_path / "turned.jpg"
    stored.save(path, exif=exif, quality=95)
    photo = data.open_rgb(path, 256)
    assert photo.info["full_size"] == (100, 300)
    red, _, blue = regions.crop(photo, (80, 20), (100, 300)).resize((1, 1)).getpixel((0, 0))
    assert red > 150 and blue < 100


# --- classifying a region through the page ----------------------------------------------------


@pytest.fixture(scope="module")
def store(tiny_weights):
    return RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))


def uploaded(image: Image.Image, name: str):
    """`image` saved as an upload of this app (only uploads are read)."""
    return save(image, uploads.own_upload_dir() / name)


def page(store, path, lang="en", tap=None, run="shallownet", threshold=0.0, size=None, kept=None):
    return ui.classify_page(store, TABLE, CATALOGUE, {"path": str(path)}, run, threshold, False, lang, tap, size, kept)


def sushi_with_a_bibimbap_corner() -> Image.Image:
    """The tiny models' colour dishes: blue (sushi) all over, red (bibimbap) in the top-left corner."""
    photo = dish_photo("sushi", size=200)
    photo.paste(dish_photo("bibimbap", size=80), (0, 0))
    return photo


def test_tapping_a_dish_classifies_the_region_around_it_not_the_whole_photo(store):
    path = uploaded(sushi_with_a_bibimbap_corner(), "corner.png")
    try:
        whole = page(store, path)
        assert whole[0]["top"][0][0] == "sushi" and whole[0]["region"] is False
        assert whole[HINT] == texts.text("region_hint", "en") and whole[TAP] is None
        assert whole[REGION].visible is False and whole[WHOLE].visible is False and whole[SIZE].visible is True
        corner = page(store, path, tap=[30, 30])
        assert corner[0]["top"][0][0] == "bibimbap" and corner[0]["region"] is True
        assert corner[6] == "bibimbap"  # the dish chosen for the log is the region's
        assert corner[HINT] == texts.text("region_next", "en") and corner[TAP] == [30, 30]
        assert corner[REGION].visible is True
        assert Image.open(corner[REGION].value["path"]).size == (90, 90)  # 0.45 x 200
        assert corner[REGION].alt_text == texts.text("region_alt", "en") and corner[WHOLE].visible is True
        large = page(store, path, tap=[30, 30], size="large")
        assert Image.open(large[REGION].value["path"]).size == (130, 130)  # 0.65 x 200
        outside = page(store, path, tap=[500, 30])  # off the photo: the whole photo, as after 'whole photo'
        assert outside[0]["top"][0][0] == "sushi" and outside[TAP] is None and outside[REGION].visible is False
    finally:
        uploads.forget(path)


def test_the_region_hint_follows_the_language_switch(store):
    path = uploaded(sushi_with_a_bibimbap_corner(), "corner-ko.png")
    try:
        answer, *_ = page(store, path, lang="en", tap=[30, 30])
    finally:
        uploads.forget(path)
    *_, hint, region, size = ui.relabel(CATALOGUE, [], answer, "bibimbap", 1.0, "serving", "ko")
    assert hint == texts.text("region_next", "ko") and region.alt_text == texts.text("region_alt", "ko")
    assert [label for label, _ in size.choices] == ["작게", "보통", "크게"]


def test_a_new_region_size_classifies_the_tapped_dish_again_and_before_a_tap_changes_nothing(store):
    path = uploaded(sushi_with_a_bibimbap_corner(), "resize.png")
    settings = (store, TABLE, CATALOGUE, {"path": str(path)}, "shallownet", 0.0, False, "en")
    try:
        assert ui.resize_region(*settings, None, "large") == (gr.skip(),) * 21
        small = ui.resize_region(*settings, [30, 30], "small")
        assert Image.open(small[REGION].value["path"]).size == (60, 60) and small[TAP] == [30, 30]  # 0.3 x 200
    finally:
        uploads.forget(path)


def test_a_tap_after_the_photo_was_swept_says_why_and_what_to_do(store):
    path = uploaded(sushi_with_a_bibimbap_corner(), "gone.png")
    uploads.forget(path)  # as the sweeper does a minute after the upload
    with pytest.raises(gr.Error) as raised:
        page(store, path, lang="ko", tap=[30, 30])
    assert raised.value.message == texts.text("photo_gone", "ko")
    with pytest.raises(gr.Error, match="not an upload of this app"):  # the whole photo: as before
        page(store, path, lang="en")


def test_a_tap_after_the_photo_was_swept_finds_the_dish_in_the_sessions_small_copy(store):
    big = sushi_with_a_bibimbap_corner().resize((1200, 1200), Image.NEAREST)  # bibimbap: the top-left 480 px
    path = uploaded(big, "kept.png")
    whole = page(store, path)
    uploads.forget(path)  # as the sweeper does a minute after the upload
    kept = whole[-1]
    assert max(kept.size) <= ui.KEPT_SIDE and kept.info["full_size"] == (1200, 1200)
    corner = page(store, path, tap=[150, 150], kept=kept)  # a tap on the photo as the browser shows it
    assert corner[0]["top"][0][0] == "bibimbap" and corner[TAP] == [150, 150] and corner[-1] is kept
    side = round(540 * kept.width / 1200)  # 0.45 x 1200 as shown, cut from the copy
    assert Image.open(corner[REGION].value["path"]).size == (side, side)
    again = page(store, path, kept=kept)  # 'whole photo' (or another model) after the sweep: the copy too
    assert again[0]["top"][0][0] == "sushi"


def test_two_tapped_dishes_are_logged_as_two_entries_with_their_own_portions(store):
    two = Image.new("RGB", (192, 96))
    two.paste(dish_photo("bibimbap", size=96), (0, 0))
    two.paste(dish_photo("sushi", size=96), (96, 0))
    path = uploaded(two, "two.png")
    log = meal.empty()
    try:
        for tap, portion in (([48, 48], (1.5, "serving")), ([144, 48], (200, "g"))):
            food = page(store, path, lang="ko", tap=tap)[6]
            log, *_, added = ui.add_to_log(CATALOGUE, log, food, *portion, "lunch", "ko", NOW)
            assert added.startswith(CATALOGUE.name(food, "ko"))
    finally:
        uploads.forget(path)
    logged = [(e["food"], e["amount"], e["unit"]) for e in log["entries"]]
    assert logged == [("bibimbap", 1.5, "serving"), ("sushi", 200, "g")]


# --- the deployed model on real photos, side by side ------------------------------------------


@pytest.mark.skipif(not TWO_DISHES[0].is_file() or not TWO_DISHES[1].is_file(), reason="no realworld-dev photos")
@pytest.mark.skipif(not (ROOT / "weights" / runs.DEPLOYED_RUN).is_dir(), reason="no bundled deployed model")
def test_the_deployed_model_names_each_real_dish_of_a_two_dish_photo_where_it_is_tapped():
    deployed = RunStore(hub.WeightsSource(None, "unused", bundled=ROOT / "weights"))
    path = uploads.own_upload_dir() / "two-real.jpg"
    two_dish_photo().save(path, quality=90)
    try:
        for tap, dish in (([256, 256], "bibimbap"), ([768, 256], "miso_soup")):
            answer = page(deployed, path, lang="ko", tap=tap, run=runs.DEPLOYED_RUN, threshold=None)[0]
            assert answer["named"] and answer["top"][0][0] == dish, (tap, answer["top"])
    finally:
        uploads.forget(path)
