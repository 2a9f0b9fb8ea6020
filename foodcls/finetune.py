"""Fine-tune the pretrained EfficientNet-Lite0 on a large class-folder set on a CPU, within hours.

    python -m foodcls.finetune --data ~/.cache/foodcls/food101-64 --out weights/efficientnet_lite0_food101

Claim: 95k photos of 101 dishes train in about 150 minutes on 2 CPU cores. How: the first three
stages of the ImageNet network stay frozen, so each photo goes through them once plainly and three
times augmented, and their features are cached; an epoch trains only the later stages on the cache,
each photo as one of its views (~160 photos/s at 128 px, against ~30 for the whole network).
Evidence (2-core EPYC): a view of the 76k training photos takes ~5 minutes with nothing beside it
(15 with another job), then 7.9 minutes an epoch, 10 epochs in 92 minutes (config
`train_seconds`; one epoch ran beside another job). Four views instead of two: validation 63.7%
against 63.4%, training accuracy 77% against 86% (less memorising).
Each epoch ends with a checkpoint: the same command resumes a run that a session's end cut short.

The photos are 64 px; the network sees them enlarged to 128 px, and it sees any photo the same way
(config `source_size`): real photos are first shrunk to 64 px, so they look like what it learned.
The written run folder is an ordinary run (see runs.py); its test metrics come from the whole
model, end to end, on the held-out test split.
"""

import argparse
import copy
import hashlib
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from foodcls import data, evaluate, models, runs, train

RECIPE = {
    "model_id": "efficientnet_lite0",
    "source_size": 64,  # the photos' own size; every photo is shrunk to it, then enlarged
    "input_size": 128,
    "frozen_blocks": 3,  # stem + the first three stages (to 40 channels at stride 8) stay ImageNet's
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 5e-5,
    "schedule": "onecycle",
    "epochs": 10,
    "batch_size": 128,
    "min_scale": 0.35,
    "augmented_views": 3,  # cached random crops of each training photo, besides the plain one
    "label_smoothing": 0.1,
    "dropout": 0.2,
    "pretrained": True,
    "tta_flip": True,
    "train_fraction": 1.0,  # below 1: that share of each dish's training photos (a learning curve's point)
}
# The settings that make the cached features what they are: another value needs another cache.
FEATURE_SETTINGS = ("model_id", "source_size", "input_size", "frozen_blocks", "min_scale")


@torch.inference_mode()
def extract(frozen: models.FirstStages, images: torch.Tensor, recipe: dict, augmented: bool, desc: str) -> torch.Tensor:
    """Frozen features (bfloat16, channels-last) of uint8 photos; `augmented`: a random crop and flip each."""
    spec = models.MODEL_SPECS[recipe["model_id"]]
    out = []
    for batch in tqdm(images.split(256), desc=desc, leave=False):
        inputs = data.normalize(data.upscale(batch, recipe["input_size"]), spec.mean, spec.std)
        if augmented:
            inputs = data.augment(inputs, recipe["min_scale"])
        out.append(frozen(inputs.contiguous(memory_format=torch.channels_last)).to(torch.bfloat16))
    return torch.cat(out)


@torch.inference_mode()
def deepen(stages: nn.Module, shallower: torch.Tensor, desc: str) -> torch.Tensor:
    """Features of more frozen stages from cached features of fewer: the same crops, without the photos."""
    out = []
    for batch in tqdm(shallower.split(256), desc=desc, leave=False):
        out.append(stages(batch.float().contiguous(memory_format=torch.channels_last)).to(torch.bfloat16))
    return torch.cat(out)


def split_fingerprint(image_set: data.ImageSet, split: dict) -> str:
    """Which photos are the training and validation photos, in order, as a short digest: features
    cached for another split (another --seed or data folder) belong to other photos."""
    paths = [image_set.paths[i] for name in ("train", "val") for i in split[name]]
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]


