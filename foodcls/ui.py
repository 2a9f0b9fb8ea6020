"""The Gradio page: a classify tab and a curves tab, whose handlers are plain functions over service.py."""

import uuid
from dataclasses import dataclass
from functools import partial

import gradio as gr
import pandas as pd

from foodcls import curves, meal, models, nutrition, runs, service, texts
from foodcls.service import Classification, PhotoError
from foodcls.store import REQUEST_WAIT_S, ModelLoading, ModelUnavailable, RunStore, UnknownRun


def model_choice(run: str) -> tuple[str, str]:
    """(what the model dropdown shows, run id): the deployed model is recommended, the study models
    are labelled as such, in both languages."""
    kind = "deployed_model" if run == runs.DEPLOYED_RUN else "study_model" if run in runs.STUDY_RUNS else None
    title = runs.RUN_TITLES[run]
    return (f"{title} · {texts.both(kind, sep=' · ')}" if kind else title), run


RUN_CHOICES = [model_choice(run) for run in runs.SERVED_RUNS]
STUDY_NAMES = [models.MODEL_SPECS[run].name for run in models.STUDY_MODELS]
PLAIN_NAME, SKIP_NAME = models.MODEL_SPECS["deepnet10"].name, models.MODEL_SPECS["skipcon_deepnet10"].name
I18N = gr.I18n(**texts.by_language())

# Contrast (WCAG AA, 4.5:1): the default orange button, selected tab and the grey footer, slider
# ends and hints are lighter than that on white; one shade darker each.
THEME = gr.themes.Default(primary_hue="orange").set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white",
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    color_accent="*primary_700",
)
CSS = """
#verdict h2 { margin: 0 0 0.25em; }
/* Gradio's empty-label placeholder is a div with an aria-label and no role (axe: aria-prohibited-attr) */
#top .empty[aria-label] { display: none; }
/* a table wider than a phone scrolls sideways: phones hide scroll bars, so a line under it says so */
.scroll-hint { display: none; }
@media (max-width: 640px) { .scroll-hint { display: block; } }
footer a, footer button, .tab-container button.selected { color: var(--body-text-color) !important; }
"""
# Keyboard: Enter or Space on the photo's drop area opens the file chooser, as a click does (in
# Gradio 6.31 the key's click does not reach the file input nested in that button).
PAGE_JS = """
() => {
  window.foodclsKeys = true;
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const area = event.target instanceof Element && event.target.closest('#photo button.upload-container');
    if (!area) return;
    event.preventDefault();
    area.click();
  });
}
"""
# After a classification the verdict comes into view (on a phone it is under the controls).
SHOW_VERDICT = """
() => {
  const show = () => {
    const verdict = document.getElementById('verdict');
    if (!verdict) return;
    const top = verdict.getBoundingClientRect().top;  // a little space above it, in whole pixels
    if (top < 0 || top > window.innerHeight * 0.4) window.scrollTo({top: Math.floor(window.scrollY + top - 8)});
  };
  show();
  setTimeout(show, 600);  // again once the photo's preview above it has loaded and moved it down
}
"""


def launch_options() -> dict:
    """What `launch()` needs for this page to look and read as designed (app.py and the tests)."""
    return {"i18n": I18N, "theme": THEME, "css": CSS, "js": PAGE_JS}


def candidates(result: Classification) -> str:
    return "\n".join(f"- {dish.label} ({dish.probability:.0%})" for dish in result.top)


def verdict(result: Classification) -> str:
    """The headline over the guesses: the dish when the app names it, else 'not sure' and the
    candidates; then the nutrition source. Technical details are in `details`."""
    best = result.best
    if not result.named:
        return "\n\n".join(
            [
                "## " + texts.both("unsure_headline", sep=" · "),
                texts.both("unsure_body", p=best.probability, t=result.threshold),
                candidates(result),
            ]
        )
    lines = [f"## {best.label}", texts.both("named_confidence", sep=" · ", p=best.probability)]
    if result.nutrition is not None and result.nutrition.has_data:
        lines.append(result.nutrition.source_line + "\n\n" + texts.both("nutrition_note"))
    else:
        lines.append(texts.both("no_nutrition"))
    return "\n\n".join(lines)


