"""An ensemble run: its members' logits averaged, served, calibrated and explained like any run."""

import json

import pytest
import torch
from PIL import Image

from foodcls import ensemble, finetune, predict, runs


def _finetune(folder, out, *extra):
    args = ["--data", str(folder), "--out", str(out), "--epochs", "1", "--batch-size", "8", *extra]
    finetune.main(args)
    return out


def test_an_ensemble_serves_the_mean_of_its_members_logits(tiny_folder, tmp_path, capsys):
    first = _finetune(tiny_folder, tmp_path / "frozen3")
    second = _finetune(tiny_folder, tmp_path / "frozen2", "--frozen-blocks", "2")
    capsys.readouterr()
    result = ensemble.main(
        ["--runs", str(first), str(second), "--data", str(tiny_folder), "--out", str(tmp_path / "e")]
    )
    assert "validation top-1: members" in capsys.readouterr().out
    config = json.loads((tmp_path / "e" / "config.json").read_text())
    assert config["members"] == 2 and config["best_val_acc"] == result["ensemble"]
    assert [member["val_top1"] for member in config["member_runs"]] == result["members"]
    assert [member["recipe_settings"]["frozen_blocks"] for member in config["member_runs"]] == [3, 2]
    history = json.loads((tmp_path / "e" / "history.json").read_text())
    assert [(row["member"], row["epoch"]) for row in history] == [(0, 1), (1, 1)]

    model, _ = runs.load_run(tmp_path / "e")
    members = [runs.load_run(first)[0], runs.load_run(second)[0]]
    inputs = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected = (members[0](inputs) + members[1](inputs)) / 2
        assert torch.allclose(model(inputs), expected, atol=1e-5)

    classifier = predict.load_classifier(tmp_path / "e")
    photo = Image.open(next((tiny_folder / "red").iterdir())).resize((300, 300))
    assert len(classifier.predict(photo, k=3)) == 3
    assert predict.grad_cam(classifier, photo, 0).size == (256, 256)
    assert runs.model_name(classifier.config) == "2 × EfficientNet-Lite0"  # as the app and the API name it
    assert runs.model_name(runs.read_json(first / "config.json")) == "EfficientNet-Lite0"


def test_an_ensemble_refuses_members_trained_on_another_split(tiny_folder, tmp_path):
    first = _finetune(tiny_folder, tmp_path / "seed0")
    other = _finetune(tiny_folder, tmp_path / "seed1", "--seed", "1")
    with pytest.raises(SystemExit, match="another split"):
        ensemble.main(["--runs", str(first), str(other), "--data", str(tiny_folder), "--out", str(tmp_path / "e")])
