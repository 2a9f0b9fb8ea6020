"""A person's food log: dishes with portions, by day and meal slot. Kept in their browser only.

The log is plain JSON, as gr.BrowserState keeps it in the browser's localStorage:
    {"version": 3, "goal": float | None, "entries": [entry, ...]}
    entry = {"id": str, "date": "YYYY-MM-DD", "time": "HH:MM", "slot": one of SLOTS,
             "food": food id, "amount": float, "unit": a unit of the food (foods.Foods.units)}
Date and time are the person's own (their browser's clock). No nutrition numbers of the catalogue
are stored: each view looks the foods up (foods.Foods), and whatever a browser sends back is
checked by `clean` first (it may be old, edited or broken). The one exception is a food of the
person's own (version 3): its entry has "food": OWN, "unit": OWN_UNIT, and "own": {"name": str, and
per portion each of OWN_LIMITS's nutrients or None}, the values the person typed, shown everywhere
as theirs and never as a cited source's. A version 2 log is a version 3 log without them. The log
of the first version (a list of {"class_id", "grams", "servings"}: one meal without a date) is
read as entries of the day it is opened.
"""

import base64
import csv
import html
import io
import math
import re
import uuid

from foodcls import foods, nutrition, texts

VERSION = 3
MAX_ENTRIES = 2000  # years of meals in well under localStorage's 5 MB
SLOTS = ("breakfast", "lunch", "dinner", "snack")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}$")
MAX_GOAL = 20000.0
OWN, OWN_UNIT = "own", "portion"  # the food and unit of an entry with the person's own values
MAX_NAME = 60
# What a person may give for one portion of their own food, and the most each may be (energy is required).
OWN_LIMITS = {
    "energy_kcal": 5000.0,
    "carbohydrate_g": 1000.0,
    "protein_g": 1000.0,
    "fat_g": 1000.0,
    "sodium_mg": 50000.0,
}


def empty() -> dict:
    return {"version": VERSION, "goal": None, "entries": []}


def slot_at(time: str) -> str:
    """The meal slot a time of day suggests: breakfast before 11, lunch before 16, dinner before 22."""
    hour = int(time[:2]) if TIME.match(time or "") else 12
    return "breakfast" if 4 <= hour < 11 else "lunch" if 11 <= hour < 16 else "dinner" if 16 <= hour < 22 else "snack"


def _own_value(column: str, value) -> float | None:
    """One nutrient of an own food: None when not given (energy must be), else a number in 0..limit."""
    if value is None and column != "energy_kcal":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not 0 <= number <= OWN_LIMITS[column]:  # also NaN
        unit = next(u for c, _, u in nutrition.NUTRIENTS if c == column)
        names = {f"name_{lang}": texts.text(column, lang) for lang in texts.LANGUAGES}
        raise ValueError(texts.both("bad_own_value", limit=OWN_LIMITS[column], unit=unit, **names))
    return number


def own_food(own) -> dict:
    """A food of the person's own, checked: {"name": stripped, 1 to MAX_NAME characters, and per
    portion each nutrient of OWN_LIMITS or None}. ValueError (ko+en) says what is wrong."""
    if not isinstance(own, dict):
        raise ValueError(texts.both("bad_own_name", limit=MAX_NAME))
    name = " ".join(own.get("name").split()) if isinstance(own.get("name"), str) else ""
    if not 0 < len(name) <= MAX_NAME or not name.isprintable():
        raise ValueError(texts.both("bad_own_name", limit=MAX_NAME))
    return {"name": name, **{column: _own_value(column, own.get(column)) for column in OWN_LIMITS}}


