"""The model definitions: the five study CNNs and the deployed classifier, built by id with `build_model`.

Every model records the input size and normalisation it expects in `MODEL_SPECS`, and training
copies them into the run's config.json, so inference never guesses.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    input_size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


MODEL_SPECS = {
    "shallownet": ModelSpec("ShallowNet", 64),
    "deepnet5": ModelSpec("DeepNet5", 64),
    "deepnet10": ModelSpec("DeepNet10", 64),
    "skipcon_deepnet10": ModelSpec("SkipConDeepNet10", 64),
    "resnet18": ModelSpec("ResNet18", 64),
    # Google's EfficientNet-Lite0 was trained on inputs scaled to [-1, 1]; we fine-tune it at 160 px (the 64 px
    # photos upscaled) and serve it at the size chosen on the validation split (config.json input_size).
    "efficientnet_lite0": ModelSpec("EfficientNet-Lite0", 160, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    # Its bigger siblings (ImageNet top-1 76.7% and 77.6% against Lite0's 75.1%), tried for the 101 dishes.
    "efficientnet_lite1": ModelSpec("EfficientNet-Lite1", 160, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "efficientnet_lite2": ModelSpec("EfficientNet-Lite2", 160, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
STUDY_MODELS = ("shallownet", "deepnet5", "deepnet10", "skipcon_deepnet10", "resnet18")


def _tutorial_head(in_features: int, num_classes: int) -> nn.Sequential:
    """The fully connected head of the PyTorch CIFAR-10 tutorial: 120 -> 84 -> classes."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