def details(result: Classification) -> str:
    """The fold's text: model, where its weights came from, inference time."""
    return texts.both(
        "details_line", sep="\n\n", name=result.model_name, source=result.weights_source, ms=result.inference_ms
    )


def known_dishes(store: RunStore, table: nutrition.NutritionTable, run: str) -> pd.DataFrame:
    """The dishes a model knows, by their Korean and English names (the class id when the nutrition
    table has no names for it)."""
    config = store.run_json(run, "config.json") or {}
    rows = []
    for class_id in config.get("classes", []):
        dish = table.dish(class_id) if class_id in table else None
        rows.append((dish.name_ko, dish.name_en) if dish else (class_id, class_id))
    return pd.DataFrame(sorted(rows, key=lambda row: row[1].casefold()), columns=["한국어", "English"])


def classify_photo(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """The Classify button and the /classify API: (top dishes, nutrition facts, verdict, heat map, details),
    and the answer the correction starts from (a gr.State: not part of the API)."""
    path = payload.get("path") if isinstance(payload, dict) else payload
    try:
        photo = service.read_upload(path)
        result = service.classify(
            store=store,
            table=table,
            photo=photo,
            model_id=run,
            threshold=threshold,
            servings=servings,
            wait_s=REQUEST_WAIT_S,
        )
        cam = None
        if want_cam and result.named:
            cam = service.heat_map(
                store=store, photo=photo, model_id=run, class_index=result.top_index, wait_s=REQUEST_WAIT_S
            )
    except (PhotoError, ValueError) as error:  # ValueError: a setting out of range
        raise gr.Error(str(error), print_exception=False) from None
    except UnknownRun:
        raise gr.Error(texts.both("unknown_model"), print_exception=False) from None
    except ModelLoading:
        raise gr.Error(texts.both("model_loading"), print_exception=False) from None
    except ModelUnavailable as error:
        print(f"foodcls: {error}")  # the technical reason goes to the log, the person gets plain words
        raise gr.Error(texts.both("model_unavailable"), print_exception=False) from None
    has_facts = result.nutrition is not None and result.nutrition.has_data
    facts = nutrition.facts_frame(result.nutrition) if has_facts else pd.DataFrame()
    labels = {dish.label: dish.probability for dish in result.top}
    # The heat map's box is shown or hidden by its checkbox (toggle_heat_map), so a classification
    # sends just its value: a component update costs Gradio ~3 ms of app CPU per request.
    return (
        labels,
        gr.Dataframe(value=facts, visible=not facts.empty),
        verdict(result),
        cam,
        details(result),
        answer_of(result),
    )


def reclassify(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """A changed setting re-runs the classification of the photo shown, if there is one."""
    if payload is None:
        return (gr.skip(),) * 6
    return classify_photo(store, table, payload, run, threshold, servings, want_cam)


def toggle_heat_map(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """The Grad-CAM checkbox shows or hides the heat map's box, and re-runs the classification."""
    *result, cam, about, answer = reclassify(store, table, payload, run, threshold, servings, want_cam)
    return *result, gr.Image(value=None if payload is None else cam, visible=want_cam), about, answer


def classify_new_photo(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """A new photo is classified; a cleared one (the X, or switching between webcam and upload)
    clears the result instead of being an error."""
    if payload is None:
        return None, gr.Dataframe(value=None, visible=False), "", None, "", None
    return classify_photo(store, table, payload, run, threshold, servings, want_cam)


# --- correction, portion and meal ------------------------------------------------------------
# The person can replace the model's dish by one of its top guesses or any dish the model knows, give
# the portion in grams, and add the dish to a meal kept in their browser (gr.BrowserState) only.
# `correction_controls` and `meal_panel` build the controls where they are called; the handlers are
# plain functions over service.py and meal.py.


@dataclass(eq=False)
class Correction:
    answer: gr.State  # answer_of(the last classification), or None
    pick: gr.Radio  # the top guesses, one tap each
    dish: gr.Dropdown  # every dish the model knows, searchable in Korean and English: the dish shown
    grams: gr.Number  # the portion; the servings slider sets it to that many of the source's servings
    add: gr.Button


def answer_of(result: Classification) -> dict:
    """What the correction needs of a classification, as JSON; a fresh id each time, so that a new
    photo resets a correction even when the model answers the same."""
    return {
        "id": uuid.uuid4().hex,
        "top": [[dish.class_id, dish.label, dish.probability] for dish in result.top],
        "named": result.named,
        "model_line": texts.both(
            "model_line", name=result.model_name, source=result.weights_source, ms=result.inference_ms
        ),
    }


def dish_choices(store: RunStore, table: nutrition.NutritionTable, run: str) -> list[tuple[str, str]]:
    """(label, class id) of every dish the run knows; a label reads '라멘 · Ramen', so either
    language filters the list. Every dish of the table when the run's config cannot be read."""
    config = store.run_json(run, "config.json") or {}
    return [(table.dish(c).label if c in table else c, c) for c in config.get("classes") or table.class_ids()]


def default_grams(table: nutrition.NutritionTable, class_id: str, servings: float) -> float | None:
    """The grams box for a newly chosen dish: `servings` of the source's serving (None without data)."""
    serving_g = table.row(class_id)["serving_g"]
    return None if serving_g is None else round(float(servings) * serving_g, 1)


def dish_verdict(answer: dict | None, facts: nutrition.Facts) -> str:
    """The markdown under the top dishes for the dish shown: the model's own answer, or the person's
    choice beside what the model said; then what the values are."""
    best_id, best_label, p = answer["top"][0] if answer else (None, None, 0.0)
    if answer and answer["named"] and facts.class_id == best_id:
        lines = [f"**{facts.dish.label}** ({p:.0%})"]
    else:
        said = " " + texts.both("model_said", label=best_label, p=p) if answer else ""
        lines = [f"**{facts.dish.label}** · {texts.both('your_choice')}{said}"]
    if answer:
        lines.append(answer["model_line"])
    lines.append(facts.source_line + ("\n\n" + texts.both("nutrition_note") if facts.has_data else ""))
    return "\n\n".join(lines)


def show_dish(table: nutrition.NutritionTable, answer, class_id: str, grams=None, servings=None):
    """(nutrition facts, verdict) of a dish for a portion; a portion out of range is a warning (ko+en)
    and leaves the page as it was."""
    try:
        facts = table.facts(class_id, grams=grams, servings=servings)
    except ValueError as error:
        gr.Warning(str(error))
        return gr.skip(), gr.skip()
    frame = nutrition.facts_frame(facts) if facts.has_data else pd.DataFrame()
    return gr.Dataframe(value=frame, visible=facts.has_data), dish_verdict(answer, facts)


def sync_correction(table: nutrition.NutritionTable, answer, servings):
    """A new classification (or a cleared photo) resets the choices to the model's answer."""
    if not answer:
        return gr.Radio(choices=[], value=None, visible=False), None, None
    choices = [(f"{label} ({p:.0%})", class_id) for class_id, label, p in answer["top"]]
    best = answer["top"][0][0] if answer["named"] and answer["top"][0][0] in table else None
    return (
        gr.Radio(choices=choices, value=best, visible=True),
        best,
        None if best is None else default_grams(table, best, servings),
    )


def choose_dish(table: nutrition.NutritionTable, answer, class_id, servings):
    """A tap on a top guess or a dish from the list: both show it, and its table for the servings."""
    if class_id not in table:
        return (gr.skip(),) * 5
    in_top = answer is not None and class_id in [c for c, *_ in answer["top"]]
    grams = default_grams(table, class_id, servings)
    return class_id if in_top else None, class_id, grams, *show_dish(table, answer, class_id, servings=servings)


def weigh(table: nutrition.NutritionTable, answer, class_id, grams, servings):
    """A portion typed in grams scales the table of the dish shown (an empty box: the servings)."""
    if class_id not in table:
        return gr.skip(), gr.skip()
    if grams is None:
        return show_dish(table, answer, class_id, servings=servings)
    return show_dish(table, answer, class_id, grams=grams)


def serve(table: nutrition.NutritionTable, answer, class_id, servings):
    """The servings slider: the grams box follows it, and the table scales."""
    if class_id not in table:
        return (gr.skip(),) * 3
    return default_grams(table, class_id, servings), *show_dish(table, answer, class_id, servings=servings)


def nutrition_api(table: nutrition.NutritionTable, class_id, grams=None, servings=None) -> dict:
    """The /nutrition API: service.dish_facts, its errors as messages (ko+en) instead of tracebacks."""
    try:
        return service.dish_facts(table=table, class_id=class_id, grams=grams, servings=servings)
    except (service.UnknownDish, ValueError) as error:
        raise gr.Error(str(error), print_exception=False) from None


def meal_view(table: nutrition.NutritionTable, items: list[dict]):
    """The meal panel for a meal: (table, summary, the remove list, the CSV download link)."""
    remove_choices = [
        (f"{i}. {dish.dish.label} · {meal.portion_text(dish)}", i - 1)
        for i, dish in enumerate(meal.facts(items, table), 1)
    ]
    link = ""
    if items:
        url = meal.data_url(meal.csv_text(items, table))
        link = f'<a href="{url}" download="meal.csv">⬇ {texts.both("meal_download")}</a>'
    return (
        gr.Dataframe(value=meal.frame(items, table), visible=bool(items)),
        meal.summary(items, table),
        gr.Dropdown(choices=remove_choices, value=None),
        link,
    )


def load_meal(table: nutrition.NutritionTable, stored):
    """The page opens with the meal this browser kept (checked: it may be old or edited)."""
    items = meal.clean(stored, table)
    return items, *meal_view(table, items)


def add_to_meal(table: nutrition.NutritionTable, stored, class_id, grams, servings):
    """'Add to meal': the dish shown, for the grams in the box (or the servings when it is empty)."""
    if class_id not in table:
        gr.Warning(texts.both("pick_dish"))
        return (gr.skip(),) * 5
    try:
        items = meal.add(
            meal.clean(stored, table), table, class_id, grams=grams, servings=servings if grams is None else None
        )
    except ValueError as error:
        gr.Warning(str(error))
        return (gr.skip(),) * 5
    return items, *meal_view(table, items)


def remove_from_meal(table: nutrition.NutritionTable, stored, index):
    if index is None:
        return (gr.skip(),) * 5
    items = meal.remove(meal.clean(stored, table), int(index))
    return items, *meal_view(table, items)


def clear_meal(table: nutrition.NutritionTable):
    return [], *meal_view(table, [])


def correction_controls(store: RunStore, table: nutrition.NutritionTable) -> Correction:
    """The correction and portion controls, built where this is called (under the nutrition facts)."""
    with gr.Group():
        pick = gr.Radio([], value=None, label=I18N("correct_top"), visible=False)
        dish = gr.Dropdown(
            dish_choices(store, table, runs.DEPLOYED_RUN), value=None, filterable=True, label=I18N("correct_all")
        )
    with gr.Row(equal_height=True):
        grams = gr.Number(value=None, label=I18N("grams"), scale=2)
        add = gr.Button(I18N("add_to_meal"), variant="secondary", scale=1)
    return Correction(gr.State(None), pick, dish, grams, add)


def wire_correction(store, table, c: Correction, *, run, servings, facts, verdict) -> None:
    """The correction's events, and the /nutrition API (nutrition of a dish by class id)."""
    private = {"api_visibility": "private"}
    c.answer.change(partial(sync_correction, table), [c.answer, servings], [c.pick, c.dish, c.grams], **private)
    chosen = [c.pick, c.dish, c.grams, facts, verdict]
    c.pick.input(partial(choose_dish, table), [c.answer, c.pick, servings], chosen, **private)
    c.dish.input(partial(choose_dish, table), [c.answer, c.dish, servings], chosen, **private)
    gr.on(
        [c.grams.submit, c.grams.blur],
        partial(weigh, table),
        [c.answer, c.dish, c.grams, servings],
        [facts, verdict],
        trigger_mode="always_last",
        **private,
    )
    servings.change(
        partial(serve, table),
        [c.answer, c.dish, servings],
        [c.grams, facts, verdict],
        trigger_mode="always_last",
        **private,
    )
    run.change(lambda model_id: gr.Dropdown(choices=dish_choices(store, table, model_id)), run, c.dish, **private)

    def nutrition_endpoint(class_id: str, grams: float | None = None, servings: float | None = None) -> dict:
        """Nutrition facts of one dish by class id, for grams or servings (default: one serving)."""
        return nutrition_api(table, class_id, grams, servings)

    gr.api(nutrition_endpoint, api_name="nutrition")


def meal_panel(demo: gr.Blocks, table: nutrition.NutritionTable, c: Correction, servings) -> None:
    """The meal: its dishes and total, remove one, clear all, download as CSV; kept in the browser."""
    stored = gr.BrowserState([], storage_key="foodcls-meal")
    with gr.Accordion(I18N("meal"), open=True, elem_id="meal"):
        shown = gr.Dataframe(label=I18N("meal_dishes"), visible=False, interactive=False, wrap=True)
        summary = gr.Markdown()
        with gr.Row():
            pick = gr.Dropdown([], value=None, label=I18N("meal_pick"), scale=3)
            remove = gr.Button(I18N("meal_remove"), scale=1)
            clear = gr.Button(I18N("meal_clear"), variant="secondary", scale=1)
        link = gr.HTML(js_on_load=None, padding=True)
        gr.Markdown(texts.both("meal_private"))
    view = [stored, shown, summary, pick, link]
    private = {"api_visibility": "private"}
    # no progress overlay: the meal comes from the browser at once, and a spinner over it is noise
    demo.load(partial(load_meal, table), stored, view, show_progress="hidden", **private)
    c.add.click(partial(add_to_meal, table), [stored, c.dish, c.grams, servings], view, **private)
    remove.click(partial(remove_from_meal, table), [stored, pick], view, **private)
    clear.click(partial(clear_meal, table), None, view, **private)


# --- end of correction, portion and meal -----------------------------------------------------------


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


def study_classes(configs: dict[str, dict]) -> int | None:
    """How many classes the study runs tell apart (for the chance line), None without a config."""
    return len(next(iter(configs.values()))["classes"]) if configs else None


def curves_plot(curves_data: CurvesData, names, metric, split, log_y):
    histories, configs, _ = curves_data.get()
    chosen = {n: histories[n] for n in names if n in histories}
    return curves.curves_figure(chosen, metric, split, log_y, classes=study_classes(configs))


def grad_norms_plot(curves_data: CurvesData, name):
    """One model's gradient norms, on the y range every study model shares (so two plots compare)."""
    histories, _, _ = curves_data.get()
    if name not in histories:
        return None
    return curves.grad_norm_figure(name, histories[name], y_range=curves.grad_norm_range(histories))


def curves_tab(curves_data: CurvesData):
    """Everything the curves tab shows when the page opens."""
    histories, configs, metrics = curves_data.get()
    missing = [n for n in STUDY_NAMES if n not in histories]
    note = "\n\n" + texts.both("no_history", names=", ".join(missing)) if missing else ""
    return (
        curves_plot(curves_data, STUDY_NAMES, "accuracy", "val", False),
        grad_norms_plot(curves_data, PLAIN_NAME),
        grad_norms_plot(curves_data, SKIP_NAME),
        curves.summary_table(configs, metrics, histories),
        curves.explanation(configs, histories) + note,
    )


def curves_json(curves_data: CurvesData) -> dict:
    """Every study run's per-epoch history, config and test metrics, by model name."""
    histories, configs, metrics = curves_data.get()
    return {"histories": histories, "configs": configs, "metrics": metrics}


def calibrated_threshold(store: RunStore, run: str) -> float:
    """The threshold slider's value for a model: the one its run was calibrated with (foodcls.calibrate)."""
    return service.run_threshold(store.run_json(run, "config.json") or {})


def classify_controls(threshold_value: float):
    """The photo and the settings column; returns (photo, run, threshold, servings, want_cam, button)."""
    photo = gr.Image(
        label=I18N("photo"),
        type="filepath",
        sources=["webcam", "upload", "clipboard"],
        webcam_options=gr.WebcamOptions(mirror=False, constraints={"video": {"facingMode": {"ideal": "environment"}}}),
        alt_text="식사 사진 · Meal photo",
        elem_id="photo",
    )
    run = gr.Dropdown(
        RUN_CHOICES, value=runs.DEPLOYED_RUN, label=I18N("model"), info=I18N("model_info"), elem_id="model"
    )
    threshold = gr.Slider(
        0,
        1,
        value=threshold_value,
        step=0.05,
        label=I18N("threshold"),
        info=I18N("threshold_info"),
        elem_id="threshold",
    )
    servings = gr.Slider(0.5, 3, value=1, step=0.5, label=I18N("servings"), elem_id="servings")
    want_cam = gr.Checkbox(value=False, label=I18N("gradcam"), elem_id="gradcam")
    button = gr.Button(I18N("classify"), variant="primary", elem_id="classify")
    return photo, run, threshold, servings, want_cam, button


def result_column(store: RunStore, table: nutrition.NutritionTable):
    """The answer, headline first; returns (top, facts, verdict, heat map, details, correction)."""
    verdict_box = gr.Markdown(elem_id="verdict")
    top = gr.Label(num_top_classes=service.TOP_K, label=I18N("top"), show_heading=False, elem_id="top")
    facts = gr.Dataframe(
        label=I18N("nutrition"),
        visible=False,
        interactive=False,
        wrap=True,
        column_widths=["40%", "30%", "30%"],
        elem_id="facts",
    )
    correction = correction_controls(store, table)
    cam = gr.Image(
        label=I18N("heatmap"),
        visible=False,
        interactive=False,
        alt_text="모델이 본 곳을 색으로 표시한 사진 · The photo coloured where the model looked",
        buttons=[],
        elem_id="heatmap",
    )
    with gr.Accordion(I18N("details"), open=False, elem_id="details-fold"):
        details_box = gr.Markdown(elem_id="details")
    return top, facts, verdict_box, cam, details_box, correction


def classify_tab(demo: gr.Blocks, store: RunStore, nutrition_table: nutrition.NutritionTable) -> None:
    request = (store, nutrition_table)  # what every classify handler is bound to
    with gr.Row():
        with gr.Column():
            photo, run, threshold, servings, want_cam, button = classify_controls(
                calibrated_threshold(store, runs.DEPLOYED_RUN)
            )
        with gr.Column():
            top, facts, verdict_box, cam, details_box, correction = result_column(store, nutrition_table)
    outputs = [top, facts, verdict_box, cam, details_box, correction.answer]
    with gr.Accordion(I18N("known_dishes"), open=False, elem_id="known-dishes"):
        dishes = gr.Dataframe(
            known_dishes(store, nutrition_table, runs.DEPLOYED_RUN),
            interactive=False,
            show_search="search",
            max_height=320,
            show_label=False,
        )
    inputs = [photo, *service.api_inputs(model_id=run, threshold=threshold, servings=servings, heat_map=want_cam)]
    private = {"preprocess": False, "api_visibility": "private"}
    events = [button.click(partial(classify_photo, *request), inputs, outputs, api_name="classify", preprocess=False)]
    events.append(run.change(partial(reclassify, *request), inputs, outputs, **private))
    # .change: arrow keys re-classify too, not only a released drag (servings rescale the dish: wire_correction)
    events.append(
        threshold.change(partial(reclassify, *request), inputs, outputs, trigger_mode="always_last", **private)
    )
    events.append(want_cam.change(partial(toggle_heat_map, *request), inputs, outputs, **private))
    events.append(
        photo.input(partial(classify_new_photo, *request), inputs, outputs, trigger_mode="always_last", **private)
    )
    for event in (events[0], events[-1]):  # a new answer to a press or a photo comes into view
        event.success(None, None, None, js=SHOW_VERDICT)
    run.change(partial(known_dishes, *request), run, dishes, api_visibility="private")
    run.change(partial(calibrated_threshold, store), run, threshold, api_visibility="private")
    wire_correction(store, nutrition_table, correction, run=run, servings=servings, facts=facts, verdict=verdict_box)
    meal_panel(demo, nutrition_table, correction, servings)


def curves_tab_layout(curves_data: CurvesData):
    """The curves tab's controls and plots, and their events; returns what the page load fills."""
    with gr.Row():
        chosen = gr.CheckboxGroup(STUDY_NAMES, value=STUDY_NAMES, label=I18N("curve_models"))
        metric = gr.Radio(["accuracy", "loss"], value="accuracy", label=I18N("metric"))
        split = gr.Radio(
            [("train", "train"), ("validation", "val"), ("both", "both")], value="val", label=I18N("split")
        )
        log_y = gr.Checkbox(value=False, label=I18N("log"))
    curve_plot = gr.Plot(show_label=False)
    explanation = gr.Markdown()
    with gr.Row():
        with gr.Column(min_width=300):
            left = gr.Dropdown(STUDY_NAMES, value=PLAIN_NAME, label=I18N("gradnorm_model"))
            left_plot = gr.Plot(show_label=False)
        with gr.Column(min_width=300):
            right = gr.Dropdown(STUDY_NAMES, value=SKIP_NAME, label=I18N("gradnorm_model"))
            right_plot = gr.Plot(show_label=False)
    summary = gr.Dataframe(interactive=False, show_label=False)
    gr.Markdown(I18N("scroll_hint"), elem_classes=["scroll-hint"])
    curve_controls = [chosen, metric, split, log_y]
    for control in curve_controls:
        control.change(partial(curves_plot, curves_data), curve_controls, curve_plot, api_visibility="private")
    left.change(partial(grad_norms_plot, curves_data), left, left_plot, api_visibility="private")
    right.change(partial(grad_norms_plot, curves_data), right, right_plot, api_visibility="private")
    return [curve_plot, left_plot, right_plot, summary, explanation]


def build_app(store: RunStore, nutrition_table: nutrition.NutritionTable) -> gr.Blocks:
    curves_data = CurvesData(store)
    with gr.Blocks(title="foodcls") as demo:  # uploads are deleted by uploads.start_sweeper, not delete_cache
        gr.Markdown(I18N("title"))
        gr.Markdown(I18N("intro"))
        with gr.Tab(I18N("tab_classify")):
            classify_tab(demo, store, nutrition_table)
        with gr.Tab(I18N("tab_curves")):
            curves_outputs = curves_tab_layout(curves_data)
        demo.load(partial(curves_tab, curves_data), None, curves_outputs, api_visibility="private")
        gr.api(partial(curves_json, curves_data), api_name="curves")
    return demo
