"""Uploaded photos: only files in the upload folders are read, and every upload is deleted soon.

Gradio (6.31) stores an upload at `<upload folder>/<sha256 hex>/<file name>`, writing it first to a
temporary `<upload folder>/tmp<random>` that an aborted upload leaves behind; its own outputs (the
Grad-CAM picture) go to `<upload folder>/<sha256 hex>/image.webp`. The upload folder is
GRADIO_TEMP_DIR, else `<system temp>/gradio` (gradio.utils.get_upload_folder). Our own request layer
keeps its uploads in `own_upload_dir()`, a private folder made once per process.

`resolve_upload` refuses any path that does not resolve (symlinks and `..` followed) to a regular
file inside those folders, with one message for missing and forbidden alike. `forget` deletes one
upload once its request is answered; the sweeper deletes whatever is older than a short bound, so a
photo is never kept for long even when a request dies, except that a photo a queued request names is
pinned until that request opens it (`pin`, `unpin`), for MAX_PIN_S at most. Gradio's own cache sweeper (Blocks
`delete_cache`) dies for good on its first sweep that overlaps an upload (it iterates a set the upload
route adds to from another thread); this one walks the folders themselves and catches every error,
per file and per sweep.
"""

import atexit
import functools
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

MAX_AGE_S = 60.0  # an upload older than this is deleted, answered or not
SWEEP_EVERY_S = 10.0  # so no upload outlives MAX_AGE_S + SWEEP_EVERY_S (plus one sweep's time)
# A photo a queued request names is pinned (kept past MAX_AGE_S) until that request opens it, for at
# most this long: however long the queue, no upload outlives MAX_PIN_S + SWEEP_EVERY_S.
MAX_PIN_S = 600.0
MAX_PINS = 10_000  # pins held at once; beyond it the oldest go first
_HASH_FOLDER = re.compile(r"^[0-9a-f]{64}$")  # Gradio's upload and cache folders: a sha256 hex digest
_TEMP_PREFIX = "tmp"  # tempfile.NamedTemporaryFile's: Gradio's in-progress and aborted uploads

_own_dir: Path | None = None
_own_dir_lock = threading.Lock()
_pins: dict[str, float] = {}  # real path -> time.monotonic() when the pin lapses
_pins_lock = threading.Lock()


class UploadRefused(ValueError):
    """The photo path is not an upload of this app; one message whatever the reason."""

    def __init__(self):
        super().__init__(
            "사진을 찾을 수 없습니다. This photo is not an upload of this app or it has expired: please upload it again."
        )


