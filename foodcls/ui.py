"""The Gradio app: a classify tab and a curves tab, wired to plain functions that tests call directly."""

import time
from pathlib import Path

import gradio as gr
import pandas as pd
from PIL import Image

from foodcls import curves, data, models, nutrition
from foodcls.predict import grad_cam
from foodcls.store import ModelUnavailable, RunStore

RUNS = (models.DEPLOYED_MODEL, *models.STUDY_MODELS)
RUN_CHOICES = [
    (models.MODEL_SPECS[run].name + (" (deployed)" if run == models.DEPLOYED_MODEL else ""), run) for run in RUNS
]
STUDY_NAMES = [models.MODEL_SPECS[run].name for run in models.STUDY_MODELS]
# The lowest step at which, on the deployed model's validation split, at least 96% of the photos it
# names are right (0.6: 69% of the photos named, 97.1% of them right) and random noise, a flat white,
# grey or blue frame and a fractal all fall below (noise scores 0.57 "miso soup", so 0.55 would not do).
DEFAULT_THRESHOLD = 0.6
TOP_K = 3
MAX_PHOTO_SIDE = 256  # big JPEGs decode at a reduced scale, no smaller than this: models see at most 224 px
UNKNOWN_DISH = (
    "**이 사진은 아는 음식이 아닌 것 같습니다.** This photo is probably none of the dishes this model knows "
    "(top guess {p:.0%} < threshold {t:.0%}). The guesses above are shown for transparency only."
)
NUTRITION_NOTE = (
    "출처 Source: {source}, food code {code} ({year}), {name}. Reference values for a typical serving, "
    "not a measurement of this plate. 이 접시를 측정한 값이 아닌 참고값입니다."
)

I18N = gr.I18n(
    en={
        "title": "# foodcls: what's on the plate?",
        "intro": "Take a webcam snapshot of a meal or upload a photo. The app names the dish and shows reference "
        "nutrition facts. Photos are not kept.",
        "tab_classify": "Classify a meal",
        "tab_curves": "Training curves",
        "photo": "Meal photo",
        "model": "Model",
        "threshold": "Confidence threshold",
        "servings": "Servings",
        "gradcam": "Show where the model looked (Grad-CAM)",
        "classify": "Classify",
        "top": "Top dishes",
        "nutrition": "Nutrition facts",
        "heatmap": "Grad-CAM heat map",
        "curve_models": "Models",
        "metric": "Metric",
        "split": "Split",
        "log": "Log scale",
        "gradnorm_model": "Gradient norms of",
    },
    ko={
        "title": "# foodcls: 접시 위의 음식은?",
        "intro": "웹캠으로 식사 사진을 찍거나 사진을 올리세요. "
        "음식 이름과 참고 영양 정보를 보여 줍니다. 사진은 저장하지 않습니다.",
        "tab_classify": "음식 분류",
        "tab_curves": "학습 곡선",
        "photo": "식사 사진",
        "model": "모델",
        "threshold": "신뢰도 기준",
        "servings": "인분",
        "gradcam": "모델이 본 곳 표시 (Grad-CAM)",
        "classify": "분류하기",
        "top": "상위 음식",
        "nutrition": "영양 정보",
        "heatmap": "Grad-CAM 열지도",
        "curve_models": "모델",
        "metric": "지표",
        "split": "데이터",
        "log": "로그 눈금",
        "gradnorm_model": "기울기 크기: 모델",
    },
)


class PhotoError(ValueError):
    """The upload is not a usable photo; the message says why, in Korean and English."""


def read_photo(path: str | Path | None) -> Image.Image:
    """The uploaded or captured photo as RGB, or a PhotoError with a message for the person."""
    if path is None:
        raise PhotoError("사진이 없습니다. No photo: take a webcam snapshot or upload a meal photo first.")
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise PhotoError("빈 파일입니다. The file is empty (0 bytes): please upload the photo again.")
    try:
        photo = data.open_rgb(path, MAX_PHOTO_SIDE)
    except (Image.DecompressionBombError, data.ImageTooLarge):
        raise PhotoError(
            "사진이 너무 큽니다. The image is too large to open safely: please send a smaller photo."
        ) from None
    except ValueError as error:
        raise PhotoError(f"사진을 읽을 수 없습니다. This file is not a readable image ({error}).") from None
    except Exception as error:
        raise PhotoError(
            f"사진을 읽을 수 없습니다. This file is not a readable image ({type(error).__name__})."
        ) from None
    if min(photo.size) < 8:
        raise PhotoError(
            f"사진이 너무 작습니다. The image is too small ({photo.width}x{photo.height} pixels): send a real photo."
        )
    return photo


def classify(
    store: RunStore, table: dict, photo: Image.Image, run: str, threshold: float, servings: float, want_cam: bool
):
    """(top-k {label: p}, nutrition table, verdict markdown, Grad-CAM image or None) for one photo."""
    classifier, source = store.classifier(run)
    started = time.perf_counter()
    probabilities = classifier.probabilities(photo)
    elapsed_ms = (time.perf_counter() - started) * 1000
    top = probabilities.topk(min(TOP_K, len(classifier.classes)))
    labels = {
        nutrition.display_name(classifier.classes[i], table): p
        for p, i in zip(top.values.tolist(), top.indices.tolist())
    }
    best_class, best_p = classifier.classes[top.indices[0]], top.values[0].item()
    lines = [f"Model **{classifier.config['name']}** from {source} · inference {elapsed_ms:.0f} ms"]
    facts = pd.DataFrame()
    if best_p < threshold:
        lines.insert(0, UNKNOWN_DISH.format(p=best_p, t=threshold))
    elif best_class in table:
        row = table[best_class]
        facts = nutrition.facts(row, servings)
        lines.insert(0, f"**{nutrition.display_name(best_class, table)}** ({best_p:.0%})")
        lines.append(
            NUTRITION_NOTE.format(source=nutrition.SOURCE, code=row["food_code"], year=row["year"], name=row["name_ko"])
        )
    else:
        lines.insert(0, f"**{best_class}** ({best_p:.0%}): 영양 정보 없음 · no nutrition data for this dish.")
    cam = None
    if want_cam and best_p >= threshold:
        cam = grad_cam(classifier, photo, int(top.indices[0]))
    return labels, facts, "\n\n".join(lines), cam


