"""The food catalogue: every MFDS dish row, every USDA FNDDS 2021-2023 food and the model's mapped
dishes, in household units, searchable the way a Korean diner types.

    python -m foodcls.catalogue                  # rebuild data/catalogue.csv and data/catalogue_units.csv
    python -m foodcls.catalogue --bench          # ms per search query over the whole catalogue, one core

`data/catalogue.csv` (generated, committed) has one row per food: `id` (`mfds:D018256`,
`fndds:51180010`, or for the dishes of data/nutrition.csv their class id, so a model's guess is a
catalogue entry), names, the cited source row (source, food_code, year, source_name), basis and
serving_g, and the eight nutrients exactly as nutrition.py reads them from the source (MFDS per
serving, FNDDS per 100 g). `data/catalogue_units.csv` (generated) gives each food's household units
with their grams and where the weight comes from: MFDS 1회제공량 as 1인분 / 1 serving, every FNDDS
portion ("1 cup", "1 slice", "Quantity not specified" = USDA's default amount), and the Korean
units of data/catalogue_units_ko.csv, each with its cited reference. English names for MFDS rows
and Korean names for FNDDS foods come from the hand-reviewed data/catalogue_names.csv, which also
lists search aliases (불고기 for 소불고기) and marks those foods as common (ranked first).

Search. Hangul is decomposed with the standard library: `unicodedata` NFD splits a syllable into
its conjoining jamo, and NFKD maps the compatibility jamo a keyboard types (ㄸㅂㅇ) onto the same
initial consonants, so 초성 search, half-typed syllables (떡ㅂ) and jamo-level typos need no table of
our own and no dependency (the Hangul packages on PyPI are small and unmaintained). Fuzzy matching
is rapidfuzz (maintained, C++, MIT): Indel-similarity over the decomposed names catches one-jamo and
one-letter typos (떡복이, bagle). Names are compared without case, accents, spaces or punctuation,
so spacing never matters. The index (normalised names joined into one string for substring search,
a dict for exact names, a list for rapidfuzz) is built once at load.
"""

import argparse
import bisect
import csv
import re
import statistics
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from foodcls import nutrition
from foodcls.nutrition import FNDDS, MFDS, NUTRIENT_NAMES

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE_CSV = ROOT / "data" / "catalogue.csv"
UNITS_CSV = ROOT / "data" / "catalogue_units.csv"
NAMES_CSV = ROOT / "data" / "catalogue_names.csv"
KOREAN_UNITS_CSV = ROOT / "data" / "catalogue_units_ko.csv"
LOOKALIKES_CSV = ROOT / "data" / "lookalikes.csv"
FOODS_FILE = "fndds_2021_2023_foods_beverages.csv"  # FNDDS additional descriptions: its synonyms

COLUMNS = [
    "id", "name_ko", "name_en", "source", "food_code", "year", "source_name", "match", "basis", "serving_g",
    *NUTRIENT_NAMES, "category", "synonyms", "aliases", "common", "note",
]  # fmt: skip
UNIT_COLUMNS = ["id", "unit", "name_ko", "name_en", "grams", "source"]
FNDDS_PORTION, MFDS_SERVING = "USDA FNDDS 2021-2023 portions and weights", "MFDS 1회제공량"
SERVING = "serving"  # the unit id of one source serving (MFDS 1회제공량, FNDDS "Quantity not specified")
MAX_QUERY, MAX_LIMIT, MAX_AMOUNT = 100, 50, 100.0
FUZZY_CUTOFF = 75  # rapidfuzz Indel similarity (0-100): one wrong jamo in 떡볶이 scores 87.5, bagle 80

# The Korean for FNDDS's most frequent portion words; the rest of a description follows in brackets.
PORTION_KO = {
    "Quantity not specified": "기본 1회량 (양 미지정)",
    "cup": "컵", "tablespoon": "큰술", "teaspoon": "작은술", "slice": "조각", "piece": "조각", "small": "작은 것", "medium": "중간 것", "large": "큰 것", "regular": "보통", "can": "캔",
    "bottle": "병", "egg": "알", "sandwich": "개", "bar": "개", "package": "봉지", "packet": "봉지", "pouch": "파우치",
    "container": "용기", "individual container": "개별 용기", "drink": "잔", "whole": "통째로", "bowl": "그릇",
}  # fmt: skip
PORTION_WORDS = re.compile(r"^1 (" + "|".join(sorted(map(re.escape, PORTION_KO), key=len, reverse=True)) + r")\b(.*)$")


