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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from foodcls import data, models, nutrition, runs, ui
from foodcls.hub import WeightsSource
from foodcls.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
SERVED = (models.DEPLOYED_MODEL, *models.STUDY_MODELS)


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


def bench_models(runs_dir: Path, photo: Path, repeats: int, quick: bool) -> tuple[list[dict], dict]:
    threads = torch.get_num_threads()
    ceilings = {
        "float32": matmul_ceiling(torch.float32, 1024 if quick else 2048, 3 if quick else 10),
        "bfloat16": matmul_ceiling(torch.bfloat16, 1024 if quick else 2048, 3 if quick else 10),
    }
    table = nutrition.load_table()
    store = RunStore(WeightsSource(None, "", bundled=runs_dir))  # the app's own request path, bundled weights
    rows = []
    for run in SERVED:
        if not (runs_dir / run / "config.json").is_file():
            continue
        model, config = runs.load_run(runs_dir / run)
        size = config["input_size"]
        macs = count_macs(model, size)
        x = data.normalize(
            data.square_uint8(Image.open(photo).convert("RGB"), size).unsqueeze(0), config["mean"], config["std"]
        )
        with torch.inference_mode():
            forward = timed(lambda m=model, x=x: m(x), repeats)
        passes = 2 if config["tta_flip"] else 1
        # threshold 0, so every timed request also builds the nutrition rows
        request = timed(lambda r=run: ui.classify(store, table, ui.read_photo(photo), r, 0.0, 1.0, False), repeats)
        naive_model, _ = runs.load_run(runs_dir / run)
        baseline = timed(lambda m=naive_model, c=config: naive_request(m, c, photo, table), repeats)
        rows.append(
            {
                "model": config["name"],
                "parameters": models.count_parameters(model),
                "input": size,
                "mmacs": round(macs / 1e6, 1),
                "forward_p50_ms": round(p(forward, 50), 2),
                "forward_p95_ms": round(p(forward, 95), 2),
                "gflops": round(2 * macs / (p(forward, 50) / 1000) / 1e9, 1),
                "pct_bf16_ceiling": round(100 * 2 * macs / (p(forward, 50) / 1000) / 1e9 / ceilings["bfloat16"], 1),
                "forwards_per_request": passes,
                "request_p50_ms": round(p(request, 50), 2),
                "request_p95_ms": round(p(request, 95), 2),
                "naive_p50_ms": round(p(baseline, 50), 2),
                "speedup_vs_naive": round(p(baseline, 50) / p(request, 50), 2),
            }
        )
    return rows, {"threads": threads, "matmul_gflops": {k: round(v, 1) for k, v in ceilings.items()}}


def training_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor):
    from torch.nn import functional as F

    def step():
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def bench_training(steps: int) -> list[dict]:
    """Training images per second per model on this machine (random data at each model's input size)."""
    rows = []
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for run in SERVED:
        spec = models.MODEL_SPECS[run]
        model = models.build_model(run, 10).to(device)
        x = torch.randn(64, 3, spec.input_size, spec.input_size, device=device)
        y = torch.randint(0, 10, (64,), device=device)
        step = training_step(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), x, y)
        times = timed(step, steps, warmup=1)
        rows.append(
            {"model": spec.name, "device": device.type, "train_images_per_s": round(64 / statistics.median(times), 1)}
        )
    return rows


def bench_served(users: int, requests: int, photo: Path) -> dict:
    """Requests per second and p95 with concurrent gradio_client users against `python app.py`."""
    from gradio_client import Client, handle_file

    with serve_app() as (url, _):
        Client(url, verbose=False).predict(
            handle_file(str(photo)), models.DEPLOYED_MODEL, 0.5, 1.0, False, api_name="/classify"
        )

        def user(count):
            client = Client(url, verbose=False)
            times = []
            for _ in range(count):
                started = time.perf_counter()
                client.predict(handle_file(str(photo)), models.DEPLOYED_MODEL, 0.5, 1.0, False, api_name="/classify")
                times.append(time.perf_counter() - started)
            return times

        started = time.perf_counter()
        with ThreadPoolExecutor(users) as pool:
            times = [t for share in pool.map(user, [requests // users] * users) for t in share]
        wall = time.perf_counter() - started
    return {
        "users": users,
        "requests": len(times),
        "requests_per_s": round(len(times) / wall, 1),
        "p95_ms": round(p(times, 95), 1),
    }


def bench_cold_start(photo: Path) -> dict:
    """Seconds from launching `python app.py` to the first classify answer, against bare imports."""
    from gradio_client import Client, handle_file

    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, gradio"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    with serve_app() as (url, _):
        Client(url, verbose=False).predict(
            handle_file(str(photo)), models.DEPLOYED_MODEL, 0.5, 1.0, False, api_name="/classify"
        )
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


def markdown(result: dict) -> str:
    machine = result["machine"]
    lines = [
        f"Measured on {machine['cpu']}, {machine['cores']} cores ({machine['threads']} torch threads), torch {machine['torch']}; "
        f"matmul ceilings {machine['matmul_gflops']['float32']} GFLOP/s float32, {machine['matmul_gflops']['bfloat16']} bfloat16.",
        "",
        "| model | params | input | MMACs | forward p50 / p95 ms | GFLOP/s (% of bf16 ceiling) | request p50 / p95 ms | naive p50 ms | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['input']} | {r['mmacs']} | {r['forward_p50_ms']} / {r['forward_p95_ms']} "
            f"| {r['gflops']} ({r['pct_bf16_ceiling']}%) | {r['request_p50_ms']} / {r['request_p95_ms']} | {r['naive_p50_ms']} | {r['speedup_vs_naive']}x |"
        )
    if "served" in result:
        s = result["served"]
        lines.append(
            f"\nServed: {s['users']} concurrent users, {s['requests']} requests: {s['requests_per_s']} req/s, p95 {s['p95_ms']} ms."
        )
    if "cold_start" in result:
        c = result["cold_start"]
        lines.append(
            f"Cold start: first classify after {c['first_classify_s']} s vs bare `import torch, gradio` {c['bare_import_s']} s ({c['ratio']}x)."
        )
    lines.append("\n| model | training images/s |\n|---|---:|")
    lines += [f"| {r['model']} ({r['device']}) | {r['train_images_per_s']} |" for r in result["training"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--photo", type=Path, help="a meal photo (default: a synthetic 512 px image)")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes: few repeats, no server parts")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    photo = args.photo
    if photo is None:
        photo = args.out / "photo.jpg"
        Image.effect_mandelbrot((512, 512), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(photo)
    repeats = 5 if args.quick else 100
    model_rows, machine = bench_models(args.weights, photo, repeats, args.quick)
    machine.update({"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__})
    result = {"machine": machine, "models": model_rows, "training": bench_training(2 if args.quick else 10)}
    if not args.quick:
        result["served"] = bench_served(16, 320, photo)
        result["cold_start"] = bench_cold_start(photo)
    (args.out / "bench.json").write_text(json.dumps(result, indent=1))
    (args.out / "bench.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
