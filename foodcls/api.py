"""The plain JSON API, served by `python app.py` next to the Gradio page, under /api/v1.

    POST /api/v1/classify            multipart: photo (file), model, threshold, grams | servings
    GET  /api/v1/dishes?model=       a run's classes with their Korean and English names
    GET  /api/v1/nutrition/{dish_id}?grams= | servings=
    GET  /api/v1/foods?q=&limit=&guess=   the food catalogue (MFDS, USDA FNDDS, the model's dishes)
    GET  /api/v1/foods/{food_id}?amount=&unit= | grams=
    GET  /api/v1/docs                the OpenAPI page (schema at /api/v1/openapi.json)

One request, one JSON answer: no Gradio queue, no session, no event stream. The request layer is the
page's (service.read_upload, service.classify, uploads.forget). Every refusal is a 4xx whose body is
`{"error": ..., "kind": ...}` in the client's language (Korean when its Accept-Language puts Korean
before English, else English), never a traceback and never what the client sent. The
body limit (413 before the body is read) is guard.Guard's, in front of the whole app.

app.py hands `routes(store, table, foods)` to Gradio's FastAPI app (launch's `app_kwargs`), so the page,
Gradio's own API and this one share one server and one port, on a Hugging Face Space too.
"""

import logging
import tempfile
import threading
import time
from typing import Annotated

from fastapi import FastAPI, File, Form, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount

from foodcls import catalogue, guard, nutrition, runs, service, texts, uploads
from foodcls import store as store_module
from foodcls.store import ModelLoading, ModelUnavailable, RunStore, UnknownRun

