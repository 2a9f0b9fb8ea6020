"""Classify one photo with a trained run: `load_classifier("weights/resnet18").predict(image)`."""

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from foodcls import data, runs


@dataclass
class Classifier:
    model: nn.Module
    config: dict

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    @torch.inference_mode()
    def probabilities(self, image: Image.Image) -> torch.Tensor:
        """Softmax over the classes for one RGB photo (any size; resized and centre-cropped)."""
        pixels = data.square_uint8(image.convert("RGB"), self.config["input_size"]).unsqueeze(0)
        inputs = data.normalize(pixels, self.config["mean"], self.config["std"])
        logits = self.model(inputs)
        if self.config["tta_flip"]:
            logits = (logits + self.model(inputs.flip(3))) / 2
        return logits.softmax(1)[0]

    def predict(self, image: Image.Image, k: int = 3) -> list[tuple[str, float]]:
        """The k most likely classes with their probabilities, best first."""
        top = self.probabilities(image).topk(min(k, len(self.classes)))
        return [(self.classes[i], p) for p, i in zip(top.values.tolist(), top.indices.tolist())]


def load_classifier(run_dir: Path) -> Classifier:
    return Classifier(*runs.load_run(run_dir))
