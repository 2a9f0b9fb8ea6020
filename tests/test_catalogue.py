"""The food catalogue: the committed tables are the build's, every value is its source row's, search
the way a Korean diner types, portions in household units, and the Korean look-alikes."""

import csv
import json
import math
from pathlib import Path

import pytest
from helpers import SHARED_DATA

from foodcls import catalogue, lookalikes, nutrition, service
from foodcls.catalogue import Catalogue

ROOT = Path(__file__).resolve().parents[1]
MFDS_CSV = SHARED_DATA / "mfds_dishes.csv"
USDA_DIR = SHARED_DATA / "usda-fndds"
FOODS = Catalogue.load()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def number(text: str):
    return float(text) if text.strip() else None


def first(query: str, **kwargs) -> catalogue.Food:
    return FOODS.search(query, **kwargs)[0]


@pytest.fixture(scope="module")
def shared():
    if not (MFDS_CSV.is_file() and USDA_DIR.is_dir()):
        pytest.skip(f"the shared nutrition sources are not at {SHARED_DATA}")
    return SHARED_DATA


# --- the tables ---------------------------------------------------------------------------------


def test_the_committed_tables_are_what_the_build_makes(shared, tmp_path):
    catalogue.main(
        [str(MFDS_CSV), str(USDA_DIR), "--out", str(tmp_path / "c.csv"), "--units-out", str(tmp_path / "u.csv")]
    )
    assert (tmp_path / "c.csv").read_bytes() == catalogue.CATALOGUE_CSV.read_bytes()
    assert (tmp_path / "u.csv").read_bytes() == catalogue.UNITS_CSV.read_bytes()


def test_every_mfds_row_every_fndds_food_and_every_mapped_dish_is_in_it(shared):
    mfds = {row["식품코드"] for row in read_csv(MFDS_CSV)}
    fndds = {row["Food code"] for row in read_csv(USDA_DIR / "fndds_2021_2023_nutrient_values.csv")}
    assert len(mfds) == 839 and len(fndds) == 5431
    ids = set(FOODS.ids())
    assert {f"mfds:{code}" for code in mfds} <= ids and {f"fndds:{code}" for code in fndds} <= ids
    assert set(nutrition.NutritionTable.load().class_ids()) <= ids
    assert len(FOODS) == 839 + 5431 + len(nutrition.NutritionTable.load().class_ids())


def test_every_value_equals_its_source_row(shared):
    mfds = {row["식품코드"]: row for row in read_csv(MFDS_CSV)}
    fndds = {row["Food code"]: row for row in read_csv(USDA_DIR / "fndds_2021_2023_nutrient_values.csv")}
    mapped = {row["class_id"]: row for row in read_csv(nutrition.NUTRITION_CSV)}
    columns = {  # ours: (MFDS, FNDDS), as tests/test_nutrition.py spells them
        "energy_kcal": ("에너지(㎉)", "Energy (kcal)"),
        "carbohydrate_g": ("탄수화물(g)", "Carbohydrate (g)"),
        "protein_g": ("단백질(g)", "Protein (g)"),
        "fat_g": ("지방(g)", "Total Fat (g)"),
        "sugars_g": ("총당류(g)", "Sugars, total (g)"),
        "sodium_mg": ("나트륨(㎎)", "Sodium (mg)"),
        "saturated_fat_g": ("총 포화 지방산(g)", "Fatty acids, total saturated (g)"),
        "cholesterol_mg": ("콜레스테롤(㎎)", "Cholesterol (mg)"),
    }
    checked = 0
    for row in read_csv(catalogue.CATALOGUE_CSV):
        kind, _, code = row["id"].partition(":")
        if kind == "mfds":
            cited = mfds[code]
            expected = {"source": "MFDS", "food_code": code, "source_name": cited["식품명"].strip(),
                        "year": cited["연도"], "basis": "serving", "serving_g": number(cited["1회제공량"])}  # fmt: skip
            for ours, (theirs, _) in columns.items():
                value = number(cited[theirs])  # a 0 sugars / cholesterol in MFDS means not analysed
                expected[ours] = None if ours in ("sugars_g", "cholesterol_mg") and value == 0 else value
        elif kind == "fndds":
            cited = fndds[code]
            expected = {"source": "USDA FNDDS", "food_code": code, "source_name": cited["Main food description"],
                        "year": "2021-2023", "basis": "100g"}  # fmt: skip
            expected |= {ours: number(cited[theirs]) for ours, (_, theirs) in columns.items()}
        else:  # a model's dish: exactly its row of data/nutrition.csv (itself checked against the sources)
            cited = mapped[row["id"]]
            expected = {k: cited[k] for k in ("name_ko", "name_en", "source", "food_code", "year", "source_name")}
            expected |= {k: number(cited[k]) for k in ("serving_g", *columns)}
        got = {k: number(row[k]) if k in columns or k == "serving_g" else row[k] for k in expected}
        assert got == expected, row["id"]
        checked += 1
    assert checked == len(FOODS)


