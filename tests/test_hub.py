"""Hub files (issue #15 item 5): a commit-hash pin, a committed sha256 manifest, size limits, and a
run's config validated before use."""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakehub import FakeHub
from huggingface_hub import constants

from foodcls import hub, runs
from foodcls.store import BUNDLED, ModelUnavailable, RunStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_the_default_revision_is_a_commit_hash():
    assert re.fullmatch(r"[0-9a-f]{40}", hub.DEFAULT_REVISION)


@pytest.mark.skipif(not (ROOT / "weights" / "shallownet").is_dir(), reason="no bundled weights in weights/")
def test_the_committed_manifest_lists_exactly_the_files_in_weights():
    listed = hub.read_manifest(ROOT / "weights" / hub.MANIFEST)
    assert listed == hub.manifest_entries(ROOT / "weights"), (
        "weights/ changed: regenerate the manifest with `python -m foodcls.hub --write-manifest weights`"
    )
    assert {"efficientnet_lite0/model.safetensors", "resnet18/config.json"} <= set(listed)


def test_the_manifest_is_written_by_one_command_in_sha256sum_format(tiny_weights, tmp_path):
    folder = shutil.copytree(tiny_weights, tmp_path / "weights")
    (folder / hub.MANIFEST).unlink()
    subprocess.run([sys.executable, "-m", "foodcls.hub", "--write-manifest", str(folder)], cwd=ROOT, check=True)
    assert hub.read_manifest(folder / hub.MANIFEST) == hub.manifest_entries(folder)
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "-c", "--quiet", hub.MANIFEST], cwd=folder, check=True)
    check = [sys.executable, "-m", "foodcls.hub", "--check-manifest", str(folder)]
    assert subprocess.run(check, cwd=ROOT).returncode == 0
    (folder / "shallownet" / "metrics.json").write_text("{}")
    assert subprocess.run(check, cwd=ROOT, capture_output=True).returncode != 0


def test_a_hub_file_with_other_bytes_than_the_manifest_is_never_used(tiny_weights, tmp_path, hf_cache):
    served = shutil.copytree(tiny_weights, tmp_path / "served")
    config = json.loads((served / "shallownet" / "config.json").read_text())
    config["classes"] = list(reversed(config["classes"]))  # a valid config that would swap the answers
    (served / "shallownet" / "config.json").write_text(json.dumps(config))
    with FakeHub("foodcls/test", "v1", served) as fake:
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url)
        with pytest.raises(hub.HubFileRefused, match="sha256"):
            hub.hub_file(source, "shallownet", "config.json")
        classifier, label = RunStore(source).classifier("shallownet")
    assert (
        label == BUNDLED
        and classifier.classes == json.loads((tiny_weights / "shallownet/config.json").read_text())["classes"]
    )


def test_a_hub_file_over_its_size_limit_is_refused_before_download(tiny_weights, hf_cache, monkeypatch):
    monkeypatch.setitem(hub.MAX_FILE_BYTES, ".safetensors", 1000)
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url)
        with pytest.raises(hub.HubFileRefused, match="limit"):
            hub.hub_file(source, "shallownet", "model.safetensors")
    assert fake.downloads() == []  # the metadata request only


def test_files_outside_the_manifest_or_with_odd_names_are_refused_without_a_request(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url)
        for run, name in [("resnet18", "config.json"), ("../x", "config.json"), ("shallownet", "../../a.json")]:
            with pytest.raises(hub.HubFileRefused):
                hub.hub_file(source, run, name)
        store = RunStore(source, known_runs=["resnet18", "shallownet"])
        assert store.classifier("shallownet")[1] == source.hub_label()
        with pytest.raises(ModelUnavailable):
            store.classifier("resnet18")  # not in the manifest: refused, but the Hub stays on for the rest
        assert not store.hub_failed
        missing = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url, manifest="nowhere")
        with pytest.raises(hub.HubFileRefused, match="manifest"):
            hub.hub_file(missing, "shallownet", "config.json")
    assert not any("resnet18" in path or ".." in path for _, path in fake.requests)


def test_the_unpublished_placeholder_revision_asks_no_hub(tiny_weights):
    source = hub.WeightsSource("foodcls/test", hub.UNPUBLISHED, bundled=tiny_weights, endpoint="http://127.0.0.1:9")
    with pytest.raises(FileNotFoundError):
        hub.hub_file(source, "shallownet", "config.json")


