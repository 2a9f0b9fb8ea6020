"""Several dishes in one photo (a Korean table: rice, soup, side dishes): the square region around
a point the person taps, classified as one dish. Pure geometry; the page decodes and classifies."""

import math
from numbers import Real

from PIL import Image

# The region's side as a share of the photo's shorter side, by the size the person picks. Medium is
# about one bowl or plate of a table photographed from above with its neighbours (rice, soup, side
# dishes): the dish and little else. Large is for a photo of two or three dishes that each fill much
# of it: there a medium region is a close-up of one dish, which the model reads worse (docs/dishes.md).
SIZES = {"small": 0.3, "medium": 0.45, "large": 0.65}
REGION_SHARE = SIZES["medium"]
MIN_SIDE = 8  # service.read_photo's smallest photo: a region is never smaller, unless the photo is


def tap_point(index) -> tuple[float, float] | None:
    """(x, y) of a select event's index ([x, y] in the photo's pixels, as Gradio's image sends it);
    None for anything else (a client may send any JSON)."""
    if not isinstance(index, (list, tuple)) or len(index) != 2:
        return None
    if not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in index):
        return None
    return float(index[0]), float(index[1])


def region_box(tap, size: tuple[int, int], share: float = REGION_SHARE) -> tuple[int, int, int, int] | None:
    """The square (left, top, right, bottom) of side `share` of the shorter side (at least MIN_SIDE,
    at most the shorter side) centred on the tap, moved inside the photo where it would cross an edge;
    None for a tap outside the photo of `size` (width, height), or one that is not a point."""
    point = tap_point(tap)
    width, height = size
    if point is None or width < 1 or height < 1:
        return None
    x, y = point
    if not (0 <= x < width and 0 <= y < height):
        return None
    short = min(width, height)
    side = min(short, max(MIN_SIDE, round(share * short)))
    left = min(max(round(x - side / 2), 0), width - side)
    top = min(max(round(y - side / 2), 0), height - side)
    return left, top, left + side, top + side


def crop(photo: Image.Image, tap, shown_size: tuple[int, int], share: float = REGION_SHARE) -> Image.Image | None:
    """The region around a tap on the photo as the page showed it (`shown_size`: its width and height
    there, the upright file's), cut from `photo`: the same picture, decoded at that size or smaller
    (a big JPEG decodes at a reduced scale). None for a tap outside the photo."""
    box = region_box(tap, shown_size, share)
    if box is None:
        return None
    sx, sy = photo.width / shown_size[0], photo.height / shown_size[1]
    left, top, right, bottom = round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy)
    return photo.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
