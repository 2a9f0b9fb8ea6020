"""Nutrition facts per dish, from the Korean MFDS food nutrient database or USDA FNDDS.

`data/nutrition.csv` is built by `python -m foodcls.nutrition [MFDS_CSV] [USDA_DIR]` from the
hand-reviewed mapping `data/nutrition_sources.csv` (class id -> source, food code, match quality and
a one-line note why). One row per dish: the dish as recognised (name_ko, name_en), the cited source
row (source, food_code, year, source_name), how well it matches (same / closest / partial / none),
the source's serving in grams, and eight nutrient values stored exactly as the source gives them:
per serving for MFDS (`basis` = "serving"), per 100 g for USDA (`basis` = "100g").

`NutritionTable` is the lookup the app uses: names, search, and facts for a portion in grams or
servings, with a source line that says what the values are. The rules are in docs/nutrition.md.
"""

import argparse
import csv
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NUTRITION_CSV = ROOT / "data" / "nutrition.csv"
SOURCES_CSV = ROOT / "data" / "nutrition_sources.csv"
SHARED_DATA = ROOT.parent / "shared" / "data"
MFDS_CSV = SHARED_DATA / "mfds_dishes.csv"
USDA_DIR = SHARED_DATA / "usda-fndds"

MFDS, FNDDS, SR27, NONE = "MFDS", "USDA FNDDS", "USDA SR27", "none"
SOURCES = (MFDS, FNDDS, SR27, NONE)
MATCHES = ("same", "closest", "partial", "none")
FNDDS_YEAR, SR27_YEAR = "2021-2023", "2014"
QUANTITY_NOT_SPECIFIED = "Quantity not specified"

# (column here, MFDS column, FNDDS column, SR27 column, label shown, unit)
NUTRIENT_COLUMNS = [
    ("energy_kcal", "에너지(㎉)", "Energy (kcal)", "Energ_Kcal", "에너지 Energy", "kcal"),
    ("carbohydrate_g", "탄수화물(g)", "Carbohydrate (g)", "Carbohydrt_(g)", "탄수화물 Carbohydrate", "g"),
    ("protein_g", "단백질(g)", "Protein (g)", "Protein_(g)", "단백질 Protein", "g"),
    ("fat_g", "지방(g)", "Total Fat (g)", "Lipid_Tot_(g)", "지방 Fat", "g"),
    ("sugars_g", "총당류(g)", "Sugars, total (g)", "Sugar_Tot_(g)", "당류 Sugars", "g"),
    ("sodium_mg", "나트륨(㎎)", "Sodium (mg)", "Sodium_(mg)", "나트륨 Sodium", "mg"),
    (
        "saturated_fat_g",
        "총 포화 지방산(g)",
        "Fatty acids, total saturated (g)",
        "FA_Sat_(g)",
        "포화지방 Saturated fat",
        "g",
    ),
    ("cholesterol_mg", "콜레스테롤(㎎)", "Cholesterol (mg)", "Cholestrl_(mg)", "콜레스테롤 Cholesterol", "mg"),
]
NUTRIENTS = [(column, label, unit) for column, _, _, _, label, unit in NUTRIENT_COLUMNS]
NUTRIENT_NAMES = tuple(column for column, _, _ in NUTRIENTS)
# In the MFDS table a 0 for these two usually means "not analysed", not "none".
ZERO_MEANS_UNKNOWN = {"sugars_g", "cholesterol_mg"}
COLUMNS = [
    "class_id", "name_ko", "name_en", "source", "food_code", "year", "source_name", "match", "basis",
    "serving_g", *NUTRIENT_NAMES, "note",
]  # fmt: skip

MAX_GRAMS, MAX_SERVINGS = 5000.0, 20.0


# --- building data/nutrition.csv -------------------------------------------------------------


def _number(text: str) -> float | None:
    """A source cell as a number; an empty cell is None (not given)."""
    text = (text or "").strip()
    return None if text == "" else float(text)


def _read_csv(path: Path, key: str) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {row[key]: row for row in csv.DictReader(f)}


def read_mfds(mfds_csv: Path = MFDS_CSV) -> dict[str, dict]:
    """The MFDS dish rows by food code (식품코드), as in the file."""
    return _read_csv(mfds_csv, "식품코드")


def read_fndds(usda_dir: Path = USDA_DIR) -> dict[str, dict]:
    """The FNDDS foods' nutrient rows by 8-digit food code, as in the file."""
    return _read_csv(usda_dir / "fndds_2021_2023_nutrient_values.csv", "Food code")