GOOD = {
    "model_id": "efficientnet_lite0",
    "name": "EfficientNet-Lite0",
    "classes": ["bibimbap", "김치찌개", "chicken_wings"],
    "input_size": 192,
    "source_size": 64,
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "tta_flip": True,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_id": "../x"}, "model_id"),
        ({"name": "[click](http://x)"}, "name"),
        ({"classes": []}, "classes"),
        ({"classes": "bibimbap"}, "classes"),
        ({"classes": ["bibimbap", "bibimbap"]}, "repeat"),
        ({"classes": ["<img src=x>"]}, "classes"),
        ({"classes": ["ok", 3]}, "classes"),
        ({"classes": [f"c{i}" for i in range(1001)]}, "classes"),
        ({"input_size": 100000}, "input_size"),
        ({"input_size": 8}, "input_size"),
        ({"input_size": 192.0}, "input_size"),
        ({"input_size": True}, "input_size"),
        ({"source_size": 4096}, "source_size"),
        ({"mean": [0.5, 0.5]}, "mean"),
        ({"mean": [0.5, 0.5, float("nan")]}, "mean"),
        ({"std": [0.5, 0.0, 0.5]}, "std"),
        ({"std": [0.5, -1, 0.5]}, "std"),
        ({"std": ["0.5", 0.5, 0.5]}, "std"),
        ({"tta_flip": "yes"}, "tta_flip"),
        ({"tta_zooms": [0.65]}, "tta_zooms"),
        ({"tta_zooms": [1.0, 0.1]}, "tta_zooms"),
        ({"tta_zooms": [1.0] * 5}, "tta_zooms"),
        ({"tta_zooms": 1.0}, "tta_zooms"),
        ({"source_jpeg": "quality 75"}, "source_jpeg"),
        ({"source_jpeg": {"quality": 75}}, "source_jpeg"),
        ({"source_jpeg": {"quality": 0, "subsampling": "4:2:0"}}, "source_jpeg"),
        ({"source_jpeg": {"quality": 75, "subsampling": "4:1:1"}}, "source_jpeg"),
        ({"threshold": 7}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": "1"}, "temperature"),
        ({"members": 0}, "members"),
        ({"members": 9}, "members"),
        ({"members": 2.0}, "members"),
        ({"without_bf16": {"input_size": 64}}, "without_bf16"),
        ({"without_bf16": [1.0]}, "without_bf16"),
        ({"without_bf16": {"tta_zooms": [0.65]}}, "tta_zooms"),
        ({"without_bf16": {"threshold": 2}}, "threshold"),
    ],
)
def test_a_config_with_an_unsound_field_is_refused_naming_the_field(change, field):
    with pytest.raises(runs.InvalidConfig, match=field):
        runs.validate_config({**GOOD, **change})


def test_sound_configs_pass_including_every_bundled_one_and_every_nutrition_class_id():
    assert runs.validate_config(dict(GOOD)) == GOOD
    for config in (ROOT / "weights").glob("*/config.json"):
        runs.validate_config(json.loads(config.read_text()))
    with open(ROOT / "data" / "nutrition.csv", encoding="utf-8") as table:
        ids = [row["class_id"] for row in csv.DictReader(table)]
    assert len(ids) > 30 and all(runs.CLASS_ID.match(class_id) for class_id in ids)
    runs.validate_config({**GOOD, "classes": ids})


def test_a_hub_config_that_fails_validation_falls_back_to_the_bundled_run(tiny_weights, tmp_path, hf_cache):
    served = shutil.copytree(tiny_weights, tmp_path / "served")
    config = json.loads((served / "shallownet" / "config.json").read_text())
    (served / "shallownet" / "config.json").write_text(json.dumps({**config, "input_size": 100000}))
    hub.write_manifest(served)  # even a manifest that lists it: the config itself is refused
    with FakeHub("foodcls/test", "v1", served) as fake:
        source = hub.WeightsSource(
            "foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url, manifest=served / hub.MANIFEST
        )
        store = RunStore(source)
        _, label = store.classifier("shallownet")
    assert label == BUNDLED and store.hub_failed == {"shallownet"}
