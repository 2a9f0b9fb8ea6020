"""The Gradio page: a classify tab and a curves tab, whose handlers are plain functions over service.py."""

from functools import partial

import gradio as gr
import pandas as pd

from foodcls import curves, models, nutrition, service, texts
from foodcls.service import Classification, PhotoError
from foodcls.store import ModelUnavailable, RunStore

RUN_CHOICES = [
    (models.MODEL_SPECS[run].name + (" (deployed)" if run == models.DEPLOYED_MODEL else ""), run)
    for run in models.ALL_MODELS
]
STUDY_NAMES = [models.MODEL_SPECS[run].name for run in models.STUDY_MODELS]
PLAIN_NAME, SKIP_NAME = models.MODEL_SPECS["deepnet10"].name, models.MODEL_SPECS["skipcon_deepnet10"].name
I18N = gr.I18n(**texts.by_language())


def verdict(result: Classification) -> str:
    """The markdown under the top dishes: the named dish (or why none is), the model, the source."""
    best = result.best
    lines = [texts.both("model_line", name=result.model_name, source=result.weights_source, ms=result.inference_ms)]
    if not result.named:
        lines.insert(0, texts.both("unknown_dish", p=best.probability, t=result.threshold))
    elif result.nutrition is not None and result.nutrition.has_data:
        lines.insert(0, f"**{best.label}** ({best.probability:.0%})")
        lines.append(result.nutrition.source_line + "\n\n" + texts.both("nutrition_note"))
    else:
        lines.insert(0, f"**{best.label}** ({best.probability:.0%}): " + texts.both("no_nutrition"))
    return "\n\n".join(lines)


