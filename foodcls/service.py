"""One classify request, without Gradio: read the photo, classify it, look up the dish's nutrition.

The UI, the bench and the tests call `read_photo` and `classify` with keyword arguments and get a
`Classification` back; what the page shows is made from it in ui.py.
"""

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from foodcls import catalogue, data, nutrition, predict, runs, texts, unknown, uploads
from foodcls.store import RunStore

# The lowest step at which, on the deployed model's validation split, at least 96% of the photos it
# names are right (0.6: 69% of the photos named, 97.1% of them right) and random noise, a flat white,
# grey or blue frame and a fractal all fall below (noise scores 0.57 "miso soup", so 0.55 would not do).
DEFAULT_THRESHOLD = 0.6
TOP_K = 3
MAX_PHOTO_SIDE = 256  # big JPEGs decode at a reduced scale, no smaller than this: models see at most 224 px
# Photos decoded at once, app-wide: the page's queue and the JSON API share these, so decoding holds
# at most DECODE_SLOTS x data.DECODE_BUDGET_BYTES however many requests arrive together (2 cores).
DECODE_SLOTS = 2
_decoding = threading.BoundedSemaphore(DECODE_SLOTS)


class PhotoError(ValueError):
    """The upload is not a usable photo; the message says why, in Korean and English."""


class PhotoGone(PhotoError):
    """The upload is not (or no longer) in the upload folders: swept, or never an upload of this app."""


class UnknownDish(LookupError):
    """No dish with this class id in the nutrition table; the message says so, in Korean and English."""


class UnknownFood(LookupError):
    """No food with this id in the catalogue; the message says so (without the id), in Korean and English."""


@dataclass(frozen=True)
class Dish:
    class_id: str
    name_ko: str | None  # None: the dish has no row in the nutrition table
    name_en: str | None
    probability: float

    @property
    def label(self) -> str:
        """'비빔밥 · Bibimbap' for a dish with names, the class id otherwise."""
        return f"{self.name_ko} · {self.name_en}" if self.name_ko else self.class_id


@dataclass(frozen=True, eq=False)
class Classification:
    model_id: str
    model_name: str
    weights_source: str  # the Hub repository and revision, or the bundled weights/
    top: tuple[Dish, ...]  # best first
    top_index: int  # the best dish's class index in the model (for Grad-CAM)
    threshold: float
    named: bool  # the best dish's probability reached the threshold and the photo does not look unknown
    looks_unknown: bool  # the run's unknown-dish rule says: a dish it does not know (not: unsure between known ones)
    nutrition: nutrition.Facts | None  # None unless named and in the nutrition table (which may say "no data")
    inference_ms: float

    @property
    def best(self) -> Dish:
        return self.top[0]


def api_inputs(*, model_id, threshold=DEFAULT_THRESHOLD, servings=1.0, heat_map=False) -> list:
    """The /classify API's inputs after the photo, in their order, from keyword arguments: the page
    lays its controls out with this too, so a client never spells the order out."""
    return [model_id, threshold, servings, heat_map]


def read_upload(path) -> Image.Image:
    """A photo a person sent (the page, the APIs): read only when it is a file in the upload folders
    (uploads.open_upload), then as read_photo reads it."""
    if path is None:
        raise PhotoError(texts.both("no_photo"))
    try:
        with uploads.open_upload(path) as file:
            uploads.unpin(path)  # opened: the sweeper may delete the name now, the open file stays readable
            return read_photo(file)
    except uploads.UploadRefused as error:
        raise PhotoGone(str(error)) from None


