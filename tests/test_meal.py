"""A meal of dishes with portions: adding, removing, totals, CSV, and what a browser may send back."""

import base64
import csv
import io

import pytest

from foodcls import meal, nutrition

TABLE = nutrition.NutritionTable.load()


def test_adding_dishes_keeps_their_portions_and_leaves_the_old_meal_alone():
    empty = []
    one = meal.add(empty, TABLE, "ramen")
    two = meal.add(one, TABLE, "pho", grams=300)
    assert empty == [] and len(one) == 1
    assert two == [
        {"class_id": "ramen", "grams": None, "servings": 1.0},
        {"class_id": "pho", "grams": 300.0, "servings": None},
    ]
    three = meal.add(two, TABLE, "sushi", servings=2)
    assert three[-1] == {"class_id": "sushi", "grams": None, "servings": 2.0}


def test_a_bad_portion_or_dish_is_refused_with_the_portion_message():
    with pytest.raises(ValueError, match="at most 5000 g"):
        meal.add([], TABLE, "ramen", grams=6000)
    with pytest.raises(ValueError, match="above 0"):
        meal.add([], TABLE, "ramen", servings=0)
    with pytest.raises(KeyError):
        meal.add([], TABLE, "not_a_dish")
    full = [meal.item(TABLE, "pho")] * meal.MAX_DISHES
    with pytest.raises(ValueError, match="at most 30 dishes"):
        meal.add(full, TABLE, "pho")


def test_removing_one_dish_keeps_the_others_in_order():
    three = meal.add(meal.add(meal.add([], TABLE, "ramen"), TABLE, "pho"), TABLE, "sushi")
    assert [entry["class_id"] for entry in meal.remove(three, 1)] == ["ramen", "sushi"]
    assert meal.remove(three, 7) == three and len(three) == 3


def test_totals_add_each_dish_for_its_portion():
    items = meal.add(meal.add(meal.add([], TABLE, "pho"), TABLE, "sushi", grams=150), TABLE, "gyoza", servings=2)
    sums, partial = meal.totals(meal.facts(items, TABLE))
    pho, sushi, gyoza = (TABLE.row(dish) for dish in ("pho", "sushi", "gyoza"))
    expected = pho["energy_kcal"] + sushi["energy_kcal"] * 150 / sushi["serving_g"] + 2 * gyoza["energy_kcal"]
    assert sums["energy_kcal"] == pytest.approx(expected)
    assert sums["protein_g"] == pytest.approx(pho["protein_g"] + sushi["protein_g"] / 2 + 2 * gyoza["protein_g"])
    assert partial == set()


def test_a_dish_without_data_or_an_unanalysed_value_marks_the_total_as_a_lower_bound():
    items = meal.add(meal.add([], TABLE, "ramen"), TABLE, "takoyaki")  # ramen has no sugars value; takoyaki no data
    sums, partial = meal.totals(meal.facts(items, TABLE))
    assert sums["energy_kcal"] == 450.0 and sums["sugars_g"] is None
    assert partial == set(nutrition.NUTRIENT_NAMES)
    shown = meal.frame(items, TABLE)
    total = shown.iloc[-1]
    assert total["음식 Dish"] == meal.TOTAL and total["에너지 Energy (kcal)"] == "≥ 450.0"
    assert total["당류 Sugars (g)"] == "-"
    assert "≥ 450.0 kcal" in meal.summary(items, TABLE) and "real total is higher" in meal.summary(items, TABLE)


def test_the_frame_has_one_row_per_dish_and_the_total():
    items = meal.add(meal.add([], TABLE, "pho"), TABLE, "bibimbap", grams=225)
    shown = meal.frame(items, TABLE)
    assert list(shown["음식 Dish"]) == ["쌀국수 · Pho", "비빔밥 · Bibimbap", meal.TOTAL]
    assert list(shown["양 Portion"])[:2] == ["600 g · 1 인분 serving(s)", "225 g · 0.5 인분 serving(s)"]
    assert shown.iloc[-1]["에너지 Energy (kcal)"] == "638.8"  # 320.32 + 637 / 2
    assert meal.frame([], TABLE).empty
    assert "No dishes" in meal.summary([], TABLE)
    assert "**합계: 음식 2개, 638.8 kcal Total: 2 dish(es), 638.8 kcal.**" == meal.summary(items, TABLE)


def test_csv_has_a_row_per_dish_and_a_total_that_adds_up():
    items = meal.add(meal.add(meal.add([], TABLE, "pho"), TABLE, "sushi", grams=150), TABLE, "takoyaki")
    rows = list(csv.DictReader(io.StringIO(meal.csv_text(items, TABLE))))
    assert [row["class_id"] for row in rows] == ["pho", "sushi", "takoyaki", ""]
    assert rows[0]["dish_ko"] == "쌀국수" and rows[0]["grams"] == "600.00" and rows[0]["source"].startswith("MFDS D")
    assert rows[2]["energy_kcal"] == "" and rows[2]["source"] == "none"
    assert rows[-1]["dish_en"] == "Total"
    assert float(rows[-1]["energy_kcal"]) == pytest.approx(
        float(rows[0]["energy_kcal"]) + float(rows[1]["energy_kcal"])
    )


def test_the_download_link_carries_the_csv_itself():
    text = meal.csv_text(meal.add([], TABLE, "ramen"), TABLE)
    url = meal.data_url(text)
    assert url.startswith("data:text/csv;charset=utf-8;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).decode("utf-8-sig") == text


def test_what_a_browser_sends_back_is_checked_before_use():
    good = {"class_id": "pho", "grams": 200, "servings": None}
    sent = [
        good,
        {"class_id": "not_a_dish", "grams": None, "servings": 1},
        {"class_id": "ramen", "grams": -5, "servings": None},
        {"class_id": "ramen", "grams": 100, "servings": 2},  # both portions: ambiguous
        "ramen",
        {"grams": 100},
        {"class_id": "sushi", "grams": "lots"},
    ]
    assert meal.clean(sent, TABLE) == [{"class_id": "pho", "grams": 200.0, "servings": None}]
    assert meal.clean("not a list", TABLE) == [] and meal.clean(None, TABLE) == []
    assert len(meal.clean([good] * 100, TABLE)) == meal.MAX_DISHES