def test_every_unit_weighs_what_its_source_says(shared):
    portions = {}
    for row in read_csv(USDA_DIR / "fndds_2021_2023_portions_weights.csv"):
        portions[(row["Food code"], row["Portion description"])] = number(row["Portion weight (g)"])
    mfds = {row["식품코드"]: row for row in read_csv(MFDS_CSV)}
    reference = {(r["id"], r["unit"]): r for r in read_csv(catalogue.KOREAN_UNITS_CSV)}
    counted = 0
    for unit in read_csv(catalogue.UNITS_CSV):
        row = FOODS.row(unit["id"])
        grams = float(unit["grams"])
        if (unit["id"], unit["unit"]) in reference:
            assert grams == float(reference[(unit["id"], unit["unit"])]["grams"]) and unit["source"]
        elif unit["source"] == catalogue.FNDDS_PORTION:
            assert portions[(row["food_code"], unit["name_en"])] == grams, unit
        elif unit["source"] == catalogue.MFDS_SERVING:
            assert unit["unit"] == "serving" and grams == float(mfds[row["food_code"]]["1회제공량"]) == row["serving_g"]
        else:
            assert row["source"] == "USDA SR27" and grams == row["serving_g"]
        counted += 1
    assert counted > 22_000


def test_the_units_a_diner_uses(shared):
    rice = FOODS.units("fndds:56205008")  # Rice, white, cooked, no added fat
    assert [(u.name_en, u.grams) for u in rice if u.unit == "gonggi"] == [("1 bowl (gonggi)", 210.0)]
    assert any(u.name_en == "1 cup, cooked" and u.name_ko == "1컵 (cooked)" and u.grams == 158 for u in rice)
    assert [(u.unit, u.name_ko, u.grams) for u in FOODS.units("mfds:D018256")] == [("serving", "1인분", 180.0)]
    bagel = {u.name_en: u for u in FOODS.units(first("bagel").id)}
    assert bagel["Quantity not specified"].unit == "serving" and "1 miniature" in bagel


