"""Each ensemble member's pooled penultimate features of photos, seen the way the app serves them.

`LogitsAndFeatures` is what the app traces for a run with an unknown-dish rule (foodcls.unknown): the
prepared model's logits and each member's pooled features from one forward. `served_features(classifier,
squares)` runs uint8 centre squares (at the run's `source_size`) through the classifier's own views
(`Classifier.views`: stored as JPEG, zoomed, enlarged), inputs and flips, with its prepared model, and
averages each member's features over the views and flips, for the offline study (foodcls.openset).
Each member's classifier is linear, so `member_logits(classifier, features)` averaged over the members
are the logits the app serves (to float rounding).
"""

import torch
from torch import nn
from torch.nn import functional as F

from foodcls import data, serving


def members_and_trunk(model: nn.Module) -> tuple[nn.Module, list[nn.Module]]:
    """(the part run once per photo, the members that continue from it) of a prepared model: a
    SharedStagesEnsemble's shared stages and later stages, or nothing and the members of an
    Ensemble of EfficientNet-Lite (or the single model)."""
    if isinstance(model, serving.SharedStagesEnsemble):
        return model.shared, list(model.members)
    return nn.Identity(), list(getattr(model, "members", [model]))


def pooled(member: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A member's pooled features (what its classifier reads) of `x`, the trunk's output."""
    if hasattr(member, "layers"):  # models.LaterStages
        return member.layers(x).mean((2, 3))
    return member.features(x)


class LogitsAndFeatures(nn.Module):
    """A prepared EfficientNet-Lite (or ensemble of them) that returns, from one forward, its logits
    (N x C, the members' averaged) and each member's pooled features (M x N x F)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        trunk, members = members_and_trunk(model)
        self.trunk, self.members = trunk, nn.ModuleList(members)

    def forward(self, x):
        shared = self.trunk(x)
        found = torch.stack([pooled(member, shared) for member in self.members])
        logits = torch.stack([member.classifier(f) for member, f in zip(self.members, found)]).mean(0)
        return logits, found


@torch.inference_mode()
def served_features(classifier, squares: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """M x N x F float32: each member's pooled features of N uint8 squares (a predict.Classifier's
    views), averaged over the run's views and flips. Small batches keep the activations reused (no
    page-fault storm)."""
    trunk, members = members_and_trunk(classifier.model)
    out = []
    for batch in squares.split(batch_size):
        inputs = classifier.request_inputs(classifier.views(batch))  # flip-major, then zoom-major
        passes = len(inputs) // len(batch)
        shared = trunk(inputs)
        found = torch.stack([pooled(member, shared).float() for member in members])
        out.append(found.view(len(members), passes, len(batch), -1).mean(1))
    return torch.cat(out, 1)


def member_logits(classifier, features: torch.Tensor) -> torch.Tensor:
    """M x N x C float32 logits of each member from its features (`served_features`)."""
    _, members = members_and_trunk(classifier.model)
    layers = [member.classifier for member in members]
    with torch.inference_mode():
        return torch.stack(
            [F.linear(f, layer.weight.float(), layer.bias.float()) for layer, f in zip(layers, features)]
        )


def classifier_weights(classifier) -> torch.Tensor:
    """M x C x F float32: each member's classifier weights."""
    _, members = members_and_trunk(classifier.model)
    return torch.stack([member.classifier.weight.detach().float() for member in members])


def photo_square(classifier, photo) -> torch.Tensor:
    """One decoded photo's centre square at the run's source size, 3 x s x s uint8, as `Classifier.pixels`
    cuts it before its views."""
    config = classifier.config
    return data.square_uint8(photo.convert("RGB"), config.get("source_size", config["input_size"]))
