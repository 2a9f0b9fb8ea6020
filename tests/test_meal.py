"""A food log by day and meal slot: adding, removing, clearing and undoing, totals, CSV, and what a
browser may send back (including the first version's meal)."""

import base64
import csv
import io

import pytest

from foodcls import catalogue, foods, meal, nutrition

TABLE = nutrition.NutritionTable.load()
FOODS = foods.Foods(catalogue.Catalogue.load())
LUNCH = {"date": "2026-12-05", "time": "12:30", "slot": "lunch"}


def logged(*items) -> dict:
    log = meal.empty()
    for food, amount, unit in items:
        log = meal.add(log, FOODS, food, amount=amount, unit=unit, **LUNCH)
    return log


def test_adding_keeps_the_portion_and_leaves_the_old_log_alone():
    empty = meal.empty()
    one = meal.add(empty, FOODS, "ramen", **LUNCH)
    assert empty["entries"] == [] and len(one["entries"]) == 1
    entry = one["entries"][0]
    assert {k: entry[k] for k in ("food", "amount", "unit", "date", "time", "slot")} == {
        "food": "ramen", "amount": 1.0, "unit": "serving", **LUNCH
    }  # fmt: skip


def test_a_bad_portion_food_date_or_slot_is_refused():
    with pytest.raises(ValueError, match="at most 5,000 g"):
        meal.add(meal.empty(), FOODS, "ramen", amount=6000, unit="g", **LUNCH)
    with pytest.raises(ValueError, match="above 0"):
        meal.add(meal.empty(), FOODS, "ramen", amount=0, **LUNCH)
    with pytest.raises(KeyError):
        meal.add(meal.empty(), FOODS, "not_a_dish", **LUNCH)
    with pytest.raises(ValueError, match="slot"):
        meal.add(meal.empty(), FOODS, "ramen", **{**LUNCH, "slot": "brunch"})
    with pytest.raises(ValueError, match="date"):
        meal.add(meal.empty(), FOODS, "ramen", **{**LUNCH, "date": "yesterday"})


def test_the_time_of_day_suggests_the_meal_slot():
    assert [meal.slot_at(t) for t in ("07:10", "12:30", "19:00", "23:40", "")] == [
        "breakfast", "lunch", "dinner", "snack", "lunch"
    ]  # fmt: skip


def test_totals_add_each_dish_for_its_portion_and_mark_missing_values():
    log = logged(("pho", 1, "serving"), ("sushi", 150, "g"), ("takoyaki", 100, "g"))
    sums, partial = meal.totals(meal.facts(log["entries"], FOODS))
    pho, sushi = TABLE.row("pho"), TABLE.row("sushi")
    assert sums["energy_kcal"] == pytest.approx(pho["energy_kcal"] + sushi["energy_kcal"] * 150 / sushi["serving_g"])
    assert "energy_kcal" in partial  # takoyaki has no data
    assert "≥" in meal.summary(log, log["entries"], FOODS, "en") and "real total is higher" in meal.summary(
        log, log["entries"], FOODS, "en"
    )


def test_clearing_a_day_can_be_undone_and_other_days_stay():
    log = logged(("pho", 1, "serving"))
    log = meal.add(log, FOODS, "ramen", date="2026-12-04", time="19:00", slot="dinner")
    cleared, removed = meal.clear_day(log, "2026-12-05")
    assert [e["date"] for e in cleared["entries"]] == ["2026-12-04"] and len(removed) == 1
    assert meal.restore(cleared, removed)["entries"] == sorted(log["entries"], key=lambda e: e["date"])
    assert meal.days(log, "2026-12-06") == ["2026-12-06", "2026-12-05", "2026-12-04"]
    assert meal.remove(log, log["entries"][0]["id"])["entries"] == log["entries"][1:]


def test_the_day_as_cards_or_a_table_in_one_language():
    log = logged(("pho", 2, "serving"))
    shown = meal.day_html(log["entries"], FOODS, "ko")
    assert "점심" in shown and "쌀국수" in shown and "2 × 1인분 (1,200 g)" in shown and "Pho" not in shown
    assert 'data-label="열량 (kcal)">641 kcal' in shown  # whole kcal; each cell labelled for the phone's cards


def test_csv_has_date_slot_unit_source_and_every_nutrient_and_opens_with_korean_intact():
    log = logged(("pho", 1, "serving"), ("sushi", 150, "g"))
    text = meal.csv_text(log["entries"], FOODS, "ko")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(nutrition.NUTRIENT_NAMES) <= set(rows[0]) and rows[0]["slot"] == "점심"
    assert rows[0]["dish_ko"] == "쌀국수" and rows[0]["unit"] == "1인분" and rows[0]["source"] == "MFDS"
    assert rows[1]["unit"] == "g" and rows[1]["amount"] == "150" and rows[1]["date"] == "2026-12-05"
    assert float(rows[-1]["energy_kcal"]) == pytest.approx(
        float(rows[0]["energy_kcal"]) + float(rows[1]["energy_kcal"])
    )
    raw = base64.b64decode(meal.data_url(text).split(",", 1)[1])
    assert raw.startswith(b"\xef\xbb\xbf") and raw.decode("utf-8-sig") == text  # a BOM: spreadsheets read UTF-8


