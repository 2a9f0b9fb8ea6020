"""The plain JSON API (foodcls.api): in-process with FastAPI's TestClient on the tiny weights, and
the 413 and the wiring against `python app.py` itself (raw sockets to 127.0.0.1)."""

import io
import select
import socket
import time

import pytest
from fastapi.testclient import TestClient
from helpers import dish_photo
from test_decode_bounds import write_flat_png

from foodcls import api, guard, hub, nutrition, service, uploads
from foodcls.launch import ROOT, serve_app
from foodcls.store import RunStore

TABLE = nutrition.NutritionTable.load()


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    with TestClient(
        guard.Guard(api.create_api(store, TABLE), photo_routes=("/classify",)), raise_server_exceptions=False
    ) as test_client:
        yield test_client


def post(client, photo=None, filename="meal.png", headers=None, **fields):
    files = None if photo is None else {"photo": (filename, photo, "image/png")}
    data = {"model": "shallownet", "threshold": "0", **{k: str(v) for k, v in fields.items()}}
    return client.post("/classify", files=files, data={k: v for k, v in data.items() if v != "None"}, headers=headers)


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def own_uploads() -> list:
    return [p for p in uploads.own_upload_dir().rglob("*") if p.is_file()]


def test_a_photo_gets_its_dish_names_nutrition_and_timings_in_one_answer(client):
    answer = post(client, png_bytes(dish_photo("ramen")), servings=2)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_id"] == "shallownet" and body["model_name"] == "ShallowNet"
    assert body["weights_source"] == "bundled weights/"
    assert body["named"] is True and len(body["top"]) == 3
    best = body["top"][0]
    assert (best["class_id"], best["name_ko"], best["name_en"]) == ("ramen", "라멘", "Ramen")
    assert 0.34 < best["probability"] <= 1 and best["probability"] >= body["top"][1]["probability"]
    facts = body["nutrition"]
    assert facts["has_data"] is True and facts["servings"] == 2.0 and facts["grams"] == 1100.0
    assert facts["per_portion"]["energy_kcal"] == pytest.approx(900.0)  # 450 kcal a 550 g serving, twice
    assert facts["source"] == "MFDS" and facts["food_code"] == "D018163" and facts["match"] == "closest"
    assert "식품의약품안전처" in facts["source_line"] and facts["per_100g"]["energy_kcal"] > 0
    timings = body["timings_ms"]
    assert timings["total"] >= timings["inference"] > 0 and timings["decode"] > 0


def test_grams_a_threshold_above_the_best_and_a_dish_without_data(client):
    by_grams = post(client, png_bytes(dish_photo("sushi")), grams=250).json()
    assert by_grams["nutrition"]["grams"] == 250.0
    unsure = post(client, png_bytes(dish_photo("sushi")), threshold=1).json()
    assert unsure["named"] is False and unsure["nutrition"] is None and unsure["threshold"] == 1.0
    assert len(unsure["top"]) == 3  # the guesses stay, marked as not named
    takoyaki = client.get("/nutrition/takoyaki").json()
    assert takoyaki["has_data"] is False and takoyaki["match"] == "none"
    assert set(takoyaki["per_portion"].values()) == {None} and takoyaki["units"]["energy_kcal"] == "kcal"


def test_without_a_threshold_the_runs_own_is_used_else_the_apps(client):
    assert post(client, png_bytes(dish_photo("ramen")), threshold=None).json()["threshold"] == 0.6
    assert service.run_threshold({"threshold": 0.35}) == 0.35 and service.run_threshold({}) == 0.6


