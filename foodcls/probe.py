"""Compare ImageNet backbones for a dataset before training one: a linear probe on frozen features.

    python -m foodcls.probe --data ~/.cache/foodcls/food101-64 --split-of weights/efficientnet_lite0_food101 \
        --real ../shared/data/realworld-dev

For each backbone, the pooled features of `--per-class` training photos per dish (of the run's
split.json, so its test split stays unseen), seen as the run sees them (64 px photo enlarged to
`--input-size`), train one linear layer (L-BFGS, L2 weight chosen on validation photos); it is scored
on the whole test split and, through the app's photo path, on real photos. A backbone whose frozen
features are better here is worth its fine-tuning hours; the probe costs minutes.
"""

import argparse
import json
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from foodcls import data, evaluate, models, runs, serving, train
from foodcls.bench.per_model import count_macs

L2_WEIGHTS = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1)  # L2 on the probe's weights; the one best on validation is kept


class PooledFeatures(nn.Module):
    """An EfficientNet-Lite without its classifier: the pooled features a probe reads."""

    def __init__(self, network: models.EfficientNetLite):
        super().__init__()
        self.network = network

    def forward(self, x):
        return self.network.features(x)


def some_of_each_class(paths: list[str], per_class: int, seed: int) -> set[str]:
    """`per_class` paths of each class folder ('class/file'), drawn at random with `seed`."""
    by_class: dict[str, list[str]] = {}
    for path in sorted(paths):
        by_class.setdefault(path.split("/")[0], []).append(path)
    rng = random.Random(seed)
    return {path for found in by_class.values() for path in rng.sample(found, min(per_class, len(found)))}


def fit_probe(features: torch.Tensor, labels: torch.Tensor, classes: int, l2: float) -> nn.Linear:
    """Multinomial logistic regression on standardised features, full batch, L-BFGS."""
    probe = nn.Linear(features.shape[1], classes)
    optimizer = torch.optim.LBFGS(
        probe.parameters(), lr=1, max_iter=300, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(probe(features), labels) + l2 * probe.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return probe


def probe_backbone(model_id: str, sets: dict, classes: list[str], real: tuple | None, view: dict) -> dict:
    """One backbone's probe: its cost, the L2 weight validation chose, and the test and real-photo hits."""
    network = models.build_model(model_id, len(classes))
    train.load_pretrained(model_id, network)
    extractor = PooledFeatures(network).eval()
    features = {name: evaluate.run_logits(extractor, view, image_set.images) for name, image_set in sets.items()}
    mean, std = features["train"].mean(0), features["train"].std(0) + 1e-6
    features = {name: (found - mean) / std for name, found in features.items()}
    labels = {name: image_set.labels for name, image_set in sets.items()}
    probes = {l2: fit_probe(features["train"], labels["train"], len(classes), l2) for l2 in L2_WEIGHTS}
    with torch.no_grad():
        val_top1 = {
            l2: (p(features["val"]).argmax(1) == labels["val"]).float().mean().item() for l2, p in probes.items()
        }
    l2 = max(val_top1, key=val_top1.get)
    probe = probes[l2]
    result = {
        "model_id": model_id,
        "parameters": models.count_parameters(network),
        "mmacs": round(count_macs(network, view["input_size"]) / 1e6, 1),
        "l2": l2,
        "val_top1_by_l2": {str(k): round(v, 4) for k, v in val_top1.items()},
    }
    with torch.no_grad():
        test = evaluate.known_hits(probe(features["test"]), labels["test"])
        result["test"] = {"photos": len(labels["test"])} | test
        if real is not None:
            squares, real_labels = real
            real_features = (evaluate.run_logits(extractor, view, squares) - mean) / std
            result["real"] = {"photos": int((real_labels >= 0).sum())} | evaluate.known_hits(
                probe(real_features), real_labels
            )
    return result


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the class folders the run was trained on")
    parser.add_argument("--split-of", type=Path, required=True, help="a run whose split.json and classes to use")
    parser.add_argument("--real", type=Path, help="real photos in class folders, scored through the app's path")
    parser.add_argument(
        "--model-ids", nargs="+", default=["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    )
    parser.add_argument("--per-class", type=int, default=200, help="training photos per dish")
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    serving.keep_freed_memory()  # see evaluate.OFFLINE_BATCH
    torch.manual_seed(args.seed)
    config = runs.read_json(args.split_of / "config.json")
    splits = data.read_manifest(args.split_of / "split.json")["splits"]
    source_size = config.get("source_size", config["input_size"])
    chosen = {
        "train": some_of_each_class(splits["train"], args.per_class, args.seed),
        "val": some_of_each_class(splits["val"], max(args.per_class // 10, 1), args.seed),
        "test": set(splits["test"]),
    }
    sets = {
        name: data.load_image_set(args.data, source_size, only=only, classes=config["classes"])
        for name, only in chosen.items()
    }
    real = evaluate.photo_folder_squares(args.real, config)[:2] if args.real else None
    view = {"input_size": args.input_size, "mean": [0.5] * 3, "std": [0.5] * 3, "tta_flip": False}
    results = []
    for model_id in args.model_ids:
        results.append(probe_backbone(model_id, sets, config["classes"], real, view))
        print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main()
