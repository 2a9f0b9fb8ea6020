"""Concurrent users against `python app.py`, through the JSON API and through gradio_client.

16 then 32 users (one thread each), a few requests each, every photo a different one, a few bad
requests mixed in: every good request is answered within its deadline, every bad one gets its
message, and the app's memory stays bounded over two rounds of 32 users. Bounded in count (320
requests per kind of client) and in time (DEADLINE_S a request); traffic goes to 127.0.0.1 only.
"""

import statistics
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from helpers import colour_photo

from foodcls.launch import ROOT, serve_app
from foodcls.models import MODEL_SPECS
from foodcls.service import api_inputs

ROUNDS = [(16, 4), (32, 4), (32, 4)]  # (users, requests per user): a warm-up round, then two the same
DEADLINE_S = 60  # one request, queueing included; a request that never answers fails here
MODELS = ["efficientnet_lite0", "shallownet"]
NAMES = {model: MODEL_SPECS[model].name for model in MODELS}
BAD_EVERY = 7  # every 7th request is a bad one
# The first rounds grow the app once (worker threads, their buffers, sessions); the last round, as
# many users and requests as the one before, may add little: 64 MB is what 128 leaked 512 px photos add.
RSS_GROWTH_LIMIT_MB = 64
RSS_TOTAL_LIMIT_MB = 600  # all three rounds over the warm app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (ROOT / "weights" / "efficientnet_lite0" / "config.json").is_file(), reason="no bundled weights in weights/"
    ),
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def app():
    with serve_app() as (url, process):
        yield url, process