class CurvesData:
    """Histories, configs and test metrics of the study runs, read once on first use."""

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


def build_app(store: RunStore, nutrition_table: dict) -> gr.Blocks:
    curves_data = CurvesData(store)

    def on_classify(payload, run, threshold, servings, want_cam):
        path = payload.get("path") if isinstance(payload, dict) else payload
        try:
            photo = read_photo(path)
            labels, facts, verdict, cam = classify(store, nutrition_table, photo, run, threshold, servings, want_cam)
        except (PhotoError, ModelUnavailable) as error:
            raise gr.Error(str(error), print_exception=False) from None
        # The heat map's box is shown or hidden by its checkbox (on_cam_toggle), so a classification
        # sends just its value: a component update costs Gradio ~3 ms of app CPU per request.
        return labels, gr.Dataframe(value=facts, visible=not facts.empty), verdict, cam

    def on_setting_change(payload, run, threshold, servings, want_cam):
        """A changed control re-runs the classification of the photo shown, if there is one."""
        if payload is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return on_classify(payload, run, threshold, servings, want_cam)

    def on_cam_toggle(payload, run, threshold, servings, want_cam):
        """The Grad-CAM checkbox shows or hides the heat map's box, and re-runs the classification."""
        *result, cam = on_setting_change(payload, run, threshold, servings, want_cam)
        return *result, gr.Image(value=None if payload is None else cam, visible=want_cam)

    def on_photo_change(payload, run, threshold, servings, want_cam):
        """A new photo is classified; a cleared one (the X, or switching between webcam and upload)
        clears the result instead of being an error."""
        if payload is None:
            return None, gr.Dataframe(value=None, visible=False), "", None
        return on_classify(payload, run, threshold, servings, want_cam)

    def on_curves(names, metric, split, log_y):
        histories, _, _ = curves_data.get()
        return curves.curves_figure({n: histories[n] for n in names if n in histories}, metric, split, log_y)

    def on_grad_norms(name):
        histories, _, _ = curves_data.get()
        if name not in histories:
            return None
        return curves.grad_norm_figure(name, histories[name])

    def on_load():
        histories, configs, metrics = curves_data.get()
        missing = [n for n in STUDY_NAMES if n not in histories]
        note = f"\n\nNo training history for: {', '.join(missing)}." if missing else ""
        return (
            curves.curves_figure(histories, "accuracy", "val", False),
            on_grad_norms("DeepNet10"),
            on_grad_norms("SkipConDeepNet10"),
            curves.summary_table(configs, metrics, histories),
            curves.explanation(configs, histories) + note,
        )

    def curves_json() -> dict:
        """Every study run's per-epoch history, config and test metrics, by model name."""
        histories, configs, metrics = curves_data.get()
        return {"histories": histories, "configs": configs, "metrics": metrics}

    with gr.Blocks(title="foodcls", delete_cache=(60, 60)) as demo:
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
                    threshold = gr.Slider(0, 1, value=DEFAULT_THRESHOLD, step=0.05, label=I18N("threshold"))
                    servings = gr.Slider(0.5, 3, value=1, step=0.5, label=I18N("servings"))
                    want_cam = gr.Checkbox(value=False, label=I18N("gradcam"))
                    button = gr.Button(I18N("classify"), variant="primary")
                with gr.Column():
                    top = gr.Label(num_top_classes=TOP_K, label=I18N("top"))
                    verdict = gr.Markdown()
                    facts = gr.Dataframe(label=I18N("nutrition"), visible=False, interactive=False)
                    cam = gr.Image(label=I18N("heatmap"), visible=False, interactive=False)
            inputs = [photo, run, threshold, servings, want_cam]
            outputs = [top, facts, verdict, cam]
            button.click(on_classify, inputs, outputs, api_name="classify", preprocess=False)
            for control in (run.change, threshold.release, servings.release):
                control(on_setting_change, inputs, outputs, preprocess=False, api_visibility="private")
            want_cam.change(on_cam_toggle, inputs, outputs, preprocess=False, api_visibility="private")
            photo.input(
                on_photo_change, inputs, outputs, preprocess=False, api_visibility="private", trigger_mode="always_last"
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
                    left = gr.Dropdown(STUDY_NAMES, value="DeepNet10", label=I18N("gradnorm_model"))
                    left_plot = gr.Plot()
                with gr.Column():
                    right = gr.Dropdown(STUDY_NAMES, value="SkipConDeepNet10", label=I18N("gradnorm_model"))
                    right_plot = gr.Plot()
            summary = gr.Dataframe(interactive=False)
            curve_controls = [chosen, metric, split, log_y]
            for control in curve_controls:
                control.change(on_curves, curve_controls, curve_plot, api_visibility="private")
            left.change(on_grad_norms, left, left_plot, api_visibility="private")
            right.change(on_grad_norms, right, right_plot, api_visibility="private")
        demo.load(on_load, None, [curve_plot, left_plot, right_plot, summary, explanation], api_visibility="private")
        gr.api(curves_json, api_name="curves")
    return demo
