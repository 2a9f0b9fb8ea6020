"""Shared test helpers: colour photos and class folders made on the fly, where the real data lives."""

import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FOOD_DATA = SHARED_DATA / "food101-asian10-64"
COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
DISH_COLOURS = {"bibimbap": COLOURS["red"], "ramen": COLOURS["green"], "sushi": COLOURS["blue"]}


def colour_photo(rgb, seed: int, size: int = 64) -> Image.Image:
    """A flat colour with noise: easy to tell apart by class, never two files the same."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb) + rng.normal(0, 25, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def dish_photo(dish: str, seed: int = 7, size: int = 96) -> Image.Image:
    """A colour 'dish' photo: the tiny trained models learn bibimbap = red, ramen = green, sushi = blue."""
    return colour_photo(DISH_COLOURS[dish], seed, size)


def make_class_folder(root: Path, per_class: int = 12, classes=tuple(COLOURS), suffix: str = ".png") -> Path:
    for label, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            colour_photo(COLOURS[name], seed=label * 1000 + i).save(folder / f"{i}{suffix}")
    return root


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


# A small tree in AI-Hub K-food's layout (kfood/<category>/<dish>/Img_….jpg), as a Mac unpacks it.
KFOOD_DISHES = {
    ("구이", "갈비구이"): COLOURS["red"],
    ("찌개", "김치찌개"): COLOURS["green"],
    ("국", "떡국_만두국"): COLOURS["blue"],
}
KFOOD_BACKGROUND = (128, 128, 128)
KFOOD_BOX = (60, 8, 32, 32)  # x, y, w, h of the dish in every photo with a box


def kfood_photo(rgb, seed: int, box=KFOOD_BOX, size=(96, 64)) -> Image.Image:
    """A grey photo with the dish (a noisy colour block) inside `box`: cut to its box, it is all dish."""
    photo = colour_photo(KFOOD_BACKGROUND, seed, max(size)).crop((0, 0, *size))
    x, y, w, h = box
    photo.paste(colour_photo(rgb, seed + 1, max(w, h)).crop((0, 0, w, h)), (x, y))
    return photo


def make_kfood_tree(root: Path, per_dish: int = 8) -> Path:
    """kfood/<category>/<dish>/ with NFD folder names; each dish folder has Img_000_000N.jpg photos with
    a crop_area.properties box each, a bb_info.txt and an org_url.csv. The first dish's folder also
    has a malformed box line, a box partly outside its photo, one wholly outside, a photo without a
    box, a corrupt .jpg and a .gif (which has a box)."""
    for label, ((category, dish), rgb) in enumerate(KFOOD_DISHES.items()):
        folder = root / unicodedata.normalize("NFD", category) / unicodedata.normalize("NFD", dish)
        folder.mkdir(parents=True)
        lines = []
        for i in range(per_dish):
            kfood_photo(rgb, seed=label * 100 + i).save(folder / f"Img_000_{i:04d}.jpg", quality=95)
            lines.append(f"Img_000_{i:04d}={','.join(map(str, KFOOD_BOX))}")
        (folder / "bb_info.txt").write_text("0 0.5 0.5 0.3 0.3\n")
        (folder / "org_url.csv").write_text("Img_000_0000,https://example.invalid/a.jpg\n")
        (folder / "crop_area.properties").write_text("\n".join(lines) + "\n")
    first = root / unicodedata.normalize("NFD", "구이") / unicodedata.normalize("NFD", "갈비구이")
    rgb = KFOOD_DISHES[("구이", "갈비구이")]
    kfood_photo(rgb, 901, box=(80, 40, 16, 24)).save(first / "Img_000_0901.jpg", quality=95)
    kfood_photo(rgb, 902).save(first / "Img_000_0902.jpg", quality=95)
    kfood_photo(rgb, 903).save(first / "Img_000_0903.jpg", quality=95)
    kfood_photo(rgb, 904).convert("P").save(first / "Img_000_0904.gif")
    (first / "Img_000_0905.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with open(first / "crop_area.properties", "a") as f:
        f.write("Img_000_0901=80,40,50,50\n")  # partly outside the 96x64 photo: clamped to 80,40,16,24
        f.write("Img_000_0902=500,500,40,40\n")  # wholly outside: the photo is used whole
        f.write("Img_000_0904=60,8,32,32\n")
        f.write("Img_000_0906=12,x,30\n")  # malformed
        # Img_000_0903 has no box: used whole
    return root


# Two real photos the deployed model names confidently on their own (bibimbap 99%, miso soup 98%) and
# as the region a tap on the middle of each gives in two_dish_photo (89%, 98%), measured on the CPU VM.
TWO_DISHES = (
    SHARED_DATA / "realworld-dev" / "bibimbap" / "it922maluk__bibimbap.jpg",
    SHARED_DATA / "realworld-dev" / "miso_soup" / "jackyni0319__miso_soup.jpg",
)


def two_dish_photo(side: int = 512) -> Image.Image:
    """One photo of two dishes, side x 2side: the centre square of each TWO_DISHES photo, side by side."""
    two = Image.new("RGB", (2 * side, side))
    for i, path in enumerate(TWO_DISHES):
        photo = Image.open(path).convert("RGB")
        short = min(photo.size)
        left, top = (photo.width - short) // 2, (photo.height - short) // 2
        square = photo.crop((left, top, left + short, top + short))
        two.paste(square.resize((side, side), Image.Resampling.BICUBIC), (i * side, 0))
    return two
