"""The nutrition table: coverage of every dish, values equal to the cited source rows, portions."""

import csv
import json
import math
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from helpers import SHARED_DATA

from foodcls import nutrition, runs
from foodcls.nutrition import NutritionTable

ROOT = Path(__file__).resolve().parents[1]
MFDS_CSV = SHARED_DATA / "mfds_dishes.csv"
USDA_DIR = SHARED_DATA / "usda-fndds"
TABLE = NutritionTable.load()
HANGUL = re.compile("[가-힣]")

FOOD101 = """apple_pie baby_back_ribs baklava beef_carpaccio beef_tartare beet_salad beignets bibimbap
bread_pudding breakfast_burrito bruschetta caesar_salad cannoli caprese_salad carrot_cake ceviche
cheese_plate cheesecake chicken_curry chicken_quesadilla chicken_wings chocolate_cake chocolate_mousse
churros clam_chowder club_sandwich crab_cakes creme_brulee croque_madame cup_cakes deviled_eggs donuts
dumplings edamame eggs_benedict escargots falafel filet_mignon fish_and_chips foie_gras french_fries
french_onion_soup french_toast fried_calamari fried_rice frozen_yogurt garlic_bread gnocchi greek_salad
grilled_cheese_sandwich grilled_salmon guacamole gyoza hamburger hot_and_sour_soup hot_dog
huevos_rancheros hummus ice_cream lasagna lobster_bisque lobster_roll_sandwich macaroni_and_cheese
macarons miso_soup mussels nachos omelette onion_rings oysters pad_thai paella pancakes panna_cotta
peking_duck pho pizza pork_chop poutine prime_rib pulled_pork_sandwich ramen ravioli red_velvet_cake
risotto samosa sashimi scallops seaweed_salad shrimp_and_grits spaghetti_bolognese spaghetti_carbonara
spring_rolls steak strawberry_shortcake sushi tacos takoyaki tiramisu tuna_tartare waffles""".split()
AI_HUB = """김치찌개 불고기 떡볶이 잡채 삼겹살 김밥 갈비구이 된장찌개 삼계탕 갈비탕 설렁탕 물냉면 비빔냉면 짜장면 짬뽕
육개장 순두부찌개 부대찌개 제육볶음 족발 떡국 미역국 김치볶음밥 해물파전 김치전 칼국수 감자탕 양념치킨 떡갈비 오징어볶음
고등어구이""".split()


def shipped_classes() -> set[str]:
    return {c for config in ROOT.glob("weights/*/config.json") for c in json.loads(config.read_text())["classes"]}


def read_csv(path: Path, key: str) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {row[key]: row for row in csv.DictReader(f)}


