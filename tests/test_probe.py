"""The backbone probe: a linear layer on frozen ImageNet features, scored on a run's test split and real photos."""

import json

from foodcls import finetune, probe


def test_some_of_each_class_draws_the_same_share_of_every_class_reproducibly():
    paths = [f"{dish}/{i}.jpg" for dish in ("pho", "ramen") for i in range(10)] + ["sushi/0.jpg"]
    drawn = probe.some_of_each_class(paths, 3, seed=0)
    assert sorted(path.split("/")[0] for path in drawn) == ["pho"] * 3 + ["ramen"] * 3 + ["sushi"]
    assert drawn == probe.some_of_each_class(list(reversed(paths)), 3, seed=0)


def test_a_probe_on_pretrained_features_tells_colour_dishes_apart(tiny_folder, tmp_path, capsys):
    finetune.main(["--data", str(tiny_folder), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "8"])
    split = json.loads((tmp_path / "run" / "split.json").read_text())["splits"]
    args = ["--data", str(tiny_folder), "--split-of", str(tmp_path / "run"), "--real", str(tiny_folder)]
    (result,) = probe.main([*args, "--model-ids", "efficientnet_lite0", "--per-class", "6"])
    tested = len(split["test"])
    assert result["test"]["photos"] == tested and result["test"]["top1"] >= tested - 1  # chance: a third
    assert result["real"]["photos"] == 36 and result["real"]["top1"] >= 33
    assert result["parameters"] > 3_000_000 and result["mmacs"] > 100
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