def read_photo(source: str | Path | BinaryIO | None) -> Image.Image:
    """A photo (a local path or an open binary file) as RGB, or a PhotoError with a message for the person.

    Paths are read as they are: for what people send, use read_upload."""
    if source is None:
        raise PhotoError(texts.both("no_photo"))
    if isinstance(source, (str, Path)):
        source = Path(source)
        if not source.is_file() or source.stat().st_size == 0:
            raise PhotoError(texts.both("empty_file"))
    elif os.fstat(source.fileno()).st_size == 0:
        raise PhotoError(texts.both("empty_file"))
    try:
        with _decoding:
            photo = data.open_rgb(source, MAX_PHOTO_SIDE)
    except Image.DecompressionBombError:
        raise PhotoError(texts.both("too_large")) from None
    except data.UnusableImage as error:
        raise PhotoError(str(error)) from None
    except ValueError as error:
        raise PhotoError(texts.both("unreadable", reason=error)) from None
    except Exception as error:
        raise PhotoError(texts.both("unreadable", reason=type(error).__name__)) from None
    if min(photo.size) < 8:
        raise PhotoError(texts.both("too_small", width=photo.width, height=photo.height))
    return photo


def run_threshold(config: dict) -> float:
    """The "not a known dish" threshold a run was calibrated with (foodcls.calibrate), else the default."""
    return config.get("threshold", DEFAULT_THRESHOLD)