def cached_features(
    cache: Path,
    frozen: models.FirstStages,
    image_set: data.ImageSet,
    split: dict,
    recipe: dict,
    shallower: Path | None = None,
) -> dict:
    """Frozen features of the training photos (plain and `augmented_views` augmented views) and of the
    validation photos (plain and flipped), one file per view in `cache`, each computed once.

    A view is written as soon as it is computed, so a cut session resumes from the next view. With
    `shallower`, a cache of the same photos with fewer frozen stages, only the stages between run.
    """
    made_with = {key: recipe[key] for key in FEATURE_SETTINGS} | {"photos": split_fingerprint(image_set, split)}
    if (cache / "recipe.json").is_file() and runs.read_json(cache / "recipe.json") != made_with:
        raise SystemExit(
            f"error: the features in {cache} were made with {runs.read_json(cache / 'recipe.json')}, not "
            f"{made_with}: give this recipe its own --features (or --work) folder"
        )
    if shallower is not None:
        source = runs.read_json(shallower / "recipe.json")
        source_blocks = source.get("frozen_blocks", recipe["frozen_blocks"])
        if source | {"frozen_blocks": recipe["frozen_blocks"]} != made_with or source_blocks >= recipe["frozen_blocks"]:
            raise SystemExit(
                f"error: the features in {shallower} were made with {source}: --features-from needs the same "
                f"photos and settings as {made_with}, with fewer frozen stages"
            )
        between = frozen.stages[source_blocks:]
    train_images, val_images = image_set.images[split["train"]], image_set.images[split["val"]]
    views = {  # name: (photos, seed of its random crops, or None for no crops)
        "train_plain": (train_images, None),
        **{f"train_augmented_{i}": (train_images, i) for i in range(recipe["augmented_views"])},
        "val_plain": (val_images, None),
        "val_flipped": (val_images.flip(3), None),
    }
    cache.mkdir(parents=True, exist_ok=True)
    runs.write_json(cache / "recipe.json", made_with)
    features = {}
    for name, (images, seed) in views.items():
        path = cache / f"{name}.safetensors"
        if not path.is_file():
            if shallower is not None:
                computed = deepen(between, load_file(str(shallower / path.name))[name], f"features {name}")
            else:
                torch.manual_seed(seed or 0)
                computed = extract(frozen, images, recipe, seed is not None, f"features {name}")
            save_file({name: computed.contiguous()}, str(path) + ".tmp")
            Path(str(path) + ".tmp").replace(path)
        features[name] = load_file(str(path))[name]
    print(f"features from {cache}: " + ", ".join(features), flush=True)
    return features