def read_fndds_portions(usda_dir: Path = USDA_DIR) -> dict[str, list[dict]]:
    """Every FNDDS household portion ("1 cup", "Quantity not specified", ...) by food code, in the
    file's order (its Seq num order)."""
    portions: dict[str, list[dict]] = {}
    with open(usda_dir / "fndds_2021_2023_portions_weights.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            portions.setdefault(row["Food code"], []).append(row)
    return portions


def default_portion_g(portions: list[dict]) -> float | None:
    """A food's "Quantity not specified" weight in grams (USDA's default amount), None if it has none."""
    weights = [float(p["Portion weight (g)"]) for p in portions if p["Portion description"] == QUANTITY_NOT_SPECIFIED]
    return weights[0] if weights and weights[0] > 0 else None


def mfds_values(found: dict) -> dict:
    """An MFDS row as our columns: year, its own name, per-serving basis, 1회제공량 and the eight
    nutrients as given (a 0 in sugars or cholesterol means "not analysed": None)."""
    if found["내용량_단위"] != "g":
        raise ValueError(f"MFDS {found['식품코드']} gives its serving in {found['내용량_단위']}, not grams")
    row = {"year": found["연도"], "source_name": found["식품명"].strip(), "basis": "serving"}
    row["serving_g"] = float(found["1회제공량"])
    for column, mfds_column, *_ in NUTRIENT_COLUMNS:
        value = _number(found[mfds_column])
        row[column] = None if column in ZERO_MEANS_UNKNOWN and value == 0 else value
    return row


def fndds_values(found: dict) -> dict:
    """An FNDDS food as our columns: year, its own name, per-100 g basis and the eight nutrients as given."""
    row = {"year": FNDDS_YEAR, "source_name": found["Main food description"], "basis": "100g"}
    for column, _, fndds_column, *_ in NUTRIENT_COLUMNS:
        row[column] = _number(found[fndds_column])
    return row


def read_sources(path: Path = SOURCES_CSV) -> list[dict]:
    """The hand-reviewed mapping, checked for unknown sources/matches and duplicate class ids."""
    with open(path, newline="", encoding="utf-8") as f:
        mapping = list(csv.DictReader(f))
    seen = set()
    for row in mapping:
        where = f"{path.name}: {row['class_id']}"
        if row["class_id"] in seen:
            raise ValueError(f"{where} is listed twice")
        seen.add(row["class_id"])
        if row["source"] not in SOURCES or row["match"] not in MATCHES:
            raise ValueError(f"{where}: unknown source {row['source']!r} or match {row['match']!r}")
        if (row["source"] == NONE) != (row["match"] == "none") or (row["source"] == NONE) == bool(row["food_code"]):
            raise ValueError(f"{where}: a 'none' row has no food code, and only a 'none' row has match none")
        if row["match"] != "same" and not row["note"]:
            raise ValueError(f"{where}: a {row['match']} match needs a note saying why")
    return mapping


def build_table(mfds_csv: Path = MFDS_CSV, usda_dir: Path = USDA_DIR, sources: Path = SOURCES_CSV) -> pd.DataFrame:
    """data/nutrition.csv's rows: every mapped dish with its cited source row's values, as given there."""
    mfds, fndds = read_mfds(mfds_csv), read_fndds(usda_dir)
    sr27 = _read_csv(usda_dir / "sr27_abbrev.csv", "NDB_No")
    portions = read_fndds_portions(usda_dir)
    rows = []
    for entry in read_sources(sources):
        code, source = entry["food_code"], entry["source"]
        row = {column: "" for column in COLUMNS} | {k: entry[k] for k in ("class_id", "name_ko", "name_en", "note")}
        row |= {"source": source, "match": entry["match"], "food_code": code}
        if source == MFDS:
            row |= mfds_values(mfds.get(code) or _missing(code, mfds_csv))
        elif source == FNDDS:
            row |= fndds_values(fndds.get(code) or _missing(code, usda_dir))
            row["serving_g"] = default_portion_g(portions.get(code, []))
            if not row["serving_g"]:
                raise ValueError(f"FNDDS {code} has no '{QUANTITY_NOT_SPECIFIED}' portion in grams")
        elif source == SR27:
            found = sr27.get(code) or _missing(code, usda_dir)
            row |= {"year": SR27_YEAR, "source_name": found["Shrt_Desc"], "basis": "100g"}
            row["serving_g"] = float(found["GmWt_1"])  # SR27's first household portion
            for column, _, _, sr27_column, *_ in NUTRIENT_COLUMNS:
                row[column] = _number(found[sr27_column])
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _missing(code: str, where: Path):
    raise ValueError(f"food code {code} is not in {where}")


# --- the lookup the app uses -----------------------------------------------------------------


@dataclass(frozen=True)
class Dish:
    class_id: str
    name_ko: str
    name_en: str

    @property
    def label(self) -> str:
        """'피자 · Pizza'; the one name a catalogue food has in one language only."""
        return " · ".join(name for name in (self.name_ko, self.name_en) if name)


@dataclass(frozen=True)
class Facts:
    """Nutrition of one portion of a dish, or an explicit 'no data' (has_data False, values empty).

    per_portion / per_100g map each nutrient column (NUTRIENT_NAMES) to its value, None where the
    source did not analyse it. grams is the portion weight (None for a no-data dish asked by
    servings), servings the portion in the source's servings (serving_g each).
    """

    dish: Dish
    has_data: bool
    source: str
    food_code: str
    year: str
    source_name: str
    match: str
    basis: str
    serving_g: float | None
    grams: float | None
    servings: float | None
    per_portion: dict
    per_100g: dict
    source_line: str
    note: str

    @property
    def class_id(self) -> str:
        return self.dish.class_id

    def lines(self) -> list[tuple[str, str, float | None, float | None]]:
        """(label, unit, per portion, per 100 g) per nutrient, in display order."""
        return [(label, unit, self.per_portion.get(c), self.per_100g.get(c)) for c, label, unit in NUTRIENTS]


def check_portion(grams: float | None = None, servings: float | None = None) -> None:
    """ValueError (Korean and English) unless at most one of a sensible grams / servings is given."""
    if grams is not None and servings is not None:
        raise ValueError("양은 그램이나 인분 중 하나만 주세요. Give the portion in grams or in servings, not both.")
    for value, limit, unit, ko in ((grams, MAX_GRAMS, "g", "그램"), (servings, MAX_SERVINGS, "servings", "인분")):
        if value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{ko} 값이 숫자가 아닙니다. The portion in {unit} must be a number.") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{ko}은(는) 0보다 커야 합니다. The portion in {unit} must be a number above 0.")
        if value > limit:
            raise ValueError(f"{ko}은(는) {limit:g} 이하여야 합니다. The portion must be at most {limit:g} {unit}.")


