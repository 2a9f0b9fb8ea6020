"""Classify one photo with a trained run: `load_classifier("weights/resnet18").predict(image)`.

A classifier serves its model prepared for one photo at a time on the CPU: batch norms folded into
the convolutions, their TensorFlow padding moved inside them, channels-last, bfloat16 where the CPU
computes it natively (AVX512-BF16/AMX), and the whole graph compiled once for oneDNN Graph.
"""

import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from foodcls import data, models, runs

# One torch thread per request, with Gradio running several requests at once: on 2 cores that served
# 24-26 requests/s against 20-21 with two threads each, whose spinning workers fought over the cores;
# a lone request takes ~24 ms instead of ~15 ms (EfficientNet-Lite0 at 192 px, both numbers).
SERVING_THREADS = 1
GRAD_CAM_LOCK = threading.Lock()


def serving_dtype() -> torch.dtype:
    """bfloat16 where oneDNN runs it natively (about twice the float32 matmul rate), else float32."""
    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else torch.float32


@dataclass
class Classifier:
    """A trained model and its config, prepared for serving when the classifier is made."""

    model: nn.Module  # after __post_init__: folded, in the serving dtype, still differentiable (Grad-CAM)
    config: dict

    def __post_init__(self):
        self.dtype = serving_dtype()
        size = self.config["input_size"]
        folded = models.fold_batch_norms(self.model, size)
        self.model = folded.to(memory_format=torch.channels_last, dtype=self.dtype)
        example = self.request_inputs(torch.zeros(1, 3, size, size, dtype=torch.uint8))
        self.model = models.pad_inside_convolutions(self.model, example)
        self.inference_model = models.compile_for_cpu(self.model, example)

    @property
    def classes(self) -> list[str]:
        return self.config["classes"]

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """One photo as the model sees it: resized, centre-cropped, 1 x 3 x S x S uint8.

        A run trained on small photos (config `source_size`) sees the photo shrunk to that size first.
        """
        size = self.config["input_size"]
        source_size = self.config.get("source_size", size)
        return data.upscale(data.square_uint8(image.convert("RGB"), source_size).unsqueeze(0), size)

    def inputs(self, pixels: torch.Tensor) -> torch.Tensor:
        """The model input of `pixels`: normalised, in the serving dtype, channels-last."""
        inputs = data.normalize(pixels, self.config["mean"], self.config["std"]).to(self.dtype)
        return inputs.contiguous(memory_format=torch.channels_last)

    def request_inputs(self, pixels: torch.Tensor) -> torch.Tensor:
        """What one request runs through the model: with flip TTA, the photo and its mirror image as
        one batch of two."""
        inputs = self.inputs(pixels)
        if self.config["tta_flip"]:
            inputs = torch.cat([inputs, inputs.flip(3)]).contiguous(memory_format=torch.channels_last)
        return inputs

    @property
    def decode_size(self) -> int:
        """The side a photo needs to be decoded at, at least (large JPEGs decode at reduced scale)."""
        return self.config.get("source_size", self.config["input_size"])

    @torch.inference_mode()
    def logits_of_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Float32 logits for one photo already at the input size (see `pixels`), averaged over flip TTA."""
        return self.inference_model(self.request_inputs(pixels)).float().mean(0)

    def logits(self, image: Image.Image) -> torch.Tensor:
        return self.logits_of_pixels(self.pixels(image))

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


def load_classifier(run_dir: Path) -> Classifier:
    return Classifier(*runs.load_run(run_dir))


def grad_cam(classifier: Classifier, image: Image.Image, class_index: int) -> Image.Image:
    """The photo with a Grad-CAM heat map of the last convolution for one class laid over it."""
    layer = [m for m in classifier.model.modules() if isinstance(m, nn.Conv2d)][-1]
    saved = {}

    def keep_activation(_module, _inputs, output):
        saved["activation"] = output
        return output.clone()  # what follows may work in place (an in-place ReLU6 does): keep ours intact

    size = classifier.config["input_size"]
    pixels = classifier.pixels(image)
    inputs = classifier.inputs(pixels).requires_grad_()
    with GRAD_CAM_LOCK:  # the hook sits on the shared model: one Grad-CAM at a time
        hook = layer.register_forward_hook(keep_activation)
        try:
            score = classifier.model(inputs)[0, class_index]
        finally:
            hook.remove()
        (gradient,) = torch.autograd.grad(score, saved["activation"])
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * saved["activation"]).sum(1, keepdim=True)).detach().float()
    cam = torch.nn.functional.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    cam = cam / cam.max() if cam.max() > 0 else cam
    heat = torch.stack([cam, 0.3 * cam, 1 - cam]) * 255  # red where it looked, blue elsewhere
    photo = Image.fromarray(pixels[0].permute(1, 2, 0).numpy())
    overlay = Image.fromarray(heat.permute(1, 2, 0).byte().numpy())
    return Image.blend(photo, overlay, 0.45).resize((256, 256), Image.Resampling.BICUBIC)
