"""Average fine-tuned runs into one run: each photo's logits are the mean of the members' logits.

    python -m foodcls.ensemble --runs RUN_A RUN_B --data ~/.cache/foodcls/food101-64 --out OUT

The members must be one backbone trained on the same split (split.json), so the test split stays
unseen by every member. The command prints each member's and the ensemble's validation top-1 (the
evidence for serving it, as its train and serve cost is the members' together) and writes a run
folder that `calibrate`, `evaluate`, the app and the bench use as any other; its test scores are in
metrics.json.
"""

import argparse
from pathlib import Path

import torch

from foodcls import data, evaluate, models, runs

SHARED_SETTINGS = ("model_id", "classes", "source_size", "train_input_size", "mean", "std", "tta_flip")
CALIBRATION_KEYS = ("tta_zooms", "temperature", "threshold", "real_photos_by_way", "val_top1_by_input_size")


def load_members(run_dirs: list[Path]) -> tuple[list[torch.nn.Module], list[dict], dict]:
    """The members' models and configs, and their common split; SystemExit when they do not fit together."""
    loaded = [runs.load_run(run_dir) for run_dir in run_dirs]
    splits = [data.read_manifest(Path(run_dir) / "split.json") for run_dir in run_dirs]
    first = loaded[0][1]
    for run_dir, (_, config), split in zip(run_dirs, loaded, splits):
        differing = [key for key in SHARED_SETTINGS if config.get(key) != first.get(key)]
        if differing or runs.members_of(config) != 1:
            raise SystemExit(f"error: {run_dir} differs from {run_dirs[0]} in {differing or ['members']}")
        if split["splits"] != splits[0]["splits"]:
            raise SystemExit(f"error: {run_dir} was trained on another split than {run_dirs[0]}")
    return [model for model, _ in loaded], [config for _, config in loaded], splits[0]


def ensemble_config(base: dict, configs: list[dict], val_top1: dict, model: torch.nn.Module) -> dict:
    """`base` (the first member's config as scored) with each member's recipe and the ensemble's validation top-1."""
    member_summaries = [
        {key: config[key] for key in ("recipe_settings", "best_epoch", "best_val_acc", "train_seconds")}
        | {"val_top1": top1}
        for config, top1 in zip(configs, val_top1["members"])
    ]
    return base | {
        "members": len(configs),
        "member_runs": member_summaries,
        "recipe": f"ensemble of {len(configs)} {base['recipe']}",
        "parameters": models.count_parameters(model),
        "best_val_acc": val_top1["ensemble"],
        "train_seconds": round(sum(config["train_seconds"] for config in configs), 1),
    }


def split_logits(members: list[torch.nn.Module], config: dict, data_dir: Path, paths: list[str]):
    """Each member's float32 logits of one split's photos (served as `config` serves), and the labels."""
    photos = evaluate.load_run_photos(config, data_dir, set(paths))
    return [evaluate.run_logits(member, config, photos.images) for member in members], photos.labels


def build_ensemble(run_dirs: list[Path], data_dir: Path, out: Path) -> dict:
    """Write the ensemble run to `out`; its members' and its own validation top-1, and its test scores."""
    members, configs, split = load_members(run_dirs)
    # served at the training input size, one view, until `calibrate` chooses the serving way on real photos
    base = {key: value for key, value in configs[0].items() if key not in CALIBRATION_KEYS}
    base["input_size"] = base["train_input_size"]
    classes = base["classes"]

    val_logits, val_labels = split_logits(members, base, data_dir, split["splits"]["val"])
    val_top1 = {
        "members": [evaluate.score(logits, val_labels, classes)["top1"] for logits in val_logits],
        "ensemble": evaluate.score(torch.stack(val_logits).mean(0), val_labels, classes)["top1"],
    }
    ensemble = models.Ensemble(members).eval()
    config = ensemble_config(base, configs, val_top1, ensemble)
    test_logits, test_labels = split_logits(members, config, data_dir, split["splits"]["test"])
    metrics = evaluate.score(torch.stack(test_logits).mean(0), test_labels, classes)
    history = [
        row | {"member": index}
        for index, run_dir in enumerate(run_dirs)
        for row in runs.read_json(Path(run_dir) / "history.json")
    ]
    runs.save_run(out, runs.half_precision(ensemble.state_dict()), config, history, metrics)
    (out / "split.json").write_text((Path(run_dirs[0]) / "split.json").read_text())
    return val_top1 | {"test_top1": metrics["top1"], "test_top5": metrics["top5"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="the member run folders")
    parser.add_argument("--data", type=Path, required=True, help="the members' training data (for val and test)")
    parser.add_argument("--out", type=Path, required=True, help="the run folder to write")
    args = parser.parse_args(argv)
    if not 2 <= len(args.runs) <= runs.MAX_MEMBERS:
        raise SystemExit(f"error: an ensemble has 2 to {runs.MAX_MEMBERS} member runs")
    result = build_ensemble(args.runs, args.data, args.out)
    members = ", ".join(f"{top1:.2%}" for top1 in result["members"])
    print(f"validation top-1: members {members}; ensemble {result['ensemble']:.2%}")
    print(f"test top-1 {result['test_top1']:.2%}, top-5 {result['test_top5']:.2%} -> {args.out}")
    return result


if __name__ == "__main__":
    main()