def test_a_name_that_cites_the_wrong_row_is_refused(shared, tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("id,source_name,name_ko,name_en,aliases,common\nmfds:D018256,김치찌개,,Kimchi stew,,1\n", "utf-8")
    with pytest.raises(ValueError, match="D018256 is '떡볶이'"):
        catalogue.build_tables(MFDS_CSV, USDA_DIR, names_csv=names)


def test_korean_and_english_names_for_the_ai_hub_dishes_and_common_foods(shared):
    both = [food_id for food_id in FOODS.ids() if FOODS.row(food_id)["name_ko"] and FOODS.row(food_id)["name_en"]]
    assert len(both) >= 1000  # 839 MFDS rows named in English, 276 FNDDS foods in Korean, the model's dishes
    no_row = {"과메기", "누룽지", "김치찜", "멍게", "산낙지"}  # in neither MFDS's dish rows nor FNDDS
    for row in read_csv(SHARED_DATA / "aihub-kfood150.csv"):
        if row["dish"] in no_row:
            continue
        found = [f for f in FOODS.search(row["dish"], limit=3) if f.name_ko and f.name_en]
        names = {catalogue.normal(n) for f in found for n in [f.name_ko, *FOODS.row(f.id)["aliases"].split("|")]}
        assert catalogue.normal(row["dish"]) in names, row["dish"]


# --- search -------------------------------------------------------------------------------------


def test_tteokbokki_finds_the_mfds_row_first():
    food = first("떡볶이")
    assert food.source == "MFDS" and food.food_code == "D018256" and food.name_ko == "떡볶이"


def test_an_english_name_finds_the_korean_dish():
    assert first("kimchi stew").name_ko == "김치찌개"
    assert first("Kimchi Stew").name_ko == "김치찌개" and first("kimchistew").name_ko == "김치찌개"


def test_bagel_finds_a_usda_food():
    food = first("bagel")
    assert food.source == "USDA FNDDS" and food.name_en == "Bagel"


def test_initial_consonants_find_the_dish():
    assert first("ㄸㅂㅇ").name_ko == "떡볶이"
    assert first("ㄱㅊㅉㄱ").name_ko == "김치찌개"
    assert first("ㄱㅂㅌ").name_ko == "갈비탕"


def test_a_dish_finds_itself():
    assert first("갈비탕").name_ko == "갈비탕"
    assert first("비빔밥").id == "bibimbap"  # the model's own dish before the MFDS row it cites


def test_typos_and_spacing_are_forgiven():
    assert first("떡복이").name_ko == "떡볶이"  # one jamo off
    assert first("김치 찌개").name_ko == "김치찌개" and first("갈 비 탕").name_ko == "갈비탕"
    assert first("bagle").name_en.startswith("Bagel")
    assert first("spagetti bolognese").id == "spaghetti_bolognese"


def test_half_typed_syllables_find_the_dish():
    assert "떡볶이" in [f.name_ko for f in FOODS.search("떡ㅂ", limit=5)]


def test_the_models_guesses_rank_first_among_matches():
    plain = [f.id for f in FOODS.search("찌개", limit=10)]
    guessed = [f.id for f in FOODS.search("찌개", limit=10, first=("순두부찌개",))]
    assert guessed[0] == "순두부찌개" and plain[0] != "순두부찌개"
    assert [f.id for f in FOODS.search("", limit=2, first=("ramen", "pho"))] == ["ramen", "pho"]


def test_one_source_row_is_offered_once():
    ids = [f.id for f in FOODS.search("떡볶이", limit=10)]
    assert "떡볶이" in ids and "mfds:D018256" not in ids  # the model's dish and the row it cites: one food


def test_nothing_found_is_an_empty_list_and_limits_hold():
    assert FOODS.search("zzqxv") == [] and FOODS.search("ㅋㅋㅋㅋㅋㅋ") == [] and FOODS.search("?!") == []
    assert FOODS.search("kimchi", limit=0) == []
    assert len(FOODS.search("a", limit=50)) == 50 and len(FOODS.search("a", limit=500)) == catalogue.MAX_LIMIT
    assert len(FOODS.search("x" * 5000)) <= 10  # cut to 100 characters


@pytest.mark.parametrize("query", ["x" * 101, 5, None])
def test_a_bad_query_is_refused_without_repeating_it(query):
    with pytest.raises(ValueError) as error:
        service.search_foods(foods=FOODS, query=query)
    assert "100" in str(error.value) and "xxxx" not in str(error.value)


@pytest.mark.parametrize("limit", [0, 51, -1, 2.5, True])
def test_a_bad_limit_is_refused(limit):
    with pytest.raises(ValueError, match="1 to 50"):
        service.search_foods(foods=FOODS, query="kimchi", limit=limit)


def test_the_benchmark_times_every_query():
    result = catalogue.bench(FOODS, repeats=1)
    assert result["queries"] == len(catalogue.BENCH_QUERIES) and result["foods"] == len(FOODS)
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]


# --- facts for a portion ------------------------------------------------------------------------


def test_one_serving_of_an_mfds_row_is_the_row():
    facts = service.food_facts(foods=FOODS, food_id="mfds:D018256")
    assert facts["grams"] == 180 and facts["per_portion"]["energy_kcal"] == 260.0
    assert facts["source_line"] == "출처 Source: 식품의약품안전처 MFDS 식품영양성분 DB 떡볶이 D018256 (2020)"
    assert facts["portion"] == {
        "amount": 1.0,
        "unit": "serving",
        "name_ko": "1인분",
        "name_en": "1 serving",
        "grams": 180.0,
    }


def test_an_amount_of_a_unit_scales_every_value():
    one = service.food_facts(foods=FOODS, food_id="fndds:56205008", unit="gonggi")
    two = service.food_facts(foods=FOODS, food_id="fndds:56205008", unit="gonggi", amount=2)
    assert one["grams"] == 210 and two["grams"] == 420 and two["portion"]["amount"] == 2
    for column in nutrition.NUTRIENT_NAMES:
        assert two["per_portion"][column] == pytest.approx(2 * one["per_portion"][column])
        assert one["per_portion"][column] == pytest.approx(one["per_100g"][column] * 2.1)
    grams = service.food_facts(foods=FOODS, food_id="fndds:56205008", grams=100)
    assert grams["per_portion"] == grams["per_100g"] and grams["portion"]["unit"] is None


