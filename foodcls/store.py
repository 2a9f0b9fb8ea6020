"""Trained runs for the app: loaded lazily, once, from the Hub or else from the bundled weights/.

Each run's config and weights come from the same place, and the store remembers which one served
it, so the UI can say so. When the Hub fails for a reason other than a missing file (down, slow,
a broken download), the store stops asking it and serves the bundled copies from then on.
"""

import threading

from huggingface_hub.errors import EntryNotFoundError

from foodcls import hub, runs
from foodcls.predict import Classifier

BUNDLED = "bundled weights/"


class ModelUnavailable(RuntimeError):
    """This run cannot be served from anywhere; the message says why."""


class RunStore:
    def __init__(self, source: hub.WeightsSource):
        self.source = source
        self.hub_down = source.repo_id is None
        self._classifiers: dict[str, tuple[Classifier, str]] = {}
        self._lock = threading.Lock()

    def _sources(self):
        """(name, fetch(run, filename) -> Path) for the Hub while it works, then the bundled folder."""
        if not self.hub_down:
            yield self.source.hub_label(), lambda run, name: hub.hub_file(self.source, run, name)
        yield BUNDLED, lambda run, name: hub.bundled_file(self.source, run, name)

    def _failed(self, label: str, error: Exception) -> None:
        if label != BUNDLED and not isinstance(error, EntryNotFoundError):
            self.hub_down = True

    def classifier(self, run: str) -> tuple[Classifier, str]:
        """The run's classifier and where it came from; the first call loads it, later calls reuse it."""
        with self._lock:
            if run not in self._classifiers:
                self._classifiers[run] = self._load(run)
            return self._classifiers[run]

    def warm_up(self, run: str) -> threading.Thread:
        """Start loading a run in the background, so that the first request finds it ready.

        A failure is left to that request, which tries again and reports it."""

        def load():
            try:
                self.classifier(run)
            except ModelUnavailable:
                pass

        thread = threading.Thread(target=load, name=f"warm-up {run}", daemon=True)
        thread.start()
        return thread

    def _load(self, run: str) -> tuple[Classifier, str]:
        errors = []
        for label, fetch in self._sources():
            try:
                config = runs.read_json(fetch(run, "config.json"))
                return Classifier(runs.load_model(fetch(run, "model.safetensors"), config), config), label
            except Exception as error:  # a broken download or file must not take the app down
                errors.append(f"{label}: {type(error).__name__}: {error}")
                self._failed(label, error)
        raise ModelUnavailable(f"model {run} is unavailable ({'; '.join(errors)})")

    def run_json(self, run: str, filename: str):
        """A run's history.json / metrics.json / config.json, or None when no source has it."""
        for label, fetch in self._sources():
            try:
                return runs.read_json(fetch(run, filename))
            except Exception as error:
                self._failed(label, error)
        return None