def gradio_upload_folder() -> Path:
    """Where Gradio keeps uploads: the same rule as gradio.utils.get_upload_folder (6.31), read now."""
    return _real_folder(os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio"))


@functools.lru_cache(maxsize=16)
def _real_folder(folder: str) -> Path:
    """A folder's real path, resolved once per name: every request checks its photo against the roots."""
    return Path(folder).resolve()


def own_upload_dir() -> Path:
    """This process's private folder (mode 0700, made by mkdtemp) for uploads our request layer stores."""
    global _own_dir
    with _own_dir_lock:
        if _own_dir is None or not _own_dir.is_dir():
            _own_dir = Path(tempfile.mkdtemp(prefix="foodcls-uploads-")).resolve()
            atexit.register(shutil.rmtree, _own_dir, ignore_errors=True)  # with any photo still in it
        return _own_dir


def upload_roots() -> tuple[Path, ...]:
    """The folders an upload may be in: Gradio's upload folder and our own."""
    return gradio_upload_folder(), own_upload_dir()


def resolve_upload(path, allowed_roots=None) -> Path:
    """The real path of an uploaded photo, or UploadRefused.

    Accepted only when `path`, with every symlink and `..` resolved, is a regular file strictly inside
    one of `allowed_roots` (default: upload_roots()). A missing file, a folder, a FIFO, a file outside
    the roots and a symlink out of them all get the same UploadRefused, whose message names no path.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path) or "\x00" in str(path):
        raise UploadRefused()
    roots = upload_roots() if allowed_roots is None else [Path(os.path.realpath(root)) for root in allowed_roots]
    try:
        real = Path(os.path.realpath(path, strict=True))
        is_file = stat.S_ISREG(real.stat().st_mode)
    except (OSError, ValueError, RuntimeError):  # missing, a symlink loop, a name too long
        raise UploadRefused() from None
    if not is_file or not any(real != root and real.is_relative_to(root) for root in roots):
        raise UploadRefused()
    return real


class _Replaced(UploadRefused):
    """The path was resolved to one regular file and opened as another (or as nothing): it was replaced
    in between, as Gradio does when the same photo is uploaded again (it renames the new copy over the
    old one, at the same sha256 path). Worth checking again from the start."""


def open_upload(path, allowed_roots=None, attempts: int = 3):
    """resolve_upload, then the file opened for reading (binary), checked to be the file resolved.

    Opened without following a symlink and without blocking, and compared by inode with what was
    resolved: a file swapped for a symlink or a FIFO between the check and the open is refused too.
    A regular file replaced by another between the two (the same photo uploaded again meanwhile) is
    checked again from the start, up to `attempts` times in all.
    """
    for _ in range(attempts - 1):
        try:
            return _open_checked(path, allowed_roots)
        except _Replaced:
            continue
    try:
        return _open_checked(path, allowed_roots)
    except _Replaced:
        raise UploadRefused() from None


def _open_checked(path, allowed_roots):
    real = resolve_upload(path, allowed_roots)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        expected = real.stat()
        descriptor = os.open(real, flags)
    except FileNotFoundError:
        raise _Replaced() from None  # renamed over, or deleted: resolve_upload decides on the next try
    except OSError:
        raise UploadRefused() from None
    try:
        opened = os.fstat(descriptor)
        if not stat.S_ISREG(opened.st_mode):
            raise UploadRefused()
        if (opened.st_dev, opened.st_ino) != (expected.st_dev, expected.st_ino):
            raise _Replaced()
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def forget(path, allowed_roots=None) -> bool:
    """Delete one upload now (its request is answered), and its Gradio hash folder once empty.

    Only a file inside the upload folders is deleted; anything else is left alone. Never raises:
    True when a file was deleted."""
    try:
        real = resolve_upload(path, allowed_roots)
        real.unlink()
    except (UploadRefused, OSError):
        return False
    unpin(real)
    if _HASH_FOLDER.match(real.parent.name):
        try:
            real.parent.rmdir()  # fails, harmlessly, when another file is in it
        except OSError:
            pass
    return True


def pin(path) -> bool:
    """Keep an upload past MAX_AGE_S for a request that names it and is still queued (guard.Guard pins
    every upload a queued request names), until `unpin` or MAX_PIN_S. True when `path` is an upload."""
    try:
        real = str(resolve_upload(path))
    except UploadRefused:
        return False
    with _pins_lock:
        _pins.pop(real, None)
        _pins[real] = time.monotonic() + MAX_PIN_S
        while len(_pins) > MAX_PINS:
            del _pins[next(iter(_pins))]
    return True


def unpin(path) -> None:
    """The request has the photo open (or is done with it): the sweeper's usual bound applies again."""
    try:
        real = os.path.realpath(path)
    except (TypeError, ValueError, OSError):
        return
    with _pins_lock:
        _pins.pop(real, None)


def _pinned(path: str) -> bool:
    real = os.path.realpath(path)
    with _pins_lock:
        lapses = _pins.get(real)
        if lapses is not None and lapses < time.monotonic():
            del _pins[real]
            return False
        return lapses is not None


def _age(entry: os.DirEntry, now: float) -> float:
    """Seconds since the entry was last written or moved (the newer of mtime and ctime)."""
    info = entry.stat(follow_symlinks=False)
    return now - max(info.st_mtime, info.st_ctime)


def _remove(path: str) -> None:
    os.unlink(path)


def _sweep_folder(folder: str, max_age: float, now: float, errors: list) -> tuple[int, bool]:
    """Delete files older than max_age under `folder` (not following symlinks), then its empty old
    sub-folders; (files deleted, whether the folder is now empty)."""
    deleted, left = 0, 0
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    old = _age(entry, now) > max_age  # before its files go, which makes it look new
                    count, empty = _sweep_folder(entry.path, max_age, now, errors)
                    deleted += count
                    if empty and old:
                        os.rmdir(entry.path)
                    else:
                        left += 1
                elif _age(entry, now) > max_age and not _pinned(entry.path):
                    _remove(entry.path)
                    deleted += 1
                else:
                    left += 1
            except FileNotFoundError:
                pass  # deleted meanwhile (forget, or the request that made it)
            except Exception as error:  # one stubborn file must not stop the sweep
                errors.append(error)
                left += 1
    return deleted, left == 0


def sweep(max_age: float = MAX_AGE_S, gradio_folder=None, own_folder=None) -> tuple[int, list[Exception]]:
    """One pass over the upload folders; (files deleted, errors met). Never raises.

    In Gradio's folder only what Gradio puts there for uploads is touched (the sha256-named folders
    and the top-level tmp* files), since GRADIO_TEMP_DIR may be a folder shared with other things;
    our own folder is ours entirely. A folder is removed when it is empty after the pass and was
    older than max_age before it (an upload moving into a folder refreshes the folder's time)."""
    deleted, errors = 0, []
    now = time.time()
    try:
        gradio_root = Path(gradio_folder) if gradio_folder is not None else gradio_upload_folder()
        own_root = Path(own_folder) if own_folder is not None else own_upload_dir()
    except Exception as error:
        return 0, [error]
    if gradio_root.is_dir():
        try:
            with os.scandir(gradio_root) as entries:
                found = list(entries)
        except Exception as error:
            found, errors = [], [error]
        for entry in found:
            try:
                if entry.is_dir(follow_symlinks=False) and _HASH_FOLDER.match(entry.name):
                    old = _age(entry, now) > max_age
                    count, empty = _sweep_folder(entry.path, max_age, now, errors)
                    deleted += count
                    if empty and old:
                        os.rmdir(entry.path)
                elif entry.name.startswith(_TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                    if _age(entry, now) > max_age:
                        _remove(entry.path)
                        deleted += 1
            except FileNotFoundError:
                pass
            except Exception as error:
                errors.append(error)
    if own_root.is_dir() and own_root != gradio_root:
        try:
            deleted += _sweep_folder(str(own_root), max_age, now, errors)[0]
        except Exception as error:
            errors.append(error)
    return deleted, errors


class Sweeper(threading.Thread):
    """A daemon thread that sweeps every `every` seconds until stopped; no exception ends it."""

    def __init__(self, max_age: float = MAX_AGE_S, every: float = SWEEP_EVERY_S, gradio_folder=None, own_folder=None):
        super().__init__(name="foodcls upload sweeper", daemon=True)
        self.max_age, self.every = max_age, every
        self.folders = {"gradio_folder": gradio_folder, "own_folder": own_folder}
        self.stopped = threading.Event()
        self.sweeps, self.deleted, self.errors = 0, 0, 0
        self.longest_sweep_s = 0.0  # an upload lives at most max_age + every + this

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            started = time.monotonic()
            try:
                deleted, errors = sweep(self.max_age, **self.folders)
                self.deleted += deleted
                self.errors += len(errors)
            except BaseException:  # sweep never raises; this is the belt to its braces
                self.errors += 1
            self.sweeps += 1
            self.longest_sweep_s = max(self.longest_sweep_s, time.monotonic() - started)

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        self.join(timeout)


_sweeper: Sweeper | None = None
_sweeper_lock = threading.Lock()


def start_sweeper(max_age: float = MAX_AGE_S, every: float = SWEEP_EVERY_S) -> Sweeper:
    """Start the process's sweeper (once; a second call returns the running one)."""
    global _sweeper
    with _sweeper_lock:
        if _sweeper is None or not _sweeper.is_alive():
            _sweeper = Sweeper(max_age, every)
            _sweeper.start()
        return _sweeper


def stop_sweeper(timeout: float | None = 5.0) -> None:
    global _sweeper
    with _sweeper_lock:
        if _sweeper is not None:
            _sweeper.stop(timeout)
            _sweeper = None
