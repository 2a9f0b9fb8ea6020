"""Scoring: a run's logits (with flip test-time augmentation) and its accuracy on a class folder.

    python -m foodcls.evaluate --model weights/resnet18 --data ../shared/data/food101-asian10-64 --split test

prints JSON with top1, top3, per-class accuracy and the confusion matrix. `--split test` keeps only
the files of the run's own held-out test split (from its split.json), which reproduces the model card.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from foodcls import data, predict, runs, service, serving, unknown

THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]  # the coverage curve's steps
# Photos per forward when scoring on the CPU (each with its views and flips). Batches of 256 photos
# allocated and freed activations of hundreds of MB per layer, each a fresh mmap the kernel faulted in
# page by page; at 4 (16 images of the 101-dish run) every activation stays under the 32 MiB that the
# CLIs' `serving.keep_freed_memory` lets glibc reuse. 303 photos, one thread, 2-core AMD EPYC (AVX2),
# user / system s, page faults: 256: 29.7 / 68.8, 21.9 M; 8 with it: 23.5 / 8.7, 2.9 M; 4 without it:
# 25.4 / 12.2, 4.1 M; 4 with it: 20.6 / 0.1, 40 k (peak RSS 6.9 GB -> 0.8 GB).
OFFLINE_BATCH = 4


@torch.inference_mode()
def predict_logits(model, images: torch.Tensor, mean, std, device, tta_flip: bool, batch_size: int = 256):
    """Float32 logits on the CPU for uint8 images already at the model's input size."""
    model.eval()
    outputs = []
    for batch in images.split(batch_size):
        inputs = data.normalize(batch.to(device), mean, std)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            outputs.append(predict.tta_logits(model, inputs, tta_flip).cpu())
    return torch.cat(outputs)


@torch.inference_mode()
def view_logits(model, config: dict, squares: torch.Tensor, batch_size: int = OFFLINE_BATCH) -> torch.Tensor:
    """N x flips x views x C float32 logits of uint8 centre squares at the run's source size, each view
    as the run serves photos: stored as its training photos were (config `source_jpeg`), zoomed (config
    `tta_zooms`), enlarged to its input size and, with `tta_flip`, mirrored too. `batch_size` photos at
    a time, their views and flips in one forward."""
    model.eval()
    zooms, flips, outputs = predict.zooms_of(config), 1 + config["tta_flip"], []
    for batch in squares.split(batch_size):
        views = data.centre_zooms(data.stored_as(batch, config.get("source_jpeg")), zooms, config["input_size"])
        inputs = data.normalize(views, config["mean"], config["std"])
        logits = model(predict.with_mirror_images(inputs) if flips == 2 else inputs).float()
        outputs.append(logits.view(flips, len(zooms), len(batch), -1).permute(2, 0, 1, 3))
    return torch.cat(outputs)


def run_logits(model, config: dict, squares: torch.Tensor, batch_size: int = OFFLINE_BATCH) -> torch.Tensor:
    """Float32 logits of uint8 centre squares as the run serves photos: `view_logits` averaged."""
    return view_logits(model, config, squares, batch_size).mean((1, 2))


