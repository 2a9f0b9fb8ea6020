"""Trained runs for the app: loaded lazily, once, from the Hub or else from the bundled weights/.

Each run's config and weights come from the same place, and the store remembers which one served
it, so the UI can say so. When the Hub fails a run for a reason other than a missing file (down, slow,
a broken or unexpected download), the store stops asking the Hub for that run and serves its bundled
copy from then on; other runs still come from the Hub.

A loaded classifier is read without any lock. A run loads in a background thread of its own, one at a
time per run; a request waits for it at most `wait_s` (the request layer's REQUEST_WAIT_S) and is then
told ModelLoading, so a slow load (a Hub that trickles bytes) holds no request slot for long and never
holds up the requests for a run that is loaded. A run id that is not known (listed in the weights
manifest or bundled, or given as `known_runs`) is refused before anything is looked up.

Runs of one's own (a run trained on AI-Hub K-food, say) are served next to these from their own
folders (`extra_runs`: `python app.py --run DIR` or FOODCLS_EXTRA_RUNS): the folder name is the run id.
"""

import logging
import os
import threading
from pathlib import Path

from huggingface_hub.errors import EntryNotFoundError

from foodcls import hub, runs
from foodcls.predict import Classifier, config_for_this_cpu

BUNDLED = "bundled weights/"
REQUEST_WAIT_S = 2.0  # how long a request waits for its run to load before it is told to retry
RETRY_AFTER_S = 10  # what such a request is told
LOCAL = "local run folder"
EXTRA_RUNS_ENV = "FOODCLS_EXTRA_RUNS"  # run folders to serve too, separated like PATH (os.pathsep)
log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """This run cannot be served from anywhere; the message says why (in Korean and English)."""


class UnknownRun(ModelUnavailable):
    """A run id that is not one of the store's runs: refused before any lookup."""


class ModelLoading(ModelUnavailable):
    """The run is loading in the background: ask again in `retry_after` seconds."""

    def __init__(self, run: str, retry_after: int = RETRY_AFTER_S):
        super().__init__(
            f"모델을 불러오는 중입니다. {retry_after}초 뒤에 다시 시도해 주세요. "
            f"Model {run} is loading: try again in {retry_after} s."
        )
        self.retry_after = retry_after


def extra_runs(folders) -> dict[str, Path]:
    """{run id: folder} of run folders given by path; ValueError naming the first that is not a run
    folder (config.json and model.safetensors) or whose name is not a run id (a-z, 0-9, _) or repeats."""
    found = {}
    for folder in map(Path, folders):
        if not ((folder / "config.json").is_file() and (folder / "model.safetensors").is_file()):
            raise ValueError(f"not a run folder (config.json and model.safetensors): {folder}")
        if not hub.RUN_ID.match(folder.name):
            raise ValueError(f"a run folder's name is its run id, lower-case letters, digits and _: {folder}")
        if folder.name in found:
            raise ValueError(f"two run folders are named {folder.name}: {found[folder.name]} and {folder}")
        found[folder.name] = folder
    return found


def extra_runs_from_env(environ=os.environ) -> list[str]:
    """The run folders listed in FOODCLS_EXTRA_RUNS (separated by os.pathsep), in order."""
    return [path for path in environ.get(EXTRA_RUNS_ENV, "").split(os.pathsep) if path]


