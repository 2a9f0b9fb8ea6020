"""What the page needs of the foods a person can log: names, household units, facts for an amount
of a unit, search. One place for it, so that the page and the log speak of a food by its id and a
portion as (amount, unit) whatever table the food comes from.

Today the foods are the dishes of data/nutrition.csv (the model's classes and the mapped Korean
dishes), each with two units: one serving of its source ("serving") and grams ("g").
"""

from dataclasses import dataclass

from foodcls import nutrition, texts

GRAMS = "g"
SERVING = "serving"
MAX_GRAMS = nutrition.MAX_GRAMS


@dataclass(frozen=True)
class Unit:
    unit: str  # "serving", "g", ...
    name_ko: str
    name_en: str
    grams: float | None  # None: a serving of a dish without nutrition data

    def name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


class Foods:
    def __init__(self, table: nutrition.NutritionTable):
        self.table = table

    def __contains__(self, food_id) -> bool:
        return isinstance(food_id, str) and food_id in self.table

    def name(self, food_id: str, lang: str) -> str:
        """The food's name in the person's language (the other one when it has none)."""
        dish = self.table.dish(food_id)
        return (dish.name_ko if lang == "ko" else dish.name_en) or dish.name_ko or dish.name_en or food_id

    def label(self, food_id: str) -> str:
        """The dish name line: '쌀국수 · Pho'."""
        dish = self.table.dish(food_id)
        return " · ".join(name for name in (dish.name_ko, dish.name_en) if name) or food_id

    def units(self, food_id: str) -> list[Unit]:
        """The food's units, its source's serving first; grams always."""
        serving_g = self.table.row(food_id)["serving_g"]
        serving = Unit(SERVING, "1인분", "1 serving", serving_g)
        return [serving, Unit(GRAMS, "g", "g", 1.0)] if serving_g else [serving]

    def grams(self, food_id: str, amount, unit: str) -> float | None:
        """The grams of `amount` of `unit`; ValueError (ko+en) for an amount out of range or an unknown unit."""
        try:
            amount = float(amount)
        except (TypeError, ValueError):
            raise ValueError(texts.both("bad_amount")) from None
        if not amount > 0:  # also NaN
            raise ValueError(texts.both("bad_amount"))
        chosen = next((u for u in self.units(food_id) if u.unit == unit), None)
        if chosen is None:
            raise ValueError(texts.both("bad_amount"))
        grams = None if chosen.grams is None else amount * chosen.grams
        if grams is not None and grams > MAX_GRAMS:
            raise ValueError(texts.both("too_much", limit=MAX_GRAMS))
        return grams

    def facts(self, food_id: str, amount=1.0, unit: str = SERVING) -> nutrition.Facts:
        """The food's facts for `amount` of `unit`: KeyError for an unknown food, ValueError (ko+en)
        for a bad portion."""
        grams = self.grams(food_id, amount, unit)
        if unit == SERVING:
            return self.table.facts(food_id, servings=float(amount))
        return self.table.facts(food_id, grams=grams)

    def search(self, query: str, first: tuple[str, ...] = (), limit: int = 8) -> list[str]:
        """The ids of the foods whose names match `query`, the ids in `first` ahead of the others."""
        found = [dish.class_id for dish in self.table.search(query)]
        order = {food_id: n for n, food_id in enumerate(first)}
        return sorted(found, key=lambda food_id: order.get(food_id, len(order)))[:limit]
