"""Weights from the Hub (a fake one on 127.0.0.1) with the bundled fallback, loaded lazily by the store;
lookups never wait on another model's load, downloads have a deadline, unknown run ids are refused."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from fakehub import FakeHub
from helpers import COLOURS, KFOOD_DISHES, dish_photo, kfood_photo, make_kfood_tree
from huggingface_hub import constants

from foodcls import hub, nutrition, service, train
from foodcls.store import (
    BUNDLED,
    EXTRA_RUNS_ENV,
    LOCAL,
    ModelLoading,
    ModelUnavailable,
    RunStore,
    extra_runs,
    extra_runs_from_env,
)

TABLE = nutrition.NutritionTable.load()
REQUEST_DEADLINE_S = 20.0  # what one request may take here, on a shared 2-core machine


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_weights_download_through_huggingface_hub_and_are_cached(tiny_weights, tmp_path, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource(
            "foodcls/test",
            "v1",
            bundled=tmp_path / "no-bundle",
            endpoint=fake.url,
            manifest=tiny_weights / "SHA256SUMS",
        )
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
    assert label == BUNDLED and store.hub_failed == {"shallownet"}


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
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights), known_runs=["resnet18", "shallownet"])
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")
    assert store.classifier("shallownet")[1] == BUNDLED


def test_a_warmed_up_model_is_ready_for_the_first_request_and_a_missing_one_is_left_to_it(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights), known_runs=["resnet18", "shallownet"])
    store.warm_up("shallownet").wait()
    store.warm_up("resnet18").wait()  # not in tiny_weights: no exception escapes the warm-up
    assert "shallownet" in store._classifiers
    with pytest.raises(ModelUnavailable, match="resnet18"):
        store.classifier("resnet18")


def within(seconds: float, work):
    """work()'s result, or a test failure when it has not returned after `seconds` (it runs on)."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(value=work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return outcome["value"]


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("run", ["../x", "x/../../etc", "", "ShallowNet", "resnet18", "a" * 10_000, None, 7])
def test_unknown_run_ids_are_refused_before_any_hub_call(run, tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        store = RunStore(hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url))
        with pytest.raises(ModelUnavailable) as refused:
            store.classifier(run)
    assert fake.requests == [] and not store.hub_failed  # the Hub is still asked for the known runs
    message = str(refused.value)
    assert str(tiny_weights) not in message and len(message) < 300
    assert run not in message if isinstance(run, str) and run else True  # what was sent is never echoed
    assert "shallownet" in message  # it says what can be asked for
    assert store.run_json(run, "history.json") is None if isinstance(run, str) else True


def test_the_known_runs_are_the_manifests_and_the_bundled_ones_or_as_given(tiny_weights):
    assert RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights)).known_runs == {"shallownet", "deepnet10"}
    given = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights), known_runs=["shallownet", "../x"])
    assert given.known_runs == {"shallownet"}
    with pytest.raises(ModelUnavailable):
        given.classifier("deepnet10")


def test_a_trickling_hub_does_not_block_a_model_already_loaded(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url)  # deadline 120 s
        store = RunStore(source)
        _, label = within(REQUEST_DEADLINE_S * 3, lambda: store.classifier("shallownet"))  # first load compiles
        assert label == source.hub_label()
        fake.mode = "trickle"
        slow = threading.Thread(target=lambda: store.warm_up("deepnet10").wait(), daemon=True)
        slow.start()
        wait_for(lambda: any("deepnet10/model.safetensors" in path for path in fake.downloads()))
        for _ in range(3):  # while deepnet10's download trickles on
            _, again = within(REQUEST_DEADLINE_S, lambda: store.classifier("shallownet"))
            assert again == label
        assert slow.is_alive()
    slow.join(REQUEST_DEADLINE_S * 3)  # the hub closed mid-file: deepnet10 falls back to the bundled copy
    assert store._classifiers["deepnet10"][1] == BUNDLED


def test_a_trickling_download_gives_up_at_its_deadline_and_falls_back(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        fake.mode = "trickle"
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url, deadline=2.0)
        store = RunStore(source)
        _, label = within(REQUEST_DEADLINE_S * 3, lambda: store.classifier("shallownet"))
        assert label == BUNDLED and store.hub_failed == {"shallownet"}