def test_a_model_dish_gives_the_facts_the_nutrition_table_gives():
    assert (
        service.food_facts(foods=FOODS, food_id="ramen")["per_portion"]
        == service.dish_facts(table=nutrition.NutritionTable.load(), class_id="ramen")["per_portion"]
    )
    takoyaki = service.food_facts(foods=FOODS, food_id="takoyaki")
    assert takoyaki["has_data"] is False and "No nutrition data" in takoyaki["source_line"]


@pytest.mark.parametrize(
    "portion, message",
    [({"unit": "cup"}, "Unknown unit"), ({"amount": 0}, "above 0"), ({"amount": math.nan}, "above 0"),
     ({"amount": 101}, "at most 100"), ({"amount": "two"}, "number"), ({"grams": 100, "unit": "serving"}, "not both"),
     ({"grams": 6000}, "at most 5000")],
)  # fmt: skip
def test_bad_portions_are_refused_in_korean_and_english(portion, message):
    with pytest.raises(ValueError, match=message) as error:
        service.food_facts(foods=FOODS, food_id="mfds:D018256", **portion)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in str(error.value))


def test_an_ingredient_code_without_portions_needs_grams():
    with pytest.raises(ValueError, match="give grams"):
        service.food_facts(foods=FOODS, food_id="fndds:99995620")
    assert service.food_facts(foods=FOODS, food_id="fndds:99995620", grams=50)["grams"] == 50


def test_an_unknown_food_is_refused_without_repeating_its_id():
    with pytest.raises(service.UnknownFood) as error:
        service.food_facts(foods=FOODS, food_id="<script>")
    assert "<script>" not in str(error.value)


# --- look-alikes --------------------------------------------------------------------------------


def test_every_lookalike_is_a_reviewed_catalogue_dish_of_a_deployed_class():
    classes = set(json.loads((ROOT / "weights" / "efficientnet_lite0_food101" / "config.json").read_text())["classes"])
    rows = read_csv(catalogue.LOOKALIKES_CSV)
    per_class = {}
    for row in rows:
        assert row["class_id"] in classes and row["food_id"] in FOODS, row
        assert FOODS.row(row["food_id"])["name_ko"] == row["name_ko"] and row["reason"], row
        per_class[row["class_id"]] = per_class.get(row["class_id"], 0) + 1
    assert max(per_class.values()) <= 4  # a short list beside the guesses, not a second search
    assert len({(r["class_id"], r["food_id"]) for r in rows}) == len(rows)


def test_the_page_offers_lookalikes_beside_the_guesses():
    offered = service.lookalikes(foods=FOODS, class_ids=["sushi", "ramen", "gnocchi"])
    assert [(o["lookalike_of"], o["name_ko"]) for o in offered][:2] == [("sushi", "김밥"), ("ramen", "김치찌개")]
    assert "떡볶이" in [o["name_ko"] for o in offered] and all(o["units"] and o["reason"] for o in offered)
    assert service.lookalikes(foods=FOODS, class_ids=["apple_pie", None]) == []


def test_the_measure_counts_a_dish_offered_only_by_its_lookalike():
    labels = {"tteokbokki": {"떡볶이"}, "gimbap": {"김밥"}, "ssam": set()}
    tops = {"tteokbokki__a.jpg": ["paella", "ramen", "pizza"], "gimbap__b.jpg": ["takoyaki", "cannoli", "mussels"],
            "ssam__c.jpg": ["tacos", "nachos", "steak"]}  # fmt: skip
    report = lookalikes.measure(tops, FOODS, labels)
    assert (report["photos"], report["before"], report["after"], report["no_row"]) == (3, 0, 1, 1)
    assert report["detail"]["tteokbokki__a.jpg"]["right"] and not report["detail"]["gimbap__b.jpg"]["right"]


def test_the_side_cost_counts_lookalikes_shown_for_known_dishes():
    tops = {"a.jpg": ["pizza", "apple_pie", "waffles"], "b.jpg": ["apple_pie", "waffles", "churros"]}
    assert lookalikes.side_cost(tops, FOODS) == {"photos": 2, "with_lookalikes": 1, "lookalikes_offered": 1}


def test_every_dev_photo_dish_has_labels(shared):
    folder = SHARED_DATA / "realworld-dev" / "_korean_other"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    labels = lookalikes.read_labels()
    assert {p.name.split("__")[0] for p in folder.iterdir() if p.suffix != ".tsv"} <= set(labels)
    assert all(food_id in FOODS for ids in labels.values() for food_id in ids)