def _normal(text: str) -> str:
    """Case-, width-, accent- and space-insensitive form for search ('Crème brûlée' ~ 'creme brulee')."""
    text = unicodedata.normalize("NFKD", str(text)).casefold()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.combining(ch) and ch not in "·_-'")


def parse_row(row: dict) -> dict:
    """A stored row (data/nutrition.csv, data/catalogue.csv) with its numbers parsed, empty = None."""
    row["serving_g"] = _number(row["serving_g"])
    for column in NUTRIENT_NAMES:
        row[column] = _number(row[column])
    return row


class NutritionTable:
    """The rows of data/nutrition.csv by class id (see the module docstring)."""

    def __init__(self, rows: list[dict], key: str = "class_id"):
        """`key`: the column that names a row (the food catalogue's rows are keyed by "id")."""
        self._rows = {row[key]: row for row in rows}

    @classmethod
    def load(cls, path: Path | None = None, key: str = "class_id") -> "NutritionTable":
        with open(path or NUTRITION_CSV, newline="", encoding="utf-8") as f:
            return cls([parse_row(row) for row in csv.DictReader(f)], key)

    def __contains__(self, class_id: str) -> bool:
        return class_id in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def class_ids(self) -> list[str]:
        return list(self._rows)

    def row(self, class_id: str) -> dict:
        """The stored row as in data/nutrition.csv (numbers parsed, empty = None); KeyError if unknown."""
        try:
            return self._rows[class_id]
        except KeyError:
            raise KeyError(f"no dish {class_id!r} in the nutrition table") from None

    def dish(self, class_id: str) -> Dish:
        row = self.row(class_id)
        return Dish(class_id, row["name_ko"], row["name_en"])

    def dishes(self) -> list[Dish]:
        return [self.dish(class_id) for class_id in self._rows]

    def search(self, text: str = "", limit: int | None = None) -> list[Dish]:
        """Dishes whose Korean or English name, class id or MFDS row name contains `text`; prefixes first.

        Case, spaces and accents are ignored; an empty text gives every dish, by English name.
        """
        query = _normal(text)
        ranked = []
        for dish in self.dishes():
            row = self._rows[dish.class_id]  # an MFDS row's own Korean name finds it too (군만두 -> gyoza)
            names = (dish.name_ko, dish.name_en, dish.class_id, row["source_name"] if row["source"] == MFDS else "")
            keys = [_normal(key) for key in names if key]
            if any(query in key for key in keys):
                ranked.append((not any(key.startswith(query) for key in keys), dish.name_en.casefold(), dish))
        found = [dish for *_, dish in sorted(ranked, key=lambda item: item[:2])]
        return found[:limit] if limit is not None else found

    def facts(self, class_id: str, grams: float | None = None, servings: float | None = None) -> Facts:
        """The dish's values for `grams`, or `servings` of the source's serving (default: 1 serving).

        ValueError for a portion <= 0, NaN, above 5000 g or 20 servings; KeyError for an unknown dish.
        """
        check_portion(grams, servings)
        row, dish = self.row(class_id), self.dish(class_id)
        serving_g = row["serving_g"]
        common = {k: row[k] for k in ("source", "food_code", "year", "source_name", "match", "basis", "note")}
        if row["source"] == NONE:
            return Facts(
                dish=dish, has_data=False, serving_g=None, per_portion={}, per_100g={},
                grams=float(grams) if grams is not None else None,
                servings=float(servings) if servings is not None else (None if grams is not None else 1.0),
                source_line=source_line(row), **common,
            )  # fmt: skip
        if grams is None:
            servings = 1.0 if servings is None else float(servings)
            grams = servings * serving_g
        else:
            grams = float(grams)
            servings = grams / serving_g if serving_g else None  # a catalogue food may have no serving
        to_100g = 100 / serving_g if row["basis"] == "serving" else 1.0
        per_100g = {c: None if row[c] is None else row[c] * to_100g for c in NUTRIENT_NAMES}
        per_portion = {c: None if v is None else v * grams / 100 for c, v in per_100g.items()}
        if row["basis"] == "serving" and grams == serving_g:  # one source serving: exactly the stored values
            per_portion = {c: row[c] for c in NUTRIENT_NAMES}
        return Facts(
            dish=dish, has_data=True, serving_g=serving_g, grams=grams, servings=servings,
            per_portion=per_portion, per_100g=per_100g, source_line=source_line(row), **common,
        )  # fmt: skip


