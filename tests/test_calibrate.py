"""Calibration: the fitted temperature, the coverage curve and the threshold's bounds."""

import json
import shutil

import pytest
import torch
from helpers import COLOURS, colour_photo, make_class_folder, save

from foodcls import calibrate, data, evaluate, finetune, hub, predict, runs, serving
from foodcls.store import RunStore


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


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A run fine-tuned on small JPEGs of two colours and calibrated on big photos of them and grey ones
    it must not name: (run, training folder, real photos, what calibrate returned)."""
    tmp_path = tmp_path_factory.mktemp("calibrated")
    run, training = tmp_path / "run", make_class_folder(tmp_path / "jpeg", suffix=".jpg")  # saved as Pillow saves
    finetune.main(["--data", str(training), "--out", str(run), "--epochs", "2", "--batch-size", "8"])
    real = tmp_path / "real"
    for label, name in enumerate(["red", "blue", "_not_food"]):
        (real / name).mkdir(parents=True)
        for i in range(4):
            rgb = COLOURS.get(name, (128, 128, 128))
            save(colour_photo(rgb, seed=500 + 10 * label + i, size=480), real / name / f"{i}.jpg")
    result = calibrate.main(["--model", str(run), "--data", str(training), "--real", str(real)])
    return run, training, real, result


def test_calibrate_chooses_the_serving_size_and_views_on_real_photos_and_rescores_the_test_split(calibrated):
    run, training, _, result = calibrated
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


def test_the_way_without_bf16_is_the_cheapest_within_half_a_point_and_served_only_there(
    calibrated, tmp_path, monkeypatch
):
    own_run, training, real, _ = calibrated
    run = shutil.copytree(own_run, tmp_path / "run")
    own = runs.read_json(run / "config.json")
    own["tta_zooms"], own["tta_flip"] = [1.0, 0.65], True  # four images per photo, whatever calibrate kept
    runs.write_json(run / "config.json", own)

    result = calibrate.main(["--model", str(run), "--data", str(training), "--real", str(real), "--without-bf16"])

    tried = result["tried"]  # every subset keeping the whole square first, cheapest first, the own way last
    assert [calibrate.images_per_photo(row) for row in tried] == [1, 2, 2, 4]
    assert {key: tried[-1][key] for key in ("tta_flip", "tta_zooms")} == {"tta_flip": True, "tta_zooms": [1.0, 0.65]}

    def acceptable(row):
        own_row = tried[-1]
        return (
            row["val_top1"] >= own_row["val_top1"] - 0.005 * own_row["val"]
            and row["real_top1"] >= own_row["real_top1"] - 0.005 * own_row["real_known"]
            and (row["threshold_meets_bounds"] or row is own_row)
        )

    chosen = next(row for row in tried if acceptable(row))
    assert result["chosen"] == calibrate.short_name(chosen)
    config = runs.read_json(run / "config.json")
    cheaper = config[runs.WITHOUT_BF16]
    assert cheaper == {key: chosen[key] for key in runs.WITHOUT_BF16_SETTINGS}
    assert {key: config[key] for key in ("tta_zooms", "tta_flip")} == {"tta_zooms": [1.0, 0.65], "tta_flip": True}
    # its test top-1, scored after the choice, is what evaluate gives the run with those settings
    model, _ = runs.load_run(run)
    test_split = set(data.read_manifest(run / "split.json")["splits"]["test"])
    test = evaluate.load_run_photos(config, training, test_split)
    logits = evaluate.run_logits(model, config | cheaper, test.images)
    assert (
        runs.read_json(run / "metrics.json")[runs.WITHOUT_BF16]["top1"]
        == evaluate.score(logits, test.labels, config["classes"])["top1"]
    )

    # the app serves that way where bfloat16 is not native, and the run's own way where it is
    for native, settings in ((False, cheaper), (True, {key: config[key] for key in runs.WITHOUT_BF16_SETTINGS})):
        monkeypatch.setattr(serving, "bf16_is_native", lambda native=native: native)
        classifier = predict.load_classifier(run)
        assert {key: classifier.config[key] for key in runs.WITHOUT_BF16_SETTINGS} == settings
        pixels = classifier.pixels(colour_photo((200, 30, 30), seed=1, size=300))
        assert len(classifier.request_inputs(pixels)) == calibrate.images_per_photo(settings)
        store = RunStore(hub.WeightsSource(None, hub.UNPUBLISHED, bundled=tmp_path), known_runs=["run"])
        assert store.run_json("run", "config.json")["threshold"] == settings["threshold"]
        assert store.classifier("run")[0].config["tta_zooms"] == settings["tta_zooms"]
