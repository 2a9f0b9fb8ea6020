"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1: serves one model repository's files.

It answers the resolve endpoint that huggingface_hub's hf_hub_download uses (HEAD for metadata,
GET for the bytes) and can misbehave on purpose: answer 500, hang, send corrupted bytes, or trickle
a file's bytes (GET only: its metadata answers at once) until the hub is closed.
"""

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repo_id: str, revision: str, folder: Path):
        self.repo_id, self.revision, self.folder = repo_id, revision, Path(folder)
        self.mode = "ok"  # "ok", "error500", "hang", "corrupt", "trickle"
        self.corrupt_runs: set[str] = set()  # runs whose weights are corrupted whatever the mode
        self.trickle_runs: set[str] = set()  # runs whose weights trickle whatever the mode
        self.closed = threading.Event()
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._answer(self, body=False)

            def do_GET(self):
                hub._answer(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()

    def downloads(self) -> list[str]:
        return [path for method, path in self.requests if method == "GET"]

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool):
        self.requests.append((handler.command, handler.path))
        prefix = f"/{self.repo_id}/resolve/{self.revision}/"
        if self.mode == "hang":
            time.sleep(30)
        if self.mode == "error500":
            handler.send_response(500)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        path = self.folder / handler.path[len(prefix) :]
        if not handler.path.startswith(prefix) or not path.is_file():
            handler.send_response(404)
            handler.send_header("X-Error-Code", "EntryNotFound")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        content = path.read_bytes()
        etag = hashlib.sha256(content).hexdigest()
        if (self.mode == "corrupt" or path.parent.name in self.corrupt_runs) and path.suffix == ".safetensors":
            content = b"\xff" * 8 + content[8:]  # a broken safetensors header
        handler.send_response(200)
        handler.send_header("X-Repo-Commit", COMMIT)
        handler.send_header("ETag", f'"{etag}"')
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        trickle = self.mode == "trickle" or path.parent.name in self.trickle_runs
        if body and trickle and path.suffix == ".safetensors":
            for byte in content:  # a byte every 0.2 s: no read ever times out, the file never ends
                if self.closed.wait(0.2):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
        elif body:
            handler.wfile.write(content)
