"""Make a run honest about real photos: its serving size and threshold tuned on real photos, a
temperature fitted on validation.

    python -m foodcls.calibrate --model RUN --data TRAINING_DIR --real ../shared/data/realworld-dev

1. How the run sees a photo: a run trained on small photos (config `source_size`) sees every photo
   shrunk to that size, then enlarged to its input size (one of SERVING_SIZES), and averages its
   views (TTA_ZOOMS: the whole centre square, or it and a zoom into its middle). Where the training
   photos are JPEGs saved alike (Food-101's 64 px photos: quality 75, colour at half resolution),
   each way is also tried with the shrunk photo saved and read back so (config `source_jpeg`). The
   way kept is the one at which a threshold within the bounds of 3 names the most real photos of
   known dishes (then: the best top-1, the cheaper forward).
2. Temperature scaling (Guo et al., 2017): one number T that divides the logits, fitted by
   minimising the negative log-likelihood on the run's own validation split at that size; it
   changes no ranking.
3. The "not a known dish" threshold on the calibrated top probability, chosen on real photos
   (folders named by class id; folders the run does not know, such as `_not_food`, count as
   photos it must not name): the lowest threshold that names the most photos of known dishes
   while at least 90% of the named are right and at most 10% of the others are named.

Real photos go through `Classifier.logits`, the app's own path. Writes `input_size`, `tta_zooms`,
`source_jpeg`, `temperature` and `threshold` into the run's config.json, the curves with their
counts into calibration.json, and re-scores the held-out test split the serving way into
metrics.json (what `evaluate` prints).

`--without-bf16`, after that, chooses the way the run is served where bfloat16 is not native and
float32 runs about half as fast (issue 30): of its own views and flips, the cheapest subset (the whole
square kept first) whose top-1 on validation and on the real photos is at most 0.5 points below all of
them, in float32, and whose own temperature and threshold meet the bounds. Chosen without the test
split, which is scored afterwards; written as config `without_bf16` (predict.config_for_this_cpu) and
into calibration.json and metrics.json under the same key.
"""

import argparse
import math
from pathlib import Path

import torch
from torch.nn import functional as F

from foodcls import data, evaluate, predict, runs, serving

MIN_PRECISION = 0.90  # of the photos of known dishes it names, at least this share right
MAX_OUTSIDE_NAMED = 0.10  # of the photos of dishes it does not know, at most this share named
SERVING_SIZES = (128, 160, 192)  # input sizes tried for a run trained on small photos
# Test-time views tried: fractions of the centre square's side, each run with its mirror image. Training
# crops had 35-100% of the area (finetune.RECIPE min_scale), so a zoom of 0.65-0.8 of the side is familiar.
TTA_ZOOMS = ((1.0,), (1.0, 0.8), (1.0, 0.65))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimising cross-entropy of logits / T (a grid, then a finer one around the best)."""
    grid = torch.exp(torch.linspace(math.log(0.2), math.log(5.0), 161))
    losses = torch.stack([F.cross_entropy(logits / t, labels) for t in grid])
    best = grid[losses.argmin()].item()
    fine = torch.linspace(best * 0.97, best * 1.03, 61)
    return round(fine[torch.stack([F.cross_entropy(logits / t, labels) for t in fine]).argmin()].item(), 4)


def choose_threshold(curve: list[dict]) -> tuple[float, bool]:
    """(threshold, whether it meets both bounds): the one naming most known photos within the bounds;
    where none does, the lowest threshold that keeps the precision bound, or the highest."""

    def meets(row, check_outside=True):
        precise = row["named"] and row["named_right"] >= MIN_PRECISION * row["named"]
        quiet = not row["outside"] or row["outside_named"] <= MAX_OUTSIDE_NAMED * row["outside"]
        return precise and (quiet or not check_outside)

    within = [row for row in curve if meets(row)]
    if within:
        return max(within, key=lambda row: (row["named"], -row["threshold"]))["threshold"], True
    precise = [row for row in curve if meets(row, check_outside=False)]
    return (precise[0] if precise else curve[-1])["threshold"], False


def validation_logits(run_dir: Path, data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 logits (flip TTA) of the run's validation split, prepared as the run sees photos."""
    model, config = runs.load_run(run_dir)
    only = set(data.read_manifest(Path(run_dir) / "split.json")["splits"]["val"])
    val = evaluate.load_run_photos(config, data_dir, only)
    return evaluate.run_logits(model, config, val.images), val.labels


