"""Run files from a Hugging Face Hub model repository, with the bundled weights/ folder as fallback.

The Hub repository's layout is the weights/ folder itself (<run>/model.safetensors, config.json,
history.json, metrics.json). Downloads go through huggingface_hub into the standard HF cache, pinned
to a revision. Settings: FOODCLS_HUB_REPO (empty: bundled weights only), FOODCLS_HUB_REVISION and
FOODCLS_HUB_MANIFEST (default weights/SHA256SUMS); HF_ENDPOINT points huggingface_hub at another
server, as usual.

Nothing from the Hub is trusted on its word: a file must be listed in the manifest committed with
the code (weights/SHA256SUMS, `sha256sum` format), its size must be under MAX_FILE_BYTES before and
after the download, its sha256 must match the manifest's, and the whole download must finish within
the source's deadline. After changing anything in weights/, regenerate the manifest:

    python -m foodcls.hub --write-manifest weights
"""

import argparse
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import LocalEntryNotFoundError

BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_REPO = "foodcls/foodcls-weights"
# The Hub commit the app pins by default: a commit hash, which (unlike a tag or branch) nobody can
# move. To bump it: publish weights/ (README, "Publish the weights to the Hub"), then copy the commit
# hash that `hf upload` prints (or the repository's "History" page shows) here, all 40 hex digits.
# The all-zero value means "nothing published yet": the app then asks no Hub and serves weights/.
UNPUBLISHED = "0" * 40
DEFAULT_REVISION = UNPUBLISHED
MANIFEST = "SHA256SUMS"
MAX_FILE_BYTES = {".safetensors": 256 * 2**20, ".json": 4 * 2**20}  # per file, by suffix; others refused
RUN_ID = re.compile(r"^[a-z0-9_]{1,64}$")
FILE_NAME = re.compile(r"^[a-z0-9_]{1,64}\.(?:safetensors|json)$")


class HubFileRefused(ValueError):
    """A Hub file that is not listed in the manifest, too large, or not the bytes the manifest lists."""


class NotInManifest(HubFileRefused):
    """A file the manifest does not list: refused before any request, and no fault of the Hub's."""


class HubDeadline(TimeoutError):
    """A download that did not finish within its overall deadline (a slow or trickling server)."""


@dataclass(frozen=True)
class WeightsSource:
    repo_id: str | None
    revision: str
    bundled: Path = BUNDLED_WEIGHTS
    endpoint: str | None = None  # None: huggingface_hub's own (HF_ENDPOINT or huggingface.co)
    timeout: float = 5.0  # one metadata request, no retries
    deadline: float = 120.0  # a whole file download: 22 MB (ResNet18) at 200 KB/s
    manifest: Path | None = None  # None: <bundled>/SHA256SUMS

    @property
    def manifest_path(self) -> Path:
        return Path(self.manifest) if self.manifest is not None else Path(self.bundled) / MANIFEST

    @classmethod
    def from_env(cls, repo_id: str | None = None, revision: str | None = None) -> "WeightsSource":
        """Flags win over FOODCLS_HUB_REPO / FOODCLS_HUB_REVISION, which win over the defaults."""
        repo = repo_id if repo_id is not None else os.environ.get("FOODCLS_HUB_REPO", DEFAULT_REPO)
        manifest = os.environ.get("FOODCLS_HUB_MANIFEST")  # another sha256sum file (tests, a fork's Hub repo)
        return cls(
            repo or None,
            revision or os.environ.get("FOODCLS_HUB_REVISION", DEFAULT_REVISION),
            manifest=Path(manifest) if manifest else None,
        )

    def hub_label(self) -> str:
        return f"Hugging Face Hub {self.repo_id}@{self.revision}"


def hub_file(source: WeightsSource, run: str, filename: str) -> Path:
    """One file of a run from the HF cache, else downloaded; checked against the manifest either way.

    Raises when the Hub cannot serve it (FileNotFoundError without a repository or a published
    revision; HubFileRefused for a file not listed, too large or with other bytes; HubDeadline).
    The revision is pinned, so a cached copy is used without asking the Hub. Before downloading, one
    metadata request with our timeout and no retries checks that the Hub answers (huggingface_hub's
    own retries back off for tens of seconds, and the app must not wait that long to fall back) and
    that the file's size is under the limit. The download runs in a thread that the caller stops
    waiting for after `source.deadline` seconds: a server that trickles bytes cannot hold a load.
    """
    if not source.repo_id or source.revision == UNPUBLISHED:
        raise FileNotFoundError("no Hub repository or published revision configured")
    path_in_repo = f"{run}/{filename}"
    expected = expected_sha256(source, run, filename)
    limit = size_limit(filename)
    options = {"revision": source.revision, "endpoint": source.endpoint}
    try:
        return verified(Path(hf_hub_download(source.repo_id, path_in_repo, local_files_only=True, **options)), expected)
    except LocalEntryNotFoundError:
        pass
    metadata = get_hf_file_metadata(hf_hub_url(source.repo_id, path_in_repo, **options), timeout=source.timeout)
    if metadata.size is not None and metadata.size > limit:
        raise HubFileRefused(f"{path_in_repo} is {metadata.size:,} bytes, over the {limit:,} byte limit")
    download = _in_thread(
        lambda: hf_hub_download(source.repo_id, path_in_repo, etag_timeout=source.timeout, **options),
        source.deadline,
        f"{path_in_repo} did not download within {source.deadline:g} s",
    )
    return verified(Path(download), expected)


