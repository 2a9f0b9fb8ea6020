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
def test_the_model_compiled_for_the_cpu_gives_the_eager_outputs_on_new_inputs(model_id):
    torch.manual_seed(0)
    size = models.MODEL_SPECS[model_id].input_size
    model = models.fold_batch_norms(models.build_model(model_id, 10), size).to(memory_format=torch.channels_last)
    example = torch.randn(2, 3, size, size).contiguous(memory_format=torch.channels_last)
    compiled = models.compile_for_cpu(model, example)
    assert isinstance(compiled, torch.jit.ScriptModule)
    x = torch.randn(2, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
        # oneDNN Graph, not TorchScript's own interpreter, ran the convolutions
        assert "oneDNNFusionGroup" in str(torch.jit.last_executed_optimized_graph())


class ModelWithAPythonOutput(torch.nn.Module):
    """Tracing keeps tensors only: a model that also returns a string cannot be compiled."""

    def forward(self, x):
        return x.relu(), "a note"


def test_a_model_that_cannot_be_compiled_is_served_as_it_is():
    model = ModelWithAPythonOutput()
    with pytest.warns(UserWarning, match="without oneDNN Graph"):
        assert models.compile_for_cpu(model, torch.randn(1, 3, 8, 8)) is model


@pytest.mark.parametrize("size", [160, 161])
def test_padding_moved_inside_the_convolutions_gives_identical_outputs(size):
    torch.manual_seed(0)
    model = models.build_model("efficientnet_lite0", 10).eval()
    x = torch.randn(2, 3, size, size)
    with torch.inference_mode():
        expected = model(x)
        padded = models.pad_inside_convolutions(model, x)
        assert not any(isinstance(m, models.Conv2dSame) for m in padded.modules())
        torch.testing.assert_close(padded(x), expected, rtol=0, atol=1e-6)
