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


@pytest.mark.parametrize("model_id", ["resnet18", "efficientnet_lite0"])
def test_folding_batch_norms_removes_them_and_keeps_the_outputs(model_id):
    torch.manual_seed(0)
    model = models.build_model(model_id, 10).eval()
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_mean.uniform_(-1, 1)  # statistics a trained net would have, not the identity
        norm.running_var.uniform_(0.5, 2)
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.uniform_(-0.5, 0.5)
    size = models.MODEL_SPECS[model_id].input_size
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = model(x)
        folded = models.fold_batch_norms(model, size)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        torch.testing.assert_close(folded(x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model_id", ["resnet18", "efficientnet_lite0"])
def test_packed_convolutions_give_the_same_outputs_with_activations_fused(model_id):
    torch.manual_seed(0)
    size = models.MODEL_SPECS[model_id].input_size
    model = models.fold_batch_norms(models.build_model(model_id, 10), size).to(memory_format=torch.channels_last)
    example = torch.randn(2, 3, size, size).contiguous(memory_format=torch.channels_last)
    packed = models.pack_convolutions(model, example)
    convs = [m for m in packed.modules() if isinstance(m, models.PackedConv2d)]
    assert len(convs) == sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert any(conv.attr != "none" for conv in convs)
    x = torch.randn(2, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        torch.testing.assert_close(packed(x), model(x), rtol=1e-4, atol=1e-4)


class ActivationWithAPreActivationSkip(torch.nn.Module):
    """relu(conv(x)) + conv(x): fusing the ReLU into the convolution would change the skip term."""

    def __init__(self):
        super().__init__()
        self.conv, self.relu = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()

    def forward(self, x):
        y = self.conv(x)
        return self.relu(y) + y


def test_packing_that_would_change_the_outputs_keeps_the_model_as_it_is():
    model = ActivationWithAPreActivationSkip().eval()
    with pytest.warns(UserWarning, match="without packed convolutions"):
        assert models.pack_convolutions(model, torch.randn(1, 3, 8, 8)) is model
