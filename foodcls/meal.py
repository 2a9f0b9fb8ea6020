"""A meal: dishes with their portions, added up. Kept in the person's browser, never on the server.

A meal is a list of items {"class_id": str, "grams": float | None, "servings": float | None}, one
of the two portions given: plain JSON, as gr.BrowserState keeps it in the browser's localStorage.
No nutrition numbers are stored in it: each view looks the dishes up in the NutritionTable, and
whatever a browser sends back is checked by `clean` first (it may be old, edited or broken).
"""

import base64
import csv
import io
import math

import pandas as pd

from foodcls import nutrition, texts

MAX_DISHES = 30
TOTAL = "합계 Total"


def item(table: nutrition.NutritionTable, class_id: str, grams=None, servings=None) -> dict:
    """One checked meal item: KeyError for an unknown dish, ValueError (ko+en) for a bad portion."""
    facts = table.facts(class_id, grams=grams, servings=servings)  # checks the dish and the portion
    if grams is not None:
        return {"class_id": class_id, "grams": float(grams), "servings": None}
    return {"class_id": class_id, "grams": None, "servings": facts.servings}


def add(meal: list[dict], table: nutrition.NutritionTable, class_id: str, grams=None, servings=None) -> list[dict]:
    """A new meal with the dish added at the end (the meal given is left as it was)."""
    if len(meal) >= MAX_DISHES:
        raise ValueError(texts.both("meal_full", n=MAX_DISHES))
    return [*meal, item(table, class_id, grams, servings)]


def remove(meal: list[dict], index: int) -> list[dict]:
    """A new meal without the dish at `index` (0-based); an index out of range changes nothing."""
    return [entry for i, entry in enumerate(meal) if i != index]


def clean(meal, table: nutrition.NutritionTable) -> list[dict]:
    """The well-formed items of a meal that came back from a browser; anything else is dropped."""
    if not isinstance(meal, list):
        return []
    kept = []
    for entry in meal[:MAX_DISHES]:
        try:
            kept.append(item(table, entry["class_id"], entry.get("grams"), entry.get("servings")))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return kept


def facts(meal: list[dict], table: nutrition.NutritionTable) -> list[nutrition.Facts]:
    """Each item's nutrition facts, in the meal's order."""
    return [table.facts(entry["class_id"], grams=entry["grams"], servings=entry["servings"]) for entry in meal]


def totals(dishes: list[nutrition.Facts]) -> tuple[dict[str, float | None], set[str]]:
    """The sum of each nutrient over the dishes, and the nutrients whose sum misses some dish's value
    (a dish without nutrition data, or one whose source did not analyse it). A nutrient no dish
    has a value for sums to None."""
    sums, partial = {}, set()
    for column in nutrition.NUTRIENT_NAMES:
        values = [dish.per_portion.get(column) if dish.has_data else None for dish in dishes]
        known = [v for v in values if v is not None and math.isfinite(v)]
        sums[column] = math.fsum(known) if known else None
        if len(known) < len(values):
            partial.add(column)
    return sums, partial


def portion_text(dish: nutrition.Facts) -> str:
    """'550 g · 1 인분 serving(s)', or just the servings of a dish without data given in servings."""
    parts = [f"{dish.grams:,.0f} g"] if dish.grams is not None else []
    if dish.servings is not None:
        parts.append(f"{dish.servings:.3g} 인분 serving(s)")
    return " · ".join(parts)


def _shown(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{' ' + unit if unit else ''}"


def frame(meal: list[dict], table: nutrition.NutritionTable) -> pd.DataFrame:
    """The meal as the page shows it: one row per dish, then the total ('≥' where it misses values)."""
    dishes = facts(meal, table)
    columns = ["#", "음식 Dish", "양 Portion", *(f"{label} ({unit})" for _, label, unit in nutrition.NUTRIENTS)]
    rows = []
    for number, dish in enumerate(dishes, 1):
        values = [_shown(dish.per_portion.get(column)) for column in nutrition.NUTRIENT_NAMES]
        rows.append([str(number), dish.dish.label, portion_text(dish), *values])
    if dishes:
        sums, partial = totals(dishes)
        marks = ["≥ " if column in partial and sums[column] is not None else "" for column in nutrition.NUTRIENT_NAMES]
        total = [mark + _shown(sums[column]) for mark, column in zip(marks, nutrition.NUTRIENT_NAMES)]
        rows.append(["", TOTAL, "", *total])
    return pd.DataFrame(rows, columns=columns)


def summary(meal: list[dict], table: nutrition.NutritionTable) -> str:
    """One line under the table: the number of dishes and the total energy, or that the meal is empty."""
    if not meal:
        return texts.both("meal_empty")
    sums, partial = totals(facts(meal, table))
    energy = sums["energy_kcal"]
    kcal = ("≥ " if "energy_kcal" in partial and energy is not None else "") + _shown(energy, "kcal")
    line = f"**{texts.both('meal_total', n=len(meal), kcal=kcal)}**"
    return line + ("\n\n" + texts.both("meal_partial") if partial else "")


def csv_text(meal: list[dict], table: nutrition.NutritionTable) -> str:
    """The meal as CSV: one row per dish with its portion, nutrients and source, then the total."""
    dishes = facts(meal, table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dish_ko", "dish_en", "class_id", "grams", "servings", *nutrition.NUTRIENT_NAMES, "source"])

    def number(value: float | None) -> str:
        return "" if value is None or not math.isfinite(value) else f"{value:.2f}"

    for dish in dishes:
        values = [number(dish.per_portion.get(column)) for column in nutrition.NUTRIENT_NAMES]
        source = f"{dish.source} {dish.food_code}".strip() if dish.has_data else "none"
        writer.writerow(
            [dish.dish.name_ko, dish.dish.name_en, dish.class_id, number(dish.grams), number(dish.servings)]
            + values
            + [source]
        )
    sums, _ = totals(dishes)
    writer.writerow(["합계", "Total", "", "", "", *(number(sums[column]) for column in nutrition.NUTRIENT_NAMES), ""])
    return out.getvalue()


def data_url(text: str) -> str:
    """A data: URL of CSV text (UTF-8 with a byte-order mark, so spreadsheets read the Korean right):
    the download is made in the browser, and no file is written on the server."""
    payload = base64.b64encode(("\ufeff" + text).encode("utf-8")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{payload}"
