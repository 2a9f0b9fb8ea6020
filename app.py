"""foodcls web app: `python app.py` serves on 127.0.0.1:7860; `--share` for a public HTTPS link.

The page and Gradio's API are at /, the plain JSON API (foodcls.api) at /api/v1, docs at /api/v1/docs.

Works unchanged as a Hugging Face Space's app_file. GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are
honoured; FOODCLS_HUB_REPO / FOODCLS_HUB_REVISION (or the flags) choose the weights repository.
`--run DIR` (repeatable) or FOODCLS_EXTRA_RUNS=DIR1:DIR2 serves run folders of one's own as well,
each under its folder name (e.g. a run trained on AI-Hub K-food).
"""

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no calls home at start

from starlette.middleware import Middleware  # noqa: E402

from foodcls import api, catalogue, guard, hub, nutrition, runs, serving, ui, uploads  # noqa: E402
from foodcls.store import RunStore, extra_runs, extra_runs_from_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="open a public HTTPS link through Gradio's share tunnel")
    parser.add_argument(
        "--hub-repo", help=f"Hub model repository ('' for bundled weights only; default {hub.DEFAULT_REPO})"
    )
    parser.add_argument("--hub-revision", help=f"revision to pin (default {hub.DEFAULT_REVISION})")
    parser.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="DIR",
        help="also serve this run folder, under its folder name (repeatable; or FOODCLS_EXTRA_RUNS=DIR1:DIR2)",
    )
    args = parser.parse_args()
    serving.limit_malloc_arenas()
    serving.configure_process()  # torch's process-wide switches, before any model is prepared
    try:
        extra = extra_runs([*extra_runs_from_env(), *args.run])
        store = RunStore(hub.WeightsSource.from_env(args.hub_repo, args.hub_revision), extra=extra)
    except ValueError as error:
        parser.error(str(error))
    deployed = store.warm_up(runs.DEPLOYED_RUN)  # loads while the page is built; the others on first use
    table = nutrition.NutritionTable.load()
    foods = catalogue.Catalogue.load()  # every MFDS and FNDDS food, searchable: ~0.4 s
    demo = guard.quiet_input_errors(ui.build_app(store, table, foods))
    deployed.wait()  # serve once it is ready, so its requests never wait on a load
    uploads.start_sweeper()  # every uploaded photo is deleted within ~70 s, answered or not
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=args.share,
        max_file_size=guard.MAX_PHOTO_BYTES,  # 10 MB, as the JSON API's photos
        # Every API call without a session id opens a Gradio session, kept (default: up to 10,000) at
        # ~95 KB each here: 1,000 bounds that to ~100 MB. Nothing here needs an old session: every
        # answer sets all the outputs afresh.
        state_session_capacity=1000,
        # Gradio's FastAPI app serves /api/v1 too, and every route is behind the guard (body limits, headers)
        app_kwargs={"routes": api.routes(store, table, foods), "middleware": [Middleware(guard.Guard)]},
        # Python serves every path. With SSR (on by default on Spaces, GRADIO_SSR_MODE) a Node proxy
        # in front passes only Gradio's own prefixes to Python, so /api/v1 would get Node's 404.
        ssr_mode=False,
        **ui.launch_options(),
    )


if __name__ == "__main__":
    main()
