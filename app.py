"""foodcls web app: `python app.py` serves on 127.0.0.1:7860; `--share` for a public HTTPS link.

The page and Gradio's API are at /, the plain JSON API (foodcls.api) at /api/v1, docs at /api/v1/docs.

Works unchanged as a Hugging Face Space's app_file. GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are
honoured; FOODCLS_HUB_REPO / FOODCLS_HUB_REVISION (or the flags) choose the weights repository.
"""

import argparse
import ctypes
import os

from foodcls import api, catalogue, hub, nutrition, runs, serving, ui, uploads
from foodcls.store import RunStore


def limit_malloc_arenas(count: int = 2) -> None:
    """Cap glibc's malloc arenas (like MALLOC_ARENA_MAX=2) before Gradio starts its worker threads.

    Each worker thread otherwise gets an arena of its own that fragments: under the load test the
    app grew 92 MB per 256 requests without the cap and 21 MB with it (2-core machine).
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, count)  # -8 is M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc (macOS, musl): nothing to cap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="open a public HTTPS link through Gradio's share tunnel")
    parser.add_argument(
        "--hub-repo", help=f"Hub model repository ('' for bundled weights only; default {hub.DEFAULT_REPO})"
    )
    parser.add_argument("--hub-revision", help=f"revision to pin (default {hub.DEFAULT_REVISION})")
    args = parser.parse_args()
    limit_malloc_arenas()
    serving.configure_process()  # torch's process-wide switches, before any model is prepared
    store = RunStore(hub.WeightsSource.from_env(args.hub_repo, args.hub_revision))
    store.warm_up(runs.DEPLOYED_RUN)  # loads while Gradio starts; the other models load on first use
    table = nutrition.NutritionTable.load()
    foods = catalogue.Catalogue.load()  # every MFDS and FNDDS food, searchable: ~0.4 s
    demo = ui.build_app(store, table)
    uploads.start_sweeper()  # every uploaded photo is deleted within ~70 s, answered or not
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=args.share,
        max_file_size=api.MAX_PHOTO_BYTES,  # 10 MB, as the JSON API's photos
        # Every API call without a session id opens a Gradio session, kept (default: up to 10,000) at
        # ~95 KB each here: 1,000 bounds that to ~100 MB. Nothing here needs an old session: every
        # answer sets all the outputs afresh.
        state_session_capacity=1000,
        app_kwargs={"routes": api.routes(store, table, foods)},  # Gradio's FastAPI app serves /api/v1 too
        # Python serves every path. With SSR (on by default on Spaces, GRADIO_SSR_MODE) a Node proxy
        # in front passes only Gradio's own prefixes to Python, so /api/v1 would get Node's 404.
        ssr_mode=False,
        **ui.launch_options(),
    )


if __name__ == "__main__":
    main()