def _in_thread(work, deadline: float, message: str):
    """work() in a daemon thread, its result or exception; HubDeadline once `deadline` s have passed
    (the thread is abandoned: huggingface_hub's download cannot be interrupted from outside)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, name="hub download", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        raise HubDeadline(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def size_limit(filename: str) -> int:
    limit = MAX_FILE_BYTES.get(Path(filename).suffix)
    if limit is None:
        raise HubFileRefused(f"{filename}: not a file type a run has")
    return limit


def expected_sha256(source: WeightsSource, run: str, filename: str) -> str:
    """The manifest's sha256 of <run>/<filename>; HubFileRefused when the name is odd or unlisted."""
    if not RUN_ID.match(run) or not FILE_NAME.match(filename):
        raise HubFileRefused("not a run file name")
    try:
        listed = read_manifest(source.manifest_path)
    except OSError:
        raise HubFileRefused(f"no manifest {MANIFEST} next to the bundled weights") from None
    if f"{run}/{filename}" not in listed:
        raise NotInManifest(f"{run}/{filename} is not in the manifest")
    return listed[f"{run}/{filename}"]


def verified(path: Path, sha256: str) -> Path:
    """`path` when its size is under the limit and its sha256 is `sha256`; else HubFileRefused."""
    if path.stat().st_size > size_limit(path.name):
        raise HubFileRefused(f"{path.name} is over the size limit")
    if file_sha256(path) != sha256:
        raise HubFileRefused(f"{path.parent.name}/{path.name} does not match its sha256 in the manifest")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_entries(folder: Path) -> dict[str, str]:
    """{"<run>/<file>": sha256} of every file in the run folders under `folder`."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.glob("*/*"))
        if path.is_file() and not path.parent.name.startswith(".")
    }


def write_manifest(folder: Path) -> Path:
    """Write <folder>/SHA256SUMS (`sha256sum` format, checkable with `sha256sum -c`) and return it."""
    lines = [f"{digest}  {name}\n" for name, digest in manifest_entries(folder).items()]
    path = Path(folder) / MANIFEST
    path.write_text("".join(lines))
    return path


def read_manifest(path: Path) -> dict[str, str]:
    """{"<run>/<file>": sha256} from a `sha256sum`-format file; OSError when it cannot be read."""
    listed = {}
    for line in Path(path).read_text().splitlines():
        digest, _, name = line.partition("  ")
        if re.fullmatch(r"[0-9a-f]{64}", digest) and name:
            listed[name.lstrip("*")] = digest
    return listed


def manifest_runs(path: Path) -> set[str]:
    """The runs a manifest lists (empty when there is none)."""
    try:
        return {name.split("/")[0] for name in read_manifest(path)}
    except OSError:
        return set()


def bundled_file(source: WeightsSource, run: str, filename: str) -> Path:
    path = source.bundled / run / filename
    if not path.is_file():
        raise FileNotFoundError(f"{run}/{filename} is missing")  # no install path in a message
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="The weights manifest the app checks Hub downloads against.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-manifest", metavar="DIR", type=Path, help="write DIR/SHA256SUMS")
    action.add_argument("--check-manifest", metavar="DIR", type=Path, help="exit 1 unless DIR/SHA256SUMS is current")
    args = parser.parse_args(argv)
    if args.write_manifest:
        path = write_manifest(args.write_manifest)
        print(f"wrote {path} ({len(read_manifest(path))} files)")
    elif manifest_entries(args.check_manifest) != read_manifest(args.check_manifest / MANIFEST):
        raise SystemExit(f"{args.check_manifest / MANIFEST} is out of date: python -m foodcls.hub --write-manifest DIR")
    else:
        print("manifest is current")


if __name__ == "__main__":
    main()
