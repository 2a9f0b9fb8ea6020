"""Only uploads are read (issue #15 item 1), and every upload is deleted soon by a sweeper that cannot
die (item 3): against folders laid out as Gradio lays them out, and against Gradio's own upload route."""

import hashlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from foodcls import uploads

ROOT = Path(__file__).resolve().parents[1]
REFUSED = str(uploads.UploadRefused())


@pytest.fixture
def upload_dir(tmp_path, monkeypatch) -> Path:
    """Gradio's upload folder for this test (GRADIO_TEMP_DIR, as Gradio reads it)."""
    folder = tmp_path / "gradio-uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def gradio_style_upload(folder: Path, content: bytes, name: str = "meal.png") -> Path:
    """A finished upload where Gradio puts it: <folder>/<sha256>/<name>, via a tmp* file as Gradio does."""
    temp = folder / f"tmp{random.getrandbits(48):012x}"
    temp.write_bytes(content)
    target = folder / hashlib.sha256(content + os.urandom(8)).hexdigest()
    target.mkdir(exist_ok=True)
    os.replace(temp, target / name)
    return target / name


def refused(path, **kwargs) -> str:
    with pytest.raises(uploads.UploadRefused) as error:
        uploads.resolve_upload(path, **kwargs)
    return str(error.value)


def test_the_upload_folder_is_computed_as_gradio_computes_it(upload_dir, monkeypatch):
    from gradio.utils import get_upload_folder

    assert uploads.gradio_upload_folder() == Path(get_upload_folder()).resolve() == upload_dir.resolve()
    monkeypatch.delenv("GRADIO_TEMP_DIR")
    assert uploads.gradio_upload_folder() == Path(get_upload_folder()).resolve()


def test_an_upload_is_accepted(upload_dir):
    photo = gradio_style_upload(upload_dir, b"photo bytes")
    assert uploads.resolve_upload(str(photo)) == photo.resolve()
    with uploads.open_upload(photo) as opened:
        assert opened.read() == b"photo bytes"
    own = uploads.own_upload_dir() / "request.jpg"
    own.write_bytes(b"x")
    assert uploads.resolve_upload(own) == own.resolve()
    own.unlink()


def test_server_files_are_refused_with_one_message_that_names_nothing(upload_dir, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"secret")
    messages = {
        refused("/etc/passwd"),
        refused(ROOT / "docs" / "screenshot.png"),
        refused(outside),
        refused(upload_dir / ("0" * 64) / "missing.png"),  # missing: the same message as forbidden
        refused("/no/such/file"),
        refused(upload_dir),  # the folder itself, and a folder in it
        refused(gradio_style_upload(upload_dir, b"a").parent),
        refused(""),
        refused(None),
        refused("bad\x00name"),
        refused({"path": "/etc/passwd"}),
    }
    assert messages == {REFUSED}
    assert "/" not in REFUSED and "\\" not in REFUSED


def test_dot_dot_traversal_out_of_the_upload_folder_is_refused(upload_dir):
    photo = gradio_style_upload(upload_dir, b"p")
    refused(f"{upload_dir}/../../../../../../etc/passwd")
    refused(f"{photo.parent}/../../{upload_dir.name}/../secret.png")
    assert uploads.resolve_upload(f"{photo.parent}/../{photo.parent.name}/{photo.name}") == photo.resolve()


def test_the_same_photo_uploaded_again_while_it_is_opened_is_still_read(upload_dir, monkeypatch):
    # Gradio renames a new upload of the same bytes over the old one at the same sha256 path: a read
    # between the check and the open met another inode and refused a good photo (16 users, one photo).
    photo = gradio_style_upload(upload_dir, b"the same photo")
    real_open, swaps = os.open, []

    def open_after_a_reupload(path, flags, *args, **kwargs):
        if Path(path) == photo.resolve() and len(swaps) < 2:
            swaps.append(1)
            again = upload_dir / f"tmp{len(swaps)}"
            again.write_bytes(b"the same photo")
            os.replace(again, photo)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(uploads.os, "open", open_after_a_reupload)
    with uploads.open_upload(photo) as opened:
        assert opened.read() == b"the same photo"
    assert len(swaps) == 2  # two replacements met, the third check and open agreed
    swaps.clear()
    with pytest.raises(uploads.UploadRefused, match="not an upload"):  # replaced on every try: refused, bounded
        uploads.open_upload(photo, attempts=2)


