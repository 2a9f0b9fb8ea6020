import io
import unicodedata

import numpy as np
import pytest
import torch
from helpers import (
    COLOURS,
    KFOOD_BACKGROUND,
    KFOOD_DISHES,
    colour_photo,
    kfood_photo,
    make_class_folder,
    make_kfood_tree,
)
from PIL import Image

from foodcls import data, runs


def test_every_supported_format_and_colour_mode_loads_as_rgb(tmp_path):
    folder = tmp_path / "set" / "dish"
    folder.mkdir(parents=True)
    base = colour_photo(COLOURS["red"], 1, size=80)
    base.save(folder / "upper.JPG")
    base.save(folder / "a.jpeg")
    base.save(folder / "b.webp")
    base.save(folder / "c.bmp")
    base.convert("L").save(folder / "grey.png")
    base.convert("RGBA").save(folder / "alpha.png")
    base.convert("P").save(folder / "palette.gif")
    base.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257).save(folder / "sixteen.png")
    frames = [base, colour_photo(COLOURS["blue"], 2, size=80)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    image_set = data.load_image_set(tmp_path / "set", 32)
    assert image_set.images.shape == (10, 3, 32, 32)
    assert image_set.images.dtype == torch.uint8
    assert image_set.skipped == []


def test_exif_orientation_is_applied(tmp_path):
    wide = Image.new("RGB", (60, 30), (255, 0, 0))
    wide.paste((0, 0, 255), (0, 0, 30, 30))  # blue on the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    buffer = io.BytesIO()
    wide.save(buffer, "JPEG", exif=exif, quality=95)
    upright = data.open_rgb(io.BytesIO(buffer.getvalue()))
    assert upright.size == (30, 60)
    top, bottom = np.asarray(upright)[5, 15], np.asarray(upright)[55, 15]
    assert top[2] > 200 and bottom[0] > 200  # the blue half is now on top


def test_large_photo_is_resized_and_centre_cropped():
    photo = Image.new("RGB", (4000, 3000), (10, 20, 30))
    tensor = data.square_uint8(photo, 64)
    assert tensor.shape == (3, 64, 64)
    assert tensor[:, 32, 32].tolist() == [10, 20, 30]


def test_bad_files_are_skipped_and_reported_by_path(tmp_path):
    root = make_class_folder(tmp_path / "set", per_class=4)
    (root / "red" / "empty.jpg").write_bytes(b"")
    (root / "red" / "notes.png").write_text("not an image")
    good = io.BytesIO()
    colour_photo(COLOURS["red"], 99).save(good, "JPEG")
    (root / "green" / "cut.jpg").write_bytes(good.getvalue()[:200])
    image_set = data.load_image_set(root, 32)
    assert len(image_set.paths) == 12
    skipped = {path.split("/")[-1]: reason for path, reason in image_set.skipped}
    assert set(skipped) == {"empty.jpg", "notes.png", "cut.jpg"}
    assert "0 bytes" in skipped["empty.jpg"]
    report = data.report_skipped(image_set.skipped)
    assert str(root / "red" / "notes.png") in report and "3 file(s) skipped" in report


def test_missing_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(data.DataError, match="nowhere"):
        data.load_image_set(tmp_path / "nowhere", 32)


def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    root = make_class_folder(tmp_path / "set", per_class=4)
    (root / "soup").mkdir()
    with pytest.raises(data.DataError, match="soup"):
        data.load_image_set(root, 32)


def test_class_with_only_unreadable_files_is_an_error_not_dropped(tmp_path):
    root = make_class_folder(tmp_path / "set", per_class=4)
    (root / "soup").mkdir()
    (root / "soup" / "broken.jpg").write_text("nope")
    with pytest.raises(data.DataError, match="soup"):
        data.load_image_set(root, 32)


def test_class_too_small_to_split_is_an_error_naming_it():
    labels = [0] * 10 + [1] * 2
    digests = [f"d{i}" for i in range(12)]
    with pytest.raises(data.DataError, match="'tiny'"):
        data.split_indices(labels, digests, ["big", "tiny"], seed=0)


def _split_with_duplicates(seed):
    labels = [i % 3 for i in range(300)]
    digests = [f"d{i}" for i in range(300)]
    for i in range(0, 60, 3):  # twenty files appear twice in their class
        digests[i + 150] = digests[i]
    return labels, digests, data.split_indices(labels, digests, ["a", "b", "c"], seed)


def test_split_is_deterministic_for_a_seed_and_changes_with_it():
    assert _split_with_duplicates(0)[2] == _split_with_duplicates(0)[2]
    assert _split_with_duplicates(0)[2] != _split_with_duplicates(1)[2]


def test_split_covers_every_file_once_and_is_stratified():
    labels, _, split = _split_with_duplicates(0)
    everything = sorted(i for indices in split.values() for i in indices)
    assert everything == list(range(300))
    for name in ("val", "test"):
        counts = np.bincount([labels[i] for i in split[name]], minlength=3)
        assert counts.min() >= 8 and counts.max() - counts.min() <= 2


def test_exact_duplicates_never_straddle_two_splits():
    _, digests, split = _split_with_duplicates(0)
    where = {}
    for name, indices in split.items():
        for i in indices:
            assert where.setdefault(digests[i], name) == name


def test_duplicate_files_on_disk_share_a_digest(tmp_path):
    root = make_class_folder(tmp_path / "set", per_class=3)
    (root / "red" / "copy.png").write_bytes((root / "red" / "0.png").read_bytes())
    image_set = data.load_image_set(root, 32)
    digest = dict(zip(image_set.paths, image_set.digests))
    assert digest["red/copy.png"] == digest["red/0.png"]


def test_augment_keeps_shape_and_flips_some_images():
    torch.manual_seed(0)
    ramp = torch.linspace(-1, 1, 32).expand(64, 3, 32, 32).contiguous()
    out = data.augment(ramp, min_scale=1.0, max_shift=0.0)
    assert out.shape == ramp.shape
    flipped = out[:, 0, 16, 0] > 0  # a flipped ramp starts high
    assert 10 < flipped.sum() < 54


def test_centre_zooms_enlarge_the_middle_of_each_square():
    squares = torch.zeros(2, 3, 64, 64, dtype=torch.uint8)
    squares[:, :, 16:48, 16:48] = 200  # a bright middle half
    whole, zoomed = data.centre_zooms(squares, [1.0, 0.5], 128).chunk(2)
    assert whole.shape == zoomed.shape == (2, 3, 128, 128)
    torch.testing.assert_close(whole, data.upscale(squares, 128))
    assert zoomed.min() == 200 and whole.float().mean() < 100


def test_the_jpeg_settings_photos_were_saved_with_are_read_back_from_their_files(tmp_path):
    photo = colour_photo(COLOURS["red"], 3)
    saved = {
        "q75.jpg": {"quality": 75, "subsampling": "4:2:0"},
        "q90.jpg": {"quality": 90, "subsampling": "4:4:4"},
        "q60.jpg": {"quality": 60, "subsampling": "4:2:2"},
    }
    for name, settings in saved.items():
        photo.save(tmp_path / name, quality=settings["quality"], subsampling=settings["subsampling"])
        assert data.jpeg_settings(tmp_path / name) == settings
    photo.save(tmp_path / "photo.png")
    assert data.jpeg_settings(tmp_path / "photo.png") is None


def test_a_folder_s_stored_jpeg_settings_are_those_all_its_classes_agree_on(tmp_path):
    assert data.stored_jpeg_settings(make_class_folder(tmp_path / "jpeg", 2, suffix=".jpg")) == {
        "quality": 75,
        "subsampling": "4:2:0",
    }  # fmt: skip  (Pillow's defaults, as Food-101's 64 px photos were saved)
    assert data.stored_jpeg_settings(make_class_folder(tmp_path / "png", 2)) is None
    mixed = make_class_folder(tmp_path / "mixed", 2, suffix=".jpg")
    colour_photo(COLOURS["red"], 9).save(mixed / "red" / "0.jpg", quality=95)
    assert data.stored_jpeg_settings(mixed) is None


def test_stored_as_gives_a_square_the_colour_resolution_and_blocks_of_a_stored_photo():
    square = torch.from_numpy(np.array(colour_photo(COLOURS["blue"], 5))).permute(2, 0, 1).unsqueeze(0)
    settings = {"quality": 75, "subsampling": "4:2:0"}
    stored = data.stored_as(square, settings)
    buffer = io.BytesIO()
    Image.fromarray(square[0].permute(1, 2, 0).numpy()).save(buffer, "JPEG", quality=75)
    expected = torch.from_numpy(np.asarray(Image.open(buffer).convert("RGB")).copy()).permute(2, 0, 1)
    assert stored.shape == square.shape and stored.dtype == torch.uint8
    assert torch.equal(stored[0], expected)
    assert not torch.equal(stored, square)
    assert data.stored_as(square, None) is square


# --- AI-Hub K-food as unpacked: kfood/<category>/<dish>/Img_….jpg -------------------------------


def _kfood(tmp_path):
    image_set = data.load_image_set(make_kfood_tree(tmp_path / "kfood"), 32)
    return image_set, dict(zip(image_set.paths, image_set.images))


def test_ai_hub_dish_folders_are_the_classes_named_in_nfc(tmp_path):
    image_set, _ = _kfood(tmp_path)
    dishes = sorted(dish for _, dish in KFOOD_DISHES)
    assert image_set.classes == dishes == ["갈비구이", "김치찌개", "떡국_만두국"]
    assert all(unicodedata.is_normalized("NFC", path) for path in image_set.paths)
    assert "갈비구이/Img_000_0000.jpg" in image_set.paths
    assert all(runs.CLASS_ID.match(name) for name in image_set.classes)


def test_ai_hub_crop_boxes_cut_the_dish_out_of_the_photo(tmp_path):
    _, images = _kfood(tmp_path)
    dish, grey = torch.tensor(COLOURS["red"]), torch.tensor(KFOOD_BACKGROUND)

    def share_of(colour, image):  # the share of pixels nearer to `colour` than to the other one
        other = grey if colour is dish else dish
        pixels = image.permute(1, 2, 0).reshape(-1, 3).float()
        return ((pixels - colour).norm(dim=1) < (pixels - other).norm(dim=1)).float().mean().item()

    assert share_of(dish, images["갈비구이/Img_000_0000.jpg"]) > 0.95  # cut to its box: all dish
    assert share_of(dish, images["갈비구이/Img_000_0904.gif"]) > 0.95  # a GIF is a photo, cut as well
    assert share_of(dish, images["갈비구이/Img_000_0901.jpg"]) > 0.95  # box partly outside: clamped
    whole = data.square_uint8(kfood_photo(COLOURS["red"], 903), 32)
    assert share_of(grey, images["갈비구이/Img_000_0903.jpg"]) > 0.5  # no box: used whole
    assert share_of(grey, whole) > 0.5
    assert share_of(grey, images["갈비구이/Img_000_0902.jpg"]) > 0.5  # box wholly outside: used whole


def test_ai_hub_bad_box_lines_and_corrupt_photos_are_reported_never_fatal(tmp_path):
    image_set, images = _kfood(tmp_path)
    assert len(image_set.paths) == 3 * 8 + 4  # the corrupt .jpg is the one photo left out
    assert not any(name.endswith((".txt", ".csv", ".properties")) for name in images)
    report = data.report_skipped(image_set.skipped)
    assert "crop_area.properties line 12" in report and "12,x,30" in report  # the malformed line
    assert "crop_area.properties line 10" in report and "500,500,40,40 lies outside" in report
    assert "Img_000_0905.jpg" in report and "3 file(s) skipped" in report
    assert "bb_info" not in report and "org_url" not in report


def test_what_a_mac_adds_to_an_archive_is_not_a_photo_or_a_class(tmp_path):
    root = make_kfood_tree(tmp_path / "kfood", per_dish=3)
    for folder in [*root.glob("*/*")]:
        mirror = root / "__MACOSX" / folder.relative_to(root)
        mirror.mkdir(parents=True)
        (mirror / "._Img_000_0000.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")
        (folder / "._Img_000_0000.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")
    image_set = data.load_image_set(root, 32)
    assert image_set.classes == sorted(dish for _, dish in KFOOD_DISHES)
    assert not any("._" in path for path in image_set.paths) and "._" not in data.report_skipped(image_set.skipped)


def test_two_dish_folders_of_one_name_are_an_error_naming_both(tmp_path):
    root = make_kfood_tree(tmp_path / "kfood", per_dish=3)
    twin = root / "찜" / unicodedata.normalize("NFD", "김치찌개")
    twin.mkdir(parents=True)
    colour_photo(COLOURS["green"], 5).save(twin / "Img_1.jpg")
    with pytest.raises(data.DataError, match="two class folders are named 김치찌개"):
        data.load_image_set(root, 32)


def test_crop_box_lines_are_read_as_public_loaders_read_them(tmp_path):
    path = tmp_path / data.CROP_BOXES
    path.write_text("# comment\nImg_000_0001=1,2,3,4\nimg_000_0002.JPG = 5, 6, 7, 8\n\nImg_3=1,2,0,4\nnoequals\n")
    boxes, bad = data.read_crop_boxes(path)
    assert boxes == {"img_000_0001": ((1, 2, 3, 4), 2), "img_000_0002": ((5, 6, 7, 8), 3)}
    assert [where.rsplit(" ", 1)[1] for where, _ in bad] == ["5", "6"]
    assert data.clamp_box((-5, 10, 20, 100), (30, 40)) == (0, 10, 15, 40)
    assert data.clamp_box((30, 0, 5, 5), (30, 40)) is None
