"""Each model as the app serves it: forward and request times, MACs, the naive baseline, accuracy.

Imports nothing of Gradio, so `--training-only` runs where the app's packages are not installed.
"""

from pathlib import Path

import torch
from PIL import Image
from torch import nn

from foodcls import data, evaluate, models, nutrition, predict, runs, service, serving
from foodcls.bench.timing import matmul_ceiling, p, timed
from foodcls.hub import WeightsSource
from foodcls.store import RunStore


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
    serving.run_once_with_hooks(model, torch.zeros(1, 3, size, size), handles)
    return total


def naive_request(model: nn.Module, config: dict, path: Path, table: dict) -> list:
    """The baseline: plain eager float32, torchvision PIL transforms, autograd on, no channels-last;
    the same views (config `tta_zooms`) and flips as the served request."""
    from torchvision import transforms

    size, source_size = config["input_size"], config.get("source_size", config["input_size"])
    image = Image.open(path).convert("RGB")
    jpeg = config.get("source_jpeg")
    views = []
    for zoom in predict.zooms_of(config):
        transform = transforms.Compose(
            [
                transforms.Resize(source_size),
                transforms.CenterCrop(source_size),
                transforms.Lambda(lambda square: data.saved_and_read_back(square, jpeg) if jpeg else square),
                transforms.CenterCrop(round(source_size * zoom)),
                transforms.Resize(size),
                transforms.ToTensor(),
                transforms.Normalize(config["mean"], config["std"]),
            ]
        )
        views.append(transform(image))
    logits = predict.tta_logits(model, torch.stack(views), config["tta_flip"]).mean(0, keepdim=True)
    top = logits.softmax(1)[0].topk(3)
    best = config["classes"][top.indices[0]]
    return nutrition.facts_frame(table.facts(best)).values.tolist() if best in table else []


def data_folder_of(config: dict, data_dirs: list[Path]) -> Path | None:
    """The first of `data_dirs` with a folder for every class of the run, or None."""
    for folder in data_dirs:
        if folder.is_dir() and all((folder / name).is_dir() for name in config["classes"]):
            return folder
    return None


def held_out_top1(run_dir: Path, data_dir: Path, model: nn.Module, classifier) -> dict:
    """Top-1 on the run's held-out test split: `model` (the float32 model as trained), and the served path."""
    config = classifier.config
    test = set(data.read_manifest(run_dir / "split.json")["splits"]["test"])
    images = evaluate.load_run_photos(config, data_dir, test)
    logits = evaluate.run_logits(model, config, images.images)
    squares = images.images.split(1)
    served = [classifier.probabilities_of_pixels(classifier.views(square)).argmax().item() for square in squares]
    return {
        "test_top1_float32": evaluate.score(logits, images.labels, config["classes"])["top1"],
        "test_top1_served": round((torch.tensor(served) == images.labels).float().mean().item(), 4),
    }


def matmul_ceilings(quick: bool) -> dict:
    """GFLOP/s of matmuls on all cores and on the app's threads per request, in float32 and, where the
    CPU computes it natively, bfloat16 (an emulated bfloat16 ceiling takes minutes and means nothing)."""
    size, repeats = (1024, 3) if quick else (2048, 10)
    dtypes = dict.fromkeys((torch.float32, serving.serving_dtype()))
    all_threads = torch.get_num_threads()
    ceilings = {}
    for threads in dict.fromkeys((all_threads, serving.SERVING_THREADS)):
        torch.set_num_threads(threads)
        ceilings[threads] = {
            str(dtype).removeprefix("torch."): round(matmul_ceiling(dtype, size, repeats), 1) for dtype in dtypes
        }
    torch.set_num_threads(all_threads)
    return ceilings


def bench_models(
    runs_dir: Path, photo: Path, repeats: int, quick: bool, data_dirs: list[Path]
) -> tuple[list[dict], dict]:
    """Per served model, with torch as the app sets it; ceilings on all cores and on its threads."""
    all_threads = torch.get_num_threads()
    ceilings = matmul_ceilings(quick)
    serving.configure_process()
    table = nutrition.NutritionTable.load()
    store = RunStore(WeightsSource(None, "", bundled=runs_dir))  # the app's own request path, bundled weights
    rows = []
    for run in runs.SERVED_RUNS:
        if not (runs_dir / run / "config.json").is_file():
            continue
        classifier, _ = store.classifier(run)
        config = classifier.config
        size = config["input_size"]
        naive_model, _ = runs.load_run(runs_dir / run)
        macs = count_macs(serving.share_identical_stages(naive_model), size)  # what the served model runs
        pixels = classifier.pixels(Image.open(photo))
        x = classifier.inputs(pixels[:1])  # one photo, one view: the forward of the ceiling comparison
        batch = classifier.request_inputs(pixels)  # the request's own forward: its views and their mirrors
        with torch.inference_mode():
            forward = timed(lambda m=classifier.inference_model, x=x: m(x), repeats)
            request_forward = timed(lambda m=classifier.inference_model, b=batch: m(b), repeats)

        def request(run=run):  # threshold 0, so every timed request also builds the nutrition rows
            photo_rgb = service.read_photo(photo)
            service.classify(store=store, table=table, photo=photo_rgb, model_id=run, threshold=0.0, servings=1.0)

        request_times = timed(request, repeats)
        baseline = timed(lambda m=naive_model, c=config: naive_request(m, c, photo, table), repeats)
        gflops = 2 * macs / (p(forward, 50) / 1000) / 1e9
        request_gflops = 2 * macs * len(batch) / (p(request_forward, 50) / 1000) / 1e9
        dtype = str(classifier.dtype).removeprefix("torch.")
        ceiling = ceilings[serving.SERVING_THREADS][dtype]
        row = {
            "model": f"{runs.model_name(config)} ({len(config['classes'])} classes)",
            "parameters": models.count_parameters(naive_model),
            "input": size,
            "mmacs": round(macs / 1e6, 1),
            "dtype": dtype,
            "forward_p50_ms": round(p(forward, 50), 2),
            "forward_p95_ms": round(p(forward, 95), 2),
            "gflops": round(gflops, 1),
            "pct_of_ceiling": round(100 * gflops / ceiling, 1),
            "request_batch": len(batch),
            "request_forward_p50_ms": round(p(request_forward, 50), 2),
            "request_forward_pct_of_ceiling": round(100 * request_gflops / ceiling, 1),
            "request_p50_ms": round(p(request_times, 50), 2),
            "request_p95_ms": round(p(request_times, 95), 2),
            "naive_p50_ms": round(p(baseline, 50), 2),
            "speedup_vs_naive": round(p(baseline, 50) / p(request_times, 50), 2),
        }
        data_dir = data_folder_of(config, data_dirs)
        if data_dir is not None and (runs_dir / run / "split.json").is_file():
            row.update(held_out_top1(runs_dir / run, data_dir, naive_model, classifier))
        rows.append(row)
    torch.set_num_threads(all_threads)
    return rows, {"threads": all_threads, "serving_threads": serving.SERVING_THREADS, "matmul_gflops": ceilings}
