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

    def inputs(self, image: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        """(uint8 pixels, normalised model input) of one photo: resized, centre-cropped, batch of 1."""
        pixels = data.square_uint8(image.convert("RGB"), self.config["input_size"]).unsqueeze(0)
        return pixels, data.normalize(pixels, self.config["mean"], self.config["std"])

    @torch.inference_mode()
    def probabilities(self, image: Image.Image) -> torch.Tensor:
        """Softmax over the classes for one RGB photo (any size; resized and centre-cropped)."""
        _, inputs = self.inputs(image)
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


def grad_cam(classifier: Classifier, image: Image.Image, class_index: int) -> Image.Image:
    """The photo with a Grad-CAM heat map of the last convolution for one class laid over it."""
    layer = [m for m in classifier.model.modules() if isinstance(m, nn.Conv2d)][-1]
    saved = {}
    forward_hook = layer.register_forward_hook(lambda _m, _i, out: saved.update(activation=out))
    backward_hook = layer.register_full_backward_hook(lambda _m, _gi, go: saved.update(gradient=go[0]))
    try:
        size = classifier.config["input_size"]
        pixels, inputs = classifier.inputs(image)
        inputs.requires_grad_()
        classifier.model.zero_grad()
        classifier.model(inputs)[0, class_index].backward()
    finally:
        forward_hook.remove()
        backward_hook.remove()
    weights = saved["gradient"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * saved["activation"]).sum(1, keepdim=True)).detach()
    cam = torch.nn.functional.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    cam = cam / cam.max() if cam.max() > 0 else cam
    heat = torch.stack([cam, 0.3 * cam, 1 - cam]) * 255  # red where it looked, blue elsewhere
    photo = Image.fromarray(pixels[0].permute(1, 2, 0).numpy())
    overlay = Image.fromarray(heat.permute(1, 2, 0).byte().numpy())
    return Image.blend(photo, overlay, 0.45).resize((256, 256), Image.Resampling.BICUBIC)
