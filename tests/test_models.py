import pytest
import torch

from foodcls import models


@pytest.mark.parametrize("model_id", list(models.MODEL_SPECS))
def test_every_model_gives_class_scores_and_trains_at_its_input_size(model_id):
    model = models.build_model(model_id, num_classes=7)
    size = models.MODEL_SPECS[model_id].input_size
    logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 7)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_skipcon_deepnet10_has_exactly_deepnet10s_parameter_shapes():
    plain = models.build_model("deepnet10", 10)
    skip = models.build_model("skipcon_deepnet10", 10)
    assert [(n, p.shape) for n, p in plain.named_parameters()] == [(n, p.shape) for n, p in skip.named_parameters()]
    assert sum(isinstance(m, torch.nn.Conv2d) for m in plain.modules()) == 10


def test_skip_connections_change_the_function_of_the_same_weights():
    plain = models.build_model("deepnet10", 10)
    skip = models.build_model("skipcon_deepnet10", 10)
    skip.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    assert not torch.allclose(plain(x), skip(x))


def test_layer_counts_follow_the_original_experiment():
    def convs(model_id):
        return sum(isinstance(m, torch.nn.Conv2d) for m in models.build_model(model_id, 10).modules())

    assert (convs("shallownet"), convs("deepnet5"), convs("deepnet10")) == (2, 5, 10)
    shallow = models.build_model("shallownet", 10)
    assert [m.out_channels for m in shallow.modules() if isinstance(m, torch.nn.Conv2d)] == [6, 16]
    assert [m.out_features for m in shallow.modules() if isinstance(m, torch.nn.Linear)] == [120, 84, 10]


def test_unknown_model_id_is_refused_with_the_known_ids():
    with pytest.raises(ValueError, match="shallownet"):
        models.build_model("vgg", 10)


def test_tracked_layers_are_every_conv_and_linear_weight():
    layers = models.tracked_layers(models.build_model("deepnet10", 10))
    assert len(layers) == 13  # ten convolutions and the three-layer head


@pytest.mark.parametrize(
    ("model_id", "widths", "blocks"),
    [
        ("efficientnet_lite0", [16, 24, 40, 80, 112, 192, 320], 16),
        ("efficientnet_lite2", [16, 24, 48, 88, 120, 208, 352], 21),  # as Google's Lite2 checkpoint
    ],
)
def test_efficientnet_lite_scales_widths_and_depths_as_googles_checkpoints(model_id, widths, blocks):
    model = models.build_model(model_id, 101)
    norms = [[m for m in stage.modules() if isinstance(m, torch.nn.BatchNorm2d)] for stage in model.blocks]
    assert [stage_norms[-1].num_features for stage_norms in norms] == widths
    assert sum(len(stage) for stage in model.blocks) == blocks
    assert model.conv_stem.out_channels == 32 and model.classifier.in_features == 1280  # Lite: stem, head fixed
