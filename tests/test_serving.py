"""Preparing a model for the CPU: folding, padding inside the convolutions, oneDNN Graph; the classifier."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import dish_photo

from foodcls import data, evaluate, models, predict, runs, serving


@pytest.fixture(autouse=True, scope="module")
def switches_as_the_app_sets_them():
    serving.configure_process(threads=None)


@pytest.mark.parametrize("model_id", list(models.MODEL_SPECS))
def test_grad_cam_draws_a_heat_map_on_every_architecture_as_served(model_id):
    size = models.MODEL_SPECS[model_id].input_size
    config = {"input_size": size, "mean": [0.5] * 3, "std": [0.5] * 3, "classes": list("abc"), "tta_flip": True}
    classifier = predict.Classifier(models.build_model(model_id, 3), config)
    heat_map = predict.grad_cam(classifier, dish_photo("ramen"), class_index=1)
    assert heat_map.size == (256, 256)
    assert np.asarray(heat_map).std() > 0


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
        folded = serving.fold_batch_norms(model, size)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        torch.testing.assert_close(folded(x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model_id", ["resnet18", "efficientnet_lite0"])
def test_the_model_compiled_for_the_cpu_gives_the_eager_outputs_on_new_inputs(model_id):
    torch.manual_seed(0)
    size = models.MODEL_SPECS[model_id].input_size
    model = serving.fold_batch_norms(models.build_model(model_id, 10), size).to(memory_format=torch.channels_last)
    example = torch.randn(2, 3, size, size).contiguous(memory_format=torch.channels_last)
    compiled = serving.compile_for_cpu(model, example)
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
        assert serving.compile_for_cpu(model, torch.randn(1, 3, 8, 8)) is model


@pytest.mark.parametrize("size", [160, 161])
def test_padding_moved_inside_the_convolutions_gives_identical_outputs(size):
    torch.manual_seed(0)
    model = models.build_model("efficientnet_lite0", 10).eval()
    x = torch.randn(2, 3, size, size)
    with torch.inference_mode():
        expected = model(x)
        padded = serving.pad_inside_convolutions(model, x)
        assert not any(isinstance(m, models.Conv2dSame) for m in padded.modules())
        torch.testing.assert_close(padded(x), expected, rtol=0, atol=1e-6)


def test_a_classifier_leaves_the_model_it_is_made_from_as_it_was():
    model = models.build_model("efficientnet_lite0", 3).eval()
    before = copy.deepcopy(model.state_dict())
    config = {"input_size": 160, "mean": [0.5] * 3, "std": [0.5] * 3, "classes": list("abc"), "tta_flip": True}
    predict.Classifier(model, config)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.state_dict().keys() == before.keys()
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())


def test_a_classifier_with_zoomed_views_averages_them_as_evaluate_scores_them():
    model, config = runs.load_run(Path("weights/efficientnet_lite0"))  # a trained net: views differ
    stored = {"quality": 75, "subsampling": "4:2:0"}
    config |= {"input_size": 128, "source_size": 64, "tta_zooms": [1.0, 0.65], "source_jpeg": stored}
    classifier = predict.Classifier(model, config)
    photo = dish_photo("ramen").resize((640, 480))
    views = classifier.pixels(photo)
    assert views.shape == (2, 3, 128, 128)
    square = data.square_uint8(photo, 64)  # shrunk, then stored as the training photos were
    assert torch.equal(views, data.centre_zooms(data.stored_as(square.unsqueeze(0), stored), [1.0, 0.65], 128))
    assert not torch.equal(views, data.centre_zooms(square.unsqueeze(0), [1.0, 0.65], 128))
    whole, zoomed = classifier.logits_of_pixels(views[:1]), classifier.logits_of_pixels(views[1:])
    assert not torch.allclose(whole, zoomed, atol=0.05)  # the zoom is a different view
    torch.testing.assert_close(classifier.logits(photo), (whole + zoomed) / 2, rtol=0, atol=0.02)  # bfloat16
    # the test split's path (float32, batched) gives what a request gives (bfloat16 where served so)
    scored = evaluate.run_logits(model, config, square.unsqueeze(0))[0]
    torch.testing.assert_close(scored, classifier.logits(photo), rtol=0, atol=0.1)
    unstored = config | {"source_jpeg": None}
    stored_first = evaluate.run_logits(model, unstored, data.stored_as(square.unsqueeze(0), stored))[0]
    assert torch.equal(scored, stored_first)


def ensemble_sharing_its_first_stages(shared_blocks: int, members: int = 3) -> models.Ensemble:
    """Members that differ after `shared_blocks` stages, as runs fine-tuned from one ImageNet net differ."""
    torch.manual_seed(0)
    ensemble = models.build_model("efficientnet_lite0", 5, members=members).eval()
    first = ensemble.members[0]
    for member in ensemble.members[1:]:
        member.conv_stem.load_state_dict(first.conv_stem.state_dict())
        member.bn1.load_state_dict(first.bn1.state_dict())
        for index in range(shared_blocks):
            member.blocks[index].load_state_dict(first.blocks[index].state_dict())
    for norm in (m for m in ensemble.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_var.fill_(0.5)  # keep activations from vanishing through the untrained layers
    return ensemble


def test_an_ensemble_runs_the_stages_its_members_share_once_with_the_same_logits():
    ensemble = ensemble_sharing_its_first_stages(shared_blocks=2)
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        expected = ensemble(x)
        shared = serving.share_identical_stages(copy.deepcopy(ensemble))
        assert isinstance(shared, serving.SharedStagesEnsemble)
        assert len(shared.shared.stages) == 2  # the stem and two stages run once
        torch.testing.assert_close(shared(x), expected, rtol=1e-5, atol=1e-5)
    config = {"input_size": 128, "mean": [0.5] * 3, "std": [0.5] * 3, "classes": list("abcde"), "tta_flip": True}
    classifier = predict.Classifier(ensemble, config)
    assert isinstance(classifier.model, serving.SharedStagesEnsemble)
    photo = dish_photo("ramen")
    square = data.square_uint8(photo, 128).unsqueeze(0)
    served, unshared = classifier.logits(photo), evaluate.run_logits(ensemble, config, square)[0]
    torch.testing.assert_close(served, unshared, rtol=0, atol=0.05)  # bfloat16 where served so
    assert np.asarray(predict.grad_cam(classifier, photo, class_index=1)).std() > 0


def test_an_ensemble_whose_members_differ_from_the_stem_is_served_as_it_is():
    ensemble = ensemble_sharing_its_first_stages(shared_blocks=0)
    ensemble.members[1].conv_stem.weight.data.add_(0.01)
    assert serving.share_identical_stages(ensemble) is ensemble