def classify_photo(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """The Classify button and the /classify API: (top dishes, nutrition facts, verdict, heat map)."""
    path = payload.get("path") if isinstance(payload, dict) else payload
    try:
        photo = service.read_upload(path)
        result = service.classify(
            store=store, table=table, photo=photo, model_id=run, threshold=threshold, servings=servings
        )
        cam = None
        if want_cam and result.named:
            cam = service.heat_map(store=store, photo=photo, model_id=run, class_index=result.top_index)
    except (PhotoError, ModelUnavailable, ValueError) as error:  # ValueError: a setting out of range
        raise gr.Error(str(error), print_exception=False) from None
    has_facts = result.nutrition is not None and result.nutrition.has_data
    facts = nutrition.facts_frame(result.nutrition) if has_facts else pd.DataFrame()
    labels = {dish.label: dish.probability for dish in result.top}
    # The heat map's box is shown or hidden by its checkbox (toggle_heat_map), so a classification
    # sends just its value: a component update costs Gradio ~3 ms of app CPU per request.
    return labels, gr.Dataframe(value=facts, visible=not facts.empty), verdict(result), cam


def reclassify(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """A changed setting re-runs the classification of the photo shown, if there is one."""
    if payload is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return classify_photo(store, table, payload, run, threshold, servings, want_cam)


def toggle_heat_map(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """The Grad-CAM checkbox shows or hides the heat map's box, and re-runs the classification."""
    *result, cam = reclassify(store, table, payload, run, threshold, servings, want_cam)
    return *result, gr.Image(value=None if payload is None else cam, visible=want_cam)


def classify_new_photo(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """A new photo is classified; a cleared one (the X, or switching between webcam and upload)
    clears the result instead of being an error."""
    if payload is None:
        return None, gr.Dataframe(value=None, visible=False), "", None
    return classify_photo(store, table, payload, run, threshold, servings, want_cam)


class CurvesData:
    """Histories, configs and test metrics of the study runs by model name, read once on first use."""

    def __init__(self, store: RunStore):
        self.store = store
        self._loaded = None

    def get(self) -> tuple[dict, dict, dict]:
        if self._loaded is None:
            histories, configs, metrics = {}, {}, {}
            for run in models.STUDY_MODELS:
                name = models.MODEL_SPECS[run].name
                history, config = self.store.run_json(run, "history.json"), self.store.run_json(run, "config.json")
                if history:
                    histories[name] = history
                if config:
                    configs[name] = config
                    metrics[name] = self.store.run_json(run, "metrics.json")
            self._loaded = histories, configs, metrics
        return self._loaded


def curves_plot(curves_data: CurvesData, names, metric, split, log_y):
    histories, _, _ = curves_data.get()
    return curves.curves_figure({n: histories[n] for n in names if n in histories}, metric, split, log_y)


def grad_norms_plot(curves_data: CurvesData, name):
    histories, _, _ = curves_data.get()
    return curves.grad_norm_figure(name, histories[name]) if name in histories else None


def curves_tab(curves_data: CurvesData):
    """Everything the curves tab shows when the page opens."""
    histories, configs, metrics = curves_data.get()
    missing = [n for n in STUDY_NAMES if n not in histories]
    note = "\n\n" + texts.both("no_history", names=", ".join(missing)) if missing else ""
    return (
        curves.curves_figure(histories, "accuracy", "val", False),
        grad_norms_plot(curves_data, PLAIN_NAME),
        grad_norms_plot(curves_data, SKIP_NAME),
        curves.summary_table(configs, metrics, histories),
        curves.explanation(configs, histories) + note,
    )


def curves_json(curves_data: CurvesData) -> dict:
    """Every study run's per-epoch history, config and test metrics, by model name."""
    histories, configs, metrics = curves_data.get()
    return {"histories": histories, "configs": configs, "metrics": metrics}


def build_app(store: RunStore, nutrition_table: nutrition.NutritionTable) -> gr.Blocks:
    request = (store, nutrition_table)  # what every classify handler is bound to
    curves_data = CurvesData(store)
    with gr.Blocks(title="foodcls") as demo:  # uploads are deleted by uploads.start_sweeper, not delete_cache
        gr.Markdown(I18N("title"))
        gr.Markdown(I18N("intro"))
        with gr.Tab(I18N("tab_classify")):
            with gr.Row():
                with gr.Column():
                    photo = gr.Image(
                        label=I18N("photo"),
                        type="filepath",
                        sources=["webcam", "upload", "clipboard"],
                        webcam_options=gr.WebcamOptions(
                            mirror=False, constraints={"video": {"facingMode": {"ideal": "environment"}}}
                        ),
                    )
                    run = gr.Dropdown(RUN_CHOICES, value=models.DEPLOYED_MODEL, label=I18N("model"))
                    threshold = gr.Slider(0, 1, value=service.DEFAULT_THRESHOLD, step=0.05, label=I18N("threshold"))
                    servings = gr.Slider(0.5, 3, value=1, step=0.5, label=I18N("servings"))
                    want_cam = gr.Checkbox(value=False, label=I18N("gradcam"))
                    button = gr.Button(I18N("classify"), variant="primary")
                with gr.Column():
                    top = gr.Label(num_top_classes=service.TOP_K, label=I18N("top"))
                    verdict_box = gr.Markdown()
                    facts = gr.Dataframe(label=I18N("nutrition"), visible=False, interactive=False)
                    cam = gr.Image(label=I18N("heatmap"), visible=False, interactive=False)
            inputs = [
                photo,
                *service.api_inputs(model_id=run, threshold=threshold, servings=servings, heat_map=want_cam),
            ]
            outputs = [top, facts, verdict_box, cam]
            button.click(partial(classify_photo, *request), inputs, outputs, api_name="classify", preprocess=False)
            for control in (run.change, threshold.release, servings.release):
                control(partial(reclassify, *request), inputs, outputs, preprocess=False, api_visibility="private")
            want_cam.change(
                partial(toggle_heat_map, *request), inputs, outputs, preprocess=False, api_visibility="private"
            )
            photo.input(
                partial(classify_new_photo, *request),
                inputs,
                outputs,
                preprocess=False,
                api_visibility="private",
                trigger_mode="always_last",
            )
        with gr.Tab(I18N("tab_curves")):
            with gr.Row():
                chosen = gr.CheckboxGroup(STUDY_NAMES, value=STUDY_NAMES, label=I18N("curve_models"))
                metric = gr.Radio(["accuracy", "loss"], value="accuracy", label=I18N("metric"))
                split = gr.Radio(
                    [("train", "train"), ("validation", "val"), ("both", "both")], value="val", label=I18N("split")
                )
                log_y = gr.Checkbox(value=False, label=I18N("log"))
            curve_plot = gr.Plot()
            explanation = gr.Markdown()
            with gr.Row():
                with gr.Column():
                    left = gr.Dropdown(STUDY_NAMES, value=PLAIN_NAME, label=I18N("gradnorm_model"))
                    left_plot = gr.Plot()
                with gr.Column():
                    right = gr.Dropdown(STUDY_NAMES, value=SKIP_NAME, label=I18N("gradnorm_model"))
                    right_plot = gr.Plot()
            summary = gr.Dataframe(interactive=False)
            curve_controls = [chosen, metric, split, log_y]
            for control in curve_controls:
                control.change(partial(curves_plot, curves_data), curve_controls, curve_plot, api_visibility="private")
            left.change(partial(grad_norms_plot, curves_data), left, left_plot, api_visibility="private")
            right.change(partial(grad_norms_plot, curves_data), right, right_plot, api_visibility="private")
        demo.load(
            partial(curves_tab, curves_data),
            None,
            [curve_plot, left_plot, right_plot, summary, explanation],
            api_visibility="private",
        )
        gr.api(partial(curves_json, curves_data), api_name="curves")
    return demo
