"""A run folder on disk: model.safetensors, config.json, history.json, metrics.json, split.json.

Weights are stored in half precision (the test metrics are computed on exactly these values) and
loaded with safetensors only: nothing is ever unpickled.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from foodcls import models

RUN_FILES = ("model.safetensors", "config.json", "history.json", "metrics.json")


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
    model = models.build_model(config["model_id"], len(config["classes"]))
    model.load_state_dict(full_precision(load_file(str(weights_file))))
    return model.eval()


def load_run(run_dir: Path) -> tuple[nn.Module, dict]:
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"not a run folder (no config.json): {run_dir}")
    config = read_json(run_dir / "config.json")
    return load_model(run_dir / "model.safetensors", config), config
