"""Training images per second of every model: train.py's own step on random data."""

import statistics

import torch

from foodcls import models, train
from foodcls.bench.timing import timed


def bench_training(steps: int) -> list[dict]:
    """Training images per second per model on this machine (random data at each model's input size)."""
    rows = []
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    # A GPU step is milliseconds: more of them, and warm-ups past cuDNN's first-call set-up.
    steps, warmup = (steps * 5, 5) if device.type == "cuda" else (steps, 1)
    for run in models.MODEL_SPECS:
        spec = models.MODEL_SPECS[run]
        model = models.build_model(run, 10).to(device, memory_format=torch.channels_last)
        optimizer = train.make_optimizer(model, train.RECIPES["study"])
        layers = models.tracked_layers(model)
        x = torch.randn(64, 3, spec.input_size, spec.input_size, device=device)
        x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (64,), device=device)

        def step(model=model, optimizer=optimizer, layers=layers, x=x, y=y):
            train.training_step(model, optimizer, x, y, layers)
            if device.type == "cuda":
                torch.cuda.synchronize()

        times = timed(step, steps, warmup)
        rows.append({"model": spec.name, "device": name, "train_images_per_s": round(64 / statistics.median(times), 1)})
    return rows
