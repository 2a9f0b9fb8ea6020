"""The nutrition table and the facts shown for a number of servings."""

from foodcls import nutrition

TABLE = nutrition.load_table()


def test_servings_scale_per_serving_values_but_not_per_100g():
    single, double = nutrition.facts(TABLE["bibimbap"], 1), nutrition.facts(TABLE["bibimbap"], 2)
    assert single.iloc[1, 1] == "637.0 kcal" and double.iloc[1, 1] == "1,274.0 kcal"
    assert single.iloc[0, 1] == "450 g" and double.iloc[0, 1] == "900 g"
    assert single.iloc[1, 2] == double.iloc[1, 2] == f"{637 / 4.5:,.1f} kcal"


def test_a_zero_that_means_not_analysed_is_not_shown_as_zero():
    ramen = nutrition.facts(TABLE["ramen"], 1).set_index("영양소 Nutrient")
    assert ramen.loc["콜레스테롤 Cholesterol"].iloc[0] == "n/a (not analysed)"


def test_nutrition_table_covers_every_training_class_and_common_korean_dishes():
    for dish in ("bibimbap", "chicken_wings", "dumplings", "fried_rice", "gyoza", "miso_soup", "peking_duck", "pho"):
        assert dish in TABLE
    assert TABLE["김치찌개"]["food_code"] == "D000385" and TABLE["sushi"]["name_ko"] == "생선초밥(모듬)"
