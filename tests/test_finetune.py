"""Fine-tuning on cached frozen features: a run folder the app can load, and resuming after a cut."""

import json

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from foodcls import finetune
from foodcls.predict import load_classifier


def _finetune(folder, out, epochs, *extra):
    finetune.main(["--data", str(folder), "--out", str(out), "--epochs", str(epochs), "--batch-size", "8", *extra])
    return json.loads((out / "config.json").read_text())


def test_finetune_writes_a_run_that_classifies_full_size_photos_as_small_ones(tiny_folder, tmp_path):
    config = _finetune(tiny_folder, tmp_path / "run", 2)
    assert (config["source_size"], config["input_size"]) == (64, 128)
    assert config["classes"] == ["blue", "green", "red"]
    classifier = load_classifier(tmp_path / "run")
    photo = Image.open(next((tiny_folder / "red").iterdir()))
    big = photo.resize((640, 640), Image.Resampling.NEAREST)
    assert classifier.pixels(big).shape == (1, 3, 128, 128)
    assert classifier.predict(big)[0][0] == classifier.predict(photo)[0][0]


def test_finetune_resumes_from_its_checkpoint(tiny_folder, tmp_path, capsys):
    _finetune(tiny_folder, tmp_path / "run", 1)
    capsys.readouterr()
    _finetune(tiny_folder, tmp_path / "run", 2)
    printed = capsys.readouterr().out
    assert "resumed after epoch 1" in printed and "features from" in printed
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]


def test_finetune_refuses_features_cached_for_other_frozen_stages(tiny_folder, tmp_path):
    config = _finetune(tiny_folder, tmp_path / "run", 1)
    assert config["recipe_settings"]["frozen_blocks"] == finetune.RECIPE["frozen_blocks"]
    args = ["--data", str(tiny_folder), "--out", str(tmp_path / "run"), "--epochs", "1", "--frozen-blocks", "2"]
    with pytest.raises(SystemExit, match=r"give this recipe its own --features \(or --work\) folder"):
        finetune.main(args)
    config = _finetune(tiny_folder, tmp_path / "other", 1, "--frozen-blocks", "2")
    assert config["recipe_settings"]["frozen_blocks"] == 2


def test_finetune_refuses_features_cached_for_another_split(tiny_folder, tmp_path):
    _finetune(tiny_folder, tmp_path / "run", 1)
    shared = ["--features", str(tmp_path / "run.work" / "features")]
    with pytest.raises(SystemExit, match="give this recipe its own --features"):
        _finetune(tiny_folder, tmp_path / "other_seed", 1, "--seed", "1", *shared)


def test_a_learning_curve_point_trains_on_a_share_of_each_dish_from_a_shared_cache(tiny_folder, tmp_path, capsys):
    full = _finetune(tiny_folder, tmp_path / "full", 1)
    capsys.readouterr()
    shared = tmp_path / "full.work" / "features"
    half = _finetune(tiny_folder, tmp_path / "half", 1, "--train-fraction", "0.5", "--features", str(shared))
    assert f"features from {shared}" in capsys.readouterr().out
    assert not (tmp_path / "half.work" / "features").exists()  # nothing recomputed
    assert half["split_sizes"]["train"] == round(full["split_sizes"]["train"] / 2)
    assert (half["split_sizes"]["val"], half["split_sizes"]["test"]) == (
        full["split_sizes"]["val"],
        full["split_sizes"]["test"],
    )
    trained_on = json.loads((tmp_path / "half" / "split.json").read_text())["splits"]["train"]
    assert len(trained_on) == half["split_sizes"]["train"]
    assert {path.split("/")[0] for path in trained_on} == {"blue", "green", "red"}


def test_finetune_deepens_a_shallower_cache_instead_of_rerunning_the_photos(tiny_folder, tmp_path):
    _finetune(tiny_folder, tmp_path / "frozen3", 1)
    shallower = tmp_path / "frozen3.work" / "features"
    _finetune(tiny_folder, tmp_path / "direct", 1, "--frozen-blocks", "4")
    deepened = _finetune(
        tiny_folder, tmp_path / "frozen4", 1, "--frozen-blocks", "4", "--features-from", str(shallower)
    )
    assert deepened["recipe_settings"]["frozen_blocks"] == 4
    direct, derived = (
        load_file(str(tmp_path / f"{run}.work" / "features" / "val_plain.safetensors"))["val_plain"]
        for run in ("direct", "frozen4")
    )
    assert derived.shape == direct.shape
    assert torch.allclose(derived.float(), direct.float(), atol=0.1, rtol=0.05)  # bf16 rounding between the stages
    with pytest.raises(SystemExit, match="--features-from needs the same photos and settings"):
        _finetune(tiny_folder, tmp_path / "frozen2", 1, "--frozen-blocks", "2", "--features-from", str(shallower))
