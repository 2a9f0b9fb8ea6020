"""Run files from a Hugging Face Hub model repository, with the bundled weights/ folder as fallback.

The Hub repository's layout is the weights/ folder itself (<run>/model.safetensors, config.json,
history.json, metrics.json). Downloads go through huggingface_hub into the standard HF cache, pinned
to a revision. Settings: FOODCLS_HUB_REPO (empty: bundled weights only) and FOODCLS_HUB_REVISION;
HF_ENDPOINT points huggingface_hub at another server, as usual.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import LocalEntryNotFoundError

BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_REPO = "foodcls/foodcls-weights"
DEFAULT_REVISION = "v0.1"  # a tag made when publishing (see README); a commit hash pins tighter


@dataclass(frozen=True)
class WeightsSource:
    repo_id: str | None
    revision: str
    bundled: Path = BUNDLED_WEIGHTS
    endpoint: str | None = None  # None: huggingface_hub's own (HF_ENDPOINT or huggingface.co)
    timeout: float = 5.0

    @classmethod
    def from_env(cls, repo_id: str | None = None, revision: str | None = None) -> "WeightsSource":
        """Flags win over FOODCLS_HUB_REPO / FOODCLS_HUB_REVISION, which win over the defaults."""
        repo = repo_id if repo_id is not None else os.environ.get("FOODCLS_HUB_REPO", DEFAULT_REPO)
        return cls(repo or None, revision or os.environ.get("FOODCLS_HUB_REVISION", DEFAULT_REVISION))

    def hub_label(self) -> str:
        return f"Hugging Face Hub {self.repo_id}@{self.revision}"


def hub_file(source: WeightsSource, run: str, filename: str) -> Path:
    """One file of a run from the HF cache, else downloaded; raises when the Hub cannot serve it.

    The revision is pinned, so a cached copy is used without asking the Hub. Before downloading, one
    metadata request with our timeout and no retries checks that the Hub answers: huggingface_hub's
    own retries back off for tens of seconds, and the app must not wait that long to fall back.
    """
    if not source.repo_id:
        raise FileNotFoundError("no Hub repository configured")
    options = {"revision": source.revision, "endpoint": source.endpoint}
    path_in_repo = f"{run}/{filename}"
    try:
        return Path(hf_hub_download(source.repo_id, path_in_repo, local_files_only=True, **options))
    except LocalEntryNotFoundError:
        pass
    get_hf_file_metadata(hf_hub_url(source.repo_id, path_in_repo, **options), timeout=source.timeout)
    return Path(hf_hub_download(source.repo_id, path_in_repo, etag_timeout=source.timeout, **options))


def bundled_file(source: WeightsSource, run: str, filename: str) -> Path:
    path = source.bundled / run / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    return path