def score(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    """Top-1, top-3, top-5, per-class accuracy and confusion matrix (rows: true class, columns: predicted)."""
    top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
    top3, predicted = top5[:, :3], top5[:, 0]
    confusion = torch.zeros(len(classes), len(classes), dtype=torch.long)
    confusion.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    per_class = {
        name: round(confusion[i, i].item() / confusion[i].sum().item(), 4)
        for i, name in enumerate(classes)
        if confusion[i].sum() > 0
    }
    return {
        "n": len(labels),
        "top1": round((predicted == labels).float().mean().item(), 4),
        "top3": round((top3 == labels.unsqueeze(1)).any(1).float().mean().item(), 4),
        "top5": round((top5 == labels.unsqueeze(1)).any(1).float().mean().item(), 4),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "classes": classes,
    }


def choose_input_size(model, config: dict, image_set: data.ImageSet, sizes: list[int], device) -> tuple[int, dict]:
    """The inference size with the best top-1 on `image_set` (the validation split), and every score.

    A net trained on random-resized crops sees dishes larger than a centre crop of the same size
    shows them; a somewhat larger test input evens that out (Touvron et al., "FixRes", 2019).
    """
    scores = {}
    for size in sizes:
        images = data.load_image_set(image_set.root, size, only=set(image_set.paths), classes=config["classes"])
        logits = predict_logits(model, images.images, config["mean"], config["std"], device, config["tta_flip"])
        scores[size] = score(logits, images.labels, config["classes"])["top1"]
    return max(sizes, key=lambda size: (scores[size], -size)), scores


def coverage_curve(confidence: torch.Tensor, correct: torch.Tensor, outside: torch.Tensor) -> list[dict]:
    """For each threshold: how many known-dish photos are named and how many of those are right,
    and how many outside photos (labels the run does not know) are named."""
    rows = []
    known = ~outside
    for threshold in THRESHOLDS:
        named = confidence >= threshold
        rows.append(
            {
                "threshold": threshold,
                "known": int(known.sum()),
                "named": int((named & known).sum()),
                "named_right": int((named & known & correct).sum()),
                "outside": int(outside.sum()),
                "outside_named": int((named & outside).sum()),
            }
        )
    return rows


def most_confident(confidence: torch.Tensor, correct: torch.Tensor, outside: torch.Tensor, share: float) -> dict:
    """Naming the most confident `share` of the known-dish photos, whatever threshold that takes: how
    many are named, how many of those right, and how many outside photos are as confident.

    It depends on the ranking only (not on temperature or a threshold grid), so it says how far a run
    is from a coverage target; the threshold is chosen on the same photos, so it is optimistic.
    """
    known_confidence = confidence[~outside]
    ranked = known_confidence.argsort(descending=True, stable=True)[: round(share * len(known_confidence))]
    lowest_named = known_confidence[ranked].min() if len(ranked) else math.inf
    return {
        "named": len(ranked),
        "named_right": int(correct[~outside][ranked].sum()),
        "outside_named": int((confidence[outside] >= lowest_named).sum()),
        "outside": int(outside.sum()),
    }


def labelled_photos(root: Path, classes: list[str]):
    """Every photo of a class-folder set, decoded as the app decodes it, with its class index (-1 for
    folders not in `classes`) and its relative path 'folder/file'."""
    for folder, files in data.list_class_folders(root).items():
        label = classes.index(folder) if folder in classes else -1
        for path in files:
            yield service.read_photo(path), label, f"{folder}/{path.name}"


def photo_folder_logits(classifiers: list, root: Path) -> tuple[list[torch.Tensor], torch.Tensor, list[str]]:
    """Each classifier's logits of every photo of a class-folder set (each photo decoded once, as the app
    decodes it), labels with -1 for folders the runs do not know, and relative paths."""
    logits, labels, paths = [[] for _ in classifiers], [], []
    for photo, label, path in labelled_photos(root, classifiers[0].classes):
        for found, classifier in zip(logits, classifiers):
            found.append(classifier.logits(photo))
        labels.append(label)
        paths.append(path)
    return [torch.stack(found) for found in logits], torch.tensor(labels), paths


def photo_folder_squares(root: Path, config: dict) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every photo of a class-folder set as the app sees it before its views (decoded, centre square at
    the run's source size, uint8), labels with -1 for folders the run does not know, relative paths."""
    squares, labels, paths = [], [], []
    for photo, label, path in labelled_photos(root, config["classes"]):
        squares.append(data.square_uint8(photo.convert("RGB"), config.get("source_size", config["input_size"])))
        labels.append(label)
        paths.append(path)
    return torch.stack(squares), torch.tensor(labels), paths


def known_hits(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """How many photos of known classes (label >= 0) have their class first, in the top 3 and in the top 5."""
    known = labels >= 0
    top5 = logits[known].topk(min(5, logits.shape[1]), dim=1).indices
    return {f"top{k}": int((top5[:, :k] == labels[known].unsqueeze(1)).any(1).sum()) for k in (1, 3, 5)}


def real_photo_report(logits: torch.Tensor, labels: torch.Tensor, classes: list[str], temperature: float) -> dict:
    """Top-1/top-3/top-5 over the photos of known dishes (with counts, and top-1 per dish), the coverage
    curve, and how many right of the half it is most confident of (the coverage target's measure)."""
    known = labels >= 0
    known_labels = labels[known]
    hits = known_hits(logits, labels)
    first_right = logits[known].argmax(1) == known_labels
    top1_by_dish = {
        classes[label]: {
            "right": int(first_right[known_labels == label].sum()),
            "photos": int((known_labels == label).sum()),
        }
        for label in known_labels.unique().tolist()
    }
    confidence, predicted = (logits / temperature).softmax(1).max(1)
    correct = predicted == labels
    return {
        "n_known": int(known.sum()),
        "n_outside": int((~known).sum()),
        "hits": hits,
        "top1_by_dish": top1_by_dish,
        "curve": coverage_curve(confidence, correct, ~known),
        "most_confident_half": most_confident(confidence, correct, ~known, 0.5),
    }


def served_names(classifier: predict.Classifier, looks: list, labels: torch.Tensor, paths: list[str]) -> dict:
    """What the app does with each photo at the run's own threshold and unknown-dish rule (the same
    `unknown.named` as service.classify): counts, and which photos it names and which look unknown."""
    config, threshold = classifier.config, service.run_threshold(classifier.config)
    temperature = config.get("temperature", 1.0)
    named, looks_unknown, right = [], [], []
    for look, label in zip(looks, labels.tolist()):
        probability, best = (look.logits / temperature).softmax(0).max(0)
        named.append(unknown.named(probability.item(), look.similarity, threshold, config))
        looks_unknown.append(unknown.looks_unknown(look.similarity, config))
        right.append(best.item() == label)
    known = [label >= 0 for label in labels.tolist()]
    return {
        "threshold": threshold,
        "unknown_rule": unknown.rule_of(config),
        "known": sum(known),
        "named": sum(n and k for n, k in zip(named, known)),
        "named_right": sum(n and k and r for n, k, r in zip(named, known, right)),
        "outside": len(known) - sum(known),
        "outside_named": sum(n and not k for n, k in zip(named, known)),
        "looks_unknown": sum(looks_unknown),
        "named_photos": [path for path, n in zip(paths, named) if n],
        "unknown_photos": [path for path, u in zip(paths, looks_unknown) if u],
    }


def score_photo_folder(run_dir: Path, data_dir: Path) -> dict:
    """Every photo of a class-folder set through the app's own path (`load_classifier(run).look`):
    top-1/3/5 as counts over the dishes the run knows, the coverage curve's row at the run's threshold,
    and what the app names (`served`: its threshold and unknown-dish rule), with folders it does not
    know (`_not_food`, ...) as photos not to name."""
    classifier = predict.load_classifier(run_dir)
    looks, labels, paths = [], [], []
    for photo, label, path in labelled_photos(data_dir, classifier.classes):
        looks.append(classifier.look(photo))
        labels.append(label)
        paths.append(path)
    labels = torch.tensor(labels)
    logits = torch.stack([look.logits for look in looks])
    report = real_photo_report(logits, labels, classifier.classes, classifier.config.get("temperature", 1.0))
    threshold = classifier.config.get("threshold")
    curve = report.pop("curve")
    if threshold in THRESHOLDS:
        report["at_threshold"] = next(row for row in curve if row["threshold"] == threshold)
    report["served"] = served_names(classifier, looks, labels, paths)
    return report


def load_run_photos(config: dict, data_dir: Path, only: set[str] | None = None) -> data.ImageSet:
    """A class folder's photos as centre squares at the run's `source_size` (else its input size), for
    `run_logits`; `only` keeps those relative paths (a split of its split.json)."""
    return data.load_image_set(
        data_dir, config.get("source_size", config["input_size"]), only=only, classes=config["classes"]
    )


def evaluate_run(run_dir: Path, data_dir: Path, split: str = "all") -> dict:
    """Top-1/3/5, per-class and confusion on the run's test split (`split="test"`, as trained: float32)
    or on any folder of its classes; a folder with others (real photos) goes to score_photo_folder."""
    model, config = runs.load_run(run_dir)
    if split == "all" and set(data.list_class_folders(data_dir)) - set(config["classes"]):
        return score_photo_folder(run_dir, data_dir)
    only = None
    if split == "test":
        only = set(data.read_manifest(Path(run_dir) / "split.json")["splits"]["test"])
    image_set = load_run_photos(config, data_dir, only)
    if image_set.skipped:
        print(data.report_skipped(image_set.skipped), file=sys.stderr)
    if only is not None and len(image_set.paths) < len(only):
        print(
            f"note: {len(only) - len(image_set.paths)} test file(s) of the split are not in {data_dir}", file=sys.stderr
        )
    return score(run_logits(model, config, image_set.images), image_set.labels, config["classes"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a run folder, e.g. weights/resnet18")
    parser.add_argument("--data", type=Path, required=True, help="folder with one sub-folder of photos per class")
    parser.add_argument(
        "--split", choices=["all", "test"], default="all", help="test: only the run's held-out test files"
    )
    args = parser.parse_args(argv)
    serving.keep_freed_memory()
    try:
        result = evaluate_run(args.model, args.data, args.split)
    except (data.DataError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from None
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