def test_loads_of_two_runs_do_not_wait_for_each_other(tiny_weights, monkeypatch):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    release = threading.Event()
    real_load = store._load

    def load(run):
        if run == "deepnet10":
            release.wait(60)  # a load that takes as long as the test wants
        return real_load(run)

    monkeypatch.setattr(store, "_load", load)
    blocked = store.warm_up("deepnet10")
    within(REQUEST_DEADLINE_S * 3, lambda: store.classifier("shallownet"))  # loads while deepnet10 is held
    assert not blocked.is_set()
    release.set()
    blocked.wait(REQUEST_DEADLINE_S * 3)
    assert set(store._classifiers) == {"shallownet", "deepnet10"}


def test_one_run_loads_once_however_many_ask_at_first(tiny_weights, monkeypatch):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    calls = []
    real_load = store._load
    monkeypatch.setattr(store, "_load", lambda run: calls.append(run) or real_load(run))
    threads = [threading.Thread(target=store.classifier, args=("shallownet",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_DEADLINE_S * 3)
    assert calls == ["shallownet"]


def test_a_missing_model_message_names_no_install_path(tmp_path):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tmp_path / "none"), known_runs=["resnet18"])
    with pytest.raises(ModelUnavailable) as unavailable:
        store.classifier("resnet18")
    assert str(tmp_path) not in str(unavailable.value) and "resnet18" in str(unavailable.value)


def test_a_request_for_a_loading_run_is_told_to_retry_and_holds_nothing(tiny_weights, monkeypatch):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    release = threading.Event()
    real_load = store._load
    monkeypatch.setattr(store, "_load", lambda run: release.wait(60) and real_load(run))
    started = time.monotonic()
    with pytest.raises(ModelLoading) as loading:
        store.classifier("deepnet10", wait_s=0.2)
    assert time.monotonic() - started < 5 and loading.value.retry_after > 0
    with pytest.raises(ModelLoading):  # asked again meanwhile: the same load, still running
        store.classifier("deepnet10", wait_s=0.2)
    release.set()
    assert store.classifier("deepnet10", wait_s=30)[1] == BUNDLED


def test_one_bad_hub_file_sends_only_its_run_to_the_bundled_copy(tiny_weights, hf_cache):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        fake.corrupt_runs = {"deepnet10"}
        source = hub.WeightsSource("foodcls/test", "v1", bundled=tiny_weights, endpoint=fake.url)
        store = RunStore(source)
        assert store.classifier("deepnet10")[1] == BUNDLED
        assert store.classifier("shallownet")[1] == source.hub_label()  # the Hub still serves the others
    assert store.hub_failed == {"deepnet10"}


def test_an_extra_run_folder_is_listed_and_served_next_to_the_bundled_ones(tiny_weights, tmp_path):
    """A run trained on an AI-Hub K-food tree, served from its own folder with its dishes' MFDS rows."""
    common = ["--models", "shallownet", "--epochs", "1", "--batch-size", "8", "--out", str(tmp_path / "w")]
    train.main(["--data", str(make_kfood_tree(tmp_path / "kfood")), *common])
    folder = (tmp_path / "w" / "shallownet").rename(tmp_path / "kfood_shallownet")
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights), extra=extra_runs([folder]))
    assert store.known_runs == {"shallownet", "deepnet10", "kfood_shallownet"}
    classifier, label = store.classifier("kfood_shallownet")
    assert label == LOCAL and classifier.classes == sorted(dish for _, dish in KFOOD_DISHES)
    assert store.run_json("kfood_shallownet", "config.json")["classes"] == classifier.classes
    assert store.classifier("shallownet")[1] == BUNDLED  # the bundled runs are served as before
    result = service.classify(
        store=store, table=TABLE, photo=kfood_photo(COLOURS["red"], 5), model_id="kfood_shallownet", threshold=0.0
    )
    assert result.weights_source == LOCAL and result.best.class_id in classifier.classes
    assert result.nutrition.source == "MFDS" and result.nutrition.dish.name_ko in (
        "갈비구이",
        "김치찌개",
        "떡국/만두국",
    )


def test_extra_run_folders_that_are_not_runs_or_clash_are_refused_with_their_path(tiny_weights, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "model.pt").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match="not a run folder .*pickled"):
        extra_runs([pickled])
    odd = tmp_path / "My-Run"
    shutil.copytree(tiny_weights / "deepnet10", odd)
    with pytest.raises(ValueError, match="run id"):
        extra_runs([odd])
    with pytest.raises(ValueError, match="served already: deepnet10"):
        RunStore(
            hub.WeightsSource(None, "unused", bundled=tiny_weights), extra=extra_runs([tiny_weights / "deepnet10"])
        )
    paths = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert extra_runs_from_env({EXTRA_RUNS_ENV: os.pathsep.join(paths)}) == paths
    assert extra_runs_from_env({}) == []