class ShallowNet(nn.Module):
    """The PyTorch CIFAR-10 tutorial net: two 5x5 convolutions (6, 16 channels) with max-pooling."""

    def __init__(self, num_classes: int, input_size: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        side = ((input_size - 4) // 2 - 4) // 2
        self.classifier = _tutorial_head(16 * side * side, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class DeepNet5(nn.Module):
    """ShallowNet with three more 3x3 convolutions (five in all); no batch norm, no skips."""

    def __init__(self, num_classes: int, input_size: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        )  # fmt: skip
        side = ((input_size - 4) // 2 - 4) // 2
        self.classifier = _tutorial_head(32 * side * side, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class DeepNet10(nn.Module):
    """Ten 3x3 convolutions in three stages (16, 32, 64 channels), no batch norm.

    With `skip=True` the same layers get identity skip connections around the conv pairs
    (conv2-3, conv5-6, conv8-9): that is SkipConDeepNet10, and the skips are the only difference.
    """

    widths = (16, 32, 64)

    def __init__(self, num_classes: int, input_size: int = 64, skip: bool = False):
        super().__init__()
        self.skip = skip
        convs, in_ch = [], 3
        for width in self.widths:
            convs += [nn.Conv2d(in_ch, width, 3, padding=1)]  # stage entry: changes the width
            convs += [nn.Conv2d(width, width, 3, padding=1) for _ in range(2)]  # the pair
            in_ch = width
        convs.append(nn.Conv2d(in_ch, in_ch, 3, padding=1))
        self.convs = nn.ModuleList(convs)
        side = input_size // 2 ** len(self.widths)
        self.classifier = _tutorial_head(in_ch * side * side, num_classes)

    def forward(self, x):
        for stage in range(len(self.widths)):
            entry, first, second = self.convs[3 * stage : 3 * stage + 3]
            x = F.relu(entry(x))
            out = second(F.relu(first(x)))
            x = F.relu(x + out if self.skip else out)
            x = F.max_pool2d(x, 2, stride=2)  # stride spelled out: oneDNN Graph cannot compile an empty one
        x = F.relu(self.convs[-1](x))
        return self.classifier(x)


def _resnet18(num_classes: int) -> nn.Module:
    """torchvision's ResNet18 with a 3x3 stride-2 stem for 64 px photos (layer1 sees 16x16)."""
    from torchvision.models import resnet18

    model = resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
    return model


class Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (the odd extra row and column go at the bottom
    and right), which Google's EfficientNet-Lite weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, same_padding(self, *x.shape[2:])))


def same_padding(conv: nn.Conv2d, height: int, width: int) -> list[int]:
    """TensorFlow's "same" padding of `conv` for an input of this size, as F.pad's (left, right, top, bottom)."""
    amounts = []
    for dim, size in ((1, width), (0, height)):
        kernel, stride, dilation = conv.kernel_size[dim], conv.stride[dim], conv.dilation[dim]
        total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
        amounts += [total // 2, total - total // 2]
    return amounts


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free convolution padded as TensorFlow pads: symmetric at stride 1, `Conv2dSame` at 2."""
    if stride == 1:
        return nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, groups=groups, bias=False)
    return Conv2dSame(in_ch, out_ch, kernel, stride=stride, groups=groups, bias=False)


def _norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)  # TensorFlow's epsilon, as the ImageNet weights had


class DepthwiseSeparable(nn.Module):
    """MobileNet's depthwise k x k then pointwise 1x1 convolution: EfficientNet's first block."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int):
        super().__init__()
        self.conv_dw, self.bn1, self.act1 = _conv(in_ch, in_ch, kernel, groups=in_ch), _norm(in_ch), nn.ReLU6(True)
        self.conv_pw, self.bn2 = nn.Conv2d(in_ch, out_ch, 1, bias=False), _norm(out_ch)

    def forward(self, x):
        return self.bn2(self.conv_pw(self.act1(self.bn1(self.conv_dw(x)))))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, depthwise k x k, 1x1 projection, and an identity skip
    where the shape stays the same."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int = 6):
        super().__init__()
        mid = in_ch * expansion
        self.conv_pw, self.bn1, self.act1 = nn.Conv2d(in_ch, mid, 1, bias=False), _norm(mid), nn.ReLU6(True)
        self.conv_dw, self.bn2, self.act2 = _conv(mid, mid, kernel, stride, groups=mid), _norm(mid), nn.ReLU6(True)
        self.conv_pwl, self.bn3 = nn.Conv2d(mid, out_ch, 1, bias=False), _norm(out_ch)
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x):
        out = self.act1(self.bn1(self.conv_pw(x)))
        out = self.act2(self.bn2(self.conv_dw(out)))
        out = self.bn3(self.conv_pwl(out))
        return x + out if self.skip else out


def _round_channels(channels: int, width: float) -> int:
    """EfficientNet's width scaling: `channels` times `width`, to a multiple of 8, never 10% under."""
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


class EfficientNetLite(nn.Module):
    """Google's EfficientNet-Lite (EfficientNet-B0 with ReLU6 and no squeeze-and-excitation), scaled by
    `width` and `depth` as Lite1/Lite2 are: stem, head and the first and last block are not scaled.
    Parameters are named and ordered as in timm's tf_efficientnet_lite0, whose checkpoints load as they are."""

    # After the first block, each stage's (repeats, kernel, first stride, output channels) at width and depth 1.
    stages = ((2, 3, 2, 24), (2, 5, 2, 40), (3, 3, 2, 80), (3, 5, 1, 112), (4, 5, 2, 192), (1, 3, 1, 320))

    def __init__(self, num_classes: int, width: float = 1.0, depth: float = 1.0):
        super().__init__()
        self.conv_stem, self.bn1, self.act1 = _conv(3, 32, 3, stride=2), _norm(32), nn.ReLU6(True)
        in_ch = _round_channels(16, width)
        blocks = [nn.Sequential(DepthwiseSeparable(32, in_ch, 3))]
        for index, (repeats, kernel, stride, out_ch) in enumerate(self.stages):
            repeats = repeats if index == len(self.stages) - 1 else math.ceil(repeats * depth)
            out_ch = _round_channels(out_ch, width)
            stage = [InvertedResidual(in_ch, out_ch, kernel, stride)]
            stage += [InvertedResidual(out_ch, out_ch, kernel, 1) for _ in range(repeats - 1)]
            blocks.append(nn.Sequential(*stage))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.conv_head, self.bn2, self.act2 = nn.Conv2d(in_ch, 1280, 1, bias=False), _norm(1280), nn.ReLU6(True)
        self.classifier = nn.Linear(1280, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled 1280 features the classifier reads."""
        x = self.act1(self.bn1(self.conv_stem(x)))
        x = self.act2(self.bn2(self.conv_head(self.blocks(x))))
        return x.mean((2, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


class FirstStages(nn.Module):
    """The stem and first `blocks` stages of an EfficientNet-Lite, sharing its modules: the part that
    fine-tuning keeps frozen and an ensemble's members share."""

    def __init__(self, model: EfficientNetLite, blocks: int):
        super().__init__()
        self.stem = nn.Sequential(model.conv_stem, model.bn1, model.act1)
        self.stages = nn.Sequential(*model.blocks[:blocks])

    def forward(self, x):
        return self.stages(self.stem(x))


class LaterStages(nn.Module):
    """The rest of an EfficientNet-Lite after `FirstStages(model, blocks)`, sharing its modules: later
    stages, head and classifier (with `dropout` before it while training)."""

    def __init__(self, model: EfficientNetLite, blocks: int, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.Sequential(*model.blocks[blocks:], model.conv_head, model.bn2, model.act2)
        self.dropout = nn.Dropout(dropout)
        self.classifier = model.classifier

    def forward(self, features):
        return self.classifier(self.dropout(self.layers(features).mean((2, 3))))


class Ensemble(nn.Module):
    """Several trained models of one architecture whose logits are averaged: independently fine-tuned
    runs make partly different mistakes, so their average is right more often than either."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        return torch.stack([member(x) for member in self.members]).mean(0)


def build_model(model_id: str, num_classes: int, members: int = 1) -> nn.Module:
    """A freshly initialised model of the given registry id; with `members` > 1, an Ensemble of them."""
    if members > 1:
        return Ensemble([build_model(model_id, num_classes) for _ in range(members)])
    if model_id not in MODEL_SPECS:
        raise ValueError(f"unknown model {model_id!r}; known: {', '.join(MODEL_SPECS)}")
    size = MODEL_SPECS[model_id].input_size
    builders = {
        "shallownet": lambda: ShallowNet(num_classes, size),
        "deepnet5": lambda: DeepNet5(num_classes, size),
        "deepnet10": lambda: DeepNet10(num_classes, size),
        "skipcon_deepnet10": lambda: DeepNet10(num_classes, size, skip=True),
        "resnet18": lambda: _resnet18(num_classes),
        "efficientnet_lite0": lambda: EfficientNetLite(num_classes),
        "efficientnet_lite1": lambda: EfficientNetLite(num_classes, depth=1.1),
        "efficientnet_lite2": lambda: EfficientNetLite(num_classes, width=1.1, depth=1.2),
    }
    return builders[model_id]()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tracked_layers(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weight of every conv and linear layer, by module name: whose gradient norms we log."""
    return {name: module.weight for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))}