def stored_rows() -> list[dict]:
    with open(nutrition.NUTRITION_CSV, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def shared():
    if not (MFDS_CSV.is_file() and USDA_DIR.is_dir()):
        pytest.skip(f"the shared nutrition sources are not at {SHARED_DATA}")
    return SHARED_DATA


# --- coverage -----------------------------------------------------------------------------------


def test_every_class_of_every_shipped_run_has_a_row():
    classes = shipped_classes()
    assert len(classes) >= 10
    assert classes <= set(TABLE.class_ids())


def test_every_food101_dish_has_a_row_or_an_explicit_none():
    assert len(set(FOOD101)) == 101
    assert set(FOOD101) <= set(TABLE.class_ids())
    assert {c for c in FOOD101 if TABLE.row(c)["source"] == "none"} == {"macarons", "panna_cotta", "takoyaki"}


def test_the_food101_list_is_the_datasets(shared):
    archive = shared / "food101-64.zip"
    if not archive.is_file():
        pytest.skip(f"{archive} is absent")
    with zipfile.ZipFile(archive) as z:
        folders = {name.split("/")[1] for name in z.namelist() if name.count("/") == 2}
    assert folders == set(FOOD101)


def test_the_ai_hub_korean_dishes_stay_on_mfds():
    assert len(AI_HUB) == 31
    for class_id in AI_HUB:
        assert TABLE.row(class_id)["source"] == "MFDS" and TABLE.dish(class_id).name_ko == class_id


def test_every_ai_hub_kfood_dish_has_a_row_under_its_folder_name(shared):
    """A run trained on AI-Hub's K-food folders has the dish folder names as classes (foodcls.data)."""
    with open(shared / "aihub-kfood150.csv", newline="", encoding="utf-8") as f:
        dishes = [row["dish"] for row in csv.DictReader(f)]
    assert len(set(dishes)) == 150 and set(dishes) <= set(TABLE.class_ids())
    assert all(runs.CLASS_ID.match(dish) for dish in dishes)
    same_name = defaultdict(set)
    for row in read_csv(MFDS_CSV, "식품코드").values():
        same_name[row["식품명"].replace(" ", "")].add(row["식품코드"])
    # the national (전국 대표) rows stand for these two; their same-name rows are regional recipes
    national = {"불고기": "D018039", "갈비구이": "D018037"}
    for dish in dishes:
        row = TABLE.row(dish)
        if dish in national:
            assert row["food_code"] == national[dish] and row["source_name"].endswith(dish)
        elif same_name[dish]:
            assert row["food_code"] in same_name[dish] and row["match"] == "same", dish
        else:
            assert row["match"] != "same" or row["note"], f"{dish}: another row's name needs a note"
    matches = [TABLE.row(dish)["match"] for dish in dishes]
    assert (matches.count("same"), matches.count("closest"), matches.count("partial"), matches.count("none")) == (
        125,
        20,
        1,
        4,
    )


def test_rows_are_well_formed():
    rows = stored_rows()
    assert [row["class_id"] for row in rows] == TABLE.class_ids() and len(rows) == len(set(TABLE.class_ids()))
    for row in rows:
        assert list(row) == nutrition.COLUMNS
        assert HANGUL.search(row["name_ko"]) and row["name_en"].isascii() and row["name_en"], row["class_id"]
        assert row["match"] == "same" or row["note"], f"{row['class_id']}: a {row['match']} match without a note"
        if row["source"] == "none":
            assert row["match"] == "none" and not row["food_code"] and not row["serving_g"] and not row["energy_kcal"]
        else:
            assert row["match"] != "none" and row["basis"] == ("serving" if row["source"] == "MFDS" else "100g")
            assert float(row["serving_g"]) > 0 and float(row["energy_kcal"]) > 0


def test_the_two_wrong_rows_are_fixed_and_dishes_are_named_as_recognised():
    assert (TABLE.row("chicken_wings")["food_code"], TABLE.row("miso_soup")["food_code"]) == ("D018536", "D000041")
    assert TABLE.dish("ramen").label == "라멘 · Ramen" and TABLE.row("ramen")["source_name"] == "라면"
    assert TABLE.row("ramen")["match"] == "closest"
    assert TABLE.dish("miso_soup").label == "미소시루 · Miso soup"
    assert TABLE.dish("peking_duck").label == "베이징덕 · Peking duck"
    assert TABLE.dish("pho").label == "쌀국수 · Pho" and TABLE.dish("sushi").label == "초밥 · Sushi"
    ten_dishes = json.loads((ROOT / "weights" / "shallownet" / "config.json").read_text())["classes"]
    for class_id in ten_dishes:
        assert TABLE.row(class_id)["source"] == "MFDS", "the study dishes' rows are MFDS rows (data/README.md)"


# --- every value is its cited source row's ------------------------------------------------------


def test_every_stored_value_equals_its_cited_source_row(shared):
    mfds = read_csv(MFDS_CSV, "식품코드")
    fndds = read_csv(USDA_DIR / "fndds_2021_2023_nutrient_values.csv", "Food code")
    sr27 = read_csv(USDA_DIR / "sr27_abbrev.csv", "NDB_No")
    with open(USDA_DIR / "fndds_2021_2023_portions_weights.csv", newline="", encoding="utf-8") as f:
        portions = {
            r["Food code"]: r["Portion weight (g)"]
            for r in csv.DictReader(f)
            if r["Portion description"] == "Quantity not specified"
        }
    columns = {  # ours: (MFDS, FNDDS, SR27)
        "energy_kcal": ("에너지(㎉)", "Energy (kcal)", "Energ_Kcal"),
        "carbohydrate_g": ("탄수화물(g)", "Carbohydrate (g)", "Carbohydrt_(g)"),
        "protein_g": ("단백질(g)", "Protein (g)", "Protein_(g)"),
        "fat_g": ("지방(g)", "Total Fat (g)", "Lipid_Tot_(g)"),
        "sugars_g": ("총당류(g)", "Sugars, total (g)", "Sugar_Tot_(g)"),
        "sodium_mg": ("나트륨(㎎)", "Sodium (mg)", "Sodium_(mg)"),
        "saturated_fat_g": ("총 포화 지방산(g)", "Fatty acids, total saturated (g)", "FA_Sat_(g)"),
        "cholesterol_mg": ("콜레스테롤(㎎)", "Cholesterol (mg)", "Cholestrl_(mg)"),
    }

    def number(text):
        return float(text) if text.strip() else None

    checked = 0
    for row in stored_rows():
        code, source = row["food_code"], row["source"]
        if source == "none":
            continue
        which = {"MFDS": 0, "USDA FNDDS": 1, "USDA SR27": 2}[source]
        cited = (mfds, fndds, sr27)[which][code]
        if which == 0:
            expected = {"source_name": cited["식품명"].strip(), "year": cited["연도"], "serving_g": cited["1회제공량"]}
        elif which == 1:
            expected = {"source_name": cited["Main food description"], "year": "2021-2023", "serving_g": portions[code]}
        else:
            expected = {"source_name": cited["Shrt_Desc"], "year": "2014", "serving_g": cited["GmWt_1"]}
        expected["serving_g"] = number(expected["serving_g"])
        for ours, theirs in columns.items():
            value = number(cited[theirs[which]])
            expected[ours] = None if which == 0 and ours in ("sugars_g", "cholesterol_mg") and value == 0 else value
        got = {k: row[k] if k in ("source_name", "year") else number(row[k]) for k in expected}
        assert got == expected, f"{row['class_id']} differs from {source} {code}"
        checked += 1
    assert checked == len(TABLE) - sum(row["source"] == "none" for row in stored_rows())


def test_the_committed_table_is_what_the_build_makes(shared, tmp_path):
    nutrition.main([str(MFDS_CSV), str(USDA_DIR), "--out", str(tmp_path / "built.csv")])
    assert (tmp_path / "built.csv").read_text(encoding="utf-8") == nutrition.NUTRITION_CSV.read_text(encoding="utf-8")


def test_a_mapping_without_a_reason_for_a_weak_match_is_refused(tmp_path):
    bad = tmp_path / "sources.csv"
    bad.write_text("class_id,name_ko,name_en,source,food_code,match,note\nramen,라멘,Ramen,MFDS,D018163,closest,\n")
    with pytest.raises(ValueError, match="needs a note"):
        nutrition.read_sources(bad)


# --- facts for a portion ------------------------------------------------------------------------


def test_per_100g_values_from_a_per_serving_mfds_row():
    facts = TABLE.facts("bibimbap")  # 비빔밥 D018204: 450 g, 637 kcal, sugars 0.2 g
    assert facts.has_data and facts.basis == "serving" and facts.grams == facts.serving_g == 450
    assert facts.per_portion["energy_kcal"] == 637
    assert facts.per_100g["energy_kcal"] == pytest.approx(637 / 4.5)
    assert facts.per_100g["sodium_mg"] == pytest.approx(1041.85 / 4.5)
    ramen = TABLE.facts("ramen")
    assert ramen.per_portion["cholesterol_mg"] is None and ramen.per_100g["cholesterol_mg"] is None


def test_per_100g_values_of_a_usda_row_are_the_stored_ones():
    facts = TABLE.facts("baklava")  # FNDDS 53441110: per 100 g, default portion 80 g
    row = TABLE.row("baklava")
    assert facts.basis == "100g" and facts.serving_g == 80 and facts.servings == 1
    assert facts.per_100g == {c: row[c] for c in nutrition.NUTRIENT_NAMES}
    assert facts.per_portion["energy_kcal"] == pytest.approx(row["energy_kcal"] * 0.8)


@pytest.mark.parametrize("class_id", ["bibimbap", "baklava", "foie_gras"])
def test_grams_and_servings_scale_every_value(class_id):
    one, two = TABLE.facts(class_id), TABLE.facts(class_id, servings=2)
    by_grams = TABLE.facts(class_id, grams=one.serving_g / 2)
    assert two.grams == 2 * one.grams and by_grams.servings == pytest.approx(0.5)
    for c in nutrition.NUTRIENT_NAMES:
        if one.per_portion[c] is not None:
            assert two.per_portion[c] == pytest.approx(2 * one.per_portion[c])
            assert by_grams.per_portion[c] == pytest.approx(one.per_portion[c] / 2)
            assert one.per_100g[c] == two.per_100g[c] == pytest.approx(by_grams.per_100g[c])
    assert TABLE.facts(class_id, grams=100).per_portion["energy_kcal"] == pytest.approx(one.per_100g["energy_kcal"])


@pytest.mark.parametrize(
    "portion",
    [{"grams": 0}, {"grams": -5}, {"grams": 5000.5}, {"grams": math.nan}, {"grams": math.inf}, {"grams": "abc"},
     {"servings": 0}, {"servings": -1}, {"servings": 20.5}, {"servings": math.nan}, {"grams": 100, "servings": 1}],
)  # fmt: skip
def test_bad_portions_are_refused_in_korean_and_english(portion):
    for class_id in ("bibimbap", "takoyaki"):
        with pytest.raises(ValueError) as error:
            TABLE.facts(class_id, **portion)
        assert HANGUL.search(str(error.value)) and "portion" in str(error.value).lower()


def test_the_largest_allowed_portions_are_accepted():
    assert TABLE.facts("pizza", grams=5000).grams == 5000
    assert TABLE.facts("pizza", servings=20).grams == 20 * 200


def test_a_dish_without_an_acceptable_row_says_no_data():
    facts = TABLE.facts("takoyaki", grams=150)
    assert not facts.has_data and facts.per_portion == facts.per_100g == {} and facts.serving_g is None
    assert facts.match == "none" and facts.food_code == "" and facts.grams == 150
    assert "영양 정보 없음" in facts.source_line and "No nutrition data" in facts.source_line
    assert all(per_portion is None for _, _, per_portion, _ in facts.lines())


def test_source_lines_say_what_the_values_are():
    ramen = TABLE.facts("ramen").source_line
    assert "MFDS" in ramen and "라면 D018163" in ramen and "closest row" in ramen and "instant noodles" in ramen
    assert TABLE.facts("baklava").source_line == "출처 Source: USDA FNDDS 2021-2023 53441110, Baklava"
    assert "partial match" in TABLE.facts("caesar_salad").source_line
    assert "USDA SR27 2014 05282" in TABLE.facts("foie_gras").source_line


def test_an_unknown_dish_is_a_key_error():
    assert "kimchi_pizza" not in TABLE
    with pytest.raises(KeyError):
        TABLE.facts("kimchi_pizza")


# --- search -------------------------------------------------------------------------------------


def test_search_in_korean_and_english():
    assert TABLE.search("피자")[0].class_id == "pizza"
    assert TABLE.search("PIZZA")[0].class_id == "pizza"
    assert TABLE.search("creme brulee")[0].class_id == "creme_brulee"
    assert [d.class_id for d in TABLE.search("라멘")] == ["ramen"]
    assert "gyoza" in [d.class_id for d in TABLE.search("군만두")]  # the MFDS row's own name
    assert "dumplings" in [d.class_id for d in TABLE.search("dumpling")]
    assert TABLE.search("치즈케")[0].class_id == "cheesecake"
    assert len(TABLE.search("")) == len(TABLE) and TABLE.search("zzz") == []
    assert len(TABLE.search("", limit=5)) == 5


def test_the_page_shows_a_portion_with_its_per_100g_values_and_unknowns_as_na():
    frame = nutrition.facts_frame(TABLE.facts("bibimbap", servings=2))
    assert frame.iloc[0, 1] == "900 g" and frame.iloc[1, 1] == "1,274.0 kcal"
    assert frame.iloc[1, 2] == f"{637 / 4.5:,.1f} kcal"
    ramen = nutrition.facts_frame(TABLE.facts("ramen")).set_index("영양소 Nutrient")
    assert ramen.loc["콜레스테롤 Cholesterol"].iloc[0] == "n/a (not analysed)"
