"""Calibration: the fitted temperature, the coverage curve and the threshold's bounds."""

import torch

from foodcls import calibrate, evaluate


def test_fit_temperature_recovers_the_temperature_that_made_overconfident_logits():
    generator = torch.Generator().manual_seed(0)
    honest = torch.randn(4000, 10, generator=generator) * 2
    labels = torch.multinomial(honest.softmax(1), 1, generator=generator).squeeze(1)
    assert abs(calibrate.fit_temperature(honest * 3, labels) - 3) < 0.3


def test_coverage_curve_counts_named_right_and_outside_photos():
    confidence = torch.tensor([0.9, 0.7, 0.3, 0.8, 0.2])
    correct = torch.tensor([True, False, True, False, False])
    outside = torch.tensor([False, False, False, True, True])
    row = next(r for r in evaluate.coverage_curve(confidence, correct, outside) if r["threshold"] == 0.5)
    assert row == {"threshold": 0.5, "known": 3, "named": 2, "named_right": 1, "outside": 2, "outside_named": 1}


def _row(threshold, named, right, outside_named, known=100, outside=50):
    return {"threshold": threshold, "known": known, "named": named, "named_right": right,
            "outside": outside, "outside_named": outside_named}  # fmt: skip


def test_choose_threshold_names_most_photos_within_both_bounds():
    curve = [
        _row(0.3, 90, 75, 20),  # precision 83%: too low
        _row(0.5, 70, 64, 6),  # 91% right, 12% of the others named: too many
        _row(0.6, 60, 56, 4),  # 93%, 8%: the answer
        _row(0.8, 30, 30, 0),
    ]
    assert calibrate.choose_threshold(curve) == (0.6, True)


def test_choose_threshold_says_when_no_threshold_meets_the_bounds():
    curve = [_row(0.3, 90, 70, 40), _row(0.6, 50, 46, 30), _row(0.9, 10, 10, 20)]
    assert calibrate.choose_threshold(curve) == (0.6, False)
