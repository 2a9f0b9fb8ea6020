"""Calibration: the fitted temperature, the coverage curve and the threshold's bounds."""

import json

import torch
from helpers import COLOURS, colour_photo, make_class_folder, save

from foodcls import calibrate, evaluate, finetune


def test_fit_temperature_recovers_the_temperature_that_made_overconfident_logits():
    generator = torch.Generator().manual_seed(0)
    honest = torch.randn(4000, 10, generator=generator) * 2
    labels = torch.multinomial(honest.softmax(1), 1, generator=generator).squeeze(1)
    assert abs(calibrate.fit_temperature(honest * 3, labels) - 3) < 0.3


def test_coverage_curve_counts_named_right_and_outside_photos():
    confidence = torch.tensor([0.9, 0.7, 0.3, 0.8, 0.2])
    correct = torch.tensor([True, False, True, False, False])
    outside = torch.tensor([False, False, False, True, True])
    row = next(r for r in evaluate.coverage_curve(confidence, correct, outside) if r["threshold"] == 0.5)
    assert row == {"threshold": 0.5, "known": 3, "named": 2, "named_right": 1, "outside": 2, "outside_named": 1}


def test_most_confident_half_counts_the_right_of_the_surest_known_photos_and_the_outside_ones_as_sure():
    confidence = torch.tensor([0.9, 0.85, 0.8, 0.7, 0.6, 0.3, 0.2])
    correct = torch.tensor([True, False, False, False, True, True, False])
    outside = torch.tensor([False, True, False, True, False, False, True])
    # the surer half of the four known photos: 0.9 (right) and 0.8 (wrong); 0.85 is an outside photo as sure
    assert evaluate.most_confident(confidence, correct, outside, 0.5) == {
        "named": 2, "named_right": 1, "outside_named": 1, "outside": 3
    }  # fmt: skip
    no_known = evaluate.most_confident(confidence[:2], correct[:2], torch.tensor([True, True]), 0.5)
    assert no_known == {"named": 0, "named_right": 0, "outside_named": 0, "outside": 2}


def _row(threshold, named, right, outside_named, known=100, outside=50):
    return {"threshold": threshold, "known": known, "named": named, "named_right": right,
            "outside": outside, "outside_named": outside_named}  # fmt: skip


def test_choose_threshold_names_most_photos_within_both_bounds():
    curve = [
        _row(0.3, 90, 75, 20),  # precision 83%: too low
        _row(0.5, 70, 64, 6),  # 91% right, 12% of the others named: too many
        _row(0.6, 60, 56, 4),  # 93%, 8%: the answer
        _row(0.8, 30, 30, 0),
    ]
    assert calibrate.choose_threshold(curve) == (0.6, True)


def test_choose_threshold_says_when_no_threshold_meets_the_bounds():
    curve = [_row(0.3, 90, 70, 40), _row(0.6, 50, 46, 30), _row(0.9, 10, 10, 20)]
    assert calibrate.choose_threshold(curve) == (0.6, False)


def test_calibrate_chooses_the_serving_size_and_views_on_real_photos_and_rescores_the_test_split(tmp_path):
    run, training = tmp_path / "run", make_class_folder(tmp_path / "jpeg", suffix=".jpg")  # saved as Pillow saves
    finetune.main(["--data", str(training), "--out", str(run), "--epochs", "2", "--batch-size", "8"])
    real = tmp_path / "real"  # big photos of two known colours, and grey ones the run must not name
    for label, name in enumerate(["red", "blue", "_not_food"]):
        (real / name).mkdir(parents=True)
        for i in range(4):
            rgb = COLOURS.get(name, (128, 128, 128))
            save(colour_photo(rgb, seed=500 + 10 * label + i, size=480), real / name / f"{i}.jpg")

    result = calibrate.main(["--model", str(run), "--data", str(training), "--real", str(real)])

    config = json.loads((run / "config.json").read_text())
    assert result["input_size"] == config["input_size"] in calibrate.SERVING_SIZES
    assert tuple(result["tta_zooms"]) == tuple(config["tta_zooms"]) in calibrate.TTA_ZOOMS
    stored = {"quality": 75, "subsampling": "4:2:0"}
    assert result["source_jpeg"] == config["source_jpeg"] in (None, stored)
    tried = config["real_photos_by_way"]  # every size and views, with the photo stored as JPEG and not
    assert len(tried) == len(calibrate.SERVING_SIZES) * len(calibrate.TTA_ZOOMS) * 2
    assert sum("stored as JPEG 75 4:2:0" in way for way in tried) == len(tried) // 2
    assert calibrate.way_name(config) in tried
    assert all(s["top1"].endswith(" of 8") and s["named"].endswith(" of 8") for s in tried.values())
    assert config["temperature"] == result["temperature"] and config["threshold"] == result["threshold"]
    assert (result["real"]["n_known"], result["real"]["n_outside"]) == (8, 4)
    # the card's test numbers are what `evaluate --split test` prints for the run as it now serves
    assert json.loads((run / "metrics.json").read_text()) == evaluate.evaluate_run(run, training, "test")
