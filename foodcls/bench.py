"""Benchmark everything side by side on this machine: `python -m foodcls.bench [--quick]`.

Writes bench.json and bench.md (a Markdown table for the README) to --out. Ratios are measured in
one run on one machine; nothing here asserts a speed.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from foodcls import data, evaluate, models, nutrition, predict, runs
from foodcls.hub import WeightsSource
from foodcls.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
SERVED = (models.DEPLOYED_MODEL, *models.STUDY_MODELS)
# What every served request asks for after its photo: model, threshold, servings, Grad-CAM.
REQUEST_SETTINGS = (models.DEPLOYED_MODEL, 0.5, 1.0, False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(extra_env: dict | None = None, timeout: float = 120):
    """Start `python app.py` as users do, on a free port of 127.0.0.1 (bundled weights unless
    `extra_env` names a Hub repo); yield (url, process) once it answers, and stop it afterwards."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "FOODCLS_HUB_REPO": "", **(extra_env or {})}
    env.pop("GRADIO_SERVER_NAME", None)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"foodcls-app-{port}.log", "w+")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app exited with {process.returncode}:\n{log.read()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"app did not answer on {url} within {timeout} s") from None
                time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def timed(fn, repeats: int, warmup: int = 3) -> list[float]:
    """Seconds per call, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def p(times: list[float], q: int) -> float:
    """The q-th percentile in milliseconds."""
    return statistics.quantiles(times, n=100)[q - 1] * 1000 if len(times) > 1 else times[0] * 1000


def matmul_ceiling(dtype: torch.dtype, size: int, repeats: int) -> float:
    """GFLOP/s of a large square matrix product through torch: the machine's practical ceiling."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    best = min(timed(lambda: a @ b, repeats, warmup=2))
    return 2 * size**3 / best / 1e9