def real_photo_scores(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    """Of the real photos of known dishes: how many have their dish first, and how many the best
    threshold within the bounds names (0 when none keeps them), on uncalibrated probabilities."""
    report = evaluate.real_photo_report(logits, labels, classes, 1.0)
    threshold, meets_bounds = choose_threshold(report["curve"])
    named = next(row["named"] for row in report["curve"] if row["threshold"] == threshold)
    return {"top1": report["hits"]["top1"], "named": named if meets_bounds else 0}


def serving_ways(config: dict, stored_jpeg: dict | None = None) -> list[dict]:
    """The (input size, views, JPEG storing) ways tried for a run, cheapest forward first; one for a
    run that was trained on the photos it serves (no `source_size`). With `stored_jpeg` (how the
    training photos were stored), each way is tried with the shrunk photo stored so and as it is."""
    if "source_size" not in config:
        return [{"input_size": config["input_size"], "tta_zooms": predict.zooms_of(config)}]
    ways = [
        {"input_size": size, "tta_zooms": list(zooms), "source_jpeg": jpeg}
        for size in SERVING_SIZES
        for zooms in TTA_ZOOMS
        for jpeg in [None] + ([stored_jpeg] if stored_jpeg else [])
    ]
    return sorted(ways, key=lambda way: way["input_size"] ** 2 * len(way["tta_zooms"]))


def way_name(way: dict) -> str:
    views = f"{way['input_size']} px, views " + " + ".join(f"{zoom:g}" for zoom in way["tta_zooms"])
    jpeg = way.get("source_jpeg")
    return views + (f", stored as JPEG {jpeg['quality']} {jpeg['subsampling']}" if jpeg else "")


def choose_serving_way(
    run_dir: Path, real_dir: Path, stored_jpeg: dict | None = None
) -> tuple[dict, dict[str, dict], torch.Tensor, torch.Tensor]:
    """(input size, views and storing, scores on real photos by way, real-photo logits and labels that
    way): the way that names the most real photos of known dishes within the bounds, then the best top-1, then
    the cheaper forward."""
    model, config = runs.load_run(run_dir)
    ways = serving_ways(config, stored_jpeg)
    classifiers = [predict.Classifier(model, config | way) for way in ways]
    logits, labels, _ = evaluate.photo_folder_logits(classifiers, real_dir)
    scores = [real_photo_scores(found, labels, config["classes"]) for found in logits]
    best = max(range(len(ways)), key=lambda i: (scores[i]["named"], scores[i]["top1"], -i))
    return ways[best], {way_name(w): s for w, s in zip(ways, scores)}, logits[best], labels


def calibrate(run_dir: Path, data_dir: Path, real_dir: Path) -> dict:
    config_path = Path(run_dir) / "config.json"
    stored_jpeg = data.stored_jpeg_settings(data_dir)
    way, scores_by_way, real_logits, real_labels = choose_serving_way(run_dir, real_dir, stored_jpeg)
    config = runs.read_json(config_path) | way
    config.pop(runs.WITHOUT_BF16, None)  # chosen against the way replaced here: `--without-bf16` chooses anew
    runs.write_json(config_path, config)  # the validation and test scoring below read the run from disk

    val_logits, val_labels = validation_logits(run_dir, data_dir)
    temperature = fit_temperature(val_logits, val_labels)
    val_confidence, val_predicted = (val_logits / temperature).softmax(1).max(1)
    val_curve = evaluate.coverage_curve(
        val_confidence, val_predicted == val_labels, torch.zeros_like(val_labels, dtype=bool)
    )
    real = evaluate.real_photo_report(real_logits, real_labels, config["classes"], temperature)
    threshold, meets_bounds = choose_threshold(real["curve"])

    n_known = real["n_known"]
    by_way = {
        name: {"top1": f"{scores['top1']} of {n_known}", "named": f"{scores['named']} of {n_known}"}
        for name, scores in scores_by_way.items()
    }
    config |= {"temperature": temperature, "threshold": threshold}
    runs.write_json(config_path, config | {"real_photos_by_way": by_way})
    runs.write_json(Path(run_dir) / "metrics.json", evaluate.evaluate_run(run_dir, data_dir, "test"))
    result = way | {
        "real_photos_by_way": by_way,
        "temperature": temperature,
        "val_nll_before": round(F.cross_entropy(val_logits, val_labels).item(), 4),
        "val_nll_after": round(F.cross_entropy(val_logits / temperature, val_labels).item(), 4),
        "threshold": threshold,
        "threshold_meets_bounds": meets_bounds,
        "bounds": {"min_precision": MIN_PRECISION, "max_outside_named": MAX_OUTSIDE_NAMED},
        "val_curve": val_curve,
        "real_photos": str(real_dir.name),
        "real": real,
    }
    runs.write_json(Path(run_dir) / "calibration.json", result)
    curves = {"validation": val_curve, f"{real_dir.name} (real photos)": real["curve"]}
    (Path(run_dir) / "coverage.svg").write_text(coverage_svg(curves))
    return result


MAX_TOP1_COST = 0.005  # how far below the run's own way a cheaper way's top-1 may be (validation, real photos)


def images_per_photo(way: dict) -> int:
    return len(way["tta_zooms"]) * (1 + way["tta_flip"])


def cheaper_ways(config: dict) -> list[dict]:
    """The run's own views and flips, and every subset of them that keeps the whole square first, as
    config settings, fewest images per photo first (the run's own way last)."""
    zooms = predict.zooms_of(config)
    flips = [False, True] if config["tta_flip"] else [False]
    ways = [{"tta_flip": flip, "tta_zooms": zooms[:count]} for count in range(1, len(zooms) + 1) for flip in flips]
    return sorted(ways, key=images_per_photo)


def of_way(view_logits: torch.Tensor, way: dict) -> torch.Tensor:
    """The logits a way averages, from `evaluate.view_logits` of the run's own way (N x flips x views x C)."""
    return view_logits[:, : 1 + way["tta_flip"], : len(way["tta_zooms"])].mean((1, 2))


def short_name(way: dict) -> str:
    zooms = " + ".join(f"{zoom:g}" for zoom in way["tta_zooms"])
    images = images_per_photo(way)
    return f"views {zooms}{' × flip' if way['tta_flip'] else ''} ({images} image{'s' * (images > 1)})"


def calibrate_without_bf16(run_dir: Path, data_dir: Path, real_dir: Path) -> dict:
    """Choose, calibrate and score the cheaper way (module docstring); writes it into the run."""
    model, config = runs.load_run(run_dir)
    splits = data.read_manifest(Path(run_dir) / "split.json")["splits"]
    val = evaluate.load_run_photos(config, data_dir, set(splits["val"]))
    val_views = evaluate.view_logits(model, config, val.images)
    real_squares, real_labels, _ = evaluate.photo_folder_squares(real_dir, config)
    real_views = evaluate.view_logits(model, config, real_squares)

    tried = []
    for way in cheaper_ways(config):
        val_logits = of_way(val_views, way)
        temperature = fit_temperature(val_logits, val.labels)
        real = evaluate.real_photo_report(of_way(real_views, way), real_labels, config["classes"], temperature)
        threshold, meets_bounds = choose_threshold(real["curve"])
        at = next(row for row in real["curve"] if row["threshold"] == threshold)
        tried.append(
            {"way": short_name(way)}
            | way
            | {"temperature": temperature, "threshold": threshold, "threshold_meets_bounds": meets_bounds}
            | {"val_top1": evaluate.known_hits(val_logits, val.labels)["top1"], "val": len(val.labels)}
            | {"real_top1": real["hits"]["top1"], "real_known": real["n_known"]}
            | {key: at[key] for key in ("named", "named_right", "outside", "outside_named")}
        )
    own = tried[-1]
    chosen = next(
        row
        for row in tried
        if row["val_top1"] >= own["val_top1"] - MAX_TOP1_COST * own["val"]
        and row["real_top1"] >= own["real_top1"] - MAX_TOP1_COST * own["real_known"]
        and (row["threshold_meets_bounds"] or row is own)
    )
    settings = {key: chosen[key] for key in runs.WITHOUT_BF16_SETTINGS}
    config_path = Path(run_dir) / "config.json"
    runs.write_json(config_path, runs.read_json(config_path) | {runs.WITHOUT_BF16: settings})

    test = evaluate.load_run_photos(config, data_dir, set(splits["test"]))
    test_views = evaluate.view_logits(model, config, test.images)
    test_scores = {
        row["way"]: evaluate.known_hits(of_way(test_views, row), test.labels)["top1"] for row in (own, chosen)
    }
    result = {"chosen": chosen["way"], "max_top1_cost": MAX_TOP1_COST, "tried": tried}
    result |= {"test_top1": test_scores, "test": len(test.labels)}
    runs.write_json(
        Path(run_dir) / "calibration.json",
        runs.read_json(Path(run_dir) / "calibration.json") | {runs.WITHOUT_BF16: result},
    )
    metrics = runs.read_json(Path(run_dir) / "metrics.json")
    served = evaluate.score(of_way(test_views, chosen), test.labels, config["classes"])
    served = {key: served[key] for key in ("n", "top1", "top3", "top5")}
    runs.write_json(Path(run_dir) / "metrics.json", metrics | {runs.WITHOUT_BF16: served | {"way": chosen["way"]}})
    return result


def coverage_svg(curves: dict[str, list[dict]], width: int = 420, height: int = 300) -> str:
    """Precision against coverage as the threshold moves, one line per photo set: a small standalone SVG."""
    left, bottom, top, right = 50, 40, 20, 20
    colours = ["#1f77b4", "#d62728", "#2ca02c"]

    def x(coverage):
        return left + coverage * (width - left - right)

    def y(precision):
        return height - bottom - precision * (height - bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="11"><rect width="100%" height="100%" fill="white"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(0)}" y2="{y(1)}" stroke="black"/>',
        f'<line x1="{x(0)}" y1="{y(MIN_PRECISION)}" x2="{x(1)}" y2="{y(MIN_PRECISION)}" stroke="grey" '
        'stroke-dasharray="4"/>',
        f'<text x="{x(0.5)}" y="{height - 8}" text-anchor="middle">coverage: share of known-dish photos named</text>',
        f'<text x="12" y="{y(0.5)}" transform="rotate(-90 12 {y(0.5)})" text-anchor="middle">'
        "precision: share named right</text>",
    ]
    for tick in (0, 0.5, 1):
        parts.append(f'<text x="{x(tick)}" y="{y(0) + 14}" text-anchor="middle">{tick:.0%}</text>')
        parts.append(f'<text x="{x(0) - 4}" y="{y(tick) + 4}" text-anchor="end">{tick:.0%}</text>')
    for index, (name, curve) in enumerate(curves.items()):
        points = [(row["named"] / row["known"], row["named_right"] / row["named"]) for row in curve if row["named"]]
        path = " ".join(f"{x(c):.1f},{y(p):.1f}" for c, p in points)
        colour = colours[index % len(colours)]
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x(0.05)}" y="{y(0.05) - 14 * index}" fill="{colour}">{name}</text>')
    return "\n".join(parts + ["</svg>"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="the run folder to calibrate")
    parser.add_argument("--data", type=Path, required=True, help="the run's training data (for its validation split)")
    parser.add_argument("--real", type=Path, required=True, help="real photos, one folder per class id")
    parser.add_argument(
        "--without-bf16", action="store_true", help="choose the cheaper way served where bfloat16 is not native"
    )
    args = parser.parse_args(argv)
    serving.keep_freed_memory()  # see evaluate.OFFLINE_BATCH
    if args.without_bf16:
        return print_without_bf16(calibrate_without_bf16(args.model, args.data, args.real))
    result = calibrate(args.model, args.data, args.real)
    real, chosen = result["real"], next(r for r in result["real"]["curve"] if r["threshold"] == result["threshold"])
    print(f"serving {way_name(result)}; real photos of known dishes by way (top-1, named within the bounds):")
    for name, scores in result["real_photos_by_way"].items():
        print(f"  {name}: {scores['top1']}, {scores['named']}")
    print(f"temperature {result['temperature']} (val NLL {result['val_nll_before']} -> {result['val_nll_after']})")
    print(
        f"real photos of known dishes: top-1 {real['hits']['top1']} of {real['n_known']}, top-3 {real['hits']['top3']}, "
        f"top-5 {real['hits']['top5']}"
    )
    print(
        f"threshold {result['threshold']} (meets bounds: {result['threshold_meets_bounds']}): names "
        f"{chosen['named']} of {chosen['known']} known ({chosen['named_right']} right), "
        f"{chosen['outside_named']} of {chosen['outside']} others"
    )
    return result


def print_without_bf16(result: dict) -> dict:
    print("ways tried in float32 (validation top-1, real photos top-1, named at its own threshold):")
    for row in result["tried"]:
        print(
            f"  {row['way']}: {row['val_top1']} of {row['val']}, {row['real_top1']} of {row['real_known']}, "
            f"T {row['temperature']}, threshold {row['threshold']} names {row['named']} ({row['named_right']} right), "
            f"{row['outside_named']} of {row['outside']} others (meets bounds: {row['threshold_meets_bounds']})"
        )
    print(f"chosen: {result['chosen']}; test top-1: " + ", ".join(f"{k} {v}" for k, v in result["test_top1"].items()))
    return result


if __name__ == "__main__":
    main()
