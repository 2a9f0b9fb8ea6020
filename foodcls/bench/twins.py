"""No-op twins of the app's request paths, for the bench's ratios (issue 30): each takes what the app
takes and answers in the same shape, doing nothing, so the app's requests/s over the twin's is the
share of the framework's own ceiling that classifying leaves.

    python -m foodcls.bench.twins gradio    # the Gradio API's /classify (same components, same queue)
    python -m foodcls.bench.twins fastapi   # POST /api/v1/classify, the same multipart form

Each serves on 127.0.0.1 at GRADIO_SERVER_PORT, as `python app.py` does.
"""

import os
import sys
from typing import Annotated

import gradio as gr
import uvicorn
from fastapi import FastAPI, File, Form, UploadFile

from foodcls import runs

ANSWER = {"model_id": runs.DEPLOYED_RUN, "named": True, "top": []}


def noop_gradio() -> gr.Blocks:
    """The Gradio API's /classify (ui.legacy_api): a photo and four settings in, five outputs back."""
    with gr.Blocks() as demo:
        photo = gr.Image(type="filepath")
        settings = [gr.Textbox(), gr.Number(), gr.Number(), gr.Checkbox()]
        outputs = [gr.Label(), gr.Dataframe(), gr.Markdown(), gr.Image(), gr.Markdown()]
        button = gr.Button()
        button.click(
            lambda *_: ({"pizza": 1.0}, None, "", None, ""),
            [photo, *settings],
            outputs,
            api_name="classify",
            preprocess=False,
        )
    return demo


def noop_fastapi() -> FastAPI:
    """POST /api/v1/classify with foodcls.api's multipart form; the photo is read, nothing is done."""
    app = FastAPI()

    @app.get("/")
    def page() -> dict:
        return {}

    @app.post("/api/v1/classify")
    async def classify(
        photo: Annotated[UploadFile, File()],
        model: Annotated[str | None, Form()] = None,
        threshold: Annotated[float | None, Form()] = None,
        servings: Annotated[float | None, Form()] = None,
    ) -> dict:
        await photo.read()
        return ANSWER

    return app


def main(argv=None) -> None:
    kind = (argv or sys.argv[1:])[0]
    port = int(os.environ["GRADIO_SERVER_PORT"])
    if kind == "gradio":
        noop_gradio().queue(default_concurrency_limit=4).launch(server_name="127.0.0.1", server_port=port, quiet=True)
    elif kind == "fastapi":
        uvicorn.run(noop_fastapi(), host="127.0.0.1", port=port, log_level="warning")
    else:
        raise SystemExit(f"unknown twin {kind!r}: gradio or fastapi")


if __name__ == "__main__":
    main()