PREFIX = "/api/v1"
MAX_PHOTO_BYTES = guard.MAX_PHOTO_BYTES
CONCURRENT_REQUESTS = 4  # classifications at once, as the Gradio queue's concurrency limit
log = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal: an HTTP status, a ko+en message and a kind a client can branch on."""

    def __init__(self, status: int, message: str, kind: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


def error_response(status: int, message: str, kind: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status, headers=headers)


# --- the answers, as the OpenAPI page shows them ------------------------------------------------


class DishScore(BaseModel):
    class_id: str = Field(examples=["ramen"])
    name_ko: str | None = Field(description="None: the dish has no row in the nutrition table", examples=["라멘"])
    name_en: str | None = Field(examples=["Ramen"])
    probability: float = Field(examples=[0.91])


class NutritionFacts(BaseModel):
    class_id: str
    name_ko: str
    name_en: str
    label: str = Field(examples=["라멘 · Ramen"])
    has_data: bool = Field(description="false: the sources have no fitting row for this dish (values empty)")
    grams: float | None = Field(description="the portion's weight")
    servings: float | None = Field(description="the portion in the source's servings")
    serving_g: float | None = Field(description="one source serving, in grams")
    per_portion: dict[str, float | None] = Field(
        description="energy_kcal, carbohydrate_g, protein_g, fat_g, sugars_g, sodium_mg, saturated_fat_g, "
        "cholesterol_mg for the portion; null where the source did not analyse it"
    )
    per_100g: dict[str, float | None]
    units: dict[str, str] = Field(description="each nutrient's unit: kcal, g or mg")
    source: str = Field(examples=["MFDS", "USDA FNDDS", "none"])
    food_code: str
    year: str
    source_name: str = Field(description="the cited source row's own name")
    match: str = Field(description="same, closest, partial or none", examples=["same"])
    basis: str = Field(description="what the source's values are per: serving or 100g")
    source_line: str = Field(description="what the values are, in Korean and English")
    note: str


class Timings(BaseModel):
    wait: float = Field(description="ms waiting for a free slot after decoding (at most 4 classifications at once)")
    decode: float = Field(description="ms reading and decoding the photo")
    inference: float = Field(description="ms in the model")
    total: float = Field(description="ms from the parsed request to the answer (the upload itself not counted)")


class ClassifyAnswer(BaseModel):
    model_id: str = Field(examples=["efficientnet_lite0"])
    model_name: str = Field(examples=["EfficientNet-Lite0"])
    weights_source: str = Field(description="the Hub repository and revision, or the bundled weights/")
    threshold: float = Field(description="the threshold used")
    named: bool = Field(
        description="the best dish's probability reached the threshold and the photo does not look like a dish "
        "the model does not know"
    )
    looks_unknown: bool = Field(
        description="the model's unknown-dish rule says the photo looks like a dish it does not know (rather than "
        "one it is unsure about among those it knows); never named then"
    )
    top: list[DishScore] = Field(description="the top 3 dishes, best first")
    nutrition: NutritionFacts | None = Field(
        description="the named dish's facts for the portion asked (default one serving); null when no dish is "
        "named or the dish has no row in the table"
    )
    timings_ms: Timings


class DishName(BaseModel):
    class_id: str
    name_ko: str | None
    name_en: str | None


class DishList(BaseModel):
    model_id: str
    dishes: list[DishName]


class FoodUnit(BaseModel):
    unit: str = Field(
        description="the unit's id, for /foods/{id}?unit=: serving, p1, gonggi, ...", examples=["serving"]
    )
    name_ko: str = Field(examples=["1인분"])
    name_en: str = Field(examples=["1 serving"])
    grams: float = Field(description="the unit's weight, from the source (or the cited reference)", examples=[180.0])


class Food(BaseModel):
    id: str = Field(description="mfds:<code>, fndds:<code>, or a model's class id", examples=["mfds:D018256"])
    name_ko: str = Field(description="empty where no Korean name is known", examples=["떡볶이"])
    name_en: str = Field(description="empty where no English name is known", examples=["Tteokbokki (spicy rice cakes)"])
    source: str = Field(examples=["MFDS", "USDA FNDDS"])
    food_code: str = Field(examples=["D018256"])
    units: list[FoodUnit] = Field(
        description="household units with their grams, the source's serving first or among them"
    )


class FoodList(BaseModel):
    foods: list[Food] = Field(description="best match first")


class Portion(BaseModel):
    amount: float | None = Field(description="how many of the unit; null for a portion given in grams")
    unit: str | None = Field(description="the unit's id; null for a portion given in grams")
    name_ko: str | None
    name_en: str | None
    grams: float | None


class FoodFacts(NutritionFacts):
    id: str = Field(description="the catalogue id (class_id repeats it)")
    portion: Portion


class ErrorAnswer(BaseModel):
    error: str = Field(description="what is wrong, in Korean or English as Accept-Language asks (default English)")
    kind: str = Field(
        description="bad_photo, bad_parameter, unknown_model, unknown_dish, unknown_food, model_loading, "
        "model_unavailable, too_large, not_found, server_error"
    )


ERRORS = {
    status: {"model": ErrorAnswer, "description": why}
    for status, why in {
        404: "unknown model, dish or food",
        413: "body over 10 MB",
        422: "not a usable photo, or a parameter out of range",
        503: "the model cannot be served now, or is loading (then Retry-After says when to ask again)",
    }.items()
}


def facts_json(facts: nutrition.Facts) -> NutritionFacts:
    """The facts as the page's /nutrition serves them (service.facts_json)."""
    return NutritionFacts(**service.facts_json(facts))


def save_upload(photo: UploadFile) -> str:
    """The upload copied into our own upload folder (uploads.own_upload_dir); its path."""
    with tempfile.NamedTemporaryFile(dir=uploads.own_upload_dir(), prefix="api-", delete=False) as file:
        try:
            photo.file.seek(0)
            copied = 0
            while chunk := photo.file.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_PHOTO_BYTES:
                    raise ApiError(413, guard.TOO_LARGE["ko"] + " " + guard.TOO_LARGE["en"], "too_large")
                file.write(chunk)
        except BaseException:
            file.close()
            uploads.forget(file.name)
            raise
        return file.name