def test_a_symlink_inside_the_upload_folder_pointing_outside_is_refused(upload_dir, tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not an upload")
    link_folder = upload_dir / ("a" * 64)
    link_folder.mkdir()
    (link_folder / "meal.png").symlink_to(outside)
    (upload_dir / "etc").symlink_to("/etc")
    refused(link_folder / "meal.png")
    refused(upload_dir / "etc" / "passwd")
    with pytest.raises(uploads.UploadRefused):
        uploads.open_upload(link_folder / "meal.png")


def test_a_fifo_in_the_upload_folder_is_refused_without_blocking(upload_dir):
    fifo = upload_dir / "tmpfifo"
    os.mkfifo(fifo)
    refused(fifo)


def test_forget_deletes_an_upload_and_its_folder_but_nothing_outside(upload_dir, tmp_path):
    photo = gradio_style_upload(upload_dir, b"p")
    outside = tmp_path / "keep.png"
    outside.write_bytes(b"k")
    assert uploads.forget(photo) is True
    assert not photo.exists() and not photo.parent.exists()
    assert uploads.forget(outside) is False and outside.exists()
    assert uploads.forget(photo) is False  # already gone: no error


def test_old_uploads_and_aborted_temp_files_are_swept_and_nothing_else(upload_dir):
    photo = gradio_style_upload(upload_dir, b"old photo")
    aborted = upload_dir / "tmpab12cd34"
    aborted.write_bytes(b"half an upload")
    others = [upload_dir / "notes.txt", upload_dir / "deep_links" / "x.json", upload_dir / "not-a-hash" / "y.png"]
    for other in others:
        other.parent.mkdir(exist_ok=True)
        other.write_bytes(b"not ours")
    time.sleep(1.2)  # the age is the newer of mtime and ctime, which a test cannot set back
    fresh = gradio_style_upload(upload_dir, b"new photo")
    deleted, errors = uploads.sweep(max_age=1.0, gradio_folder=upload_dir, own_folder=upload_dir / "own")
    assert (deleted, errors) == (2, [])
    assert not photo.parent.exists() and not aborted.exists()
    assert fresh.exists() and all(other.exists() for other in others)


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def files_older_than(folder: Path, seconds: float) -> list[tuple[str, float]]:
    now, old = time.time(), []
    for parent, _, names in os.walk(folder):  # os.walk skips what the sweeper deletes meanwhile
        for name in names:
            try:
                info = os.lstat(os.path.join(parent, name))
            except FileNotFoundError:
                continue
            if now - max(info.st_mtime, info.st_ctime) > seconds:
                old.append((os.path.join(parent, name), now - info.st_mtime))
    return old


def test_a_flood_of_uploads_while_sweeping_leaves_no_old_photo_and_the_sweeper_alive(upload_dir, monkeypatch):
    """Four threads upload (and abort uploads) as fast as they can while the sweeper runs; deletes
    fail now and then, and whole sweeps fail at first: the thread lives, and nothing outlives the bound."""
    max_age, every = 1.0, 0.1
    own = upload_dir.parent / "own"
    own.mkdir()
    failed_once: set[str] = set()
    real_remove, real_sweep = uploads._remove, uploads.sweep
    sweep_failures = iter([True, True, True])

    def flaky_remove(path):
        if path not in failed_once and random.random() < 0.2:
            failed_once.add(path)
            raise PermissionError(f"injected: {path}")
        real_remove(path)

    def flaky_sweep(*args, **kwargs):
        if next(sweep_failures, False):
            raise RuntimeError("Set changed size during iteration")  # what kills Gradio's sweeper
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(uploads, "_remove", flaky_remove)
    monkeypatch.setattr(uploads, "sweep", flaky_sweep)
    sweeper = uploads.Sweeper(max_age=max_age, every=every, gradio_folder=upload_dir, own_folder=own)
    sweeper.start()
    stop = time.monotonic() + 3.0
    made = []

    def flood(seed):
        rng = random.Random(seed)
        while time.monotonic() < stop:
            content = rng.randbytes(64)
            if rng.random() < 0.2:
                (upload_dir / f"tmp{rng.getrandbits(48):012x}").write_bytes(content)  # an aborted upload
            elif rng.random() < 0.2:
                (own / f"{rng.getrandbits(48):012x}.jpg").write_bytes(content)
            else:
                made.append(gradio_style_upload(upload_dir, content))
            time.sleep(0.002)  # still hundreds of uploads a second: several times what the app serves

    try:
        threads = [threading.Thread(target=flood, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(max_age)
        swept = sweeper.sweeps
        wait_for(lambda: sweeper.sweeps >= swept + 2)  # two whole sweeps after the flood
        assert sweeper.is_alive()
        # The promise: no upload outlives max_age + one interval + one sweep (long under a flood on a
        # loaded 2-core machine, so measured), with half a second of scheduling slack.
        bound = max_age + every + sweeper.longest_sweep_s + 0.5
        assert files_older_than(upload_dir, bound) == [] and files_older_than(own, bound) == []
        assert sweeper.deleted > len(made) / 2 and sweeper.errors >= 3
        assert failed_once  # the injected failures happened, and those files went on a later sweep
    finally:
        sweeper.stop(5)
    assert not sweeper.is_alive()


def test_start_and_stop_sweeper_run_one_process_wide_thread(upload_dir):
    first = uploads.start_sweeper(max_age=60, every=0.05)
    try:
        assert uploads.start_sweeper() is first and first.is_alive()
        time.sleep(0.3)
        assert first.sweeps >= 1
    finally:
        uploads.stop_sweeper()
    assert not first.is_alive()


@pytest.fixture
def gradio_app(upload_dir):
    import gradio as gr

    with gr.Blocks() as demo:
        gr.Image(type="filepath")
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, max_file_size="1mb")
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()


def test_gradio_uploads_resolve_and_its_aborted_uploads_are_swept(gradio_app, upload_dir, tmp_path):
    import httpx

    photo = tmp_path / "meal.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(photo)
    with photo.open("rb") as handle:
        answer = httpx.post(f"{gradio_app}/gradio_api/upload", files={"files": ("meal.png", handle, "image/png")})
    (uploaded,) = answer.json()
    assert uploads.resolve_upload(uploaded).read_bytes() == photo.read_bytes()

    host, port = gradio_app.removeprefix("http://").split(":")
    boundary = "xXxXx"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n'.encode()
    with socket.create_connection((host, int(port))) as connection:  # an upload abandoned half-way
        connection.sendall(
            (
                "POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 900000\r\n\r\n"
            ).encode()
            + head
            + b"\x89PNG" * 50_000
        )
        time.sleep(1.0)
    deadline = time.monotonic() + 10
    while not list(upload_dir.glob("tmp*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    (left,) = upload_dir.glob("tmp*")  # Gradio leaves it behind
    time.sleep(1.2)
    deleted, errors = uploads.sweep(max_age=1.0)
    assert errors == [] and deleted == 2 and not left.exists() and not Path(uploaded).exists()


def test_the_process_upload_folder_is_removed_with_its_photos_when_the_process_ends():
    script = (
        "from foodcls import uploads; folder = uploads.own_upload_dir(); "
        "(folder / 'meal.jpg').write_bytes(b'photo'); print(folder)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("foodcls-uploads-") and not folder.exists()
