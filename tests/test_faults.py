"""`python app.py` against a fake Hub on 127.0.0.1 that works, fails or hangs: the app keeps serving."""

import subprocess
import time

import pytest
from fakehub import FakeHub
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers import dish_photo

from foodcls.launch import ROOT, serve_app
from foodcls.service import api_inputs

pytestmark = pytest.mark.skipif(
    not (ROOT / "weights" / "shallownet" / "config.json").is_file(), reason="no bundled weights in weights/"
)


def classify_via_app(fake: FakeHub, tmp_path) -> str:
    """The verdict and the details fold's text (model, weights source, timing) of one request."""
    env = {
        "FOODCLS_HUB_REPO": fake.repo_id,
        "FOODCLS_HUB_REVISION": fake.revision,
        "HF_ENDPOINT": fake.url,
        "HF_HOME": str(tmp_path / "hf-home"),
        "FOODCLS_HUB_MANIFEST": str(fake.folder / "SHA256SUMS"),  # the fake Hub serves the tiny weights
    }
    photo = tmp_path / "meal.png"
    dish_photo("ramen").save(photo)
    with serve_app(env) as (url, _):
        client = Client(url, verbose=False)
        for _ in range(30):  # a model still loading (a hanging Hub) answers "try again" at once
            try:
                _, _, verdict, _, details = client.predict(
                    handle_file(str(photo)), *api_inputs(model_id="shallownet", threshold=0.0), api_name="/classify"
                )
                break
            except AppError as error:
                assert "try again in a few seconds" in str(error)
                time.sleep(2)
    return verdict + "\n\n" + details


def test_the_app_serves_weights_downloaded_from_the_hub(tiny_weights, tmp_path):
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        verdict = classify_via_app(fake, tmp_path)
    assert "Hugging Face Hub foodcls/test@v1" in verdict
    assert "라멘 · Ramen" in verdict  # the tiny colour model's answer, not the bundled model's
    assert list((tmp_path / "hf-home").rglob("model.safetensors"))


@pytest.mark.parametrize("mode", ["error500", "hang", "corrupt"])
def test_the_app_falls_back_to_bundled_weights_when_the_hub_fails(mode, tiny_weights, tmp_path):
    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    with FakeHub("foodcls/test", "v1", tiny_weights) as fake:
        fake.mode = mode
        verdict = classify_via_app(fake, tmp_path)
    assert "bundled weights/" in verdict
    after = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    assert after == before  # nothing written into the project, only to the cache and temp folders
