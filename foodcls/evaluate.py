"""Scoring: a run's logits (with flip test-time augmentation) and its accuracy on a class folder.

    python -m foodcls.evaluate --model weights/resnet18 --data ../shared/data/food101-asian10-64 --split test

prints JSON with top1, top3, per-class accuracy and the confusion matrix. `--split test` keeps only
the files of the run's own held-out test split (from its split.json), which reproduces the model card.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from foodcls import data, runs


def with_mirror_images(inputs: torch.Tensor) -> torch.Tensor:
    """Flip test-time augmentation: the batch followed by its mirror images, to run as one batch."""
    return torch.cat([inputs, inputs.flip(3)])


def tta_logits(model, inputs: torch.Tensor, tta_flip: bool) -> torch.Tensor:
    """Float32 logits of `inputs`; with `tta_flip`, averaged with those of the mirror images."""
    if not tta_flip:
        return model(inputs).float()
    plain, mirrored = model(with_mirror_images(inputs)).float().chunk(2)
    return (plain + mirrored) / 2


@torch.inference_mode()
def predict_logits(model, images: torch.Tensor, mean, std, device, tta_flip: bool, batch_size: int = 256):
    """Float32 logits on the CPU for uint8 images already at the model's input size."""
    model.eval()
    outputs = []
    for batch in images.split(batch_size):
        inputs = data.normalize(batch.to(device), mean, std)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            outputs.append(tta_logits(model, inputs, tta_flip).cpu())
    return torch.cat(outputs)


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


def evaluate_run(run_dir: Path, data_dir: Path, split: str = "all") -> dict:
    model, config = runs.load_run(run_dir)
    only = None
    if split == "test":
        only = set(data.read_manifest(Path(run_dir) / "split.json")["splits"]["test"])
    image_set = data.load_image_set(
        data_dir, config.get("source_size", config["input_size"]), only=only, classes=config["classes"]
    )
    image_set.images = data.upscale(image_set.images, config["input_size"])
    if image_set.skipped:
        print(data.report_skipped(image_set.skipped), file=sys.stderr)
    if only is not None and len(image_set.paths) < len(only):
        print(
            f"note: {len(only) - len(image_set.paths)} test file(s) of the split are not in {data_dir}", file=sys.stderr
        )
    logits = predict_logits(
        model, image_set.images, config["mean"], config["std"], torch.device("cpu"), config["tta_flip"]
    )
    return score(logits, image_set.labels, config["classes"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a run folder, e.g. weights/resnet18")
    parser.add_argument("--data", type=Path, required=True, help="folder with one sub-folder of photos per class")
    parser.add_argument(
        "--split", choices=["all", "test"], default="all", help="test: only the run's held-out test files"
    )
    args = parser.parse_args(argv)
    try:
        result = evaluate_run(args.model, args.data, args.split)
    except (data.DataError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from None
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