def test_what_a_browser_sends_back_is_checked_and_the_first_version_migrated():
    good = logged(("pho", 200, "g"))["entries"][0]
    sent = {
        "goal": "lots",
        "entries": [good, {**good, "food": "not_a_dish"}, {**good, "amount": -5}, {**good, "time": "noon"}, "ramen"],
    }
    kept = meal.clean(sent, FOODS, "2026-12-06")
    assert kept["entries"] == [good] and kept["goal"] is None
    version1 = [
        {"class_id": "pho", "grams": 300, "servings": None},
        {"class_id": "sushi", "grams": None, "servings": 2},
    ]
    migrated = meal.clean(version1, FOODS, "2026-12-06", "08:15")["entries"]
    assert [(e["food"], e["amount"], e["unit"], e["date"], e["slot"]) for e in migrated] == [
        ("pho", 300.0, "g", "2026-12-06", "breakfast"),
        ("sushi", 2.0, "serving", "2026-12-06", "breakfast"),
    ]
    assert meal.clean("not a log", FOODS, "2026-12-06") == meal.empty()
    assert meal.set_goal(meal.empty(), 1800)["goal"] == 1800.0 and meal.set_goal(meal.empty(), -1)["goal"] is None


SOUP = {"name": "  Grandma's\nsoup ", "energy_kcal": 250, "protein_g": 12.5, "sodium_mg": 900}


def with_own(amount=2.0, own=SOUP) -> dict:
    log = logged(("pho", 1, "serving"))
    return meal.add(log, FOODS, meal.OWN, amount=amount, unit=meal.OWN_UNIT, own=own, **LUNCH)


def test_an_own_food_logs_and_totals_its_values_times_the_portions():
    log = with_own()
    own = log["entries"][-1]["own"]
    assert own == {"name": "Grandma's soup", "energy_kcal": 250.0, "carbohydrate_g": None, "protein_g": 12.5,
                   "fat_g": None, "sodium_mg": 900.0}  # fmt: skip
    sums, partial = meal.totals(meal.facts(log["entries"], FOODS))
    pho = TABLE.row("pho")
    assert sums["energy_kcal"] == pytest.approx(pho["energy_kcal"] + 500)
    assert sums["protein_g"] == pytest.approx(pho["protein_g"] + 25)
    assert "energy_kcal" not in partial and "fat_g" in partial  # fat not given: the sum is a lower bound
    assert meal.OWN not in FOODS  # never taken for a catalogue food


def test_an_own_food_is_marked_as_the_persons_values_in_the_day_the_picker_and_the_csv():
    log = with_own()
    shown = meal.day_html(log["entries"], FOODS, "en")
    assert "Grandma&#x27;s soup (your own values)" in shown and "2 × 1 portion" in shown and ">500 kcal<" in shown
    assert "쌀국수 (직접 입력한 값)" not in meal.day_html(log["entries"], FOODS, "ko")  # the cited dish is not marked
    own = log["entries"][-1]
    assert (
        meal.label(own, meal.facts([own], FOODS)[0], FOODS, "ko")
        == "12:30 점심 · Grandma's soup (직접 입력한 값) · 2 × 1회분"
    )
    rows = list(csv.DictReader(io.StringIO(meal.csv_text(log["entries"], FOODS, "ko"))))
    assert rows[0]["source"] == "MFDS" and rows[1]["source"] == "직접 입력한 값"
    assert rows[1]["dish_en"] == "Grandma's soup" and rows[1]["food_code"] == "" and rows[1]["grams"] == ""
    assert rows[1]["energy_kcal"] == "500.00" and rows[1]["fat_g"] == "" and rows[1]["unit"] == "1회분"
    en = list(csv.DictReader(io.StringIO(meal.csv_text(log["entries"], FOODS, "en"))))
    assert en[1]["source"] == "your own values"


@pytest.mark.parametrize(
    "own, amount, message",
    [
        ({**SOUP, "name": "   "}, 1, "a name of 1 to 60 characters"),
        ({**SOUP, "name": "x" * 61}, 1, "a name of 1 to 60 characters"),
        ({**SOUP, "name": "bell\x07"}, 1, "a name of 1 to 60 characters"),
        ({"name": "soup"}, 1, "Energy must be a number from 0 to 5,000 kcal"),
        ({**SOUP, "energy_kcal": float("nan")}, 1, "Energy must be"),
        ({**SOUP, "energy_kcal": 5001}, 1, "Energy must be"),
        ({**SOUP, "protein_g": -1}, 1, "Protein must be a number from 0 to 1,000 g"),
        ({**SOUP, "sodium_mg": "salty"}, 1, "Sodium must be a number from 0 to 50,000 mg"),
        (SOUP, 0, "above 0"),
        (SOUP, 101, "at most 100"),
    ],
)
def test_a_bad_own_food_is_refused_saying_what_is_wrong(own, amount, message):
    with pytest.raises(ValueError, match=message):
        with_own(amount, own)


def test_malformed_own_food_entries_from_a_browser_are_dropped_and_the_rest_kept():
    good_own, good_pho = with_own()["entries"][::-1]
    broken = [
        {**good_own, "own": None},
        {**good_own, "own": "soup"},
        {**good_own, "own": {**good_own["own"], "name": 42}},
        {**good_own, "own": {**good_own["own"], "energy_kcal": "Infinity"}},
        {**good_own, "own": {**good_own["own"], "fat_g": True}},
        {**good_own, "unit": "g"},
        {**good_own, "amount": 1e9},
    ]
    sent = {"version": meal.VERSION, "entries": [*broken, good_own, {**good_pho, "own": good_own["own"]}]}
    kept = meal.clean(sent, FOODS, "2026-12-06")["entries"]
    assert kept == [good_own, good_pho]  # the cited dish keeps no stray own values
    assert meal.summary({"goal": None}, kept, FOODS, "en").startswith(
        f"**Total {TABLE.row('pho')['energy_kcal'] + 500:,.0f} kcal"
    )


def test_a_log_of_the_version_before_own_foods_still_loads():
    version2 = {"version": 2, "goal": 1800, "entries": logged(("pho", 1, "serving"))["entries"]}
    assert meal.clean(version2, FOODS, "2026-12-06") == {**version2, "version": meal.VERSION, "goal": 1800.0}