# --- building the tables -----------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        return [dict(zip(header, row)) for row in rows]


def portion_name_ko(description: str) -> str:
    """FNDDS's portion description in Korean where its words are common ('1 cup, diced' -> '1컵 (diced)'),
    else "" (the app then shows the English)."""
    if description == nutrition.QUANTITY_NOT_SPECIFIED:
        return PORTION_KO[description]
    found = PORTION_WORDS.match(description)
    if not found:
        return ""
    word, rest = found.groups()
    ko = PORTION_KO[word]
    named = f"{ko} 1개" if word in ("small", "medium", "large", "regular") else f"1{ko}"
    rest = rest.strip(" ,")
    return f"{named} ({rest})" if rest else named


def read_names(path: Path = NAMES_CSV) -> dict[str, dict]:
    """The hand-reviewed names by catalogue id; an id listed twice is refused."""
    names = {}
    for row in _read_rows(path):
        if row["id"] in names:
            raise ValueError(f"{path.name}: {row['id']} is listed twice")
        names[row["id"]] = row
    return names


def build_tables(
    mfds_csv: Path = nutrition.MFDS_CSV,
    usda_dir: Path = nutrition.USDA_DIR,
    nutrition_csv: Path = nutrition.NUTRITION_CSV,
    names_csv: Path = NAMES_CSV,
    korean_units_csv: Path = KOREAN_UNITS_CSV,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data/catalogue.csv, data/catalogue_units.csv): the mapped dishes, then every MFDS row, then
    every FNDDS food, with the values nutrition.py reads from the source rows."""
    mfds, fndds = nutrition.read_mfds(mfds_csv), nutrition.read_fndds(usda_dir)
    portions = nutrition.read_fndds_portions(usda_dir)
    synonyms = {r["Food code"]: r["Additional food description"] for r in _read_rows(usda_dir / FOODS_FILE)}
    names = read_names(names_csv)
    rows, units = [], []

    def fndds_units(food_id: str, code: str) -> None:
        for portion in portions.get(code, []):
            grams = float(portion["Portion weight (g)"])
            if grams <= 0:
                continue
            description = portion["Portion description"]
            unit = SERVING if description == nutrition.QUANTITY_NOT_SPECIFIED else f"p{portion['Seq num']}"
            units.append(
                {"id": food_id, "unit": unit, "name_ko": portion_name_ko(description), "name_en": description,
                 "grams": grams, "source": FNDDS_PORTION}
            )  # fmt: skip

    def serving_unit(food_id: str, grams: float, source: str) -> None:
        units.append({"id": food_id, "unit": SERVING, "name_ko": "1인분", "name_en": "1 serving", "grams": grams,
                      "source": source})  # fmt: skip

    table = nutrition.NutritionTable.load(nutrition_csv)
    for class_id in table.class_ids():
        row = dict(table.row(class_id))
        entry = {c: row.get(c, "") for c in COLUMNS if c != "id"} | {"id": class_id, "common": 1}
        entry |= {"category": "", "synonyms": "", "aliases": ""}
        rows.append(entry)
        if row["source"] == MFDS:
            serving_unit(class_id, row["serving_g"], MFDS_SERVING)
        elif row["source"] == FNDDS:
            fndds_units(class_id, row["food_code"])
        elif row["source"] != nutrition.NONE:  # SR27: its first household weight
            serving_unit(class_id, row["serving_g"], f"{row['source']} {row['food_code']} GmWt_1")

    for code, found in sorted(mfds.items()):
        food_id = f"mfds:{code}"
        named = names.pop(food_id, {})
        entry = _named_entry(food_id, MFDS, code, found["식품명"].strip(), "", named, nutrition.mfds_values(found))
        entry["category"] = found["식품상세분류"]
        rows.append(entry)
        serving_unit(food_id, entry["serving_g"], MFDS_SERVING)

    for code, found in sorted(fndds.items()):
        food_id = f"fndds:{code}"
        named = names.pop(food_id, {})
        values = nutrition.fndds_values(found)
        entry = _named_entry(food_id, FNDDS, code, "", found["Main food description"], named, values)
        entry |= {"category": found["WWEIA Category description"], "synonyms": synonyms.get(code, "")}
        serving_g = nutrition.default_portion_g(portions.get(code, []))
        first = next((p for p in portions.get(code, []) if float(p["Portion weight (g)"]) > 0), None)
        if serving_g is None and first:  # no "Quantity not specified" (infant formulas, ...): its first portion
            serving_g = float(first["Portion weight (g)"])
            entry["note"] = f"serving: USDA's first portion, {first['Portion description']} (no default amount)"
        elif serving_g is None:  # the "... as ingredient" codes have no portions: grams only
            entry["note"] = "no household portion in FNDDS: give the amount in grams"
        entry["serving_g"] = serving_g
        rows.append(entry)
        fndds_units(food_id, code)

    if names:
        raise ValueError(f"{names_csv.name}: no source row for {', '.join(sorted(names))}")
    known = {row["id"]: row for row in rows}
    for extra in _read_rows(korean_units_csv):
        if extra["id"] not in known or not extra["reference"]:
            raise ValueError(f"{korean_units_csv.name}: {extra['id']} is not in the catalogue or has no reference")
        units.append({k: extra[k] for k in ("id", "unit", "name_ko", "name_en")} | {
            "grams": float(extra["grams"]), "source": extra["reference"]})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame(units, columns=UNIT_COLUMNS)


def _named_entry(food_id, source, code, name_ko, name_en, named: dict, values: dict) -> dict:
    """A source row as a catalogue entry, with its reviewed names (which must cite the row by its own name)."""
    if named and named["source_name"] != values["source_name"]:
        raise ValueError(f"{NAMES_CSV.name}: {food_id} is {values['source_name']!r}, not {named['source_name']!r}")
    entry = {c: "" for c in COLUMNS} | values | {"id": food_id, "source": source, "food_code": code, "match": "same"}
    entry |= {
        "name_ko": named.get("name_ko") or name_ko,
        "name_en": named.get("name_en") or name_en,
        "aliases": named.get("aliases", ""),
        "common": int(named.get("common") or 0),
    }
    return entry


# --- the catalogue the app uses ----------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    unit: str  # its id in the food's units: "serving", "p1", "gonggi", ...
    name_ko: str
    name_en: str
    grams: float
    source: str  # where the weight comes from


@dataclass(frozen=True)
class Food:
    id: str
    name_ko: str
    name_en: str
    source: str
    food_code: str
    units: tuple[Unit, ...]

    @property
    def label(self) -> str:
        return " · ".join(name for name in (self.name_ko, self.name_en) if name)


@dataclass(frozen=True)
class Lookalike:
    class_id: str  # the model's class
    food: Food  # the Korean dish that photos of it are taken for
    reason: str


PARTS = re.compile(r"[,;()]")
NOT_A_LETTER = re.compile(r"[^\w\x00]+|_")


def normal(text: str) -> str:
    """The form names are compared in: NFKD (Hangul as jamo, ㄸ as the initial ᄄ, accents split off),
    casefolded, without spaces, punctuation or accents."""
    return NOT_A_LETTER.sub("", unicodedata.normalize("NFKD", str(text).replace("\x00", "")).casefold())


def normals(texts: list[str]) -> list[str]:
    """normal() of many names in one pass (the index has ~70,000)."""
    return NOT_A_LETTER.sub("", unicodedata.normalize("NFKD", "\x00".join(texts)).casefold()).split("\x00")


def initials(key: str) -> str:
    """The initial consonants (초성) of a normalised key's Hangul syllables: 떡볶이 -> ᄄᄇᄋ."""
    return "".join(ch for ch in key if "\u1100" <= ch <= "\u1112")


