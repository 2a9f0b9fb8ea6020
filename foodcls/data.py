"""Class-folder image sets: decoded once into uint8 tensors, split without leaks, augmented on device.

A data folder holds one sub-folder per class (the folder name is the class id) of photos in any
common format, or, as AI-Hub's K-food set unpacks (`kfood/<category>/<dish>/Img_….jpg`), category
folders of class folders. Class ids are the folder names in NFC (a Mac unpacks Hangul names NFD).
A `crop_area.properties` beside photos gives each a box (`Img_…=x,y,w,h`) that is cut before
resizing. Bad files and bad box lines are skipped and reported, never fatal; a missing folder, an
empty class or a class too small to split stops with an error that names it.
"""

import functools
import hashlib
import json
import math
import random
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
import pillow_heif
import torch
from PIL import ExifTags, Image, JpegImagePlugin
from torch.nn import functional as F

pillow_heif.register_heif_opener()  # HEIC/HEIF (iPhone) photos open like JPEGs; Pillow reads AVIF itself

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".heic", ".heif", ".avif"}
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = {"val": 0.1, "test": 0.1}  # train gets the rest
MAX_IMAGE_PIXELS = 60_000_000  # a 60 MP phone photo is fine; larger is refused as a possible bomb
# What one decode may cost in memory at its peak. A baseline JPEG decodes at a reduced scale (draft),
# so it costs little at any size; other formats decode whole, at decode_bytes_per_pixel, so their pixel
# cap is this budget over that cost: 15 MP for HEIC (a 12 MP iPhone photo), 13 MP for AVIF, 7.8 MP for
# WebP, 15 MP for an RGBA PNG, 31 MP for RGB. service.DECODE_SLOTS decodes run at once, app-wide.
DECODE_BUDGET_BYTES = 120 * 1024 * 1024
# Longest side over shortest side. Only the centre square is classified, so a photo that much wider
# than tall shows the model 1/8 of itself; ordinary photos are under 2.4:1 (21:9), phone panoramas
# mostly under 8:1. Beyond it the photo is refused: a 100000x8 strip is a memory probe, not a meal.
MAX_ASPECT_RATIO = 8
# The decoders the app opens, by PIL format name (JPEG includes a phone's multi-picture MPO). Anything
# else (TIFF, EPS, PSD, ...) is refused before its decoder runs.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "HEIF", "AVIF")
# AI-Hub K-food's box file, one per dish folder: 'Img_000_0001=x,y,w,h' (pixels, photo name without extension)
CROP_BOXES = "crop_area.properties"
# JPEG chroma subsampling by Pillow's code (JpegImagePlugin.get_sampling), as Pillow's save takes it
JPEG_SUBSAMPLINGS = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


class UnusableImage(ValueError):
    """A readable image that is refused as it is; the message says why, in Korean and English."""


class ImageTooLarge(UnusableImage):
    """More pixels than can be decoded safely: refused before decoding, as a possible decompression bomb."""


class ExtremeAspectRatio(UnusableImage):
    """One side more than MAX_ASPECT_RATIO times the other: refused before decoding."""


class DataError(ValueError):
    """The data folder cannot be used as it is; the message says which folder or class and why."""


def decode_bytes_per_pixel(image: Image.Image) -> float:
    """Peak bytes per pixel of decoding `image` whole, read from its header (0: decoded at a reduced scale).

    Measured on the dev VM (peak RSS growth over the pixels): a baseline JPEG decodes at the draft scale
    (0); a progressive one keeps every DCT coefficient of the whole photo, 2 bytes each, whatever the
    scale; HEIF 7.7 (libheif's planes and buffer, and Pillow's copy), AVIF 9.3, WebP 15.6 (an RGBA canvas
    and two copies); others their pixels' bytes in Pillow (RGB takes 4), twice with alpha (the reduction premultiplies a copy)."""
    if image.format in ("JPEG", "MPO"):
        if not image.info.get("progressive"):
            return 0.0
        chroma = 0.0 if image.mode == "L" else {0: 2.0, 1: 1.0, 2: 0.5}.get(JpegImagePlugin.get_sampling(image), 2.0)
        return 2.0 * (1.0 + chroma)
    measured = {"HEIF": 8.0, "AVIF": 9.5, "WEBP": 16.0}
    if image.format in measured:
        return measured[image.format]
    pixel_bytes = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}.get(image.mode, 4)  # RGB is RGBX
    return float(pixel_bytes * (2 if image.mode in ("RGBA", "LA", "PA") else 1))


