"""Classify one photo with a trained run: `load_classifier("weights/resnet18").predict(image)`; Grad-CAM.

A classifier serves a copy of the run's model prepared by `serving.prepare_for_cpu`; the model it is
made from is left as it was.
"""

import threading
from dataclasses import InitVar, dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from foodcls import data, features, runs, serving, unknown

GRAD_CAM_LOCK = threading.Lock()


def with_mirror_images(inputs: torch.Tensor) -> torch.Tensor:
    """Flip test-time augmentation: the batch followed by its mirror images, to run as one batch."""
    return torch.cat([inputs, inputs.flip(3)])


def tta_logits(model, inputs: torch.Tensor, tta_flip: bool) -> torch.Tensor:
    """Float32 logits of `inputs`; with `tta_flip`, averaged with those of the mirror images."""
    if not tta_flip:
        return model(inputs).float()
    plain, mirrored = model(with_mirror_images(inputs)).float().chunk(2)
    return (plain + mirrored) / 2


def zooms_of(config: dict) -> list[float]:
    """The run's test-time views, as fractions of the centre square's side (config `tta_zooms`)."""
    return config.get("tta_zooms", [1.0])


@dataclass(frozen=True)
class Look:
    """What the app reads of one photo: its logits (C, float32) and, for a run with an unknown-dish
    rule (config `unknown_rule`), the rule's similarity to the dishes it knows (else None)."""

    logits: torch.Tensor
    similarity: float | None