def _is_initials(key: str) -> bool:
    return bool(key) and all("\u1100" <= ch <= "\u1112" for ch in key)


class _Index:
    """Normalised names joined by a separator, so one C-level scan finds every key containing a query."""

    SEP = "\x00"

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.ordered = sorted(range(len(keys)), key=keys.__getitem__)
        self.sorted = [keys[i] for i in self.ordered]
        self.starts, position = [], 0
        for key in keys:
            self.starts.append(position)
            position += len(key) + 1
        self.text = self.SEP.join(keys)

    def containing(self, query: str, prefix_only: bool = False):
        """(key index, whether the key starts with the query) for every key that contains it (or,
        `prefix_only`, that starts with it)."""
        if prefix_only:  # a range of the sorted keys
            start = bisect.bisect_left(self.sorted, query)
            end = bisect.bisect_left(self.sorted, query + "\U0010ffff", start)
            yield from ((i, True) for i in self.ordered[start:end])
            return
        last = -1
        for found in re.finditer(re.escape(query), self.text):
            i = bisect.bisect_right(self.starts, found.start()) - 1
            if i != last:
                last = i
                yield i, found.start() == self.starts[i]


class Catalogue:
    """The foods of data/catalogue.csv with their units, search, facts and look-alikes."""

    def __init__(self, rows: list[dict], units: list[dict], lookalikes: list[dict] = ()):
        self.table = nutrition.NutritionTable(rows, key="id")
        self._rows = {row["id"]: row for row in rows}
        self._units: dict[str, list[dict]] = {}  # made into Units when asked: most foods never are
        for unit in units:
            self._units.setdefault(unit["id"], []).append(unit)
        self._lookalikes: dict[str, list[tuple[str, str]]] = {}
        for row in lookalikes:
            if row["food_id"] not in self._rows:
                raise ValueError(f"{LOOKALIKES_CSV.name}: {row['food_id']} is not in the catalogue")
            self._lookalikes.setdefault(row["class_id"], []).append((row["food_id"], row["reason"]))
        self._build_index()

    @classmethod
    def load(cls) -> "Catalogue":
        """data/catalogue.csv, data/catalogue_units.csv and data/lookalikes.csv."""
        rows = [nutrition.parse_row(row) for row in _read_rows(CATALOGUE_CSV)]
        return cls(rows, _read_rows(UNITS_CSV), _read_rows(LOOKALIKES_CSV))

    def _build_index(self) -> None:
        keys: dict[str, set] = {}  # normalised name -> {(row index, 0 for a whole name / 1 for a part)}
        self._ids = list(self._rows)
        self._common = [bool(int(row["common"] or 0)) for row in self._rows.values()]
        self._source = [row["source"] for row in self._rows.values()]
        names, owners = [], []
        for i, row in enumerate(self._rows.values()):
            whole = [row["name_ko"], row["name_en"], row["source_name"], *row["aliases"].split("|")]
            if ":" not in row["id"]:
                whole.append(row["id"].replace("_", " "))
            parts = PARTS.split(f"{row['name_en']},{row['source_name']},{row['synonyms']}")
            names += whole + parts
            owners += [(i, 0)] * len(whole) + [(i, 1)] * len(parts)
        for key, owner in zip(normals(names), owners):
            if key:
                keys.setdefault(key, set()).add(owner)
        self._keys = list(keys)
        self._key_rows = [sorted(keys[key]) for key in self._keys]
        self._exact = {key: i for i, key in enumerate(self._keys)}
        self._index = _Index(self._keys)
        hangul = [(i, initials(key)) for i, key in enumerate(self._keys) if initials(key)]
        self._initial_keys = [i for i, _ in hangul]
        self._initials = _Index([found for _, found in hangul])

    def __contains__(self, food_id) -> bool:
        return isinstance(food_id, str) and food_id in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def ids(self) -> list[str]:
        return list(self._rows)

    def row(self, food_id: str) -> dict:
        """The stored row (numbers parsed); KeyError if unknown."""
        return self.table.row(food_id)

    def food(self, food_id: str) -> Food:
        row = self.row(food_id)
        return Food(food_id, row["name_ko"], row["name_en"], row["source"], row["food_code"], self.units(food_id))

    def units(self, food_id: str) -> tuple[Unit, ...]:
        """The food's household units with their grams, in the source's order (Korean name: the
        English one where no Korean is known)."""
        return tuple(
            Unit(u["unit"], u["name_ko"] or u["name_en"], u["name_en"], float(u["grams"]), u["source"])
            for u in self._units.get(food_id, ())
        )

    def search(self, query: str, limit: int = 10, first: tuple[str, ...] = ()) -> list[Food]:
        """Foods whose names match `query`, best first: exact names, then names it begins, then names
        containing it (초성 too: ㄸㅂㅇ), then near misses (typos). Within each, the ids in `first`
        (the model's guesses and their look-alikes), then common foods, then shorter names. One row
        of a source is shown once. An empty query gives `first`, then the common foods."""
        typed, query = query, normal(query)[:MAX_QUERY]
        limit = min(int(limit), MAX_LIMIT)
        if limit < 1 or (typed.strip() and not query):  # nothing asked, or only punctuation typed
            return []
        firsts = {food_id: n for n, food_id in enumerate(first) if food_id in self._rows}
        tiers: dict[int, tuple] = {}

        def hit(key: int, tier: int, score: float = 100.0) -> None:
            for row, kind in self._key_rows[key]:
                rank = (tier + (kind if tier < 2 else 0), -score)
                if row not in tiers or rank < tiers[row]:
                    tiers[row] = rank

        if not query:
            order = sorted(
                range(len(self._ids)), key=lambda r: (firsts.get(self._ids[r], len(firsts)), not self._common[r])
            )
            return self._distinct([r for r in order if self._ids[r] in firsts or self._common[r]], limit)
        short = len(query) < 2  # one letter or one consonant: names that begin with it, not all that hold it
        if _is_initials(query):
            for i, starts in self._initials.containing(query, prefix_only=short):
                key = self._initial_keys[i]
                hit(key, 0 if len(initials(self._keys[key])) == len(query) else 1 if starts else 2)
        if query in self._exact:
            hit(self._exact[query], 0)
        for key, starts in self._index.containing(query, prefix_only=short):
            if self._keys[key] != query:
                hit(key, 1 if starts else 2)
        if len(tiers) < limit and len(query) >= 3:
            for _, score, key in process.extract(
                query, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=4 * limit + 20
            ):
                hit(key, 3, score)
        # On a tie, a Korean query prefers MFDS's row, an English one USDA's (each source's own names).
        preferred = MFDS if any("\u1100" <= ch <= "\u11ff" for ch in query) else FNDDS
        order = sorted(
            tiers,
            key=lambda r: (tiers[r][0], firsts.get(self._ids[r], len(firsts)), tiers[r][1], not self._common[r],
                           ":" in self._ids[r] and self._source[r] != preferred,
                           len(self._rows[self._ids[r]]["name_ko"] or self._rows[self._ids[r]]["name_en"]), r),
        )  # fmt: skip
        return self._distinct(order, limit)

    def _distinct(self, order: list[int], limit: int) -> list[Food]:
        """The first `limit` foods of `order`, one per (source row, Korean name): a mapped dish and the
        MFDS row it cites under the same name are the same food."""
        seen, found = set(), []
        for r in order:
            row = self._rows[self._ids[r]]
            same = (row["source"], row["food_code"], row["name_ko"]) if row["food_code"] else r
            if same in seen:
                continue
            seen.add(same)
            found.append(self.food(self._ids[r]))
            if len(found) == limit:
                break
        return found

    def grams_of(self, food_id: str, amount=None, unit: str | None = None) -> float | None:
        """The grams of `amount` (default 1) of one of the food's units (default its serving); None
        when neither is given. ValueError (ko+en) for an unknown unit or an amount out of range."""
        if amount is None and unit is None:
            return None
        try:
            amount = 1.0 if amount is None else float(amount)
        except (TypeError, ValueError):
            raise ValueError("양이 숫자가 아닙니다. The amount must be a number.") from None
        if not (0 < amount <= MAX_AMOUNT):  # also refuses NaN
            raise ValueError(
                f"양은 0보다 크고 {MAX_AMOUNT:g} 이하여야 합니다. The amount must be above 0, at most {MAX_AMOUNT:g}."
            )
        units = {u.unit: u for u in self.units(food_id)}
        chosen = units.get(unit or SERVING)
        if chosen is None:
            listed = ", ".join(units) or "grams only"
            raise ValueError(f"이 음식에 없는 단위입니다. Unknown unit for this food: use one of {listed}.")
        return amount * chosen.grams

    def facts(
        self, food_id: str, amount=None, unit: str | None = None, grams=None
    ) -> tuple[nutrition.Facts, Unit | None]:
        """The food's nutrition facts for `amount` of `unit`, or `grams` (default one source serving),
        and the unit used. KeyError for an unknown food, ValueError (ko+en) for a bad portion."""
        row = self.row(food_id)
        if grams is not None and (amount is not None or unit is not None):
            raise ValueError(
                "양은 그램이나 단위 중 하나로 주세요. Give the portion in grams or as an amount of a unit, not both."
            )
        by_unit = self.grams_of(food_id, amount, unit)
        if row["serving_g"] is None and row["source"] != nutrition.NONE and grams is None:
            raise ValueError("이 음식은 그램으로만 잴 수 있습니다. This food has no household unit: give grams.")
        chosen = (
            None if grams is not None else next((u for u in self.units(food_id) if u.unit == (unit or SERVING)), None)
        )
        if row["source"] == nutrition.NONE:
            return self.table.facts(food_id, grams=grams if grams is not None else by_unit), chosen
        return self.table.facts(food_id, grams=by_unit if by_unit is not None else grams), chosen

    def lookalikes(self, class_ids) -> list[Lookalike]:
        """The Korean dishes of data/lookalikes.csv that photos of these classes are taken for, in the
        order of the classes, each dish once."""
        found, seen = [], set()
        for class_id in class_ids:
            for food_id, reason in self._lookalikes.get(class_id, []):
                if food_id not in seen:
                    seen.add(food_id)
                    found.append(Lookalike(class_id, self.food(food_id), reason))
        return found