BAD_REQUESTS = {
    "no photo": ({}, 422, "No photo"),
    "empty file": ({"photo": b""}, 422, "empty (0 bytes)"),
    "not an image": ({"photo": b"this is not a photo"}, 422, "not a readable image"),
    "a path as text": ({"data": {"photo": "/etc/passwd"}}, 422, "Invalid request field(s): photo"),
    "unknown model ../x": ({"model": "../x"}, 404, "Unknown model: choose one of"),
    "threshold 2": ({"threshold": 2}, 422, "threshold must be a number from 0 to 1"),
    "threshold text": ({"threshold": "high"}, 422, "Invalid request field(s): threshold"),
    "threshold nan": ({"threshold": "nan"}, 422, "threshold must be a number from 0 to 1"),
    "grams -5": ({"grams": -5}, 422, "must be a number above 0"),
    "servings 1e9": ({"servings": "1e9"}, 422, "at most 20 servings"),
    "grams and servings": ({"grams": 100, "servings": 1}, 422, "not both"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_every_bad_request_gets_a_4xx_with_its_message_in_the_language_asked(client, case):
    fields, status, message = BAD_REQUESTS[case]
    fields = dict(fields)
    photo = fields.pop("photo", None if case in ("no photo", "a path as text") else png_bytes(dish_photo("ramen")))
    answers = {}
    for lang in ["en-US,en;q=0.9", "ko-KR,ko;q=0.9,en;q=0.8", None]:
        headers = {"Accept-Language": lang} if lang else None
        if "data" in fields:
            answers[lang] = client.post("/classify", data=fields["data"], headers=headers)
        else:
            answers[lang] = post(client, photo, headers=headers, **fields)
    english, korean, unasked = answers.values()
    for answer in answers.values():
        assert answer.status_code == status, answer.text
        assert set(answer.json()) == {"error", "kind"}
        assert "Traceback" not in answer.text and "/etc/passwd" not in answer.text
        assert str(ROOT) not in answer.text and "../x" not in answer.text  # no paths, no echo of the odd id
    assert message in english.json()["error"] and not has_hangul(english.json()["error"])
    assert unasked.json() == english.json()  # English unless Korean is asked for
    in_korean = korean.json()["error"]
    assert has_hangul(in_korean) and message not in in_korean
    assert not any(word in in_korean for word in ("the ", "must ", "photo ", "Invalid"))  # no English sentence


def test_a_100000x8_png_is_refused_before_it_is_decoded(client, tmp_path):
    strip = write_flat_png(tmp_path / "strip.png", 100_000, 8).read_bytes()
    started = time.perf_counter()
    answer = post(client, strip)
    assert answer.status_code == 422 and "100000x8" in answer.json()["error"]
    assert answer.json()["kind"] == "bad_photo"
    assert time.perf_counter() - started < 5  # decoding it took 4.9-7.1 s and 1.8 GB before the checks


def test_a_long_model_id_is_refused_unread_and_not_echoed(client):
    for length in (65, 5000):
        answer = post(client, png_bytes(dish_photo("ramen")), model="x" * length)
        assert answer.status_code == 422 and "x" * 20 not in answer.text  # over 64 characters: refused unread
        assert "model" in answer.json()["error"]


def test_the_upload_is_deleted_once_answered_good_or_bad(client):
    before = own_uploads()
    assert post(client, png_bytes(dish_photo("ramen"))).status_code == 200
    assert post(client, b"not a photo").status_code == 422
    assert post(client, png_bytes(dish_photo("ramen")), threshold=2).status_code == 422
    assert own_uploads() == before == []


def test_dishes_and_nutrition_lookups(client):
    dishes = client.get("/dishes", params={"model": "shallownet"}).json()
    assert dishes["model_id"] == "shallownet"
    assert {"class_id": "ramen", "name_ko": "라멘", "name_en": "Ramen"} in dishes["dishes"]
    assert client.get("/dishes", params={"model": "../x"}).status_code == 404
    facts = client.get("/nutrition/ramen", params={"grams": 100}).json()
    assert facts["grams"] == 100.0 and facts["per_portion"]["energy_kcal"] == pytest.approx(450 / 5.5)
    assert client.get("/nutrition/김치찌개").json()["name_en"]  # an AI-Hub Korean class id
    for query, status in [({"servings": "1e9"}, 422), ({"grams": "-5"}, 422), ({"grams": "a lot"}, 422)]:
        answer = client.get("/nutrition/ramen", params=query)
        assert answer.status_code == status and "error" in answer.json()
    unknown = client.get("/nutrition/" + "z" * 300)
    assert unknown.status_code == 404 and "z" * 20 not in unknown.text


def test_the_openapi_schema_lists_the_endpoints_and_their_fields(client):
    schema = client.get("/openapi.json").json()
    assert {"/classify", "/dishes", "/nutrition/{dish_id}"} <= set(schema["paths"])
    form = schema["paths"]["/classify"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    fields = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"photo", "model", "threshold", "grams", "servings"} <= set(fields)
    assert {"200", "404", "413", "422"} <= set(schema["paths"]["/classify"]["post"]["responses"])
    assert client.get("/docs").status_code == 200


def test_concurrent_requests_each_get_their_own_answer(client):
    # No session to share (docs/upstream/gradio-shared-session-call.md): red is bibimbap, blue sushi.
    from concurrent.futures import ThreadPoolExecutor

    dishes = ["bibimbap", "sushi"] * 8

    def ask(i):
        return post(client, png_bytes(dish_photo(dishes[i], seed=100 + i))).json()["top"][0]["class_id"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(ask, range(len(dishes)))) == dishes


def test_the_app_does_not_start_gradios_cache_sweeper(tiny_weights):
    # Gradio's delete_cache sweeper dies mid-upload (docs/upstream/gradio-delete-cache-race.md): the
    # page must not ask for it, and app.py starts ours instead.
    from foodcls import ui

    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    assert ui.build_app(store, TABLE).delete_cache is None
    assert "uploads.start_sweeper()" in (ROOT / "app.py").read_text()


# --- through `python app.py` ------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not (ROOT / "weights" / "shallownet" / "config.json").is_file():
        pytest.skip("no bundled weights in weights/")
    temp = tmp_path_factory.mktemp("served-tmp")  # the app's temp folder: its upload folders are in it
    with serve_app({"TMPDIR": str(temp)}) as (url, process):
        yield url, temp


def _raw_post(url: str, head: bytes, body_chunks, timeout: float = 20) -> tuple[bytes, int]:
    """Send a request by hand, looking for the answer before each chunk; (the status line, bytes of
    body sent before the answer came)."""
    host, port = url.split("//")[1].strip("/").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer (or the close) came
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        try:
            answer = sock.recv(4096)
        except OSError as error:
            answer = f"no answer: {error!r}".encode()
    return answer.split(b"\r\n", 1)[0], sent


def test_app_py_serves_the_json_api_next_to_the_page(served, tmp_path):
    import httpx

    url, temp = served
    photo = png_bytes(dish_photo("ramen"))
    answer = httpx.post(
        f"{url}api/v1/classify",
        files={"photo": ("m.png", photo, "image/png")},
        data={"model": "shallownet"},
        timeout=60,
    )
    assert answer.status_code == 200 and answer.json()["model_id"] == "shallownet" and len(answer.json()["top"]) == 3
    assert httpx.get(url, timeout=30).status_code == 200  # the page
    assert httpx.get(f"{url}api/v1/docs", timeout=30).status_code == 200
    assert httpx.get(f"{url}api/v1/openapi.json", timeout=30).json()["servers"] == [{"url": "/api/v1"}]
    bad = httpx.post(f"{url}api/v1/classify", files={"photo": ("m.png", b"", "image/png")}, timeout=60)
    assert bad.status_code == 422 and "empty" in bad.json()["error"]
    own = list(temp.glob("foodcls-uploads-*"))
    assert len(own) == 1 and [p for p in own[0].rglob("*") if p.is_file()] == []  # both uploads deleted


def test_a_50_mb_body_gets_413_before_it_is_read(served):
    url, _ = served
    request = (
        b"POST /api/v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n" % (50 * 2**20)
    )
    status, sent = _raw_post(url, request, [b"x" * 65536] * 800)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < 20 * 2**20  # answered while the client was still sending (socket buffers hold some)

    chunked = b"POST /api/v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    part = b'--b\r\nContent-Disposition: form-data; name="photo"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n'
    chunks = [b"%x\r\n%s\r\n" % (len(part), part)] + [b"10000\r\n" + b"y" * 65536 + b"\r\n"] * 800
    status, sent = _raw_post(url, chunked, chunks)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < 30 * 2**20  # refused after ~10 MB counted, not after 50
