"""The guard in front of the whole app (foodcls.guard): body limits per route family, upload part
counts, uploads pinned for queued requests, security headers; then against `python app.py` itself,
with the app's memory read from /proc (raw sockets and httpx to 127.0.0.1 only)."""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import dish_photo
from test_api import _raw_post
from test_load import rss_mb

from foodcls import guard, service, uploads
from foodcls.launch import ROOT, serve_app

MB = 2**20


async def _drive(path, headers, chunks, app=None, method="POST"):
    """Run the Guard over an app that reads the whole body; (status, chunks the client gave, headers sent)."""
    given, sent = [], []

    async def reader(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    async def receive():
        given.append(1)
        chunk = chunks[len(given) - 1] if len(given) <= len(chunks) else b""
        return {"type": "http.request", "body": chunk, "more_body": len(given) < len(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    await guard.Guard(app or reader, on_space=False)(scope, receive, send)
    return sent[0]["status"], len(given), dict(sent[0]["headers"])


def drive(*args, **kwargs):
    return asyncio.run(_drive(*args, **kwargs))


def test_a_body_over_its_routes_limit_is_refused_before_it_is_read_whole():
    json_chunks = [b"x" * 64 * 1024] * 32  # 2 MB against the 1 MB of a JSON route
    assert drive("/gradio_api/queue/join", [(b"content-length", b"%d" % (2 * MB))], json_chunks)[:2] == (413, 0)
    assert drive("/gradio_api/call/classify", [], json_chunks)[:2] == (413, 17)  # chunked: the first chunk over
    assert drive("/gradio_api/run/predict", [(b"content-length", b"-1")], json_chunks)[:2] == (413, 0)
    assert drive("/api/v1/nutrition/x", [], json_chunks)[0] == 413
    photo_chunks = [b"x" * 64 * 1024] * 32  # 2 MB: a photo route takes it
    assert drive("/gradio_api/upload", [(b"content-length", b"%d" % (2 * MB))], photo_chunks)[:2] == (200, 32)
    assert drive("/api/v1/classify", [], [b"x" * MB] * 12)[:2] == (413, 11)  # past 10 MB and the framing


def multipart(parts: int, boundary: bytes = b"XyZ", size: int = 100) -> bytes:
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="files"; filename="%d.jpg"\r\n\r\n%s\r\n'
        % (boundary, i, b"y" * size)
        for i in range(parts)
    )
    return body + b"--%s--\r\n" % boundary


def test_an_upload_of_more_files_than_allowed_is_refused_as_it_streams():
    kind = [(b"content-type", b"multipart/form-data; boundary=XyZ")]
    allowed = multipart(guard.MAX_UPLOAD_PARTS)
    assert drive("/gradio_api/upload", kind, [allowed])[0] == 200
    many = multipart(60, size=1000)
    chunks = [many[i : i + 7] for i in range(0, len(many), 7)]  # delimiters straddle the chunks
    status, given, _ = drive("/gradio_api/upload", kind, chunks)
    assert status == 413 and given < len(chunks) / 5  # refused at the ninth of 60 files, not at the end


def test_every_answer_carries_the_security_headers_and_on_a_space_huggingface_may_frame_it():
    headers = drive("/", [], [b""], method="GET")[2]
    assert headers[b"content-security-policy"] == b"frame-ancestors 'none'"
    assert headers[b"x-content-type-options"] == b"nosniff" and headers[b"x-frame-options"] == b"DENY"
    on_space = dict(guard.security_headers(on_space=True))
    assert on_space[b"content-security-policy"] == b"frame-ancestors https://huggingface.co"
    assert b"x-frame-options" not in on_space  # DENY would blank the Space's own page


@pytest.fixture
def upload_dir(tmp_path, monkeypatch):
    folder = tmp_path / "gradio"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def an_upload(folder: Path, name: str) -> Path:
    photo = folder / ("a" * 64) / name
    photo.parent.mkdir(exist_ok=True)
    dish_photo("ramen").save(photo)
    return photo


def test_a_queued_requests_photo_outlives_the_sweep_until_the_request_opens_it(upload_dir):
    photo = an_upload(upload_dir, "queued.png")
    forgotten = an_upload(upload_dir, "forgotten.png")
    body = json.dumps({"data": [{"path": str(photo), "meta": {"_type": "gradio.FileData"}}, "shallownet"]})
    assert drive("/gradio_api/queue/join", [], [body.encode()])[0] == 200  # the app got the body replayed
    uploads.sweep(max_age=0)  # every upload is past its age
    assert photo.exists() and not forgotten.exists()  # past MAX_AGE_S: kept only while its request waits
    assert service.read_upload(str(photo)).size == dish_photo("ramen").size
    uploads.sweep(max_age=0)  # every upload is past its age
    assert not photo.exists()


def test_a_pin_lapses_after_max_pin_s(upload_dir, monkeypatch):
    photo = an_upload(upload_dir, "stuck.png")
    monkeypatch.setattr(uploads, "MAX_PIN_S", 0.1)
    assert uploads.pin(str(photo)) and not uploads.pin("/etc/passwd")  # only uploads are pinned
    time.sleep(0.2)
    uploads.sweep(max_age=0)  # every upload is past its age
    assert not photo.exists()


def test_gradio_analytics_are_off_when_the_app_starts():
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_ANALYTICS_ENABLED"}
    code = "import app, gradio; print(gradio.Blocks().analytics_enabled)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr[-2000:]


# --- against `python app.py` ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not (ROOT / "weights" / "shallownet" / "config.json").is_file():
        pytest.skip("no bundled weights in weights/")
    temp = tmp_path_factory.mktemp("guarded-tmp")
    with serve_app({"TMPDIR": str(temp)}) as (url, process):
        yield url, process, temp


def write_png(path: Path) -> Path:
    dish_photo("ramen").save(path)
    return path


def peak_growth_mb(pid: int, send) -> float:
    """The app's peak RSS growth (MB) while `send()` runs, the peak reset first (clear_refs)."""
    before = rss_mb(pid)
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    send()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 - before
    raise RuntimeError("no VmHWM")


@pytest.mark.parametrize("route", ["gradio_api/queue/join", "gradio_api/call/classify", "gradio_api/run/predict"])
def test_a_60_mb_json_body_to_gradios_routes_is_refused_and_costs_the_app_little(served, route):
    url, process, _ = served
    item = b'{"class_id":"ramen","grams":1},'
    chunks = [b'{"fn_index":16,"session_hash":"abc","data":[['] + [item * 2048] * (60 * MB // (2048 * len(item)))
    sized = b"POST /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    chunked = (
        b"POST /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    results = []

    def send():
        results.append(_raw_post(url, sized % (route.encode(), 60 * MB), chunks))
        framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks]
        results.append(_raw_post(url, chunked % route.encode(), framed))

    growth = peak_growth_mb(process.pid, send)
    assert all(status.startswith(b"HTTP/1.1 413") for status, _ in results), results
    assert results[0][1] < 20 * MB and results[1][1] < 30 * MB  # answered while the client still sent
    assert growth <= 100, f"+{growth:.0f} MB"


def test_an_upload_request_of_30_one_mb_files_is_refused_and_leaves_no_file(served):
    url, process, temp = served
    files = [("files", (f"{i}.jpg", os.urandom(MB), "image/jpeg")) for i in range(30)]
    answer = httpx.post(f"{url}gradio_api/upload", files=files, timeout=60)
    assert answer.status_code == 413
    few = httpx.post(f"{url}gradio_api/upload", files=files[:1], timeout=60)
    assert few.status_code == 200 and len(few.json()) == 1
    written = [p for p in (temp / "gradio").rglob("*") if p.is_file()] if (temp / "gradio").exists() else []
    assert sum(p.stat().st_size for p in written) <= 11 * MB  # the one accepted file, and at most one refused


def test_the_page_and_both_apis_answer_with_the_security_headers(served):
    url, _, _ = served
    for path in ["", "gradio_api/info", "api/v1/docs", "api/v1/nutrition/nope", "no/such/page"]:
        headers = httpx.get(f"{url}{path}", timeout=30).headers
        assert headers["content-security-policy"] == "frame-ancestors 'none'", path
        assert headers["x-content-type-options"] == "nosniff", path


def test_malformed_gradio_input_gets_a_message_and_logs_no_traceback_or_what_was_sent(served):
    url, process, _ = served
    secret = "SECRET-7f3a<script>"
    for api_name, data in [("classify", [secret, "shallownet", 0.5, 1, False]), ("nutrition", [secret])]:
        event = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=30).json()["event_id"]
        stream = httpx.get(f"{url}gradio_api/call/{api_name}/{event}", timeout=30).text
        assert "event: error" in stream and "The request's values are not what this page sends" in stream
        assert secret not in stream
    port = url.rstrip("/").rsplit(":", 1)[1]
    log = (Path(os.environ.get("TMPDIR", "/tmp")) / f"foodcls-app-{port}.log").read_text()
    assert "Traceback" not in log and "SECRET-7f3a" not in log


def test_4_api_and_4_page_requests_of_the_worst_photos_at_once_stay_bounded_and_answered(served, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image
    from test_load import gradio_user, json_user, loaded

    url, process, _ = served
    assert loaded(json_user(url), write_png(tmp_path / "warm.png"), "efficientnet_lite0")[0] == "ok"
    worst = {  # the costliest photo the budget still decodes, and the tiny 48 MP AVIF it refuses
        "webp": (Image.new("RGB", (3400, 2300), (90, 60, 30)), {"lossless": True}),
        "avif": (Image.new("RGB", (8000, 6000)), {"quality": 10, "speed": 10}),
    }
    outcomes = []
    for suffix, (image, options) in worst.items():
        photo = tmp_path / f"worst.{suffix}"
        image.save(photo, **options)
        users = [json_user(url) for _ in range(4)] + [gradio_user(url) for _ in range(4)]

        def send(users=users, photo=photo, suffix=suffix):
            started = time.monotonic()
            with ThreadPoolExecutor(len(users)) as pool:
                futures = [pool.submit(user, photo, "efficientnet_lite0", {}) for user in users]
                outcomes.extend((suffix, *future.result(timeout=60), time.monotonic() - started) for future in futures)

        growth = peak_growth_mb(process.pid, send)
        print(f"\n4 + 4 of the {suffix}: peak app growth +{growth:.0f} MB")
        assert growth <= 600, f"+{growth:.0f} MB for the {suffix}"
    for suffix, outcome, message, seconds in outcomes:
        assert seconds < 60
        if suffix == "webp":
            assert outcome == "ok", message
        else:
            assert outcome == "error" and "MP" in message, message  # refused with its limit, API and page alike


def test_a_refusal_too_large_for_its_route_is_in_the_clients_language():
    async def never_called(scope, receive, send):
        raise AssertionError("the app must not see a refused body")

    for header, expected in [(b"ko-KR", "요청이 너무 큽니다"), (b"en-US", "The request is too large")]:
        sent = []

        async def send(message, sent=sent):
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/x",
            "headers": [(b"content-length", b"9999999"), (b"accept-language", header)],
        }
        asyncio.run(guard.Guard(never_called, on_space=False)(scope, None, send))
        assert sent[0]["status"] == 413 and expected in sent[1]["body"].decode()