def source_line(row: dict) -> str:
    """What the values are, in Korean and English, e.g. 'MFDS 식품영양성분 DB 라면 D018163 (2020) ...'."""
    if row["source"] == NONE:
        return f"영양 정보 없음 · No nutrition data for this dish: {row['note']}"
    if row["source"] == MFDS:
        cited = f"식품의약품안전처 MFDS 식품영양성분 DB {row['source_name']} {row['food_code']} ({row['year']})"
    else:
        cited = f"{row['source']} {row['year']} {row['food_code']}, {row['source_name']}"
    qualifier = {
        "same": "",
        "closest": f" · 가장 가까운 항목 closest row: {row['note']}",
        "partial": f" · 일부만 해당 partial match: {row['note']}",
    }[row["match"]]
    return f"출처 Source: {cited}{qualifier}"


def facts_frame(facts: Facts) -> pd.DataFrame:
    """The facts as the page shows them: nutrient, amount for the portion, per 100 g ('n/a' if not analysed)."""

    def shown(value: float | None, unit: str) -> str:
        return "n/a (not analysed)" if value is None or math.isnan(value) else f"{value:,.1f} {unit}"

    portion = f"{facts.grams:,.0f} g"
    lines = [("제공량 Portion", portion, "100 g")]
    lines += [(label, shown(amount, unit), shown(per_100g, unit)) for label, unit, amount, per_100g in facts.lines()]
    portion_column = "양 Portion" if facts.servings is None else f"{facts.servings:g} 인분 serving(s)"
    return pd.DataFrame(lines, columns=["영양소 Nutrient", portion_column, "100 g당 per 100 g"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Build data/nutrition.csv from MFDS and USDA FNDDS.")
    parser.add_argument(
        "mfds_csv", type=Path, nargs="?", default=MFDS_CSV, help="default ../shared/data/mfds_dishes.csv"
    )
    parser.add_argument("usda_dir", type=Path, nargs="?", default=USDA_DIR, help="default ../shared/data/usda-fndds")
    parser.add_argument("--sources", type=Path, default=SOURCES_CSV, help="the hand-reviewed mapping")
    parser.add_argument("--out", type=Path, default=NUTRITION_CSV)
    args = parser.parse_args(argv)
    table = build_table(args.mfds_csv, args.usda_dir, args.sources)
    table.to_csv(args.out, index=False)
    counts = ", ".join(f"{n} {k}" for k, n in table["source"].value_counts().items())
    print(f"{len(table)} dishes ({counts}) -> {args.out}")


if __name__ == "__main__":
    main()