def entry(
    catalogue: foods.Foods, food: str, *, date: str, time: str, slot: str, amount=1.0, unit=foods.SERVING, own=None
):
    """One checked entry: KeyError for an unknown food, ValueError for a bad portion, own food, date,
    time or slot. `own` (see own_food) only for the food OWN, whose unit is OWN_UNIT."""
    if food == OWN:
        own = own_food(own)
        if unit != OWN_UNIT:
            raise ValueError(f"an own food's unit is {OWN_UNIT!r}, not {unit!r}")
        foods.count(amount)  # checks the portion
    elif food not in catalogue:
        raise KeyError(food)
    else:
        catalogue.facts(food, amount, unit)  # checks the portion
    if not (isinstance(date, str) and DATE.match(date)) or not (isinstance(time, str) and TIME.match(time)):
        raise ValueError(f"bad date or time: {date!r} {time!r}")
    if slot not in SLOTS:
        raise ValueError(f"unknown meal slot {slot!r}")
    checked = {
        "id": uuid.uuid4().hex[:12],
        "date": date,
        "time": time,
        "slot": slot,
        "food": food,
        "amount": float(amount),
        "unit": unit,
    }
    return {**checked, "own": own} if food == OWN else checked


def add(log: dict, catalogue: foods.Foods, food: str, **fields) -> dict:
    """A new log with the entry added (the log given is left as it was); ValueError when full."""
    if len(log["entries"]) >= MAX_ENTRIES:
        raise ValueError(texts.both("log_full", n=MAX_ENTRIES))
    return {**log, "entries": [*log["entries"], entry(catalogue, food, **fields)]}


def remove(log: dict, entry_id: str) -> dict:
    """A new log without the entry `entry_id` (an unknown id changes nothing)."""
    return {**log, "entries": [e for e in log["entries"] if e["id"] != entry_id]}


def clear_day(log: dict, date: str) -> tuple[dict, list[dict]]:
    """A new log without the day's entries, and those entries (for undo)."""
    removed = [e for e in log["entries"] if e["date"] == date]
    return {**log, "entries": [e for e in log["entries"] if e["date"] != date]}, removed


def restore(log: dict, removed: list[dict]) -> dict:
    """Undo a clear: the removed entries back, in date and time order."""
    known = {e["id"] for e in log["entries"]}
    entries = [*log["entries"], *(e for e in removed if e["id"] not in known)]
    return {**log, "entries": sorted(entries, key=lambda e: (e["date"], e["time"]))}


def set_goal(log: dict, goal) -> dict:
    """The daily energy goal in kcal (None or out of range: no goal)."""
    try:
        goal = float(goal)
    except (TypeError, ValueError):
        goal = None
    ok = goal is not None and math.isfinite(goal) and 0 < goal <= MAX_GOAL
    return {**log, "goal": goal if ok else None}


def _version1(meal: dict) -> dict:
    """A dish of the first version's meal as an entry's food and portion."""
    by_grams = meal.get("grams") is not None
    amount = meal["grams"] if by_grams else meal.get("servings") or 1.0
    return {"food": meal["class_id"], "amount": amount, "unit": foods.GRAMS if by_grams else foods.SERVING}


def clean(stored, catalogue: foods.Foods, today: str, now: str = "12:00") -> dict:
    """The well-formed log a browser sent back; the first version's meal list becomes entries of
    `today` at `now`; anything malformed is dropped."""
    if isinstance(stored, list):  # version 1: one meal without a date
        when = {"date": today, "time": now, "slot": slot_at(now)}
        stored = {"entries": [{**_version1(e), **when} for e in stored if isinstance(e, dict) and "class_id" in e]}
    if not isinstance(stored, dict) or not isinstance(stored.get("entries"), list):
        return empty()
    kept, seen = [], set()
    for raw in stored["entries"][:MAX_ENTRIES]:
        try:
            fields = {k: raw[k] for k in ("date", "time", "slot", "amount", "unit")}
            checked = entry(catalogue, raw["food"], **fields, own=raw.get("own"))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
        if isinstance(raw.get("id"), str) and re.fullmatch(r"[0-9a-f]{12}", raw["id"]) and raw["id"] not in seen:
            checked["id"] = raw["id"]
        seen.add(checked["id"])
        kept.append(checked)
    return set_goal({**empty(), "entries": kept}, stored.get("goal"))


