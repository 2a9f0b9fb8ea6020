"""Fewer test-time views: forward time and accuracy of each way a run could serve a photo (issue 30).

A run serves each photo as its views (config `tta_zooms`) and, with `tta_flip`, their mirror images,
averaged. Each (flip, zoom) pair's logits are computed once per photo, so every subset of them is
scored from one pass: test top-1 on the run's test split, and on a folder of real photos top-1 over
the dishes it knows and how many photos the run names at its temperature and threshold (others:
folders it does not know, such as `_korean_other` and `_not_food`). The forward is timed per batch
size as the app runs it (prepared, traced, one thread); the scoring uses every core.

    python -m foodcls.bench.views --model weights/efficientnet_lite0_food101 \\
        --data ~/.cache/foodcls/food101-64 --real ../shared/data/realworld-dev
"""

import argparse
import itertools
from pathlib import Path

import torch

from foodcls import data, evaluate, predict, runs, serving
from foodcls.bench.timing import host, p, timed


@torch.inference_mode()
def per_view_logits(classifier: predict.Classifier, squares: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """N x flips x zooms x C float32 logits of uint8 centre squares (at the run's source size), as served."""
    flips, zooms = 1 + classifier.config["tta_flip"], len(predict.zooms_of(classifier.config))
    found = []
    for batch in squares.split(batch_size):
        logits = classifier.model(classifier.request_inputs(classifier.views(batch))).float()
        found.append(logits.view(flips, zooms, len(batch), -1).permute(2, 0, 1, 3))
    return torch.cat(found)


def ways(config: dict) -> dict[str, tuple[list[int], list[int]]]:
    """Every way to serve with fewer views: name -> (flips kept, zooms kept), the run's own way first."""
    zooms = predict.zooms_of(config)
    flip_sets = [[0, 1], [0]] if config["tta_flip"] else [[0]]
    zoom_sets = [list(range(len(zooms)))] + [[i] for i in range(len(zooms))] * (len(zooms) > 1)
    found = {}
    for zoom_set, flip_set in itertools.product(zoom_sets, flip_sets):
        name = f"zooms {' + '.join(str(zooms[i]) for i in zoom_set)}{' × flip' if len(flip_set) == 2 else ''}"
        found[name] = (flip_set, zoom_set)
    return found


def way_logits(logits: torch.Tensor, flips: list[int], zooms: list[int]) -> torch.Tensor:
    return logits[:, flips][:, :, zooms].mean((1, 2))


def forward_ms(classifier: predict.Classifier, images: int, repeats: int) -> float:
    """p50 ms of the forward the app runs for a request of `images` images (traced for that batch)."""
    size = classifier.config["input_size"]
    example = classifier.inputs(torch.randint(0, 256, (images, 3, size, size), dtype=torch.uint8))
    graph = serving.compile_for_cpu(classifier.model, example)
    with torch.inference_mode():
        return p(timed(lambda: graph(example), repeats), 50)


def report(run_dir: Path, data_dir: Path, real_dir: Path | None, repeats: int) -> str:
    model, config = runs.load_run(run_dir)
    classifier = predict.Classifier(model, config)
    only = set(data.read_manifest(run_dir / "split.json")["splits"]["test"])
    test = evaluate.load_run_photos(config, data_dir, only)
    test_logits = per_view_logits(classifier, test.images)
    real = None
    if real_dir is not None:
        squares, labels, paths = evaluate.photo_folder_squares(real_dir, config)
        real = per_view_logits(classifier, squares), labels, [path.split("/")[0] for path in paths]
    temperature, threshold = config.get("temperature", 1.0), config.get("threshold", 0.0)
    machine = host()
    lines = [
        f"{machine['cpu']}, {machine['cores']} cores, PyTorch kernels {machine['isa']}, served in "
        f"{str(classifier.dtype).removeprefix('torch.')}, one thread; {run_dir.name} at temperature {temperature} "
        f"and threshold {threshold}.",
        "",
        "| way | images per photo | forward p50 ms | test top-1 | real photos top-1 | named (right) | others named |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    torch.set_num_threads(serving.SERVING_THREADS)  # scored on every core, timed as the app serves
    for name, (flips, zooms) in ways(config).items():
        images = len(flips) * len(zooms)
        top1 = (way_logits(test_logits, flips, zooms).argmax(1) == test.labels).sum().item()
        row = [name, str(images), f"{forward_ms(classifier, images, repeats):.1f}"]
        row.append(f"{top1} of {len(test.labels)} ({100 * top1 / len(test.labels):.2f}%)")
        if real is not None:
            logits, labels, folders = real
            confidence, guess = (way_logits(logits, flips, zooms) / temperature).softmax(1).max(1)
            known, named = labels >= 0, confidence >= threshold
            right = guess == labels
            others = ", ".join(
                f"{folder} {named[[f == folder for f in folders]].sum().item()}/{folders.count(folder)}"
                for folder in sorted({f for f, k in zip(folders, known.tolist()) if not k})
            )
            row += [
                f"{(right & known).sum().item()} of {known.sum().item()}",
                f"{(named & known).sum().item()} ({(named & right).sum().item()})",
                others,
            ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a run folder with split.json")
    parser.add_argument("--data", type=Path, required=True, help="the run's class folders (its test split is read)")
    parser.add_argument("--real", type=Path, help="a folder of real photos (class folders, others allowed)")
    parser.add_argument("--repeats", type=int, default=100, help="timed forwards per way")
    args = parser.parse_args(argv)
    serving.configure_process(threads=None)
    serving.keep_freed_memory()
    print(report(args.model, args.data, args.real, args.repeats))


if __name__ == "__main__":
    main()
