"""How often the page offers the right Korean dish for a photo of a dish the model does not know.

    python -m foodcls.lookalikes --model weights/efficientnet_lite0_food101 \
        --photos ../shared/data/realworld-dev/_korean_other

The page offers the model's top 3 guesses and, beside them, the Korean dishes that data/lookalikes.csv
lists for those guesses. Each photo's dish is the part of its file name before `__` (`tteokbokki__...`);
data/korean_dev_labels.csv names the catalogue foods that count as that dish. Prints, as counts over
the photos: the right dish among the top 3 alone (before) and among the top 3 and their look-alikes
(after), how many look-alikes were offered, and each photo's offer with `--photos-detail`; with
`--known DIR` (class folders of the model's own dishes) also how many look-alikes those photos get.

The look-alike table was written by looking at the deployed model's guesses for these very photos
(realworld-dev is the development half), so "after" is optimistic: measure on the evaluation half
before quoting it as what users will see.
"""

import argparse
import csv
import json
from pathlib import Path

import torch

from foodcls import predict, service
from foodcls.catalogue import ROOT, Catalogue

DEV_LABELS_CSV = ROOT / "data" / "korean_dev_labels.csv"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".jfif", ".gif", ".bmp", ".heic", ".avif"}


def read_labels(path: Path = DEV_LABELS_CSV) -> dict[str, set[str]]:
    """Dish name (the file-name prefix) -> the catalogue ids that count as that dish (empty: no row)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["dish"]: set(row["food_ids"].split()) for row in csv.DictReader(f)}


def offers(catalogue: Catalogue, top: list[str]) -> list[str]:
    """What the page offers for a photo: the top guesses, then their look-alikes (each id once)."""
    found = list(top)
    found += [alike.food.id for alike in catalogue.lookalikes(top) if alike.food.id not in found]
    return found


def measure(top_by_photo: dict[str, list[str]], catalogue: Catalogue, labels: dict[str, set[str]]) -> dict:
    """Counts over the photos (name -> top-3 class ids): right dish in the top 3, in the top 3 and
    their look-alikes, photos whose dish has no catalogue row, and look-alikes offered."""
    report = {"photos": 0, "before": 0, "after": 0, "no_row": 0, "lookalikes_offered": 0, "detail": {}}
    for name, top in sorted(top_by_photo.items()):
        dish = name.split("__")[0]
        if dish not in labels:
            raise ValueError(f"{dish} (from {name}) has no line in {DEV_LABELS_CSV.name}")
        right, offered = labels[dish], offers(catalogue, top)
        report["photos"] += 1
        report["no_row"] += not right
        report["before"] += bool(right & set(top))
        report["after"] += bool(right & set(offered))
        report["lookalikes_offered"] += len(offered) - len(top)
        report["detail"][name] = {"top": top, "lookalikes": offered[len(top) :], "right": bool(right & set(offered))}
    return report


def side_cost(top_by_photo: dict[str, list[str]], catalogue: Catalogue) -> dict:
    """What the table adds for photos of dishes the model knows: how many photos get look-alikes
    beside their guesses, and how many look-alikes in all."""
    offered = [len(offers(catalogue, top)) - len(top) for top in top_by_photo.values()]
    return {"photos": len(offered), "with_lookalikes": sum(n > 0 for n in offered), "lookalikes_offered": sum(offered)}


def top_guesses(run_dir: Path, photos: list[Path], k: int = service.TOP_K) -> dict[str, list[str]]:
    """The run's top-k class ids for each photo, read and classified as the app does."""
    classifier = predict.load_classifier(run_dir)
    top = {}
    for path in photos:
        probabilities = classifier.probabilities(service.read_photo(path))
        top[path.name] = [classifier.classes[i] for i in probabilities.topk(k).indices.tolist()]
    return top


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", type=Path, required=True, help="a run folder, e.g. weights/efficientnet_lite0_food101"
    )
    parser.add_argument("--photos", type=Path, required=True, help="a folder of photos named <dish>__....jpg")
    parser.add_argument("--labels", type=Path, default=DEV_LABELS_CSV)
    parser.add_argument("--photos-detail", action="store_true", help="print each photo's guesses and look-alikes")
    parser.add_argument(
        "--known", type=Path, help="also a folder of class folders of the model's own dishes: the look-alikes they get"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    foods = Catalogue.load()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    report = measure(top_guesses(args.model, photos), foods, read_labels(args.labels))
    if not args.photos_detail:
        report.pop("detail")
    if args.known:
        known = sorted(
            p for folder in args.known.iterdir() if folder.is_dir() and not folder.name.startswith("_")
            for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES
        )  # fmt: skip
        report["known_dishes"] = side_cost(top_guesses(args.model, known), foods)
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