def _check_shape(image: Image.Image) -> None:
    """Refuse, from the header alone, what would cost too much memory or time to decode."""
    width, height = image.size
    cost = decode_bytes_per_pixel(image)
    cap = min(MAX_IMAGE_PIXELS, int(DECODE_BUDGET_BYTES / cost)) if cost else MAX_IMAGE_PIXELS
    if width * height > cap:
        raise ImageTooLarge(
            f"사진이 너무 큽니다 ({width}x{height}, 최대 {cap / 1e6:.0f}MP). The photo is {width}x{height} "
            f"pixels, over the {cap / 1e6:.0f} MP limit for this {image.format} photo: send a JPEG or a smaller photo."
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
        raise ExtremeAspectRatio(
            f"사진의 가로세로 비율이 너무 극단적입니다 ({width}x{height}). The photo is {width}x{height} pixels: "
            f"one side is more than {MAX_ASPECT_RATIO} times the other. Send an ordinary photo of the meal."
        )


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = upright), read from the header before the pixels are decoded."""
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (ValueError, TypeError, SyntaxError, OSError):
        return 1


def open_rgb(source, min_side: int | None = None, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """Open a photo as 8-bit RGB, upright per its EXIF orientation; first frame of an animation.

    With `min_side`, the photo is shrunk to no less than min_side pixels before any conversion: a large
    JPEG decodes at a reduced scale (draft), other formats are reduced by a whole factor (box filter)
    in their own mode right after decoding, so 16-bit, palette and alpha conversions work on the small
    copy. Refused before decoding (UnusableImage): formats outside IMAGE_FORMATS, more pixels than the
    decode budget allows for the format (decode_bytes_per_pixel), sides further apart than
    MAX_ASPECT_RATIO. `box` (left, top, right, bottom, in the stored pixels, inside the photo: see
    `clamp_box`) is cut out before the photo is turned upright; min_side then counts in the box.
    The result's info["full_size"] is the whole photo's upright size as stored (a browser shows it at
    that size), so that a point on it maps onto the returned, maybe smaller, picture.
    """
    image = Image.open(source, formats=IMAGE_FORMATS)
    _check_shape(image)
    orientation = _orientation(image)
    full_size = image.size[::-1] if orientation in (5, 6, 7, 8) else image.size
    if min_side and box:
        full = image.size
        scale = min_side / min(box[2] - box[0], box[3] - box[1])
        image.draft("RGB", (math.ceil(full[0] * scale), math.ceil(full[1] * scale)))
        factor = (image.size[0] / full[0], image.size[1] / full[1])
        box = (box[0] * factor[0], box[1] * factor[1], box[2] * factor[0], box[3] * factor[1])
    elif min_side:
        image.draft("RGB", (min_side, min_side))
    image.load()
    if box:
        image = image.crop(tuple(round(edge) for edge in box))
    if min_side and (factor := min(image.size) // min_side) >= 2:
        image = image.resize((image.width // factor, image.height // factor), Image.Resampling.BOX)
    if orientation in _TRANSPOSES:
        image = image.transpose(_TRANSPOSES[orientation])
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float greyscale: rescale
        pixels = np.asarray(image, dtype=np.float32)
        span = max(float(pixels.max() - pixels.min()), 1e-6)
        image = Image.fromarray(((pixels - pixels.min()) * (255.0 / span)).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba)  # an RGBA mask pastes through its alpha band
    else:
        rgb = image.convert("RGB")
    rgb.info["full_size"] = full_size
    return rgb


# EXIF orientation -> the transpose that makes the photo upright (as ImageOps.exif_transpose does)
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def square_uint8(image: Image.Image, size: int) -> torch.Tensor:
    """The centre square, resized to size x size, as a 3 x size x size uint8 tensor.

    The square is cut before resizing (resize's box), so no intermediate is larger than the square
    at its own scale: resizing a 100000x8 strip's short side first would make it 2.4 million pixels wide.
    """
    side = min(image.size)
    left, top = (image.width - side) / 2, (image.height - side) / 2
    square = image.resize(
        (size, size), Image.Resampling.BICUBIC, box=(left, top, left + side, top + side), reducing_gap=3.0
    )
    return torch.from_numpy(np.asarray(square, dtype=np.uint8).copy()).permute(2, 0, 1)


def stored_as(squares: torch.Tensor, jpeg: dict | None) -> torch.Tensor:
    """uint8 N x 3 x s x s squares saved and read back as JPEG with `jpeg`'s quality and chroma
    subsampling (a run's config `source_jpeg`: how its training photos were stored), or as they are.

    A photo shrunk by the app has full-resolution colour; Food-101's small photos were stored at
    quality 75 with colour at half resolution (4:2:0), and a model trained on them expects that.
    """
    if not jpeg:
        return squares
    stored = [saved_and_read_back(Image.fromarray(square.permute(1, 2, 0).numpy()), jpeg) for square in squares]
    return torch.stack([torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1) for image in stored])


def saved_and_read_back(image: Image.Image, jpeg: dict) -> Image.Image:
    """An RGB image after a JPEG save (settings as `stored_as`) and load, in memory."""
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=jpeg["quality"], subsampling=jpeg["subsampling"])
    return Image.open(buffer).convert("RGB")


def jpeg_settings(path: Path) -> dict | None:
    """The quality (on Pillow's scale) and chroma subsampling a JPEG file was saved with, or None
    when it is not a JPEG or its quantisation tables are not Pillow's at any quality."""
    with Image.open(path) as image:
        if image.format != "JPEG":
            return None
        subsampling = JPEG_SUBSAMPLINGS.get(JpegImagePlugin.get_sampling(image))
        tables = image.quantization
    quality = next((q for q in range(1, 101) if pillow_quantization(q) == tables), None)
    return {"quality": quality, "subsampling": subsampling} if quality and subsampling else None


@functools.cache
def pillow_quantization(quality: int) -> dict:
    """The quantisation tables Pillow writes at `quality`."""
    buffer = BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).quantization


def stored_jpeg_settings(root: Path) -> dict | None:
    """The JPEG settings every class folder's first photo was saved with, when they all agree (as
    Food-101's 64 px photos do: quality 75, 4:2:0), else None."""
    found = [jpeg_settings(files[0]) for files in list_class_folders(root).values()]
    return found[0] if found[0] and all(settings == found[0] for settings in found) else None


def upscale(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N x 3 x s x s photos enlarged to size x size (bicubic), as a run trained on small photos
    sees every photo: first made as small as its training photos, then enlarged as they were."""
    if images.shape[-1] == size:
        return images
    enlarged = F.interpolate(images.float(), size=(size, size), mode="bicubic", align_corners=False)
    return enlarged.round_().clamp_(0, 255).to(torch.uint8)


def centre_zooms(squares: torch.Tensor, zooms: list[float], size: int) -> torch.Tensor:
    """The views of uint8 N x 3 x s x s squares that a run averages: for each zoom, the central
    `zoom` of the side, enlarged to size x size; zoom-major, (len(zooms) * N) x 3 x size x size."""
    side = squares.shape[-1]
    views = []
    for zoom in zooms:
        kept = round(side * zoom)
        start = (side - kept) // 2
        views.append(upscale(squares[..., start : start + kept, start : start + kept].contiguous(), size))
    return torch.cat(views)


@dataclass
class ImageSet:
    """Decoded photos of a class-folder dataset; `paths` are relative, as 'class/file'."""

    classes: list[str]
    images: torch.Tensor  # N x 3 x S x S, uint8
    labels: torch.Tensor  # N, int64
    paths: list[str]
    digests: list[str]  # SHA-1 of each file's bytes: exact duplicates share one
    root: Path  # the folder the relative paths are under
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def subset(self, indices: list[int]) -> "ImageSet":
        index = torch.tensor(indices, dtype=torch.long)
        return ImageSet(
            self.classes,
            self.images[index],
            self.labels[index],
            [self.paths[i] for i in indices],
            [self.digests[i] for i in indices],
            self.root,
        )


def nfc(name: str) -> str:
    """A file or folder name as one spelling: Hangul composed (NFC), however the archive was unpacked."""
    return unicodedata.normalize("NFC", name)


# What a Mac adds to an archive it makes: resource forks, as ._<name> files and a __MACOSX/ mirror tree
MAC_METADATA_FOLDER, MAC_METADATA_PREFIX = "__MACOSX", "._"


def _subfolders(folder: Path) -> list[Path]:
    """The sub-folders, sorted by NFC name; hidden ones and a Mac archive's __MACOSX/ left out."""
    found = (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != MAC_METADATA_FOLDER)
    return sorted(found, key=lambda p: nfc(p.name))


def _is_photo(path: Path) -> bool:
    """A file named as a photo, other than a Mac's ._<name> resource fork."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(MAC_METADATA_PREFIX)


def _has_photo(folder: Path) -> bool:
    return any(_is_photo(p) for p in folder.iterdir())


def list_class_folders(root: Path) -> dict[str, list[Path]]:
    """Every class with its image files, sorted by class id; errors name a missing folder or empty class.

    See `class_folders` for which folders are the classes."""
    return {name: files for name, (_, files) in class_folders(root).items()}


def class_folders(root: Path) -> dict[str, tuple[Path, list[Path]]]:
    """Every class id with its folder and image files (anywhere under it), sorted by class id.

    The classes are the sub-folders of `root`, or, when none of them holds a photo of its own but
    they hold folders (AI-Hub K-food: `<category>/<dish>/`), the folders inside them. Class ids are
    folder names in NFC; two class folders of one name are an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}")
    folders = _subfolders(root)
    if not folders:
        raise DataError(f"no class sub-folders in {root}: expected one folder per class")
    if not any(_has_photo(folder) for folder in folders) and any(_subfolders(folder) for folder in folders):
        categories, folders = folders, []
        for category in categories:
            dishes = _subfolders(category)
            if not dishes:
                raise DataError(f"category folder has no class folders: {category}")
            folders += dishes
    classes = {}
    for folder in sorted(folders, key=lambda p: nfc(p.name)):
        name = nfc(folder.name)
        if name in classes:
            raise DataError(f"two class folders are named {name}: {classes[name][0]} and {folder}")
        files = sorted(p for p in folder.rglob("*") if _is_photo(p))
        if not files:
            raise DataError(f"class folder has no images: {folder}")
        classes[name] = (folder, files)
    return classes


def read_crop_boxes(path: Path) -> tuple[dict[str, tuple[tuple[int, int, int, int], int]], list[tuple[str, str]]]:
    """The boxes of a `crop_area.properties`: {photo name without extension, NFC and casefolded:
    ((x, y, w, h), line number)}, and the lines that are not such a box, as (where, why)."""
    boxes, bad = {}, []
    for number, line in enumerate(path.read_bytes().decode("utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#!":  # blank, or a comment in the .properties format
            continue
        name, _, value = line.partition("=")
        try:
            box = tuple(int(part) for part in value.split(","))
            if not name.strip() or len(box) != 4 or box[2] <= 0 or box[3] <= 0:
                raise ValueError
        except ValueError:
            bad.append((f"{path} line {number}", f"not a crop box 'Img_…=x,y,w,h': {line[:80]!r}"))
            continue
        stem = name.strip()
        if Path(stem).suffix.lower() in IMAGE_SUFFIXES:
            stem = Path(stem).stem
        boxes[nfc(stem).casefold()] = (box, number)
    return boxes, bad


def clamp_box(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """An (x, y, w, h) box as (left, top, right, bottom) inside a photo of `size`; None when nothing
    of it is inside."""
    left, top = max(0, box[0]), max(0, box[1])
    right, bottom = min(size[0], box[0] + box[2]), min(size[1], box[1] + box[3])
    return (left, top, right, bottom) if right > left and bottom > top else None


def _decode(path: Path, size: int, box=None):
    """(uint8 tensor, SHA-1, note) of one file, cut to its (x, y, w, h) box when one is given, or
    (None, reason, None) when it cannot be used; the note says why a box was not applied."""
    try:
        data = path.read_bytes()
        if not data:
            return None, "empty file (0 bytes)", None
        note, inside = None, None
        if box is not None:
            with Image.open(BytesIO(data), formats=IMAGE_FORMATS) as header:
                inside = clamp_box(box, header.size)
                if inside is None:
                    note = f"box {','.join(map(str, box))} lies outside the {header.width}x{header.height} photo"
        image = open_rgb(BytesIO(data), size, box=inside)
        return square_uint8(image, size), hashlib.sha1(data).hexdigest(), note
    except Exception as error:  # a bad photo must never stop a run: report it and go on
        return None, f"{type(error).__name__}: {error}", None


def _crop_boxes(folders: set[Path]) -> tuple[dict[Path, dict], list[tuple[str, str]]]:
    """Each folder's boxes (`read_crop_boxes`) where it has a crop_area.properties, and every bad line."""
    boxes, bad = {}, []
    for folder in sorted(folders):
        if (folder / CROP_BOXES).is_file():
            boxes[folder], bad_lines = read_crop_boxes(folder / CROP_BOXES)
            bad += bad_lines
    return boxes, bad


def load_image_set(root: Path, size: int, only: set[str] | None = None, classes: list[str] | None = None) -> ImageSet:
    """Decode every photo under `root` to size x size once (threads, since PIL releases the GIL),
    each cut to its crop_area.properties box where it has one (else whole).

    `only` keeps just those relative paths (a manifest's split); `classes` fixes the label order
    (a trained model's), and a folder class the model does not know is an error. Relative paths are
    'class/file' (NFC), whatever category folder the class sits in.
    """
    root = Path(root)
    found = class_folders(root)
    if classes is None:
        classes = list(found)
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(f"classes the model does not know in {root}: {', '.join(unknown)}")
    jobs = [
        (f"{name}/{nfc(path.relative_to(folder).as_posix())}", path, classes.index(name))
        for name, (folder, files) in found.items()
        for path in files
    ]
    if only is not None:
        jobs = [job for job in jobs if job[0] in only]
    boxes, skipped = _crop_boxes({job[1].parent for job in jobs})

    def decode(job):
        box, line = boxes.get(job[1].parent, {}).get(nfc(job[1].stem).casefold(), (None, None))
        image, digest, note = _decode(job[1], size, box)
        if note:  # the box lies outside its photo: the photo is used whole, the box's line is skipped
            note = (f"{job[1].parent / CROP_BOXES} line {line}", f"{note} ({job[1].name}): photo used whole")
        return image, digest, note

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(decode, jobs))

    kept = [(job, out) for job, out in zip(jobs, decoded) if out[0] is not None]
    skipped += [out[2] for out in decoded if out[2]]
    skipped += [(str(job[1]), out[1]) for job, out in zip(jobs, decoded) if out[0] is None]
    if not kept:
        raise DataError(f"no readable images in {root}")
    empty = sorted(set(found) - {classes[job[2]] for job, _ in kept})
    if empty and only is None:
        raise DataError(f"class folders with no readable image: {', '.join(empty)}")
    return ImageSet(
        classes=classes,
        images=torch.stack([out[0] for _, out in kept]),
        labels=torch.tensor([job[2] for job, _ in kept], dtype=torch.long),
        paths=[job[0] for job, _ in kept],
        digests=[out[1] for _, out in kept],
        root=root,
        skipped=skipped,
    )


def report_skipped(skipped: list[tuple[str, str]]) -> str:
    """One line per skipped file and a count, for the console."""
    lines = [f"skipped {path}: {reason}" for path, reason in skipped]
    return "\n".join(lines + [f"{len(skipped)} file(s) skipped"]) if skipped else ""


def split_indices(labels: list[int], digests: list[str], classes: list[str], seed: int):
    """A stratified, seed-deterministic train/val/test split where exact duplicates stay together.

    Files are grouped by content hash; each class's groups are shuffled with the seed and cut by
    `SPLIT_FRACTIONS`, with at least one group in every split.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, digest in enumerate(digests):
        groups[digest].append(index)
    by_class: dict[int, list[str]] = defaultdict(list)
    for digest, members in groups.items():
        by_class[labels[members[0]]].append(digest)

    rng = random.Random(seed)
    split = {name: [] for name in SPLITS}
    for label, name in enumerate(classes):
        digests_of_class = sorted(by_class.get(label, []))
        if len(digests_of_class) < len(SPLITS):
            raise DataError(
                f"class {name!r} has {len(digests_of_class)} distinct image(s); "
                f"at least {len(SPLITS)} are needed for a train/val/test split"
            )
        rng.shuffle(digests_of_class)
        n = len(digests_of_class)
        n_val = max(1, round(n * SPLIT_FRACTIONS["val"]))
        n_test = max(1, round(n * SPLIT_FRACTIONS["test"]))
        cuts = {
            "test": digests_of_class[:n_test],
            "val": digests_of_class[n_test : n_test + n_val],
            "train": digests_of_class[n_test + n_val :],
        }
        for split_name, chosen in cuts.items():
            split[split_name] += [i for digest in chosen for i in groups[digest]]
    return {name: sorted(indices) for name, indices in split.items()}


def write_manifest(path: Path, image_set: ImageSet, split: dict[str, list[int]], seed: int):
    manifest = {
        "seed": seed,
        "classes": image_set.classes,
        "splits": {name: [image_set.paths[i] for i in split[name]] for name in SPLITS},
    }
    Path(path).write_text(json.dumps(manifest, indent=0, ensure_ascii=False))


def read_manifest(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 N x 3 x H x W to normalised float on the same device."""
    mean = torch.tensor(mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(std, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


def augment(images: torch.Tensor, min_scale: float, max_shift: float = 0.125) -> torch.Tensor:
    """Random horizontal flip, zoom-in crop (area fraction >= min_scale) and shift, on device.

    One affine resampling for the whole batch, with reflection at the borders: the batched
    equivalent of pad-and-random-crop plus random-resized-crop, and no host round-trips.
    """
    n = images.shape[0]
    device = images.device
    zoom = torch.empty(n, device=device).uniform_(min_scale, 1.0).sqrt()
    flip = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
    room = (1.0 - zoom) + 2 * max_shift
    shift = (torch.rand(n, 2, device=device) * 2 - 1) * room.unsqueeze(1)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = zoom * flip
    theta[:, 1, 1] = zoom
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
