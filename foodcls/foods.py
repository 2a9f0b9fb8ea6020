"""What the page and the log need of a food: names, household units, facts for an amount of a unit,
search, look-alikes. One place for it, so that the page and the log speak of a food by its catalogue
id and of a portion as (amount, unit), over foodcls.catalogue.

A food's units are its own (catalogue.Catalogue.units: 1인분, "1 cup", 1공기, ...) and grams ("g")
for every food.
"""

from foodcls import catalogue, nutrition, texts
from foodcls.catalogue import Unit

GRAMS = "g"
SERVING = catalogue.SERVING
GRAM_UNIT = Unit(GRAMS, "g", "g", 1.0, "")


def unit_name(unit: Unit, lang: str) -> str:
    return (unit.name_ko or unit.name_en) if lang == "ko" else (unit.name_en or unit.name_ko)


def count(amount) -> float:
    """An amount of a household unit as a number; ValueError (ko+en) unless 0 < amount <= MAX_AMOUNT."""
    try:
        number = float(amount)
    except (TypeError, ValueError):
        raise ValueError(texts.both("bad_amount")) from None
    if not 0 < number <= catalogue.MAX_AMOUNT:  # also NaN
        raise ValueError(texts.both("too_many", limit=catalogue.MAX_AMOUNT))
    return number


class Foods:
    def __init__(self, foods: catalogue.Catalogue):
        self.catalogue = foods

    def __contains__(self, food_id) -> bool:
        return food_id in self.catalogue

    def name(self, food_id: str, lang: str) -> str:
        """The food's name in the person's language (the other one when it has none)."""
        row = self.catalogue.row(food_id)
        first, second = (row["name_ko"], row["name_en"]) if lang == "ko" else (row["name_en"], row["name_ko"])
        return first or second or food_id

    def label(self, food_id: str) -> str:
        """The dish name line: '쌀국수 · Pho'."""
        return self.catalogue.food(food_id).label or food_id

    def units(self, food_id: str) -> list[Unit]:
        """The food's own units, its source's serving first, then grams."""
        return [*self.catalogue.units(food_id), GRAM_UNIT]

    def default_portion(self, food_id: str) -> tuple[float, str]:
        """(amount, unit) a newly chosen food starts with: one of its first unit, or 100 g."""
        units = self.units(food_id)
        return (1.0, units[0].unit) if units and units[0].unit != GRAMS else (100.0, GRAMS)

    def grams(self, food_id: str, amount, unit: str) -> float | None:
        """The grams of `amount` of `unit`; ValueError (ko+en) for an amount out of range or an unknown unit."""
        if unit != GRAMS:
            number = count(amount)
            if unit not in [u.unit for u in self.units(food_id)]:
                raise ValueError(texts.both("bad_amount"))
            return self.catalogue.grams_of(food_id, number, unit)
        try:
            grams = float(amount)
        except (TypeError, ValueError):
            raise ValueError(texts.both("bad_amount")) from None
        if not grams > 0:  # also NaN
            raise ValueError(texts.both("bad_amount"))
        if grams > nutrition.MAX_GRAMS:
            raise ValueError(texts.both("too_much", limit=nutrition.MAX_GRAMS))
        return grams

    def facts(self, food_id: str, amount=1.0, unit: str = SERVING) -> nutrition.Facts:
        """The food's facts for `amount` of `unit`: KeyError for an unknown food, ValueError (ko+en)
        for a bad portion."""
        if unit == GRAMS:
            return self.catalogue.facts(food_id, grams=self.grams(food_id, amount, unit))[0]
        return self.catalogue.facts(food_id, amount=amount, unit=unit)[0]

    def search(self, query: str, first: tuple[str, ...] = (), limit: int = 8) -> list[str]:
        """The ids of the foods whose names match `query`, best first, the ids in `first` ahead."""
        return [food.id for food in self.catalogue.search(query, limit, first=first)]

    def lookalikes(self, class_ids, limit: int = 3) -> list[str]:
        """The Korean dishes real photos of these classes are taken for (data/lookalikes.csv)."""
        return [alike.food.id for alike in self.catalogue.lookalikes(class_ids)][:limit]