@dataclass
class Classifier:
    """A trained model and its config; `Classifier(model, config)` prepares a serving copy of `model`."""

    model: InitVar[nn.Module]  # as given: left unchanged, not kept
    config: dict

    def __post_init__(self, model: nn.Module):
        size = self.config["input_size"]
        pixels = torch.zeros(len(zooms_of(self.config)), 3, size, size, dtype=torch.uint8)
        # a run with an unknown-dish rule serves its members' features too, from the same forward
        outputs = features.LogitsAndFeatures if unknown.rule_of(self.config) else None
        prepared = serving.prepare_for_cpu(model, size, lambda dtype: self.request_inputs(pixels, dtype), outputs)
        # the serving copy: folded, in the serving dtype, still differentiable (Grad-CAM)
        self.model, self.inference_model, self.dtype = prepared.model, prepared.inference_model, prepared.dtype
        self.class_weights = features.classifier_weights(self) if outputs else None  # M x C x F

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """One photo as the model sees it: its centre square, in each of the run's views (config
        `tta_zooms`, the whole square first), V x 3 x S x S uint8.

        A run trained on small photos (config `source_size`) sees the photo shrunk to that size first.
        """
        square = data.square_uint8(image.convert("RGB"), self.config.get("source_size", self.config["input_size"]))
        return self.views(square.unsqueeze(0))

    def views(self, square: torch.Tensor) -> torch.Tensor:
        """The views of one uint8 1 x 3 x s x s centre square (at `source_size`), as `pixels` makes them:
        stored as the training photos were (config `source_jpeg`), then zoomed and enlarged."""
        square = data.stored_as(square, self.config.get("source_jpeg"))
        return data.centre_zooms(square, zooms_of(self.config), self.config["input_size"])

    def inputs(self, pixels: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The model input of `pixels`: normalised, in the serving dtype, channels-last."""
        inputs = data.normalize(pixels, self.config["mean"], self.config["std"]).to(dtype or self.dtype)
        return inputs.contiguous(memory_format=torch.channels_last)

    def request_inputs(self, pixels: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """What one request runs through the model: its views and, with flip TTA, their mirror images,
        as one batch."""
        inputs = self.inputs(pixels, dtype)
        return with_mirror_images(inputs) if self.config["tta_flip"] else inputs

    @torch.inference_mode()
    def outputs_of_pixels(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Float32 logits for the views of one photo (see `pixels`) and, for a run with an unknown-dish
        rule, each member's pooled features (M x F, else None), both averaged over the views and flips."""
        found = self.inference_model(self.request_inputs(pixels))
        logits, pooled = found if isinstance(found, tuple) else (found, None)
        return logits.float().mean(0), None if pooled is None else pooled.float().mean(1)

    def logits_of_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.outputs_of_pixels(pixels)[0]

    def logits(self, image: Image.Image) -> torch.Tensor:
        return self.logits_of_pixels(self.pixels(image))

    def look(self, image: Image.Image) -> "Look":
        """One photo's logits and, for a run with an unknown-dish rule, how like its known dishes it is."""
        logits, pooled = self.outputs_of_pixels(self.pixels(image))
        similarity = None if pooled is None else unknown.similarity(pooled, self.class_weights)
        return Look(logits, similarity)

    def probabilities_of_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Calibrated softmax over the classes (logits divided by the run's `temperature`, default 1)."""
        return (self.logits_of_pixels(pixels) / self.config.get("temperature", 1.0)).softmax(0)

    def probabilities(self, image: Image.Image) -> torch.Tensor:
        """Softmax over the classes for one RGB photo (any size; resized and centre-cropped)."""
        return self.probabilities_of_pixels(self.pixels(image))

    def predict(self, image: Image.Image, k: int = 3) -> list[tuple[str, float]]:
        """The k most likely classes with their probabilities, best first."""
        top = self.probabilities(image).topk(min(k, len(self.classes)))
        return [(self.classes[i], p) for p, i in zip(top.values.tolist(), top.indices.tolist())]


def config_for_this_cpu(config: dict) -> dict:
    """A run's config as it is served on this CPU: where bfloat16 is not native (float32 runs about
    half as fast), with the cheaper views, temperature and threshold of config `without_bf16`, if any."""
    cheaper = config.get(runs.WITHOUT_BF16)
    return config | cheaper if cheaper and not serving.bf16_is_native() else config


def load_classifier(run_dir: Path) -> Classifier:
    """A run's classifier, served as the app serves it on this CPU (`config_for_this_cpu`)."""
    model, config = runs.load_run(run_dir)
    return Classifier(model, config_for_this_cpu(config))


def grad_cam(classifier: Classifier, image: Image.Image, class_index: int) -> Image.Image:
    """The photo with a Grad-CAM heat map of the last convolution for one class laid over it (of each
    member's last convolution, summed, for an ensemble)."""
    members = getattr(classifier.model, "members", [classifier.model])
    layers = [[m for m in member.modules() if isinstance(m, nn.Conv2d)][-1] for member in members]
    activations = []

    def keep_activation(_module, _inputs, output):
        activations.append(output)
        return output.clone()  # what follows may work in place (an in-place ReLU6 does): keep ours intact

    size = classifier.config["input_size"]
    pixels = classifier.pixels(image)[:1]  # the whole centre square
    inputs = classifier.inputs(pixels).requires_grad_()
    with GRAD_CAM_LOCK:  # the hooks sit on the shared model: one Grad-CAM at a time
        with serving.removed_after([layer.register_forward_hook(keep_activation) for layer in layers]):
            score = classifier.model(inputs)[0, class_index]
        gradients = torch.autograd.grad(score, activations)
    cam = sum(
        torch.relu((gradient.mean(dim=(2, 3), keepdim=True) * activation).sum(1, keepdim=True)).detach().float()
        for gradient, activation in zip(gradients, activations)
    )
    cam = torch.nn.functional.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    cam = cam / cam.max() if cam.max() > 0 else cam
    heat = torch.stack([cam, 0.3 * cam, 1 - cam]) * 255  # red where it looked, blue elsewhere
    photo = Image.fromarray(pixels[0].permute(1, 2, 0).numpy())
    overlay = Image.fromarray(heat.permute(1, 2, 0).byte().numpy())
    return Image.blend(photo, overlay, 0.45).resize((256, 256), Image.Resampling.BICUBIC)
