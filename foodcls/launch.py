"""Start `python app.py` as users do, on a free port of 127.0.0.1, for the tests and the bench."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(extra_env: dict | None = None, timeout: float = 120, port: int | None = None, command=None):
    """Start `python app.py` (or `command`, which serves at GRADIO_SERVER_PORT) on `port` (default a free
    one) of 127.0.0.1 (bundled weights unless `extra_env` names a Hub repo); yield (url, process) once it
    answers, and stop it afterwards."""
    port = port or free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "FOODCLS_HUB_REPO": "", **(extra_env or {})}
    env.pop("GRADIO_SERVER_NAME", None)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"foodcls-app-{port}.log", "w+")
    command = command or [sys.executable, "app.py"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app exited with {process.returncode}:\n{log.read()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"app did not answer on {url} within {timeout} s") from None
                time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