def make_jobs(folder: Path, tag: str, count: int) -> list[tuple]:
    """(photo, model, extra settings, the message a bad request must get, or None), all photos distinct."""
    folder.mkdir(parents=True, exist_ok=True)
    empty, text = folder / "empty.jpg", folder / "text.png"
    empty.write_bytes(b"")
    text.write_text("not a photo")
    bad = [(empty, {}, "empty (0 bytes)"), (text, {}, "not a readable image"), (None, {"threshold": 2}, "from 0 to 1")]
    jobs = []
    for i in range(count):
        model = MODELS[i % len(MODELS)]
        if i % BAD_EVERY == BAD_EVERY - 1:
            path, settings, message = bad[(i // BAD_EVERY) % len(bad)]
        else:
            path, settings, message = None, {}, None
        if path is None:
            colour = ((i * 37) % 256, (i * 91 + 60) % 256, (i * 53 + 120) % 256)
            path = folder / f"{tag}-{i}.jpg"
            colour_photo(colour, seed=zlib.crc32(f"{tag}-{i}".encode()), size=96 + (i % 5) * 64).save(path, quality=90)
        jobs.append((path, model, settings, message))
    return jobs


def json_user(url: str):
    client = httpx.Client(timeout=httpx.Timeout(DEADLINE_S))

    def request(path: Path, model: str, settings: dict):
        data = {"model": model, "threshold": 0.5, **settings}
        answer = client.post(f"{url}api/v1/classify", files={"photo": (path.name, path.read_bytes())}, data=data)
        body = answer.json()
        if answer.status_code == 200 and len(body["top"]) == 3 and body["model_id"] == model:  # its own answer
            return "ok", None
        return "error", f"{answer.status_code} {body.get('error')}"

    return request


def gradio_user(url: str):
    client = Client(url, verbose=False)

    def request(path: Path, model: str, settings: dict):
        inputs = api_inputs(model_id=model, **{"threshold": 0.5, **settings})
        job = client.submit(handle_file(str(path)), *inputs, api_name="/classify")
        try:
            labels, _, verdict, _, about = job.result(timeout=DEADLINE_S)
        except TimeoutError:
            job.cancel()
            return "timeout", None
        except Exception as error:  # AppError: the app's message
            return "error", str(error)
        answered = len(labels["confidences"]) == 3 and f"Model {NAMES[model]} " in about  # its own model's answer
        return ("ok", None) if answered else ("error", f"{labels!r} {verdict!r} {about!r}")

    return request


def loaded(request, photo: Path, model: str, tries: int = 30) -> tuple:
    """A first request for a model, asked again while the model is loading (it says "try again")."""
    for _ in range(tries):
        outcome, message = request(photo, model, {})
        if outcome == "ok" or "try again" not in (message or ""):
            return outcome, message
        time.sleep(1)
    return outcome, message


def run_round(users: list, jobs: list[tuple]) -> list[tuple]:
    """Each user (its own thread) sends its share of the jobs one after another; one row per request:
    (outcome, seconds, the expected message or None, the message got)."""

    def user(request, share):
        rows = []
        for path, model, settings, expected in share:
            started = time.perf_counter()
            try:
                outcome, message = request(path, model, settings)
            except httpx.TimeoutException:
                outcome, message = "timeout", None
            except Exception as error:
                outcome, message = "failed", repr(error)
            seconds = time.perf_counter() - started
            if seconds > DEADLINE_S:
                outcome = "timeout"
            rows.append((outcome, seconds, expected, message))
        return rows

    with ThreadPoolExecutor(len(users)) as pool:
        shares = [jobs[i :: len(users)] for i in range(len(users))]
        futures = [pool.submit(user, request, share) for request, share in zip(users, shares)]
        # every user's whole share within its requests' deadlines, or the round fails
        return [row for future in futures for row in future.result(timeout=DEADLINE_S * len(shares[0]) + 30)]


@pytest.mark.parametrize("kind", ["json", "gradio_client"])
def test_16_and_32_users_every_request_answered_memory_bounded(kind, app, tmp_path):
    url, process = app
    make_user = json_user if kind == "json" else gradio_user
    warm = make_user(url)
    for model in MODELS:  # every model loaded before memory is measured
        assert loaded(warm, make_jobs(tmp_path / "warm", model, 1)[0][0], model) == ("ok", None)
    users = [make_user(url) for _ in range(max(n for n, _ in ROUNDS))]  # the same users in every round
    rss = [rss_mb(process.pid)]
    results, started = [], time.perf_counter()
    for number, (count, each) in enumerate(ROUNDS):
        results += run_round(users[:count], make_jobs(tmp_path / f"round{number}", f"{kind}{number}", count * each))
        rss.append(rss_mb(process.pid))
    wall = time.perf_counter() - started

    good = [r for r in results if r[2] is None]
    bad = [r for r in results if r[2] is not None]
    quantiles = statistics.quantiles(sorted(r[1] for r in good), n=100)
    print(
        f"\n{kind}: {len(results)} requests ({len(bad)} bad) in {wall:.1f} s, {len(results) / wall:.1f} req/s; "
        f"good p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, max {max(r[1] for r in good):.1f} s; "
        f"RSS MB warm {rss[0]:.0f}, after each round {', '.join(f'{m:.0f}' for m in rss[1:])}"
    )
    assert len(results) == sum(n * each for n, each in ROUNDS)
    assert [r for r in good if r[0] != "ok"] == []  # 0 lost, 0 late
    assert all(r[0] == "error" and r[2] in r[3] for r in bad), [r for r in bad if not (r[3] and r[2] in r[3])][:3]
    assert rss[3] - rss[2] < RSS_GROWTH_LIMIT_MB, rss
    assert rss[3] - rss[0] < RSS_TOTAL_LIMIT_MB, rss


def p95(rows: list[tuple]) -> float:
    return statistics.quantiles(sorted(r[1] for r in rows), n=100)[94]


def test_a_trickling_hub_for_one_model_costs_the_default_models_users_nothing(tmp_path):
    """16 JSON-API users of the deployed model, first alone, then while 4 API and 4 page clients keep
    asking for a model whose Hub download trickles: none lost, p95 within its usual range."""
    from fakehub import FakeHub

    with FakeHub("foodcls/test", "v1", ROOT / "weights") as fake:
        fake.trickle_runs = {"resnet18"}
        env = {
            "FOODCLS_HUB_REPO": fake.repo_id,
            "FOODCLS_HUB_REVISION": fake.revision,
            "HF_ENDPOINT": fake.url,
            "HF_HOME": str(tmp_path / "hf-home"),
        }
        with serve_app(env) as (url, _):
            users = [json_user(url) for _ in range(16)]
            default = "efficientnet_lite0_food101"

            def jobs(tag):
                return [(path, default, {}, None) for path, *_ in make_jobs(tmp_path / tag, tag, 64) if _[2] is None]

            asking, stop, refusals = threading.Event(), threading.Event(), []

            def ask_for_the_trickling_model(request, path):
                while not stop.is_set():
                    if asking.wait(0.2):
                        refusals.append(request(path, "resnet18", {})[1])
                        time.sleep(0.5)

            photo = make_jobs(tmp_path / "slow", "slow", 1)[0][0]
            slow_users = [json_user(url) for _ in range(4)] + [gradio_user(url) for _ in range(4)]
            alone, beside = [], []
            with ThreadPoolExecutor(len(slow_users)) as pool:
                clients = [pool.submit(ask_for_the_trickling_model, user, photo) for user in slow_users]
                for number in range(4):  # alone, beside, alone, beside: the machine's noise falls on both
                    if number % 2:
                        asking.set()
                        time.sleep(2)  # the trickling download runs and its requests are being told to retry
                    (beside if number % 2 else alone).extend(run_round(users, jobs(f"round{number}")))
                    asking.clear()
                stop.set()
                for future in clients:
                    future.result(timeout=DEADLINE_S)
    print(
        f"\ndefault model p95 alone {p95(alone) * 1000:.0f} ms, beside the trickle {p95(beside) * 1000:.0f} ms; "
        f"{len(refusals)} requests for the trickling model refused"
    )
    assert [r for r in alone + beside if r[0] != "ok"] == []  # 0 lost, 0 late
    assert p95(beside) <= 2 * p95(alone) + 0.5, (p95(alone), p95(beside))
    assert refusals and all(message and ("503" in message or "try again" in message) for message in refusals)