def count_macs(model: nn.Module, size: int) -> int:
    """Multiply-accumulates of one forward pass at batch 1 (convolutions and linear layers)."""
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * per_output
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        model(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return total


def naive_request(model: nn.Module, config: dict, path: Path, table: dict) -> list:
    """The baseline: plain eager float32, torchvision PIL transforms, autograd on, no channels-last."""
    from torchvision import transforms

    size = config["input_size"]
    transform = transforms.Compose(
        [
            transforms.Resize(size),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(config["mean"], config["std"]),
        ]
    )
    image = Image.open(path).convert("RGB")
    logits = model(transform(image).unsqueeze(0))
    if config["tta_flip"]:
        logits = (logits + model(transform(image).unsqueeze(0).flip(3))) / 2
    top = logits.softmax(1)[0].topk(3)
    best = config["classes"][top.indices[0]]
    return nutrition.facts(table[best], 1.0).values.tolist() if best in table else []


def held_out_top1(run_dir: Path, data_dir: Path, model: nn.Module, classifier) -> dict:
    """Top-1 on the run's held-out test split: `model` (the float32 model as trained), and the served path."""
    config = classifier.config
    test = set(data.read_manifest(run_dir / "split.json")["splits"]["test"])
    images = data.load_image_set(data_dir, config["input_size"], only=test, classes=config["classes"])
    logits = evaluate.predict_logits(
        model, images.images, config["mean"], config["std"], torch.device("cpu"), config["tta_flip"]
    )
    served = [classifier.probabilities_of_pixels(pixels.unsqueeze(0)).argmax().item() for pixels in images.images]
    return {
        "test_top1_float32": evaluate.score(logits, images.labels, config["classes"])["top1"],
        "test_top1_served": round((torch.tensor(served) == images.labels).float().mean().item(), 4),
    }


def bench_models(
    runs_dir: Path, photo: Path, repeats: int, quick: bool, data_dir: Path | None
) -> tuple[list[dict], dict]:
    """Per served model, with torch threads as the app sets them; ceilings on all cores and on those threads."""
    from foodcls import ui  # here, not at the top: `--training-only` runs where gradio is not installed

    size, repeats_ceiling = (1024, 3) if quick else (2048, 10)
    all_threads = torch.get_num_threads()
    ceilings = {}
    for threads in dict.fromkeys((all_threads, predict.SERVING_THREADS)):
        torch.set_num_threads(threads)
        ceilings[threads] = {
            "float32": round(matmul_ceiling(torch.float32, size, repeats_ceiling), 1),
            "bfloat16": round(matmul_ceiling(torch.bfloat16, size, repeats_ceiling), 1),
        }
    bf16_ceiling = ceilings[predict.SERVING_THREADS]["bfloat16"]
    torch.set_num_threads(predict.SERVING_THREADS)
    table = nutrition.load_table()
    store = RunStore(WeightsSource(None, "", bundled=runs_dir))  # the app's own request path, bundled weights
    rows = []
    for run in SERVED:
        if not (runs_dir / run / "config.json").is_file():
            continue
        classifier, _ = store.classifier(run)
        config = classifier.config
        size = config["input_size"]
        naive_model, _ = runs.load_run(runs_dir / run)
        macs = count_macs(naive_model, size)
        pixels = classifier.pixels(Image.open(photo))
        x, batch = classifier.inputs(pixels), classifier.request_inputs(pixels)  # batch: the request's own forward
        with torch.inference_mode():
            forward = timed(lambda m=classifier.inference_model, x=x: m(x), repeats)
            request_forward = timed(lambda m=classifier.inference_model, b=batch: m(b), repeats)
        # threshold 0, so every timed request also builds the nutrition rows
        request = timed(lambda r=run: ui.classify(store, table, ui.read_photo(photo), r, 0.0, 1.0, False), repeats)
        baseline = timed(lambda m=naive_model, c=config: naive_request(m, c, photo, table), repeats)
        gflops = 2 * macs / (p(forward, 50) / 1000) / 1e9
        row = {
            "model": config["name"],
            "parameters": models.count_parameters(naive_model),
            "input": size,
            "mmacs": round(macs / 1e6, 1),
            "dtype": str(classifier.dtype).removeprefix("torch."),
            "forward_p50_ms": round(p(forward, 50), 2),
            "forward_p95_ms": round(p(forward, 95), 2),
            "gflops": round(gflops, 1),
            "pct_bf16_ceiling": round(100 * gflops / bf16_ceiling, 1),
            "request_batch": len(batch),
            "request_forward_p50_ms": round(p(request_forward, 50), 2),
            "request_p50_ms": round(p(request, 50), 2),
            "request_p95_ms": round(p(request, 95), 2),
            "naive_p50_ms": round(p(baseline, 50), 2),
            "speedup_vs_naive": round(p(baseline, 50) / p(request, 50), 2),
        }
        if data_dir is not None and (runs_dir / run / "split.json").is_file():
            row.update(held_out_top1(runs_dir / run, data_dir, naive_model, classifier))
        rows.append(row)
    torch.set_num_threads(all_threads)
    return rows, {"threads": all_threads, "serving_threads": predict.SERVING_THREADS, "matmul_gflops": ceilings}


def training_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """One SGD step as train.py takes it: channels-last, bfloat16 autocast on a GPU."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cuda = x.device.type == "cuda"

    def step():
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if cuda:
            torch.cuda.synchronize()

    return step


def bench_training(steps: int) -> list[dict]:
    """Training images per second per model on this machine (random data at each model's input size)."""
    rows = []
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    # A GPU step is milliseconds: more of them, and warm-ups past cuDNN's first-call set-up.
    steps, warmup = (steps * 5, 5) if device.type == "cuda" else (steps, 1)
    for run in SERVED:
        spec = models.MODEL_SPECS[run]
        model = models.build_model(run, 10).to(device, memory_format=torch.channels_last)
        x = torch.randn(64, 3, spec.input_size, spec.input_size, device=device)
        y = torch.randint(0, 10, (64,), device=device)
        times = timed(training_step(model, x.contiguous(memory_format=torch.channels_last), y), steps, warmup)
        rows.append({"model": spec.name, "device": name, "train_images_per_s": round(64 / statistics.median(times), 1)})
    return rows


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gradio_client_user(url: str, photo: Path, resources: ExitStack):
    """One user of the Python gradio_client: a classify request per call."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    resources.callback(client.close)
    return lambda: client.predict(handle_file(str(photo)), *REQUEST_SETTINGS, api_name="/classify")


def http_user(url: str, photo: Path, resources: ExitStack):
    """One user of Gradio's REST API, as curl uses it: upload, call, read the result. Like a browser
    tab or a gradio_client, a user keeps one session (without one, every call pays Gradio for a new one)."""
    import httpx

    client = resources.enter_context(httpx.Client(timeout=60))
    content, session = photo.read_bytes(), uuid.uuid4().hex

    def request():
        upload = client.post(f"{url}gradio_api/upload", files={"files": (photo.name, content, "image/jpeg")})
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


def bench_served(users: int, requests: int, photo: Path) -> list[dict]:
    """Requests per second, p95 and the app's CPU per request, with concurrent users against
    `python app.py`, once per kind of client. The clients share this machine's cores with the app,
    so a client that costs much CPU (gradio_client does) lowers what the app is measured to serve."""
    results = []
    with serve_app() as (url, process), ExitStack() as resources:
        for name, make_user in (("gradio_client", gradio_client_user), ("http", http_user)):
            make_user(url, photo, resources)()  # the model is loaded before the clock starts
            clients = [make_user(url, photo, resources) for _ in range(users)]
            cpu_before, started = process_cpu_seconds(process.pid), time.perf_counter()
            with ThreadPoolExecutor(users) as pool:
                times = [
                    t for share in pool.map(lambda c: timed(c, requests // users, warmup=0), clients) for t in share
                ]
            wall, cpu_after = time.perf_counter() - started, process_cpu_seconds(process.pid)
            results.append(
                {
                    "client": name,
                    "users": users,
                    "requests": len(times),
                    "requests_per_s": round(len(times) / wall, 1),
                    "p95_ms": round(p(times, 95), 1),
                    "app_cpu_ms_per_request": None
                    if cpu_before is None
                    else round((cpu_after - cpu_before) / len(times) * 1000, 1),
                }
            )
    return results


def bench_cold_start(photo: Path) -> dict:
    """Seconds from launching `python app.py` to the first classify answer, against bare imports."""
    from gradio_client import Client, handle_file

    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, gradio"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    with serve_app() as (url, _):
        Client(url, verbose=False).predict(handle_file(str(photo)), *REQUEST_SETTINGS, api_name="/classify")
        first_answer = time.perf_counter() - started
    return {
        "bare_import_s": round(bare, 2),
        "first_classify_s": round(first_answer, 2),
        "ratio": round(first_answer / bare, 2),
    }


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host() -> dict:
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__}


def markdown(result: dict) -> str:
    machine = result["machine"]
    measured = f"Measured on {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}."
    if "models" not in result:
        return "\n".join([measured, *training_table(result["training"])]) + "\n"
    lines = [
        f"{measured} Matmul ceilings (GFLOP/s, float32 / bfloat16): "
        + ", ".join(f"{t} thread(s) {c['float32']} / {c['bfloat16']}" for t, c in machine["matmul_gflops"].items())
        + f". Models run as the app runs them, on {machine['serving_threads']} thread(s) per request; the % is of"
        " the bfloat16 ceiling on as many threads.",
        "",
        "| model | params | input | MMACs | dtype | forward p50 / p95 ms | GFLOP/s (% of bf16 ceiling) "
        "| request p50 / p95 ms (its forward) | naive p50 ms | speed-up | test top-1 float32 / served |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        accuracy = f"{r['test_top1_float32']:.1%} / {r['test_top1_served']:.1%}" if "test_top1_served" in r else "-"
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['input']} | {r['mmacs']} | {r['dtype']} "
            f"| {r['forward_p50_ms']} / {r['forward_p95_ms']} | {r['gflops']} ({r['pct_bf16_ceiling']}%) "
            f"| {r['request_p50_ms']} / {r['request_p95_ms']} ({r['request_forward_p50_ms']}) | {r['naive_p50_ms']} | {r['speedup_vs_naive']}x | {accuracy} |"
        )
    for s in result.get("served", []):
        lines.append(
            f"\nServed to {s['users']} concurrent {s['client']} users, {s['requests']} requests: "
            f"{s['requests_per_s']} req/s, p95 {s['p95_ms']} ms, app CPU {s['app_cpu_ms_per_request']} ms per request."
        )
    if "cold_start" in result:
        c = result["cold_start"]
        lines.append(
            f"Cold start: first classify after {c['first_classify_s']} s vs bare `import torch, gradio` {c['bare_import_s']} s ({c['ratio']}x)."
        )
    return "\n".join(lines + training_table(result["training"])) + "\n"


def training_table(rows: list[dict]) -> list[str]:
    header = "\n| model | training images/s (batch 64) |\n|---|---:|"
    return [header] + [f"| {r['model']} ({r['device']}) | {r['train_images_per_s']} |" for r in rows]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--photo", type=Path, help="a meal photo (default: a synthetic 512 px image)")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "food101-asian10-64",
        help="the runs' data folder, for test top-1 of the float32 and the served model (skipped when absent)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="seconds, not minutes: few repeats and requests, no accuracy"
    )
    parser.add_argument(
        "--training-only", action="store_true", help="only training images/s (e.g. on a GPU machine without gradio)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    training_steps = 2 if args.quick else 10
    if args.training_only:
        write_results(args.out, {"machine": host(), "training": bench_training(training_steps)})
        return
    photo = args.photo
    if photo is None:
        photo = args.out / "photo.jpg"
        Image.effect_mandelbrot((512, 512), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(photo)
    repeats = 5 if args.quick else 100
    data_dir = args.data if args.data.is_dir() and not args.quick else None
    model_rows, machine = bench_models(args.weights, photo, repeats, args.quick, data_dir)
    machine.update(host())
    result = {"machine": machine, "models": model_rows, "training": bench_training(training_steps)}
    result["served"] = bench_served(*((2, 8) if args.quick else (16, 320)), photo)
    result["cold_start"] = bench_cold_start(photo)
    write_results(args.out, result)


def write_results(out: Path, result: dict) -> None:
    (out / "bench.json").write_text(json.dumps(result, indent=1))
    (out / "bench.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
