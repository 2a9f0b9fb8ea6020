"""The guard in front of the whole app: every request's body bounded, security headers on every answer,
and the uploads a queued request names kept until it runs.

app.py hands `Guard` to Gradio's FastAPI app as middleware, so the page's routes, Gradio's own API
(/gradio_api/queue/join, /call/*, /run/*, /upload) and the JSON API under /api/v1 all pass through it.

- Body limits, per route family: a photo route (Gradio's /upload, /api/v1/classify) takes one photo
  and its framing, at most MAX_UPLOAD_PARTS files; every other route JSON_BODY_BYTES. A Content-Length
  over the limit is answered 413 before any of the body is read; a body without one is counted as it
  arrives and refused as soon as it passes. Before this, a 200 MB JSON body to /gradio_api/queue/join
  cost the app +3.3 to +4.3 GB (parsed objects are ~16x the body).
- The uploads a queued request names (FileData "path"s in the bodies of /queue/join and /call/*) are
  pinned (uploads.pin), so the sweeper does not delete a photo while its request waits in the queue.
- `quiet_input_errors`: malformed input to a Gradio event gets a message, and no traceback in the log.
- Headers: no framing by other sites (on a Hugging Face Space, only by huggingface.co, whose Space
  page frames the app), no MIME sniffing, no referrer sent elsewhere.
"""

import json
import os

import gradio as gr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from foodcls import texts, uploads

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # a photo: the page's uploads (launch's max_file_size) and the JSON API's
PHOTO_BODY_BYTES = MAX_PHOTO_BYTES + 64 * 1024  # the photo, the other fields and the multipart framing
JSON_BODY_BYTES = 1024 * 1024  # any other route: a request's JSON (the biggest is a day's log, ~100 KB)
MAX_UPLOAD_PARTS = 8  # files and fields in one photo request (the page: 1 file; /api/v1/classify: 5 fields)
PHOTO_ROUTES = ("/gradio_api/upload", "/api/v1/classify")
QUEUED_ROUTES = ("/gradio_api/queue/join", "/gradio_api/call/")  # bodies that name uploads for later

TOO_LARGE = {
    "ko": f"요청이 너무 큽니다. 사진은 {MAX_PHOTO_BYTES // (1024 * 1024)}MB까지 보낼 수 있습니다.",
    "en": f"The request is too large: send a photo of at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB.",
}


def security_headers(on_space: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer gets; a Space's page (huggingface.co) frames the app, so it may."""
    framing = b"frame-ancestors https://huggingface.co" if on_space else b"frame-ancestors 'none'"
    headers = [
        (b"content-security-policy", framing),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
    ]
    return headers if on_space else [*headers, (b"x-frame-options", b"DENY")]


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once the body passes its limit (an HTTPException, so FastAPI's body and
    form parsing let it through as a 413 instead of answering 400)."""

    def __init__(self, lang: str = "en"):
        super().__init__(413, TOO_LARGE[lang])


class PartCounter:
    """Counts the parts of a multipart body as its chunks arrive (a delimiter may straddle two)."""

    def __init__(self, content_type: bytes):
        boundary = content_type.partition(b"boundary=")[2].split(b";")[0].strip(b' "')
        self.delimiter = b"--" + boundary if boundary else None
        self.tail, self.delimiters = b"", 0

    def parts(self, chunk: bytes) -> int:
        if self.delimiter is None:
            return 0
        window = self.tail + chunk
        self.delimiters += window.count(self.delimiter)
        self.tail = window[-(len(self.delimiter) - 1) :]  # too short to hold a delimiter counted already
        return max(self.delimiters - 1, 0)  # the last delimiter closes the body


def upload_paths(value) -> list[str]:
    """Every FileData path in a decoded Gradio request body."""
    if isinstance(value, dict):
        found = [value["path"]] if isinstance(value.get("path"), str) else []
        return found + [path for item in value.values() for path in upload_paths(item)]
    if isinstance(value, list):
        return [path for item in value for path in upload_paths(item)]
    return []


class Guard:
    """ASGI middleware: per-route body limits, upload part counts, pins for queued uploads, headers."""

    def __init__(self, app, photo_routes=PHOTO_ROUTES, queued_routes=QUEUED_ROUTES, on_space=None):
        self.app, self.photo_routes, self.queued_routes = app, photo_routes, queued_routes
        on_space = bool(os.environ.get("SPACE_ID")) if on_space is None else on_space
        self.headers = security_headers(on_space)

    def limit(self, path: str) -> int:
        return PHOTO_BODY_BYTES if path.rstrip("/") in self.photo_routes else JSON_BODY_BYTES

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        lang, limit, path = texts.browser_language(accept), self.limit(scope["path"]), scope["path"]
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        async def refuse():
            kind = {"error": TOO_LARGE[lang], "kind": "too_large"}
            await JSONResponse(kind, status_code=413)(scope, receive, send_with_headers)

        length = headers.get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            return await refuse()
        received = 0
        counter = PartCounter(headers.get(b"content-type", b"")) if limit == PHOTO_BODY_BYTES else None

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit or (counter is not None and counter.parts(chunk) > MAX_UPLOAD_PARTS):
                    raise BodyTooLarge(lang)
            return message

        app_receive = counted_receive
        if scope["method"] == "POST" and path.startswith(self.queued_routes):
            try:
                app_receive = await self._pinning(counted_receive)
            except BodyTooLarge:
                return await refuse()
        try:
            await self.app(scope, app_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await refuse()

    @staticmethod
    async def _pinning(receive):
        """Read the (bounded) body whole, pin the uploads it names, and hand the app a replay of it."""
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            for path in upload_paths(json.loads(body)):
                uploads.pin(path)
        except ValueError:
            pass  # not JSON: the route itself refuses it
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def quiet_input_errors(demo: gr.Blocks) -> gr.Blocks:
    """Bad input to a Gradio event (a plain string where a photo's FileData belongs, too few values)
    answers its client with a plain message, and logs no traceback: Gradio's would quote what was sent."""
    preprocess = demo.preprocess_data

    async def checked(*args, **kwargs):
        try:
            return await preprocess(*args, **kwargs)
        except ValueError:  # pydantic's ValidationError is one too
            raise gr.Error(texts.both("bad_request"), print_exception=False) from None

    demo.preprocess_data = checked
    return demo
