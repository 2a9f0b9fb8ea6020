"""The running app (`python app.py`) under concurrent users, and its cold start."""

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from PIL import Image

from foodcls import runs, service
from foodcls.bench.timing import p, timed
from foodcls.launch import serve_app

# A request not answered within this long fails the run (httpx raises), not a slow success.
REQUEST_DEADLINE_S = 60
# What every served request asks for after its photo.
REQUEST_SETTINGS = service.api_inputs(model_id=runs.DEPLOYED_RUN, threshold=0.5, servings=1.0, heat_map=False)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def distinct_photos(photo: Path, count: int, folder: Path) -> list[Path]:
    """`count` different JPEGs of one photo (each cropped a pixel further in), so that no request of a
    load test repeats another's input."""
    image = Image.open(photo).convert("RGB")
    paths = []
    for i in range(count):
        path = folder / f"photo-{i}.jpg"
        image.crop((i % 40, i // 40 % 40, image.width - 1, image.height - 1)).save(path, quality=90)
        paths.append(path)
    return paths


def gradio_client_user(url: str, photos: list[Path], resources: ExitStack):
    """One user of the Python gradio_client: a classify request per call, each with the next photo."""
    from gradio_client import Client, handle_file

    client, photos = Client(url, verbose=False), itertools.cycle(photos)
    resources.callback(client.close)
    return lambda: client.predict(handle_file(str(next(photos))), *REQUEST_SETTINGS, api_name="/classify")


def http_user(url: str, photos: list[Path], resources: ExitStack):
    """One user of Gradio's REST API, as curl uses it: upload, call, read the result. Like a browser
    tab or a gradio_client, a user keeps one session (without one, every call pays Gradio for a new one)."""
    import httpx

    client = resources.enter_context(httpx.Client(timeout=REQUEST_DEADLINE_S))
    contents, session = itertools.cycle([(photo.name, photo.read_bytes()) for photo in photos]), uuid.uuid4().hex

    def request():
        name, content = next(contents)
        upload = client.post(f"{url}gradio_api/upload", files={"files": (name, content, "image/jpeg")})
        path = upload.raise_for_status().json()[0]
        body = {
            "data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, *REQUEST_SETTINGS],
            "session_hash": session,
        }
        event = client.post(f"{url}gradio_api/call/classify", json=body).raise_for_status().json()["event_id"]
        answer = client.get(f"{url}gradio_api/call/classify/{event}").raise_for_status().text
        if "event: complete" not in answer:
            raise RuntimeError(f"classify failed: {answer[-300:]}")

    return request


def json_user(url: str, photos: list[Path], resources: ExitStack):
    """One user of the plain JSON API (foodcls.api): one multipart POST, one JSON answer, no session."""
    import httpx

    client = resources.enter_context(httpx.Client(timeout=REQUEST_DEADLINE_S))
    contents = itertools.cycle([(photo.name, photo.read_bytes()) for photo in photos])
    model, threshold, servings, _ = REQUEST_SETTINGS
    fields = {"model": model, "threshold": threshold, "servings": servings}

    def request():
        name, content = next(contents)
        answer = client.post(f"{url}api/v1/classify", files={"photo": (name, content, "image/jpeg")}, data=fields)
        if answer.raise_for_status().json()["model_id"] != model:
            raise RuntimeError(f"classify failed: {answer.text[:300]}")

    return request


CLIENTS = (("gradio_client", gradio_client_user), ("http", http_user), ("json", json_user))
# The no-op twin (foodcls.bench.twins) each client is also measured against: the framework's own ceiling.
TWINS = {"http": "gradio", "json": "fastapi"}


def load(url: str, process, make_user, users: int, photos: list[Path], resources: ExitStack) -> dict:
    """`users` concurrent clients sending one request per photo (the first is the warm-up, which loads
    the model before the clock starts): requests/s, p95 and the server's CPU per request."""
    make_user(url, photos[:1], resources)()
    requests = len(photos) - 1
    clients = [make_user(url, photos[1 + i :: users], resources) for i in range(users)]
    cpu_before, started = process_cpu_seconds(process.pid), time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        times = [t for share in pool.map(lambda c: timed(c, requests // users, warmup=0), clients) for t in share]
    wall, cpu_after = time.perf_counter() - started, process_cpu_seconds(process.pid)
    return {
        "users": users,
        "requests": len(times),
        "requests_per_s": round(len(times) / wall, 1),
        "p95_ms": round(p(times, 95), 1),
        "app_cpu_ms_per_request": None
        if cpu_before is None
        else round((cpu_after - cpu_before) / len(times) * 1000, 1),
    }


def bench_served(users: int, requests: int, photo: Path, clients=CLIENTS, rounds: int = 1) -> list[dict]:
    """Requests per second, p95 and the app's CPU per request, with concurrent users against
    `python app.py`, once per kind of client: gradio_client, Gradio's REST API as curl uses it
    (http), and the plain JSON API (json); the last two also against their no-op twins
    (`twin_requests_per_s`, `vs_twin`). The clients share this machine's cores with the server, so a
    client that costs much CPU (gradio_client does) lowers what the server is measured to serve.

    With several `rounds`, the app and the twins take turns (app, twins, app, twins, ...), so that a
    drift of the shared machine falls on both; each number is the median of the rounds, `vs_twin` the
    median of each round's ratio, and `rounds` keeps every round's (app, twin) requests/s."""
    measured = {name: [] for name, _ in clients}
    with tempfile.TemporaryDirectory() as folder:
        photos = distinct_photos(photo, requests + 1, Path(folder))
        for _ in range(rounds):
            with serve_app() as (url, process), ExitStack() as resources:
                for name, make_user in clients:
                    measured[name].append(load(url, process, make_user, users, photos, resources))
            for name, make_user in clients:
                if name in TWINS:
                    twin = [sys.executable, "-m", "foodcls.bench.twins", TWINS[name]]
                    with serve_app(command=twin) as (url, process), ExitStack() as resources:
                        twin_rate = load(url, process, make_user, users, photos, resources)["requests_per_s"]
                    measured[name][-1]["twin_requests_per_s"] = twin_rate
    return [median_row(name, measured[name]) for name, _ in clients]


def median_row(client: str, rounds: list[dict]) -> dict:
    """One client's rounds as one row: the median of each number, and each round's requests/s."""
    row = {"client": client, "users": rounds[0]["users"], "requests": rounds[0]["requests"]}
    for key in ("requests_per_s", "p95_ms", "app_cpu_ms_per_request"):
        values = [r[key] for r in rounds if r[key] is not None]
        row[key] = round(statistics.median(values), 1) if values else None
    if "twin_requests_per_s" in rounds[0]:
        row["twin_requests_per_s"] = round(statistics.median(r["twin_requests_per_s"] for r in rounds), 1)
        row["vs_twin"] = round(statistics.median(r["requests_per_s"] / r["twin_requests_per_s"] for r in rounds), 3)
        row["rounds"] = [[r["requests_per_s"], r["twin_requests_per_s"]] for r in rounds]
    return row


def bench_cold_start(photo: Path) -> dict:
    """Seconds from launching `python app.py` to the first classify answer, against bare imports."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, gradio"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    with serve_app() as (url, _), ExitStack() as resources:
        gradio_client_user(url, [photo], resources)()
        first_answer = time.perf_counter() - started
    return {
        "bare_import_s": round(bare, 2),
        "first_classify_s": round(first_answer, 2),
        "ratio": round(first_answer / bare, 2),
    }