def stratified_fraction(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Sorted positions of `fraction` of each class's photos (at least one), drawn with the seed."""
    generator = torch.Generator().manual_seed(seed)
    kept = []
    for label in labels.unique():
        positions = (labels == label).nonzero().flatten()
        count = max(1, round(fraction * len(positions)))
        kept.append(positions[torch.randperm(len(positions), generator=generator)[:count]])
    return torch.cat(kept).sort().values


def train_one_epoch(trained, optimizer, scheduler, features, labels, recipe, epoch, seed) -> dict:
    """One pass over the training photos, each as one of its cached views, drawn at random."""
    trained.train()
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    order = torch.randperm(len(labels), generator=generator)
    views = [features["train_plain"]] + [features[f"train_augmented_{i}"] for i in range(recipe["augmented_views"])]
    view_of = torch.randint(len(views), (len(labels),), generator=generator)
    loss_sum, correct, seen = 0.0, 0, 0
    steps = len(labels) // recipe["batch_size"]
    for batch in tqdm(order[: steps * recipe["batch_size"]].split(recipe["batch_size"]), desc=f"epoch {epoch}"):
        inputs = torch.empty((len(batch), *views[0].shape[1:]), dtype=views[0].dtype)
        for index, view in enumerate(views):
            chosen = view_of[batch] == index
            inputs[chosen] = view[batch[chosen]]
        inputs = inputs.float().contiguous(memory_format=torch.channels_last)
        if torch.rand(1, generator=generator).item() < 0.5:  # the plain view is unflipped: flip half the batches
            inputs = inputs.flip(3)
        logits = trained(inputs)
        loss = F.cross_entropy(logits, labels[batch], label_smoothing=recipe["label_smoothing"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(batch)
        correct += (logits.argmax(1) == labels[batch]).sum().item()
        seen += len(batch)
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen}


@torch.inference_mode()
def validate(trained, features, labels) -> dict:
    """Validation loss and top-1 with flip TTA, from the cached features."""
    trained.eval()
    logits = []
    for plain, flipped in zip(features["val_plain"].split(512), features["val_flipped"].split(512)):
        as_float = [x.float().contiguous(memory_format=torch.channels_last) for x in (plain, flipped)]
        logits.append((trained(as_float[0]) + trained(as_float[1])) / 2)
    logits = torch.cat(logits)
    return {
        "val_loss": F.cross_entropy(logits, labels).item(),
        "val_acc": (logits.argmax(1) == labels).float().mean().item(),
    }


def save_checkpoint(path: Path, trained, optimizer, scheduler, best_state, progress: dict) -> None:
    """Everything a resumed run needs, as safetensors plus a JSON of the plain values."""
    tensors = {f"model.{k}": v for k, v in trained.state_dict().items()}
    tensors |= {f"best.{k}": v for k, v in best_state.items()} if best_state else {}
    for index, state in optimizer.state_dict()["state"].items():
        tensors |= {f"optimizer.{index}.{k}": v for k, v in state.items() if torch.is_tensor(v)}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path) + ".tmp")
    runs.write_json(Path(str(path) + ".json.tmp"), progress | {"scheduler": scheduler.state_dict()})
    Path(str(path) + ".tmp").replace(path)  # weights first, then the progress that points at them
    Path(str(path) + ".json.tmp").replace(str(path) + ".json")


