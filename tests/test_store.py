"""Weights from the Hub (a fake one on 127.0.0.1) with the bundled fallback, loaded lazily by the store."""

import time
from pathlib import Path

import pytest
from fakehub import FakeHub
from helpers import dish_photo
from huggingface_hub import constants

from foodcls import hub, nutrition, service
from foodcls.store import BUNDLED, ModelUnavailable, RunStore

TABLE = nutrition.NutritionTable.load()


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_weights_download_through_huggingface_hub_and_are_cached(tiny_weights, tmp_path, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tmp_path / "no-bundle", endpoint=fake.url)
        classifier, label = RunStore(source).classifier("shallownet")
        assert label == "Hugging Face Hub foodcls/test@v1"
        assert "/foodcls/test/resolve/v1/shallownet/model.safetensors" in fake.downloads()
        assert list(hf_cache.rglob("model.safetensors"))
        _, again = RunStore(source).classifier("shallownet")  # a new process would find it in the cache
        assert again == label
        assert fake.downloads().count("/foodcls/test/resolve/v1/shallownet/model.safetensors") == 1
    result = service.classify(
        store=RunStore(source), table=TABLE, photo=dish_photo("ramen"), model_id="shallownet", threshold=0.0
    )
    assert result.best.label == "라멘 · Ramen"  # served from the cache with the Hub gone


def test_bundled_weights_serve_when_the_hub_is_unreachable(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        url = fake.url  # a port that answers nothing once the server is gone
    store = RunStore(hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=url))
    _, label = store.classifier("shallownet")
    assert label == BUNDLED and store.hub_down


@pytest.mark.parametrize("mode", ["error500", "hang", "corrupt"])
def test_a_failing_hub_falls_back_to_bundled_weights(mode, tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        fake.mode = mode
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url, timeout=1.0)
        store = RunStore(source)
        started = time.monotonic()
        classifier, label = store.classifier("shallownet")
        assert label == BUNDLED
        assert time.monotonic() - started < 25  # not stuck behind the hanging Hub
        assert classifier.predict(dish_photo("sushi"))[0][0] == "sushi"


def test_a_model_missing_everywhere_is_unavailable_while_the_others_work(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")
    assert store.classifier("shallownet")[1] == BUNDLED


def test_a_warmed_up_model_is_ready_for_the_first_request_and_a_missing_one_is_left_to_it(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    store.warm_up("shallownet").join()
    store.warm_up("resnet18").join()  # not in tiny_weights: no exception escapes the warm-up
    assert "shallownet" in store._classifiers
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")
