"""A run folder on disk: model.safetensors, config.json, history.json, metrics.json, split.json.

Weights are stored in half precision (the test metrics are computed on exactly these values) and
loaded with safetensors only: nothing is ever unpickled.
"""

import json
import math
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from foodcls import data, models, unknown

RUN_FILES = ("model.safetensors", "config.json", "history.json", "metrics.json")

# The runs the app serves, by folder name, in the order the app, the card and the bench list them.
DEPLOYED_RUN = "efficientnet_lite0_food101"  # the default: 101 Food-101 dishes, calibrated for real photos
STUDY_RUNS = models.STUDY_MODELS  # the curves tab's five runs, each in a folder named after its model
SERVED_RUNS = (DEPLOYED_RUN, "efficientnet_lite0", *STUDY_RUNS)
RUN_TITLES = {
    DEPLOYED_RUN: "2 × EfficientNet-Lite0 · 101 dishes",
    "efficientnet_lite0": "EfficientNet-Lite0 · 10 Asian dishes",
} | {run: models.MODEL_SPECS[run].name for run in STUDY_RUNS}
# A class id: a Food-101 style id (bibimbap, chicken_wings) or an AI-Hub Korean folder name (김치찌개).
CLASS_ID = re.compile(r"^(?:[a-z0-9_]{1,64}|[가-힣][가-힣0-9_]{0,63})$")
MAX_CLASSES = 1000
SIZE_RANGE = (16, 512)
MAX_VIEWS = 4  # test-time views of a photo (config tta_zooms), each run once or twice (flip) per request
MAX_MEMBERS = 4  # models averaged by an ensemble run (config members, written by foodcls.ensemble)
# Models whose pooled features foodcls.features reads, so a config may give them an unknown-dish rule.
UNKNOWN_RULE_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
# Config key of the cheaper way a run is served where bfloat16 is not native (predict.config_for_this_cpu),
# written by `python -m foodcls.calibrate --without-bf16`, and the settings it may replace.
WITHOUT_BF16 = "without_bf16"
WITHOUT_BF16_SETTINGS = ("tta_flip", "tta_zooms", "temperature", "threshold")


def members_of(config: dict) -> int:
    """How many models an ensemble run averages (config `members`); 1 for a single model."""
    return config.get("members", 1)


def model_name(config: dict) -> str:
    """The architecture as people read it: "EfficientNet-Lite0", or "2 × EfficientNet-Lite0" for an ensemble."""
    members = members_of(config)
    return f"{members} × {config['name']}" if members > 1 else config["name"]


class InvalidConfig(ValueError):
    """A run's config.json that the app will not use; the message says which field and why."""