def load_checkpoint(path: Path, trained, optimizer, scheduler):
    """(best_state, progress) of a saved checkpoint, with the model and optimizer restored in place."""
    tensors = load_file(str(path))
    progress = runs.read_json(Path(str(path) + ".json"))
    trained.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} or None
    state = optimizer.state_dict()
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state["state"].setdefault(int(index), {})[name] = value
    optimizer.load_state_dict(state)
    scheduler.load_state_dict(progress.pop("scheduler"))
    return best_state, progress


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder with one sub-folder of photos per class")
    parser.add_argument("--out", type=Path, required=True, help="the run folder to write")
    parser.add_argument("--work", type=Path, help="feature cache and checkpoint (default: OUT.work)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="overrides the recipe")
    parser.add_argument("--batch-size", type=int, help="overrides the recipe")
    parser.add_argument("--features", type=Path, help="the feature cache (default: WORK/features); runs may share one")
    parser.add_argument(
        "--features-from", type=Path, help="a cache of the same photos with fewer frozen stages, to start from"
    )
    parser.add_argument("--train-fraction", type=float, help="overrides the recipe: share of the training photos")
    parser.add_argument("--frozen-blocks", type=int, help="overrides the recipe: stages kept ImageNet's")
    parser.add_argument(
        "--model-id", choices=sorted(train.PRETRAINED_PACKAGES), help="overrides the recipe: the backbone"
    )
    args = parser.parse_args(argv)
    overrides = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "frozen_blocks": args.frozen_blocks,
        "model_id": args.model_id,
        "train_fraction": args.train_fraction,
    }
    recipe = RECIPE | {k: v for k, v in overrides.items() if v is not None}
    work = args.work or args.out.with_name(args.out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)  # denormal floats cost CPUs many times a normal multiply

    image_set = data.load_image_set(args.data, recipe["source_size"])
    if image_set.skipped:
        print(data.report_skipped(image_set.skipped))
    split = data.split_indices(image_set.labels.tolist(), image_set.digests, image_set.classes, args.seed)
    print(f"{len(image_set.classes)} classes, " + ", ".join(f"{k} {len(v)}" for k, v in split.items()), flush=True)

    model = models.build_model(recipe["model_id"], len(image_set.classes))
    train.load_pretrained(recipe["model_id"], model)
    model = model.to(memory_format=torch.channels_last)
    frozen = models.FirstStages(model, recipe["frozen_blocks"]).eval()
    trained = models.LaterStages(model, recipe["frozen_blocks"], recipe["dropout"])
    features = cached_features(args.features or work / "features", frozen, image_set, split, recipe, args.features_from)
    if recipe["train_fraction"] < 1:
        kept = stratified_fraction(image_set.labels[split["train"]], recipe["train_fraction"], args.seed)
        features |= {name: view[kept] for name, view in features.items() if name.startswith("train_")}
        split = split | {"train": [split["train"][i] for i in kept.tolist()]}
    train_labels, val_labels = image_set.labels[split["train"]], image_set.labels[split["val"]]

    optimizer = train.make_optimizer(trained, recipe)
    total_steps = recipe["epochs"] * (len(train_labels) // recipe["batch_size"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: train.lr_factor(recipe["schedule"], step, total_steps)
    )
    checkpoint = work / "checkpoint.safetensors"
    best_state, progress = None, {"epoch": 0, "history": [], "best_val": -1.0, "best_epoch": 0, "train_seconds": 0.0}
    if checkpoint.is_file():
        best_state, progress = load_checkpoint(checkpoint, trained, optimizer, scheduler)
        print(f"resumed after epoch {progress['epoch']}")

    for epoch in range(progress["epoch"] + 1, recipe["epochs"] + 1):
        started = time.perf_counter()
        row = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        row |= train_one_epoch(trained, optimizer, scheduler, features, train_labels, recipe, epoch, args.seed)
        row |= validate(trained, features, val_labels)
        row["seconds"] = time.perf_counter() - started
        progress["history"].append(row)
        progress["train_seconds"] += row["seconds"]
        progress["epoch"] = epoch
        if row["val_acc"] > progress["best_val"]:
            progress["best_val"], progress["best_epoch"] = row["val_acc"], epoch
            best_state = copy.deepcopy(trained.state_dict())
        save_checkpoint(checkpoint, trained, optimizer, scheduler, best_state, progress)
        print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)

    trained.load_state_dict(best_state)
    finish_run(args.out, model, image_set, split, recipe, progress, args.seed)


def finish_run(out: Path, model, image_set, split, recipe, progress, seed) -> None:
    """Score the whole model as it ships (half precision) on the test split and write the run folder."""
    spec = models.MODEL_SPECS[recipe["model_id"]]
    shipped = runs.half_precision(model.state_dict())
    model.load_state_dict(runs.full_precision(shipped))
    config = {
        "model_id": recipe["model_id"],
        "name": spec.name,
        "classes": image_set.classes,
        "source_size": recipe["source_size"],
        "input_size": recipe["input_size"],
        "train_input_size": recipe["input_size"],
        "mean": list(spec.mean),
        "std": list(spec.std),
        "tta_flip": recipe["tta_flip"],
        "parameters": models.count_parameters(model),
        "recipe": "finetune",
        "recipe_settings": recipe,
        "seed": seed,
        "best_epoch": progress["best_epoch"],
        "best_val_acc": progress["best_val"],
        "split_sizes": {name: len(indices) for name, indices in split.items()},
        "device": f"CPU ({torch.get_num_threads()} threads)",
        "processes": 1,
        "train_seconds": round(progress["train_seconds"], 1),
        "versions": train.package_versions(),
    }
    test = image_set.subset(split["test"])
    metrics = evaluate.score(evaluate.run_logits(model, config, test.images), test.labels, image_set.classes)
    runs.save_run(out, shipped, config, progress["history"], metrics)
    data.write_manifest(out / "split.json", image_set, split, seed)
    print(f"test top-1 {metrics['top1']:.4f} top-3 {metrics['top3']:.4f} -> {out}")


if __name__ == "__main__":
    main()