class RunStore:
    def __init__(self, source: hub.WeightsSource, known_runs=None, extra: dict[str, Path] | None = None):
        self.source = source
        self.hub_down = source.repo_id is None
        if known_runs is None:
            bundled = source.bundled
            on_disk = {p.parent.name for p in bundled.glob("*/config.json")} if bundled.is_dir() else set()
            known_runs = hub.manifest_runs(source.manifest_path) | on_disk
        self.extra = dict(extra or {})  # run id -> its own folder, served from there only
        clash = sorted(set(self.extra) & set(known_runs))
        if clash:
            raise ValueError(f"a run of that name is served already: {', '.join(clash)}; rename the folder")
        self.known_runs = frozenset(run for run in [*known_runs, *self.extra] if hub.RUN_ID.match(run))
        self.hub_failed: set[str] = set()  # runs the Hub failed to serve: bundled from then on
        self._classifiers: dict[str, tuple[Classifier, str]] = {}
        self._loads: dict[str, threading.Event] = {}  # the load running for a run, set when it ends
        self._errors: dict[str, ModelUnavailable] = {}  # the last failed load's error, per run
        self._loads_lock = threading.Lock()  # held only to find or start a run's load

    def check_run(self, run) -> str:
        """`run` when it is one of the known runs, else UnknownRun (whose message repeats the id
        only when it is a plain id)."""
        if isinstance(run, str) and run in self.known_runs:
            return run
        raise UnknownRun(
            f"모델을 알 수 없습니다. Unknown model: choose one of {', '.join(sorted(self.known_runs)) or '(none)'}."
        )

    def _sources(self, run: str):
        """(name, fetch(run, filename) -> Path): the Hub unless it failed this run, then the bundled folder;
        for an extra run, its own folder only."""
        if run in self.extra:
            yield LOCAL, lambda run, name: local_file(self.extra[run], name)
            return
        if not self.hub_down and run not in self.hub_failed:
            yield self.source.hub_label(), lambda run, name: hub.hub_file(self.source, run, name)
        yield BUNDLED, lambda run, name: hub.bundled_file(self.source, run, name)

    def _failed(self, run: str, label: str, error: Exception) -> None:
        """A Hub failure sends this run to its bundled copy, except for a file the Hub lacks or the
        manifest does not list."""
        if label not in (BUNDLED, LOCAL) and not isinstance(error, (EntryNotFoundError, hub.NotInManifest)):
            self.hub_failed.add(run)

    def classifier(self, run: str, wait_s: float | None = None) -> tuple[Classifier, str]:
        """The run's classifier and where it came from; the first call loads it, later calls reuse it.

        A run not loaded yet loads in the background; this waits for it `wait_s` seconds at most (None:
        until it ends) and then raises ModelLoading. A failed load raises ModelUnavailable; the next
        call tries again."""
        loaded = self._classifiers.get(self.check_run(run))  # a dict read is atomic: no lock
        if loaded is not None:
            return loaded
        if not self.warm_up(run).wait(wait_s):
            raise ModelLoading(run)
        loaded = self._classifiers.get(run)
        if loaded is None:
            raise self._errors[run]
        return loaded

    def warm_up(self, run: str) -> threading.Event:
        """Start loading a run in the background unless it is loaded or loading; the Event of its load."""
        with self._loads_lock:
            done = self._loads.get(run)
            if done is not None and (not done.is_set() or run in self._classifiers):
                return done
            done = self._loads[run] = threading.Event()

        def load():
            try:
                self._classifiers[run] = self._load(run)
            except ModelUnavailable as error:
                self._errors[run] = error
            finally:
                done.set()

        threading.Thread(target=load, name=f"load {run}", daemon=True).start()
        return done

    def _load(self, run: str) -> tuple[Classifier, str]:
        errors = []
        for label, fetch in self._sources(run):
            try:
                config = runs.validate_config(runs.read_json(fetch(run, "config.json")))
                model = runs.load_model(fetch(run, "model.safetensors"), config)
                return Classifier(model, config_for_this_cpu(config)), label
            except Exception as error:  # a broken download or file must not take the app down
                errors.append((label, error))
                self._failed(run, label, error)
        # The details (paths, URLs) go to the log; the message names only the sources and error types.
        log.warning("model %s is unavailable: %s", run, "; ".join(f"{lb}: {type(e).__name__}: {e}" for lb, e in errors))
        reasons = "; ".join(f"{label}: {type(error).__name__}" for label, error in errors)
        raise ModelUnavailable(f"모델을 불러올 수 없습니다. Model {run} is unavailable right now ({reasons}).")

    def run_json(self, run: str, filename: str):
        """A run's history.json / metrics.json / config.json, or None when no source has it (or the run
        or file is not one the store serves, or a config.json is not sound)."""
        if run not in self.known_runs or filename not in runs.RUN_FILES or not filename.endswith(".json"):
            return None
        for label, fetch in self._sources(run):
            try:
                value = runs.read_json(fetch(run, filename))
                return config_for_this_cpu(runs.validate_config(value)) if filename == "config.json" else value
            except Exception as error:
                self._failed(run, label, error)
        return None


def local_file(folder: Path, filename: str) -> Path:
    """A run file of an extra run's own folder (only the files a run has)."""
    path = Path(folder) / filename
    if filename not in (*runs.RUN_FILES, "split.json") or not path.is_file():
        raise FileNotFoundError(f"{filename} is missing")  # no install path in a message
    return path