def check_threshold(threshold) -> None:
    """ValueError (Korean and English) unless the threshold is a number from 0 to 1."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise ValueError(texts.both("bad_threshold"))


def classify(
    *,
    store: RunStore,
    table: nutrition.NutritionTable,
    photo: Image.Image,
    model_id: str,
    threshold: float | None = None,
    servings: float | None = None,
    grams: float | None = None,
    wait_s: float | None = None,
) -> Classification:
    """The top dishes of one photo by one model, and the nutrition of the best one when it is named,
    for `grams` or `servings` of it (default one serving of the source).

    Raises store.ModelUnavailable when the model cannot be served from anywhere (ModelLoading when it
    is still loading after `wait_s`: requests pass store.REQUEST_WAIT_S), ValueError (ko+en) for a
    portion or threshold out of range."""
    nutrition.check_portion(grams, servings)
    if threshold is not None:
        check_threshold(threshold)
    classifier, source = store.classifier(model_id, wait_s)
    if threshold is None:
        threshold = run_threshold(classifier.config)
    started = time.perf_counter()
    look = classifier.look(photo)
    probabilities = (look.logits / classifier.config.get("temperature", 1.0)).softmax(0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    top = probabilities.topk(min(TOP_K, len(classifier.classes)))
    dishes = []
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        class_id = classifier.classes[i]
        known = table.dish(class_id) if class_id in table else None
        dishes.append(Dish(class_id, known and known.name_ko, known and known.name_en, p))
    looks_unknown = unknown.looks_unknown(look.similarity, classifier.config)
    named = unknown.named(dishes[0].probability, look.similarity, threshold, classifier.config)
    facts = None
    if named and dishes[0].class_id in table:
        facts = table.facts(dishes[0].class_id, grams=grams, servings=servings)
    return Classification(
        model_id=model_id,
        model_name=runs.model_name(classifier.config),
        weights_source=source,
        top=tuple(dishes),
        top_index=int(top.indices[0]),
        threshold=threshold,
        named=named,
        looks_unknown=looks_unknown,
        nutrition=facts,
        inference_ms=elapsed_ms,
    )


def heat_map(
    *, store: RunStore, photo: Image.Image, model_id: str, class_index: int, wait_s: float | None = None
) -> Image.Image:
    """Where the model looked for one class: the photo with its Grad-CAM heat map (256 x 256)."""
    classifier, _ = store.classifier(model_id, wait_s)
    return predict.grad_cam(classifier, photo, class_index)


def facts_json(facts: nutrition.Facts) -> dict:
    """Nutrition facts as JSON types: names, source, portion (grams and servings), the values per
    portion and per 100 g by nutrient column (null where the source did not analyse it), units."""

    def number(value):
        return None if value is None or not math.isfinite(value) else float(value)

    return {
        "class_id": facts.class_id,
        "name_ko": facts.dish.name_ko,
        "name_en": facts.dish.name_en,
        "label": facts.dish.label,
        "has_data": facts.has_data,
        **{key: getattr(facts, key) for key in ("source", "food_code", "year", "source_name", "match", "basis")},
        "serving_g": number(facts.serving_g),
        "grams": number(facts.grams),
        "servings": number(facts.servings),
        "per_portion": {column: number(facts.per_portion.get(column)) for column in nutrition.NUTRIENT_NAMES},
        "per_100g": {column: number(facts.per_100g.get(column)) for column in nutrition.NUTRIENT_NAMES},
        "units": {column: unit for column, _, unit in nutrition.NUTRIENTS},
        "source_line": facts.source_line,
        "note": facts.note,
    }


def dish_facts(
    *, table: nutrition.NutritionTable, class_id: str, grams: float | None = None, servings: float | None = None
) -> dict:
    """The nutrition of one dish by class id, for `grams` or `servings` (default one serving of the
    source), as `facts_json` gives it: what the page shows for a corrected dish and /nutrition serves.

    Raises UnknownDish for a class id not in the table, ValueError (ko+en) for a portion out of range."""
    nutrition.check_portion(grams, servings)
    if not isinstance(class_id, str) or class_id not in table:
        raise UnknownDish(texts.both("no_such_dish"))
    return facts_json(table.facts(class_id, grams=grams, servings=servings))


# --- the food catalogue: search, facts in household units, look-alikes -------------------------


def food_json(food: catalogue.Food) -> dict:
    """A catalogue food as JSON types: id, names, source, code and household units with their grams."""
    return {
        "id": food.id,
        "name_ko": food.name_ko,
        "name_en": food.name_en,
        "source": food.source,
        "food_code": food.food_code,
        "units": [{"unit": u.unit, "name_ko": u.name_ko, "name_en": u.name_en, "grams": u.grams} for u in food.units],
    }


def search_foods(*, foods: catalogue.Catalogue, query: str = "", limit: int = 10, guesses=()) -> list[dict]:
    """Catalogue foods matching `query` (Korean, English, 초성, typos), best first, as `food_json`
    gives them; the model's `guesses` (class ids) and their look-alikes rank first among matches.

    ValueError (ko+en, never repeating the query) for a query over 100 characters or a limit outside 1-50."""
    if not isinstance(query, str) or len(query) > catalogue.MAX_QUERY:
        raise ValueError(texts.both("bad_query", limit=catalogue.MAX_QUERY))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= catalogue.MAX_LIMIT:
        raise ValueError(texts.both("bad_limit", limit=catalogue.MAX_LIMIT))
    guesses = [g for g in guesses if isinstance(g, str)]
    first = (*guesses, *(alike.food.id for alike in foods.lookalikes(guesses)))
    return [food_json(food) for food in foods.search(query, limit, first=first)]


def food_facts(
    *, foods: catalogue.Catalogue, food_id: str, amount: float | None = None, unit: str | None = None,
    grams: float | None = None,
) -> dict:  # fmt: skip
    """A catalogue food's nutrition for `amount` of one of its units (`unit`: "serving", "p1", ...,
    default its serving) or for `grams`, as `facts_json` gives it, plus `id` and the `portion` used
    (amount, unit and its names, grams; unit null for a portion in grams).

    Raises UnknownFood, or ValueError (ko+en) for an unknown unit or a portion out of range."""
    if food_id not in foods:
        raise UnknownFood(texts.both("no_such_food"))
    facts, chosen = foods.facts(food_id, amount=amount, unit=unit, grams=grams)
    answer = facts_json(facts) | {"id": food_id}
    answer["portion"] = {
        "amount": None if chosen is None else float(1.0 if amount is None else amount),
        "unit": None if chosen is None else chosen.unit,
        "name_ko": None if chosen is None else chosen.name_ko,
        "name_en": None if chosen is None else chosen.name_en,
        "grams": answer["grams"],
    }
    return answer


def lookalikes(*, foods: catalogue.Catalogue, class_ids) -> list[dict]:
    """The Korean dishes that real photos of these model classes are taken for (data/lookalikes.csv),
    as `food_json` gives them plus `lookalike_of` (the class id) and `reason`: what the page offers
    beside the model's guesses."""
    return [
        food_json(alike.food) | {"lookalike_of": alike.class_id, "reason": alike.reason}
        for alike in foods.lookalikes([c for c in class_ids if isinstance(c, str)])
    ]