def create_api(store: RunStore, table: nutrition.NutritionTable, foods: catalogue.Catalogue | None = None) -> FastAPI:
    """The API as its own FastAPI app (routes() mounts it under /api/v1); `foods` defaults to
    Catalogue.load()."""
    foods = foods if foods is not None else catalogue.Catalogue.load()
    api = FastAPI(
        title="foodcls API",
        version="1",
        description="Name the dish on a photo (top 3, Korean and English) with its reference nutrition facts. "
        'Photos are deleted once answered. Errors are JSON: `{"error": ..., "kind": ...}`, in Korean or English '
        "as the request's Accept-Language asks (default English).",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    slots = threading.BoundedSemaphore(CONCURRENT_REQUESTS)

    def in_their_language(request, message: str) -> str:
        return texts.in_language(message, texts.browser_language(request.headers.get("accept-language")))

    @api.exception_handler(ApiError)
    async def refused(request, error: ApiError):
        return error_response(error.status, in_their_language(request, error.message), error.kind, error.headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(request, error: RequestValidationError):
        # Names the fields and what they should be; never echoes what was sent.
        fields = sorted({".".join(str(part) for part in e["loc"][1:]) or str(e["loc"][0]) for e in error.errors()})
        message = (
            f"요청 값이 올바르지 않습니다: {', '.join(fields)}. Invalid request field(s): {', '.join(fields)} "
            "(photo: a file; threshold, grams, servings: numbers)."
        )
        return error_response(422, in_their_language(request, message), "bad_parameter")

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request, error: StarletteHTTPException):
        if error.status_code == 413:
            return error_response(413, str(error.detail), "too_large")
        if error.status_code == 404:
            message = "찾을 수 없습니다. Not found: see /api/v1/docs."
            return error_response(404, in_their_language(request, message), "not_found")
        message = f"요청을 처리할 수 없습니다. The request cannot be handled ({error.status_code})."
        return error_response(error.status_code, in_their_language(request, message), "bad_request")

    @api.exception_handler(Exception)
    async def crashed(request, error: Exception):
        log.exception("API request failed")
        message = "서버 오류입니다. The server failed on this request."
        return error_response(500, in_their_language(request, message), "server_error")

    def check_model(model: str | None) -> str:
        try:
            return store.check_run(model or runs.DEPLOYED_RUN)
        except UnknownRun as error:
            raise ApiError(404, str(error), "unknown_model") from None

    @api.post(
        "/classify",
        response_model=ClassifyAnswer,
        responses=ERRORS,
        summary="Name the dish on a photo, with its nutrition",
    )
    def classify(
        photo: Annotated[
            UploadFile | None, File(description="the meal photo (jpg, png, webp, ...; at most 10 MB)")
        ] = None,
        model: Annotated[str | None, Form(description=f"run id (default {runs.DEPLOYED_RUN})", max_length=64)] = None,
        threshold: Annotated[
            float | None, Form(description=f"0 to 1; default the run's own, else {service.DEFAULT_THRESHOLD}")
        ] = None,
        grams: Annotated[
            float | None, Form(description=f"portion in grams, above 0, at most {nutrition.MAX_GRAMS:g}")
        ] = None,
        servings: Annotated[
            float | None,
            Form(description=f"portion in servings, above 0, at most {nutrition.MAX_SERVINGS:g} (default 1)"),
        ] = None,
    ) -> ClassifyAnswer:
        started = time.perf_counter()
        run = check_model(model)
        try:  # the cheap checks before the photo is touched
            nutrition.check_portion(grams, servings)
            if threshold is not None:
                service.check_threshold(threshold)
        except ValueError as error:
            raise ApiError(422, str(error), "bad_parameter") from None
        if photo is None:
            raise ApiError(422, texts.both("no_photo"), "bad_photo")
        path = save_upload(photo)
        try:
            store.classifier(run, store_module.REQUEST_WAIT_S)  # loads outside the slots, waits briefly
            decoding = time.perf_counter()
            image = service.read_upload(path)  # in the decode slots the page shares
            decoded = time.perf_counter()
            with slots:
                waited = time.perf_counter()
                result = service.classify(
                    store=store,
                    table=table,
                    photo=image,
                    model_id=run,
                    threshold=threshold,
                    servings=servings,
                    grams=grams,
                )
        except service.PhotoError as error:
            raise ApiError(422, str(error), "bad_photo") from None
        except UnknownRun as error:
            raise ApiError(404, str(error), "unknown_model") from None
        except ModelLoading as error:
            raise ApiError(503, str(error), "model_loading", {"Retry-After": str(error.retry_after)}) from None
        except ModelUnavailable as error:
            raise ApiError(503, str(error), "model_unavailable") from None
        except ValueError as error:
            raise ApiError(422, str(error), "bad_parameter") from None
        finally:
            uploads.forget(path)
        return ClassifyAnswer(
            model_id=result.model_id,
            model_name=result.model_name,
            weights_source=result.weights_source,
            threshold=result.threshold,
            named=result.named,
            looks_unknown=result.looks_unknown,
            top=[DishScore(**vars(dish)) for dish in result.top],
            nutrition=facts_json(result.nutrition) if result.nutrition is not None else None,
            timings_ms=Timings(
                wait=round((waited - decoded) * 1000, 2),
                decode=round((decoded - decoding) * 1000, 2),
                inference=round(result.inference_ms, 2),
                total=round((time.perf_counter() - started) * 1000, 2),
            ),
        )

    @api.get("/dishes", response_model=DishList, responses=ERRORS, summary="The dishes a model knows")
    def dishes(
        model: Annotated[str | None, Query(description=f"run id (default {runs.DEPLOYED_RUN})")] = None,
    ) -> DishList:
        run = check_model(model)
        config = store.run_json(run, "config.json")
        if config is None:
            raise ApiError(
                503, f"모델을 불러올 수 없습니다. Model {run} is unavailable right now.", "model_unavailable"
            )
        names = []
        for class_id in config["classes"]:
            known = table.dish(class_id) if class_id in table else None
            names.append(DishName(class_id=class_id, name_ko=known and known.name_ko, name_en=known and known.name_en))
        return DishList(model_id=run, dishes=names)

    @api.get(
        "/nutrition/{dish_id}",
        response_model=NutritionFacts,
        responses=ERRORS,
        summary="A dish's nutrition facts for a portion",
    )
    def dish_nutrition(
        dish_id: str,
        grams: Annotated[float | None, Query(description=f"portion in grams, at most {nutrition.MAX_GRAMS:g}")] = None,
        servings: Annotated[
            float | None, Query(description=f"portion in servings, at most {nutrition.MAX_SERVINGS:g}")
        ] = None,
    ) -> NutritionFacts:
        if dish_id not in table:
            raise ApiError(404, "음식을 알 수 없습니다. Unknown dish: see /api/v1/dishes.", "unknown_dish")
        try:
            return NutritionFacts(**service.dish_facts(table=table, class_id=dish_id, grams=grams, servings=servings))
        except ValueError as error:
            raise ApiError(422, str(error), "bad_parameter") from None

    @api.get("/foods", response_model=FoodList, responses=ERRORS, summary="Search the food catalogue")
    def search_foods(
        q: Annotated[
            str,
            Query(
                description="Korean, English or initial consonants (ㄸㅂㅇ); spacing and small typos forgiven",
                max_length=catalogue.MAX_QUERY,
            ),
        ] = "",
        limit: Annotated[int, Query(description="how many foods", ge=1, le=catalogue.MAX_LIMIT)] = 10,
        guess: Annotated[
            list[str] | None,
            Query(description="the model's guesses (class ids), ranked first with their look-alikes", max_length=5),
        ] = None,
    ) -> FoodList:
        guesses = [g for g in guess or [] if len(g) <= 64]
        try:
            found = service.search_foods(foods=foods, query=q, limit=limit, guesses=guesses)
        except ValueError as error:
            raise ApiError(422, str(error), "bad_parameter") from None
        return FoodList(foods=[Food(**food) for food in found])

    @api.get(
        "/foods/{food_id}",
        response_model=FoodFacts,
        responses=ERRORS,
        summary="A catalogue food's nutrition facts for an amount of a household unit, or grams",
    )
    def food_facts(
        food_id: str,
        amount: Annotated[
            float | None,
            Query(description=f"how many of the unit, above 0, at most {catalogue.MAX_AMOUNT:g} (default 1)"),
        ] = None,
        unit: Annotated[
            str | None, Query(description="a unit id from the food's units (default serving)", max_length=32)
        ] = None,
        grams: Annotated[float | None, Query(description=f"portion in grams, at most {nutrition.MAX_GRAMS:g}")] = None,
    ) -> FoodFacts:
        try:
            return FoodFacts(**service.food_facts(foods=foods, food_id=food_id, amount=amount, unit=unit, grams=grams))
        except service.UnknownFood as error:
            raise ApiError(404, str(error), "unknown_food") from None
        except ValueError as error:
            raise ApiError(422, str(error), "bad_parameter") from None

    return api


def routes(store: RunStore, table: nutrition.NutritionTable, foods: catalogue.Catalogue | None = None) -> list:
    """The API mounted at /api/v1: for `launch(app_kwargs={"routes": ...})`, behind guard.Guard."""
    return [Mount(PREFIX, app=create_api(store, table, foods))]