def days(log: dict, today: str) -> list[str]:
    """The days with entries, and today, newest first."""
    return sorted({today, *(e["date"] for e in log["entries"])}, reverse=True)


def of_day(log: dict, date: str) -> list[dict]:
    return sorted((e for e in log["entries"] if e["date"] == date), key=lambda e: (e["time"], SLOTS.index(e["slot"])))


def own_facts(e: dict) -> nutrition.Facts:
    """An own food's entry as facts: the person's values for one portion times the amount; the
    nutrients they did not give are None (not analysed), and the source says whose values they are."""
    own = e["own"]
    per_portion = {c: None if own.get(c) is None else own[c] * e["amount"] for c in nutrition.NUTRIENT_NAMES}
    return nutrition.Facts(
        dish=nutrition.Dish(OWN, own["name"], own["name"]), has_data=True, source=OWN, food_code="", year="",
        source_name=own["name"], match=OWN, basis=OWN_UNIT, serving_g=None, grams=None, servings=e["amount"],
        per_portion=per_portion, per_100g={}, source_line=texts.both("own_values", sep=" · "), note="",
    )  # fmt: skip


def facts(entries: list[dict], catalogue: foods.Foods) -> list[nutrition.Facts]:
    """Each entry's nutrition facts, in order."""
    return [own_facts(e) if e["food"] == OWN else catalogue.facts(e["food"], e["amount"], e["unit"]) for e in entries]


def dish_name(e: dict, catalogue: foods.Foods, lang: str) -> str:
    """The entry's food as the log names it: an own food marked as the person's own values."""
    if e["food"] == OWN:
        return texts.text("own_dish", lang, name=e["own"]["name"])
    return catalogue.name(e["food"], lang)


def unit_text(e: dict, catalogue: foods.Foods, lang: str) -> str:
    """The entry's unit in the person's language: '1인분', 'g', '1회분' (an own food's portion)."""
    if e["food"] == OWN:
        return texts.text("own_portion", lang)
    unit = next((u for u in catalogue.units(e["food"]) if u.unit == e["unit"]), None)
    return foods.unit_name(unit, lang) if unit else e["unit"]


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


def portion_text(e: dict, dish: nutrition.Facts, catalogue: foods.Foods, lang: str) -> str:
    """'1인분 (600 g)' / '1 serving (600 g)', or '300 g' for a portion given in grams."""
    grams = f"{dish.grams:,.0f} g" if dish.grams is not None else ""
    if e["unit"] == foods.GRAMS:
        return grams
    name = unit_text(e, catalogue, lang)
    count = name if e["amount"] == 1 else f"{e['amount']:g} × {name}"
    return f"{count} ({grams})" if grams else count


def amount(value: float | None, unit: str) -> str:
    """A nutrient amount as the page shows it: kcal in whole numbers, grams and milligrams to 0.1."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.0f} {unit}" if unit in ("kcal", "mg") else f"{value:,.1f} {unit}"


def label(e: dict, dish: nutrition.Facts, catalogue: foods.Foods, lang: str) -> str:
    """One entry as the picker lists it: '12:30 점심 · 쌀국수 · 1인분 (600 g)'."""
    name = dish_name(e, catalogue, lang)
    return f"{e['time']} {texts.text(e['slot'], lang)} · {name} · {portion_text(e, dish, catalogue, lang)}"


def summary(log: dict, entries: list[dict], catalogue: foods.Foods, lang: str) -> str:
    """The day's total energy, against the goal when one is set."""
    if not entries:
        return texts.text("log_empty", lang)
    sums, partial = totals(facts(entries, catalogue))
    kcal = sums["energy_kcal"] or 0.0
    key = "log_total_partial" if "energy_kcal" in partial else "log_total"
    line = "**" + texts.text(key, lang, kcal=kcal, n=len(entries)) + "**"
    if log.get("goal"):
        goal = log["goal"]
        line += " · " + (
            texts.text("log_goal", lang, goal=goal, left=goal - kcal)
            if kcal <= goal
            else texts.text("log_over", lang, goal=goal, over=kcal - goal)
        )
    return line + ("\n\n" + texts.text("log_partial", lang) if partial else "")


