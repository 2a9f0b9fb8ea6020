"""Nutrition facts per dish from the Korean MFDS food nutrient database.

`data/nutrition.csv` is built from the MFDS dish table by `python -m foodcls.nutrition MFDS_CSV`:
one row per class id with Korean and English names, the MFDS food code and year, the serving weight
and the per-serving values. Per-100 g values are derived from those when shown.
Source: 식품의약품안전처, 식품영양성분 데이터베이스 (MFDS food nutrient database).
"""

import argparse
import math
from pathlib import Path

import pandas as pd

NUTRITION_CSV = Path(__file__).resolve().parents[1] / "data" / "nutrition.csv"
SOURCE = "식품의약품안전처 식품영양성분 데이터베이스 (MFDS Food Nutrient Database)"

# (class id, English name, MFDS food code). The first ten are the Food-101 stand-in classes (folder
# names); the rest are common dishes of the AI-Hub Korean food set, whose folders are Korean names.
DISHES = [
    ("bibimbap", "Bibimbap", "D018204"),
    ("chicken_wings", "Fried chicken", "D018547"),
    ("dumplings", "Dumplings", "D018165"),
    ("fried_rice", "Fried rice", "D018202"),
    ("gyoza", "Pan-fried dumplings", "D018157"),
    ("miso_soup", "Seaweed soybean-paste soup", "D018073"),
    ("peking_duck", "Roast duck", "D018041"),
    ("pho", "Rice noodle soup", "D000156"),
    ("ramen", "Ramyeon", "D018163"),
    ("sushi", "Assorted sushi", "D000229"),
    ("김치찌개", "Kimchi stew", "D000385"),
    ("불고기", "Bulgogi", "D018039"),
    ("떡볶이", "Tteokbokki", "D018256"),
    ("잡채", "Japchae", "D018287"),
    ("삼겹살", "Grilled pork belly", "D018033"),
    ("김밥", "Gimbap", "D018190"),
    ("갈비구이", "Grilled beef ribs", "D018037"),
    ("된장찌개", "Soybean paste stew", "D018480"),
    ("삼계탕", "Ginseng chicken soup", "D018079"),
    ("갈비탕", "Short rib soup", "D018053"),
    ("설렁탕", "Ox bone soup", "D018083"),
    ("물냉면", "Cold buckwheat noodles", "D018167"),
    ("비빔냉면", "Spicy cold noodles", "D018173"),
    ("짜장면", "Jajangmyeon", "D018180"),
    ("짬뽕", "Jjamppong", "D018181"),
    ("육개장", "Spicy beef soup", "D018099"),
    ("순두부찌개", "Soft tofu stew", "D018492"),
    ("부대찌개", "Army stew", "D018487"),
    ("제육볶음", "Stir-fried spicy pork", "D018288"),
    ("족발", "Braised pig's trotters", "D018523"),
    ("떡국", "Rice cake soup", "D018160"),
    ("미역국", "Seaweed soup", "D018071"),
    ("김치볶음밥", "Kimchi fried rice", "D018192"),
    ("해물파전", "Seafood pancake", "D018417"),
    ("김치전", "Kimchi pancake", "D018401"),
    ("칼국수", "Knife-cut noodles", "D018183"),
    ("감자탕", "Pork bone soup", "D018467"),
    ("양념치킨", "Spicy glazed chicken", "D000475"),
    ("떡갈비", "Grilled short rib patties", "D018406"),
    ("오징어볶음", "Stir-fried squid", "D018279"),
    ("고등어구이", "Grilled mackerel", "D018018"),
]

# (column in data/nutrition.csv, column in the MFDS table, label shown, unit)
NUTRIENTS = [
    ("energy_kcal", "에너지(㎉)", "에너지 Energy", "kcal"),
    ("carbohydrate_g", "탄수화물(g)", "탄수화물 Carbohydrate", "g"),
    ("protein_g", "단백질(g)", "단백질 Protein", "g"),
    ("fat_g", "지방(g)", "지방 Fat", "g"),
    ("sugars_g", "총당류(g)", "당류 Sugars", "g"),
    ("sodium_mg", "나트륨(㎎)", "나트륨 Sodium", "mg"),
    ("saturated_fat_g", "총 포화 지방산(g)", "포화지방 Saturated fat", "g"),
    ("cholesterol_mg", "콜레스테롤(㎎)", "콜레스테롤 Cholesterol", "mg"),
]
# In this table a 0 for these two usually means "not analysed", not "none".
ZERO_MEANS_UNKNOWN = {"sugars_g", "cholesterol_mg"}


def build_table(mfds_csv: Path) -> pd.DataFrame:
    """The per-class nutrition table from the MFDS dish CSV; every code in DISHES must be there."""
    mfds = pd.read_csv(mfds_csv, dtype={"식품코드": str}).set_index("식품코드")
    missing = [code for _, _, code in DISHES if code not in mfds.index]
    if missing:
        raise ValueError(f"MFDS food codes not in {mfds_csv}: {', '.join(missing)}")
    rows = []
    for class_id, name_en, code in DISHES:
        source = mfds.loc[code]
        if source["내용량_단위"] != "g":
            raise ValueError(f"{code} gives its serving in {source['내용량_단위']}, not grams")
        row = {
            "class_id": class_id,
            "name_ko": source["식품명"],
            "name_en": name_en,
            "food_code": code,
            "year": int(source["연도"]),
            "serving_g": float(source["1회제공량"]),
        }
        for column, mfds_column, _, _ in NUTRIENTS:
            value = float(source[mfds_column])
            row[column] = math.nan if column in ZERO_MEANS_UNKNOWN and value == 0 else value
        rows.append(row)
    return pd.DataFrame(rows)


def load_table(path: Path = NUTRITION_CSV) -> dict[str, dict]:
    """Rows of data/nutrition.csv by class id, also findable by Korean name."""
    table = pd.read_csv(path).to_dict("records")
    by_key = {row["name_ko"]: row for row in table}
    by_key.update({row["class_id"]: row for row in table})
    return by_key


def display_name(class_id: str, table: dict[str, dict]) -> str:
    """'비빔밥 · Bibimbap' for a known dish, the class id itself otherwise."""
    row = table.get(class_id)
    return f"{row['name_ko']} · {row['name_en']}" if row else class_id


def facts(row: dict, servings: float) -> pd.DataFrame:
    """Nutrient, amount for the chosen servings, per 100 g; unknown values shown as 'n/a'."""

    def shown(value: float, unit: str) -> str:
        return "n/a (not analysed)" if math.isnan(value) else f"{value:,.1f} {unit}"

    grams = row["serving_g"] * servings
    lines = [("제공량 Serving", f"{grams:,.0f} g", "100 g")]
    for column, _, label, unit in NUTRIENTS:
        per_serving = row[column]
        lines.append((label, shown(per_serving * servings, unit), shown(per_serving * 100 / row["serving_g"], unit)))
    return pd.DataFrame(lines, columns=["영양소 Nutrient", f"{servings:g} 인분 serving(s)", "100 g당 per 100 g"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Build data/nutrition.csv from the MFDS dish table.")
    parser.add_argument("mfds_csv", type=Path, help="e.g. ../shared/data/mfds_dishes.csv")
    parser.add_argument("--out", type=Path, default=NUTRITION_CSV)
    args = parser.parse_args(argv)
    table = build_table(args.mfds_csv)
    table.to_csv(args.out, index=False)
    print(f"{len(table)} dishes -> {args.out}")


if __name__ == "__main__":
    main()