def validate_config(config) -> dict:
    """`config` when every field inference uses is sound, else InvalidConfig (before any use).

    classes: a non-empty list of unique class ids (CLASS_ID); input_size and source_size (optional):
    ints in SIZE_RANGE; mean, std: three finite numbers, std > 0; model_id: one of MODEL_SPECS, with
    that model's name; tta_flip: a bool; tta_zooms (optional): 1 to MAX_VIEWS fractions from 0.25 to 1,
    the first 1; source_jpeg (optional): a JPEG quality and chroma subsampling; threshold and
    temperature (optional): numbers in range; members (optional): 1 to MAX_MEMBERS; without_bf16
    (optional): some of WITHOUT_BF16_SETTINGS, each sound where it replaces the run's own.
    """

    def refuse(why: str):
        raise InvalidConfig(f"config.json: {why}")

    if not isinstance(config, dict):
        refuse("not an object")
    if config.get("model_id") not in models.MODEL_SPECS:
        refuse("model_id is not a known model")
    if config.get("name") != models.MODEL_SPECS[config["model_id"]].name:
        refuse("name is not the model's name")
    classes = config.get("classes")
    if not isinstance(classes, list) or not 0 < len(classes) <= MAX_CLASSES:
        refuse(f"classes must be a list of 1 to {MAX_CLASSES} class ids")
    if not all(isinstance(name, str) and CLASS_ID.match(name) for name in classes):
        refuse("classes must be ids like bibimbap or 김치찌개")
    if len(set(classes)) != len(classes):
        refuse("classes repeat")
    for key in ("input_size", "source_size"):
        if key == "source_size" and key not in config:
            continue
        value = config.get(key)
        if type(value) is not int or not SIZE_RANGE[0] <= value <= SIZE_RANGE[1]:
            refuse(f"{key} must be a whole number from {SIZE_RANGE[0]} to {SIZE_RANGE[1]}")
    for key in ("mean", "std"):
        value = config.get(key)
        if (
            not isinstance(value, list)
            or len(value) != 3
            or not all(type(v) in (int, float) and math.isfinite(v) and abs(v) <= 1e3 for v in value)
        ):
            refuse(f"{key} must be three finite numbers")
    if not all(v > 0 for v in config["std"]):
        refuse("std must be above 0")
    if not isinstance(config.get("tta_flip"), bool):
        refuse("tta_flip must be true or false")
    zooms = config.get("tta_zooms", [1.0])
    if (
        not isinstance(zooms, list)
        or not 0 < len(zooms) <= MAX_VIEWS
        or not all(type(z) in (int, float) and 0.25 <= z <= 1 for z in zooms)
        or zooms[0] != 1
    ):
        refuse(f"tta_zooms must be 1 to {MAX_VIEWS} fractions from 0.25 to 1, the first 1")
    members = members_of(config)
    if type(members) is not int or not 1 <= members <= MAX_MEMBERS:
        refuse(f"members must be a whole number from 1 to {MAX_MEMBERS}")
    jpeg = config.get("source_jpeg")
    if jpeg is not None and (
        not isinstance(jpeg, dict)
        or set(jpeg) != {"quality", "subsampling"}
        or type(jpeg["quality"]) is not int
        or not 1 <= jpeg["quality"] <= 100
        or jpeg["subsampling"] not in data.JPEG_SUBSAMPLINGS.values()
    ):
        refuse(
            f'source_jpeg must be {{"quality": 1 to 100, "subsampling": one of {list(data.JPEG_SUBSAMPLINGS.values())}}}'
        )
    for key, low, high in (("threshold", 0, 1), ("temperature", 0.01, 100)):  # written by foodcls.calibrate
        value = config.get(key, low)
        if type(value) not in (int, float) or not low <= value <= high:
            refuse(f"{key} must be a number from {low} to {high}")
    rule = config.get("unknown_rule")  # written by foodcls.openset
    if rule is not None and (
        not isinstance(rule, dict)
        or rule.get("score") != unknown.RULE_SCORE
        or type(rule.get("min_similarity")) not in (int, float)
        or not -1 <= rule["min_similarity"] <= 1
        or config["model_id"] not in UNKNOWN_RULE_MODELS
    ):
        refuse(
            f'unknown_rule must be {{"score": "{unknown.RULE_SCORE}", "min_similarity": -1 to 1, ...}} '
            f"on a model of {', '.join(UNKNOWN_RULE_MODELS)}"
        )
    cheaper = config.get(WITHOUT_BF16)
    if cheaper is not None:
        if not isinstance(cheaper, dict) or not set(cheaper) <= set(WITHOUT_BF16_SETTINGS):
            refuse(f"{WITHOUT_BF16} may set only {', '.join(WITHOUT_BF16_SETTINGS)}")
        validate_config({key: value for key, value in config.items() if key != WITHOUT_BF16} | cheaper)
    return config


def half_precision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def full_precision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def write_json(path: Path, value) -> None:
    Path(path).write_text(json.dumps(value, indent=1, ensure_ascii=False))


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def save_run(run_dir: Path, state: dict, config: dict, history: list, metrics: dict) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, run_dir / "model.safetensors", metadata={"model_id": config["model_id"]})
    write_json(run_dir / "config.json", config)
    write_json(run_dir / "history.json", history)
    write_json(run_dir / "metrics.json", metrics)


def load_model(weights_file: Path, config: dict) -> nn.Module:
    """The model of `config` with the weights of a safetensors file, in eval mode, float32."""
    model = models.build_model(config["model_id"], len(config["classes"]), members_of(config))
    model.load_state_dict(full_precision(load_file(str(weights_file))))
    return model.eval()


def load_run(run_dir: Path) -> tuple[nn.Module, dict]:
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"not a run folder (no config.json): {run_dir}")
    config = validate_config(read_json(run_dir / "config.json"))
    return load_model(run_dir / "model.safetensors", config), config