# --- the benchmark -----------------------------------------------------------------------------

BENCH_QUERIES = [
    "떡볶이", "김치찌개", "ㄸㅂㅇ", "ㄱㅊㅉㄱ", "갈비탕", "김치 찌개", "떡복이", "된장", "비빔", "불고기", "라면", "김밥",
    "kimchi stew", "bagel", "pizza", "chicken", "bagle", "tteokbokki", "rice", "milk", "coffee", "ramen",
    "salad", "a", "떡", "ㄱ", "cheese burger", "spagetti", "삼겹살", "짜장면",
]  # fmt: skip


def bench(catalogue: "Catalogue | None" = None, repeats: int = 20) -> dict:
    """ms per search over the whole catalogue, one thread: load time and p50/p95 over BENCH_QUERIES."""
    started = time.perf_counter()
    catalogue = catalogue or Catalogue.load()
    load_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(repeats):
        for query in BENCH_QUERIES:
            started = time.perf_counter()
            catalogue.search(query, limit=20, first=("ramen", "sushi", "pho"))
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "foods": len(catalogue),
        "queries": len(times),
        "load_ms": round(load_ms, 1),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * len(times)) - 1], 2),
        "max_ms": round(times[-1], 2),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mfds_csv", type=Path, nargs="?", default=nutrition.MFDS_CSV)
    parser.add_argument("usda_dir", type=Path, nargs="?", default=nutrition.USDA_DIR)
    parser.add_argument("--out", type=Path, default=CATALOGUE_CSV)
    parser.add_argument("--units-out", type=Path, default=UNITS_CSV)
    parser.add_argument("--bench", action="store_true", help="time the search instead of building")
    args = parser.parse_args(argv)
    if args.bench:
        print(bench())
        return
    foods, units = build_tables(args.mfds_csv, args.usda_dir)
    foods.to_csv(args.out, index=False)
    units.to_csv(args.units_out, index=False)
    both = int(((foods["name_ko"] != "") & (foods["name_en"] != "")).sum())
    counts = ", ".join(f"{n} {k}" for k, n in foods["source"].value_counts().items())
    print(f"{len(foods)} foods ({counts}), {both} with Korean and English names, {len(units)} units", file=sys.stderr)


if __name__ == "__main__":
    main()
