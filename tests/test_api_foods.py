"""The food catalogue through the JSON API (/api/v1/foods), in-process with FastAPI's TestClient."""

import pytest
from fastapi.testclient import TestClient

from foodcls import api, guard, hub, nutrition
from foodcls.catalogue import Catalogue
from foodcls.launch import ROOT
from foodcls.store import RunStore

FOODS = Catalogue.load()


@pytest.fixture(scope="module")
def client():
    store = RunStore(hub.WeightsSource(None, "unused", bundled=ROOT / "weights"))  # no model is loaded here
    app = guard.Guard(api.create_api(store, nutrition.NutritionTable.load(), FOODS), photo_routes=("/classify",))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def search(client, q, **params) -> list[dict]:
    answer = client.get("/foods", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["foods"]


def test_tteokbokki_answers_an_mfds_row_first_with_its_units(client):
    food = search(client, "떡볶이")[0]
    assert (food["name_ko"], food["source"], food["food_code"]) == ("떡볶이", "MFDS", "D018256")
    assert food["units"] == [{"unit": "serving", "name_ko": "1인분", "name_en": "1 serving", "grams": 180.0}]
    assert set(food) == {"id", "name_ko", "name_en", "source", "food_code", "units"}


@pytest.mark.parametrize(
    "query, name_ko",
    [
        ("kimchi stew", "김치찌개"),
        ("ㄸㅂㅇ", "떡볶이"),
        ("갈비탕", "갈비탕"),
        ("떡복이", "떡볶이"),
        ("김치 찌개", "김치찌개"),
    ],
)
def test_the_korean_dish_comes_first(client, query, name_ko):
    assert search(client, query)[0]["name_ko"] == name_ko


def test_bagel_answers_a_usda_fndds_food_in_household_units(client):
    food = search(client, "bagel")[0]
    assert food["source"] == "USDA FNDDS" and food["id"] == f"fndds:{food['food_code']}"
    assert {"Quantity not specified", "1 miniature"} <= {u["name_en"] for u in food["units"]}


def test_the_models_guesses_and_their_lookalikes_rank_first(client):
    assert search(client, "찌개", guess=["ramen", "sushi"])[0]["id"] == "김치찌개"  # ramen's first look-alike
    assert [f["id"] for f in search(client, "", guess=["sushi"], limit=2)] == ["sushi", "김밥"]


def test_no_match_is_an_empty_list(client):
    assert search(client, "zzqxv") == []


def test_facts_for_an_amount_of_a_unit_match_the_nutrition_shape(client):
    facts = client.get("/foods/fndds:56205008", params={"amount": 2, "unit": "gonggi"}).json()
    assert facts["grams"] == 420 and facts["portion"]["name_ko"] == "1공기" and facts["portion"]["amount"] == 2
    assert facts["per_portion"]["energy_kcal"] == pytest.approx(facts["per_100g"]["energy_kcal"] * 4.2)
    shape = set(client.get("/nutrition/ramen").json())
    assert shape <= set(facts) and set(facts) - shape == {"id", "portion"}
    by_grams = client.get("/foods/mfds:D018256", params={"grams": 90}).json()
    assert by_grams["per_portion"]["energy_kcal"] == pytest.approx(130.0) and by_grams["portion"]["unit"] is None
    assert client.get("/foods/김치찌개").json()["source_line"].startswith("출처 Source: 식품의약품안전처")


BAD = {
    "query over 100": ("/foods", {"q": "가" * 101}, 422, "Invalid request field(s): q"),
    "limit 51": ("/foods", {"q": "kimchi", "limit": 51}, 422, "limit"),
    "limit 0": ("/foods", {"q": "kimchi", "limit": 0}, 422, "limit"),
    "limit text": ("/foods", {"q": "kimchi", "limit": "many"}, 422, "limit"),
    "six guesses": ("/foods", {"q": "a", "guess": ["ramen"] * 6}, 422, "guess"),
    "unknown food": ("/foods/mfds:<script>alert(1)", {}, 404, "Unknown food id"),
    "unknown unit": ("/foods/mfds:D018256", {"unit": "<b>cup</b>"}, 422, "Unknown unit"),
    "amount 0": ("/foods/mfds:D018256", {"amount": 0}, 422, "above 0"),
    "amount text": ("/foods/mfds:D018256", {"amount": "lots"}, 422, "amount"),
    "grams and unit": ("/foods/mfds:D018256", {"grams": 10, "unit": "serving"}, 422, "not both"),
    "grams 1e9": ("/foods/mfds:D018256", {"grams": "1e9"}, 422, "at most 5000"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_bad_request_gets_a_json_4xx_that_does_not_repeat_it(client, case):
    path, params, status, message = BAD[case]
    english = client.get(path, params=params)
    korean = client.get(path, params=params, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    for answer in (english, korean):
        assert answer.status_code == status, answer.text
        assert set(answer.json()) == {"error", "kind"}
        for sent in ("<script>", "<b>", "가" * 50, "lots", "many"):
            assert sent not in answer.text
    assert message in english.json()["error"]
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in english.json()["error"])
    in_korean = korean.json()["error"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in in_korean)
    assert not any(word in in_korean for word in ("Invalid", "Unknown", "must", "the ", "at most"))


def test_the_openapi_schema_documents_the_food_calls(client):
    schema = client.get("/openapi.json").json()
    assert {"/foods", "/foods/{food_id}"} <= set(schema["paths"])
    listed = schema["paths"]["/foods"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("/FoodList")
    food = schema["components"]["schemas"]["Food"]["properties"]
    assert {"id", "name_ko", "name_en", "source", "food_code", "units"} == set(food)
    facts = schema["components"]["schemas"]["FoodFacts"]["properties"]
    assert {"per_portion", "per_100g", "source_line", "portion"} <= set(facts)
    assert {p["name"] for p in schema["paths"]["/foods/{food_id}"]["get"]["parameters"]} >= {"amount", "unit", "grams"}