def day_html(entries: list[dict], catalogue: foods.Foods, lang: str) -> str:
    """The day as one HTML table: on a desktop a table, on a phone (CSS in ui.CSS) one card per dish
    with its portion and kcal, and every nutrient behind a tap (<details>)."""
    if not entries:
        return ""
    dishes = facts(entries, catalogue)
    t = lambda key: html.escape(texts.text(key, lang))  # noqa: E731
    heads = [t("col_time"), t("col_slot"), t("col_dish"), t("col_amount"), t("col_kcal")]
    rows = []
    for e, dish in zip(entries, dishes):
        details = "".join(
            f"<li>{t(column)}: {amount(dish.per_portion.get(column) if dish.has_data else None, unit)}</li>"
            for column, _, unit in nutrition.NUTRIENTS
            if column != "energy_kcal"
        )
        name = html.escape(dish_name(e, catalogue, lang))
        kcal = dish.per_portion.get("energy_kcal") if dish.has_data else None
        cells = [
            html.escape(e["time"]),
            t(e["slot"]),
            f"<details><summary>{name}</summary><ul>{details}</ul></details>",
            html.escape(portion_text(e, dish, catalogue, lang)),
            amount(kcal, "kcal"),
        ]
        rows.append("<tr>" + "".join(f'<td data-label="{h}">{c}</td>' for h, c in zip(heads, cells)) + "</tr>")
    sums, partial = totals(dishes)
    mark = "≥ " if "energy_kcal" in partial and sums["energy_kcal"] is not None else ""
    foot = (
        f'<tr class="total"><td colspan="4">{t("total")}</td><td>{mark}{amount(sums["energy_kcal"], "kcal")}</td></tr>'
    )
    head = "".join(f'<th scope="col">{h}</th>' for h in heads)
    return f'<table class="log-day"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}{foot}</tbody></table>'


CSV_COLUMNS = [
    "date",
    "time",
    "slot",
    "dish_ko",
    "dish_en",
    "food_id",
    "amount",
    "unit",
    "grams",
    "source",
    "food_code",
]


def csv_text(entries: list[dict], catalogue: foods.Foods, lang: str) -> str:
    """The entries as CSV: date, time, slot, dish, amount and unit, grams, source and every nutrient;
    then the total. Headers are column names; slot and unit in the person's language."""
    dishes = facts(entries, catalogue)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *nutrition.NUTRIENT_NAMES])

    def number(value: float | None) -> str:
        return "" if value is None or not math.isfinite(value) else f"{value:.2f}"

    for e, dish in zip(entries, dishes):
        unit = unit_text(e, catalogue, lang)
        source = texts.text("own_values", lang) if e["food"] == OWN else dish.source if dish.has_data else "none"
        writer.writerow(
            [e["date"], e["time"], texts.text(e["slot"], lang), dish.dish.name_ko, dish.dish.name_en, e["food"]]
            + [f"{e['amount']:g}", unit, number(dish.grams), source, dish.food_code]
            + [number(dish.per_portion.get(c) if dish.has_data else None) for c in nutrition.NUTRIENT_NAMES]
        )
    sums, _ = totals(dishes)
    blank = [""] * (len(CSV_COLUMNS) - 1)
    writer.writerow([texts.text("total", lang), *blank, *(number(sums[c]) for c in nutrition.NUTRIENT_NAMES)])
    return out.getvalue()


def data_url(text: str) -> str:
    """A data: URL of CSV text (UTF-8 with a byte-order mark, so spreadsheets read the Korean right):
    the download is made in the browser, and no file is written on the server."""
    payload = base64.b64encode(("\ufeff" + text).encode("utf-8")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{payload}"
