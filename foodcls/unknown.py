"""Scores of how much a photo looks like a dish the run knows, from its logits and its features,
and the rule the app serves with them.

Every score is "higher = more like a known dish". `max_softmax` is the calibrated top probability the
app thresholded alone before; the others look at the logits' size (`max_logit`, `energy`) or at where
the photo's pooled features lie among the training photos' (`cosine_to_means`, `mahalanobis`,
`knn_similarity`). Features are M x N x F (each ensemble member's, see foodcls.features); a
feature-space score is the mean of the members' scores. foodcls.openset compares them.

The served rule (config `unknown_rule`, written by foodcls.openset): the features' cosine similarity
to the nearest row of the members' classifier weights (no file beyond the model); under
`min_similarity` the photo "looks like a dish the model does not know" and is not named, whatever
its top probability. A run without the rule names by the top probability alone.
"""

import torch
from torch.nn import functional as F


def max_softmax(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    return (logits / temperature).softmax(-1).amax(-1)


def max_logit(logits: torch.Tensor) -> torch.Tensor:
    return logits.amax(-1)


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The negative free energy T·logsumexp(logits/T) (Liu et al., 2020)."""
    return temperature * torch.logsumexp(logits / temperature, -1)


def class_means(features: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """M x C x F: each member's mean feature of each class's photos (zeros for a class with none)."""
    sums = features.new_zeros(features.shape[0], classes, features.shape[2])
    sums.index_add_(1, labels, features)
    counts = torch.bincount(labels, minlength=classes).clamp(min=1)
    return sums / counts[None, :, None]


def cosine_to_means(features: torch.Tensor, means: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """The cosine similarity of each photo's features to its nearest class mean, averaged over the
    members; `known` (a C bool mask) keeps only those classes' means."""
    similarity = F.normalize(features.float(), dim=-1) @ F.normalize(means.float(), dim=-1).transpose(1, 2)
    if known is not None:
        similarity = similarity[..., known]
    return similarity.amax(-1).mean(0)


def tied_whitening(features: torch.Tensor, labels: torch.Tensor, means: torch.Tensor, shrink: float = 0.01):
    """M x F x F matrices W with (f - mu) W the Mahalanobis-whitened difference under the members'
    shared within-class covariance, shrunk towards its mean variance (Lee et al., 2018)."""
    whitening = []
    for member, member_means in zip(features.float(), means.float()):
        centred = member - member_means[labels]
        covariance = centred.T @ centred / len(centred)
        covariance += shrink * covariance.diagonal().mean() * torch.eye(len(covariance))
        whitening.append(torch.linalg.cholesky(torch.linalg.inv(covariance)))
    return torch.stack(whitening)


def mahalanobis(features: torch.Tensor, means: torch.Tensor, whitening: torch.Tensor) -> torch.Tensor:
    """Minus the smallest squared Mahalanobis distance to a class mean, averaged over the members."""
    scores = []
    for member, member_means, w in zip(features.float(), means.float(), whitening):
        scores.append(-(torch.cdist(member @ w, member_means @ w).amin(-1) ** 2))
    return torch.stack(scores).mean(0)


def knn_similarity(features: torch.Tensor, bank: torch.Tensor, k: int = 5, chunk: int = 1024) -> torch.Tensor:
    """The cosine similarity to the k-th most similar training photo (Sun et al., 2022), averaged over
    the members; `bank` is M x B x F training features."""
    bank = F.normalize(bank.float(), dim=-1)
    scores = []
    for part in F.normalize(features.float(), dim=-1).split(chunk, 1):
        scores.append((part @ bank.transpose(1, 2)).topk(k, -1).values[..., -1].mean(0))
    return torch.cat(scores)


RULE_SCORE = "cosine to class weights"  # the score a run's config `unknown_rule` may name


def rule_of(config: dict) -> dict | None:
    """The run's unknown-dish rule ({"score": RULE_SCORE, "min_similarity": s}), or None."""
    return config.get("unknown_rule")


def similarity(pooled: torch.Tensor, class_weights: torch.Tensor) -> float:
    """The served rule's score of one photo: its members' features (M x F) against their classifier
    weights (M x C x F)."""
    return cosine_to_means(pooled.unsqueeze(1), class_weights).item()


def looks_unknown(similarity: float | None, config: dict) -> bool:
    """Whether the photo looks like a dish the run does not know (its rule's similarity is too low)."""
    rule = rule_of(config)
    return rule is not None and similarity is not None and similarity < rule["min_similarity"]


def named(probability: float, similarity: float | None, threshold: float, config: dict) -> bool:
    """The app names the best dish when its probability reaches the threshold and the photo does not
    look like an unknown dish: one rule for the service and `evaluate`."""
    return probability >= threshold and not looks_unknown(similarity, config)
