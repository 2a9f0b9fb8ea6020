"""The Gradio page: a photo tab (with the person's food log) and a curves tab. Its handlers are plain
functions over service.py, foods.py and meal.py, in the person's language ("ko" or "en")."""

import datetime
import math
import uuid
from functools import partial
from pathlib import Path

import gradio as gr
import pandas as pd

from foodcls import catalogue as food_catalogue
from foodcls import curves, foods, meal, models, nutrition, regions, runs, service, texts
from foodcls.service import Classification, PhotoError, PhotoGone
from foodcls.store import BUNDLED, REQUEST_WAIT_S, ModelLoading, ModelUnavailable, RunStore, UnknownRun

STUDY_NAMES = [models.MODEL_SPECS[run].name for run in models.STUDY_MODELS]
PLAIN_NAME, SKIP_NAME = models.MODEL_SPECS["deepnet10"].name, models.MODEL_SPECS["skipcon_deepnet10"].name
I18N = gr.I18n(**texts.by_language())
DEFAULT_LANGUAGE = "ko"
# gr.BrowserState encrypts in the browser with a secret that Gradio sends to that browser in the
# page's config: it hides nothing from the person or a script on the page, it only makes the value
# unreadable to a server with another secret. A fixed secret keeps a person's log across restarts,
# redeploys and replicas (a secret drawn at start lost it on every restart); the log holds no more
# than what the person typed and ate, and the server never sees it unless the page sends it.
LOG_SECRET = "foodcls-food-log-v2"
# A person who picks another model waits for it to load (bundled weights: a few seconds) rather than
# get "try again"; the load itself runs outside the decode slots, and a stalled Hub still ends in
# "loading, try again" after this long.
PAGE_WAIT_S = 15.0
# The photo's copy a person's session keeps for tapping its dishes after the upload was swept: a region
# of 45% of 512 px is still 3.6 times the model's 64 px input; dropped 10 minutes after the photo.
KEPT_SIDE, KEPT_FOR_S = 512, 600

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
#verdict h2:focus { outline: 2px solid var(--color-accent); outline-offset: 2px; }
#lang .wrap { flex-wrap: nowrap; }
#lang label { white-space: nowrap; }
/* big targets for a thumb: the photo's source buttons, the guesses, the add button */
#photo .source-selection button { min-width: 48px; min-height: 48px; }
#photo .source-selection svg { width: 28px; height: 28px; }
#guesses label, #results label { min-height: 44px; width: 100%; }
#add button, button#add { min-height: 48px; font-size: 1.1em; }
#grams { min-height: 1.5em; }
.scroll-hint { display: none; }
@media (max-width: 640px) {
  .scroll-hint { display: block; }
  #title h1 { font-size: 1.4em; margin: 0; }
  #photo { max-height: 46vh; }
  .log-day thead { display: none; }
  .log-day, .log-day tbody, .log-day tr, .log-day td { display: block; width: 100%; }
  .log-day tr { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 0 0 8px; padding: 6px 10px; }
  .log-day td { border: none; padding: 2px 0; }
  .log-day td[data-label]::before { content: attr(data-label) ": "; color: var(--body-text-color-subdued); }
}
.log-day { width: 100%; border-collapse: collapse; }
.log-day th, .log-day td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--border-color-primary); }
.log-day .total td { font-weight: bold; }
.log-day summary { cursor: pointer; }
footer a, footer button, .tab-container button.selected { color: var(--body-text-color) !important; }
"""
# The language: saved in the browser, Gradio's own locale set to it (its i18n module's changeLocale,
# found among the page's scripts), and what Gradio 6.31 has no key for (the webcam's prompt, the
# photo's text alternative) rewritten by the page's script.
SET_LANGUAGE = (
    """
async (lang) => {
  localStorage.setItem('foodcls-lang', lang);
  document.documentElement.lang = lang;
  window.foodclsLang = lang;
  try {
    const core = performance.getEntriesByType('resource').map((e) => e.name)
      .find((name) => /\\/assets\\/core-[^/]*\\.js$/.test(name));
    if (core) (await import(core)).changeLocale(lang);
  } catch (error) { console.warn('foodcls: could not switch Gradio locale', error); }
  if (window.foodclsRelabel) window.foodclsRelabel();
  return lang;
}
"""
).strip()
LOAD_LANGUAGE = """
() => {
  let lang = localStorage.getItem('foodcls-lang');
  if (lang !== 'ko' && lang !== 'en') {
    lang = 'en';
    for (const tag of navigator.languages || [navigator.language]) {
      const primary = (tag || '').toLowerCase().split('-')[0];
      if (primary === 'ko' || primary === 'en') { lang = primary; break; }
    }
  }
  return (SET_LANGUAGE)(lang);
}
""".replace("SET_LANGUAGE", SET_LANGUAGE).strip()
NOW = """() => { const d = new Date(), p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }"""
# An event's JS: its last input, a hidden box, becomes the browser's local date and time.
WITH_NOW = f"(...args) => [...args.slice(0, -1), ({NOW})()]"
SLOT_NOW = f"""() => {{ const h = Number(({NOW})().slice(11, 13));
  return h >= 4 && h < 11 ? 'breakfast' : h >= 11 && h < 16 ? 'lunch' : h >= 16 && h < 22 ? 'dinner' : 'snack'; }}"""
# Keyboard: Enter or Space on the photo's drop area opens the file chooser, as a click does (in
# Gradio 6.31 the key's click does not reach the file input nested in that button).
PAGE_JS = (
    """
() => {
  window.foodclsKeys = true;
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const area = event.target instanceof Element && event.target.closest('#photo button.upload-container');
    if (!area) return;
    event.preventDefault();
    area.click();
  });
  const webcam = WEBCAM, photoAlt = PHOTO_ALT, toastTitles = {warning: WARNING_TITLE, error: ERROR_TITLE};
  window.foodclsRelabel = () => {
    const lang = window.foodclsLang || localStorage.getItem('foodcls-lang') || 'en';
    // a message's title: Gradio 6.31 shows its type in English ("Warning"), whatever the title given
    for (const title of document.querySelectorAll('.toast-title')) {
      const kind = Object.keys(toastTitles).find((k) => title.classList.contains(k));
      if (!kind) continue;
      const names = [kind[0].toUpperCase() + kind.slice(1), ...Object.values(toastTitles[kind])];
      const texts = document.createTreeWalker(title, NodeFilter.SHOW_TEXT);
      for (let node = texts.nextNode(); node; node = texts.nextNode()) {
        const text = node.nodeValue.trim();
        if (names.includes(text) && text !== toastTitles[kind][lang]) node.nodeValue = toastTitles[kind][lang] + ' ';
      }
    }
    const photo = document.getElementById('photo');
    if (!photo) return;
    for (const img of photo.querySelectorAll('img')) if (img.alt !== photoAlt[lang]) img.alt = photoAlt[lang];
    // the drop area's name is what it says (Gradio names it "Drop an image file here to upload")
    for (const area of photo.querySelectorAll('button.upload-container')) {
      const name = area.innerText.replace(/\\s+/g, ' ').trim();
      if (name && area.getAttribute('aria-label') !== name) area.setAttribute('aria-label', name);
    }
    const walker = document.createTreeWalker(photo, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      if (text === 'Click to Access Webcam' || Object.values(webcam).includes(text)) {
        if (text !== webcam[lang]) node.nodeValue = ' ' + webcam[lang];
      }
    }
  };
  new MutationObserver(() => window.foodclsRelabel()).observe(document.body, {childList: true, subtree: true});
}
""".replace("WEBCAM", texts.json_pair("webcam"))
    .replace("WARNING_TITLE", texts.json_pair("warning_title"))
    .replace("ERROR_TITLE", texts.json_pair("error_title"))
    .replace("PHOTO_ALT", texts.json_pair("photo_alt"))
    .strip()
)
SHRINK_SIDE, SHRINK_QUALITY = 1024, 0.85  # the longest side and JPEG quality of a photo as the browser sends it
SHRINK_PHOTO = (Path(__file__).parent / "shrink_photo.js").read_text()
PAGE_JS = (
    f"() => {{ ({PAGE_JS})(); "
    f"({SHRINK_PHOTO.strip()})({SHRINK_SIDE}, {SHRINK_QUALITY}, {texts.json_pair('sending_photo')}); }}"
)
PHOTO_SENT = "() => { if (window.foodclsPhotoSent) window.foodclsPhotoSent(); }"
# After a result (not after a cleared photo) the headline comes into view and takes the focus.
SHOW_VERDICT = """
() => {
  const show = () => {
    const headline = document.querySelector('#verdict h2');
    const active = document.activeElement;  // the person may have moved on: leave them there
    if (!headline || (active && active !== document.body && !active.closest('#photo, #verdict'))) return;
    const top = headline.getBoundingClientRect().top;
    const add = document.getElementById('add')?.getBoundingClientRect();
    const short = add && add.height ? add.bottom + 8 - window.innerHeight : 0;  // the add button below the fold
    const by = top < 0 || top > window.innerHeight * 0.4 ? top - 8 : Math.min(Math.max(short, 0), top - 8);
    if (by > 0 || top < 0) window.scrollTo({top: Math.floor(window.scrollY + by)});
    headline.setAttribute('tabindex', '-1');
    headline.focus({preventScroll: true});
  };
  requestAnimationFrame(show);
  setTimeout(show, 600);  // again once the photo's preview above it has loaded and moved it down
}
"""


# 'None of these': the search box takes the focus (and comes into view).
FOCUS_SEARCH = (
    """(choice) => { if (choice === '_none') document.querySelector('#search textarea, #search input')?.focus(); }"""
)


def launch_options() -> dict:
    """What `launch()` needs for this page to look and read as designed (app.py and the tests)."""
    return {"i18n": I18N, "theme": THEME, "css": CSS, "js": PAGE_JS}


def run_choices(lang: str, own_runs=()) -> list[tuple[str, str]]:
    """(what the model dropdown shows, run id): the deployed model is recommended, the study models
    are labelled as such; `own_runs` (python app.py --run DIR) come last under their folder names."""
    choices = []
    for run in runs.SERVED_RUNS:
        kind = "deployed_model" if run == runs.DEPLOYED_RUN else "study_model" if run in runs.STUDY_RUNS else None
        title = texts.text(f"run_{run}", lang) if f"run_{run}" in texts.MESSAGES else runs.RUN_TITLES[run]
        choices.append((f"{title} · {texts.text(kind, lang)}" if kind else title, run))
    return choices + [(texts.text("own_run", lang, run=run), run) for run in own_runs]


def message(error: Exception, lang: str) -> str:
    """An error's message in the person's language (texts.both messages carry both)."""
    return texts.in_language(error.args[0] if error.args else str(error), lang)


MODEL_REFUSALS = (
    (UnknownRun, "unknown_model"),
    (ModelLoading, "model_loading"),
    (ModelUnavailable, "model_unavailable"),
)


def refusal(error: Exception, lang: str | None) -> gr.Error:
    """What a classify request that failed shows: the photo's (or setting's) own message, or plain words
    for a model that cannot serve; in the person's language, or in both for the API (`lang=None`)."""
    if isinstance(error, ModelUnavailable):
        key = next(key for kind, key in MODEL_REFUSALS if isinstance(error, kind))
        if key == "model_unavailable":
            print(f"foodcls: {error}")  # the technical reason goes to the log, the person gets plain words
        words = texts.both(key) if lang is None else texts.text(key, lang)
    else:
        words = str(error) if lang is None else message(error, lang)
    return gr.Error(words, print_exception=False)


def split_now(now: str | None) -> tuple[str, str]:
    """(date, time) of the browser's 'YYYY-MM-DDTHH:MM'; the server's clock when it sent none."""
    if isinstance(now, str) and meal.DATE.match(now[:10]) and meal.TIME.match(now[11:]):
        return now[:10], now[11:]
    local = datetime.datetime.now()
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


# --- the answer to a photo ----------------------------------------------------------------------


def answer_of(result: Classification, region: bool = False) -> dict:
    """What the page keeps of a classification (a gr.State) to show it in either language; a fresh
    id each time, so that a new photo resets a correction even when the model answers the same.
    `region`: the answer is of a tapped part of the photo, not the whole."""
    return {
        "region": region,
        "id": uuid.uuid4().hex,
        "top": [[dish.class_id, dish.probability] for dish in result.top],
        "named": result.named,
        "model": result.model_name,
        "source": result.weights_source,
        "ms": result.inference_ms,
    }


def food_name(catalogue: foods.Foods, food_id: str, lang: str) -> str:
    return catalogue.name(food_id, lang) if food_id in catalogue else food_id


def headline(catalogue: foods.Foods, answer: dict | None, lang: str) -> str:
    """The headline: the dish (its names in both languages) and how sure; or 'not sure' and what
    to do next, in one sentence. Empty without an answer."""
    if not answer:
        return ""
    best, p = answer["top"][0]
    if answer["named"]:
        name = catalogue.label(best) if best in catalogue else best
        return f"## {name}\n\n{texts.text('named_confidence', lang, p=p)}"
    return f"## {texts.text('unsure_headline', lang)}\n\n{texts.text('unsure_next', lang)}"


NONE_OF_THESE, NOT_FOOD = "_none", "_not_food"  # the two ways out of the guesses list


def offered(catalogue: foods.Foods, answer: dict | None) -> list[str]:
    """The foods the guesses list offers: the model's guesses, then their Korean look-alikes."""
    if not answer:
        return []
    guesses = [c for c, _ in answer["top"]]
    return guesses + [f for f in catalogue.lookalikes(guesses) if f not in guesses]


def guess_choices(catalogue: foods.Foods, answer: dict | None, lang: str) -> list[tuple[str, str]]:
    """The guesses as one list to tap: '쌀국수 · 62%', the Korean look-alikes of the guesses
    ('김밥 (a Korean look-alike)'), then 'none of these' and 'not food'."""
    if not answer:
        return []
    probability = dict((c, p) for c, p in answer["top"])
    choices = [
        (texts.text("guess", lang, name=food_name(catalogue, c, lang), p=probability[c]), c)
        if c in probability
        else (texts.text("lookalike", lang, name=food_name(catalogue, c, lang)), c)
        for c in offered(catalogue, answer)
    ]
    return choices + [(texts.text("none_of_these", lang), NONE_OF_THESE), (texts.text("not_food", lang), NOT_FOOD)]


def region_hint(answer: dict | None, lang: str) -> str:
    """The line under the photo: after the whole photo, that a tap classifies one dish of several;
    after a tapped part, to tap the next one. Empty without an answer."""
    if not answer:
        return ""
    return texts.text("region_next" if answer.get("region") else "region_hint", lang)


def size_choices(lang: str) -> list[tuple[str, str]]:
    return [(texts.text(f"size_{size}", lang), size) for size in regions.SIZES]


def details(answer: dict | None, lang: str) -> str:
    """The advanced fold's text: model, where its weights came from, inference time."""
    if not answer:
        return ""
    source = texts.text("bundled_weights", lang) if answer["source"] == BUNDLED else answer["source"]
    return texts.text("details_line", lang, name=answer["model"], source=source, ms=answer["ms"])


def unit_choices(catalogue: foods.Foods, food_id: str | None, lang: str) -> list[tuple[str, str]]:
    """The food's units as the unit list shows them: '1인분 (600 g)', 'g'."""
    if food_id not in catalogue:
        return []
    return [
        (
            foods.unit_name(u, lang) if u.unit == foods.GRAMS else f"{foods.unit_name(u, lang)} ({u.grams:,.0f} g)",
            u.unit,
        )
        for u in catalogue.units(food_id)
    ]


def source_text(facts: nutrition.Facts, lang: str) -> str:
    """What the values are, in the person's language: the cited row, and how well it matches."""
    if not facts.has_data:
        return texts.text("no_nutrition", lang)
    values = {"name": facts.source_name, "code": facts.food_code, "year": facts.year, "source": facts.source}
    line = texts.text("source_mfds" if facts.source == nutrition.MFDS else "source_usda", lang, **values)
    if facts.match in ("closest", "partial"):
        line += " " + texts.text(f"match_{facts.match}", lang, note=facts.note)
    return line + "\n\n" + texts.text("nutrition_note", lang)


def facts_table(facts: nutrition.Facts, lang: str) -> pd.DataFrame:
    """The facts as the page shows them: nutrient, amount for the portion, per 100 g; kcal and mg in
    whole numbers, grams to 0.1."""
    missing = texts.text("not_analysed", lang)

    def shown(value, unit):
        return missing if value is None or not math.isfinite(value) else meal.amount(value, unit)

    rows = [
        (texts.text(column, lang), shown(facts.per_portion.get(column), unit), shown(facts.per_100g.get(column), unit))
        for column, _, unit in nutrition.NUTRIENTS
    ]
    header = [
        texts.text("col_nutrient", lang),
        texts.text("col_portion", lang, grams=facts.grams or 0),
        texts.text("col_100g", lang),
    ]
    return pd.DataFrame(rows, columns=header)


def dish_line(catalogue: foods.Foods, answer: dict | None, facts: nutrition.Facts, lang: str) -> str:
    """The dish name line (both languages), whose choice it is, and what the values are."""
    food_id = facts.class_id
    line = f"**{catalogue.label(food_id)}**"
    if answer and not (answer["named"] and answer["top"][0][0] == food_id):
        best, p = answer["top"][0]
        said = texts.text("model_said", lang, name=food_name(catalogue, best, lang), p=p)
        line += f" · {texts.text('your_choice', lang)} · {said}"
    return line + "\n\n" + source_text(facts, lang)


def dish_view(catalogue: foods.Foods, answer, food_id, amount, unit, lang: str):
    """(food, amount, unit list, unit, grams line, dish line, facts table) of a food and a portion
    (the unit twice: the list, and the state a change of unit starts from); nothing shown without a
    food. ValueError (ko+en) for a bad portion."""
    if food_id not in catalogue:
        return (
            None,
            gr.Number(value=None),
            gr.Dropdown(choices=[], value=None),
            None,
            "",
            "",
            gr.Dataframe(value=None, visible=False),
        )
    facts = catalogue.facts(food_id, amount, unit)
    frame = facts_table(facts, lang) if facts.has_data else None
    grams = texts.text("portion_grams", lang, grams=facts.grams) if facts.grams is not None else ""
    return (
        food_id,
        amount,
        gr.Dropdown(choices=unit_choices(catalogue, food_id, lang), value=unit),
        unit,
        grams,
        dish_line(catalogue, answer, facts, lang),
        gr.Dataframe(value=frame, visible=frame is not None),
    )


def first_pick(catalogue: foods.Foods, answer: dict | None) -> str | None:
    """The food chosen when an answer arrives: the named dish, none when the model is not sure."""
    return answer["top"][0][0] if answer and answer["named"] and answer["top"][0][0] in catalogue else None


def show_answer(catalogue: foods.Foods, answer: dict | None, cam, lang: str, tap=None, region=None):
    """Everything the page shows for an answer (or for none: a cleared photo): headline, guesses,
    the search emptied, the chosen dish with one serving, heat map, details; then the line under the
    photo, the tap the answer is of (None: the whole photo), the tapped part and 'whole photo'."""
    pick = first_pick(catalogue, answer)
    amount, unit = catalogue.default_portion(pick) if pick else (None, None)
    return (
        answer,
        headline(catalogue, answer, lang),
        gr.Radio(choices=guess_choices(catalogue, answer, lang), value=pick, visible=bool(answer)),
        "",
        gr.Radio(choices=[], value=None, visible=False),
        "",
        *dish_view(catalogue, answer, pick, amount, unit, lang),
        gr.Image(value=cam, visible=cam is not None, alt_text=texts.text("heatmap_alt", lang)),
        details(answer, lang),
        region_hint(answer, lang),
        tap,
        gr.Image(value=region, visible=region is not None, alt_text=texts.text("region_alt", lang)),
        gr.Button(visible=region is not None),
        gr.Radio(visible=bool(answer)),
    )


def classify_page(
    store: RunStore,
    table: nutrition.NutritionTable,
    catalogue: foods.Foods,
    payload,
    run,
    threshold,
    want_cam,
    lang,
    tap=None,
    size=None,
    kept=None,
):
    """A photo (new or with changed settings) classified for the page; a cleared photo (the X, or
    switching between camera and upload) clears the answer instead of being an error. With a `tap`
    ([x, y] on the photo as shown), only the region around it (regions.crop, of the `size` picked)
    is classified: one dish of several; a tap outside the photo classifies the whole. The last
    output is the photo's copy kept for taps (see kept_for_taps); `kept` is that copy, read when a
    request comes after the upload was swept."""
    if payload is None:
        return (*show_answer(catalogue, None, None, lang), None)
    path = payload.get("path") if isinstance(payload, dict) else payload
    share = regions.SIZES.get(size, regions.REGION_SHARE)
    try:
        try:
            photo = service.read_upload(path)  # the same checks and decode for a region as for the whole
            kept = kept_for_taps(photo)
        except PhotoGone:
            if kept is None:
                raise
            photo = kept  # checked and decoded when it came; since swept from the upload folder
        shown = photo.info.get("full_size", photo.size)
        region = regions.crop(photo, tap, shown, share) if tap is not None else None
        tap = tap if region is not None else None
        photo = region if region is not None else photo
        result = service.classify(
            store=store, table=table, photo=photo, model_id=run, threshold=threshold, wait_s=PAGE_WAIT_S
        )
        cam = None
        if want_cam:  # where the model looked for its best guess, named or not
            cam = service.heat_map(
                store=store, photo=photo, model_id=run, class_index=result.top_index, wait_s=PAGE_WAIT_S
            )
    except PhotoGone as error:  # swept a minute after it came: a second dish of it needs it again
        shown = texts.text("photo_gone", lang) if tap is not None else message(error, lang)
        raise gr.Error(shown, print_exception=False) from None
    except (PhotoError, ValueError, ModelUnavailable) as error:  # ValueError: a setting out of range
        raise refusal(error, lang) from None
    return (*show_answer(catalogue, answer_of(result, region=tap is not None), cam, lang, tap, region), kept)


def kept_for_taps(photo):
    """A copy of the photo of at most KEPT_SIDE pixels for the dishes tapped in it later: held in the
    person's session memory (a gr.State that lives KEPT_FOR_S), never written anywhere, because the
    upload itself is swept a minute after it came."""
    full_size = photo.info.get("full_size", photo.size)
    kept = photo.copy()
    kept.thumbnail((KEPT_SIDE, KEPT_SIDE))
    kept.info["full_size"] = full_size
    return kept


def resize_region(
    store: RunStore, table: nutrition.NutritionTable, catalogue: foods.Foods, payload, run, threshold, want_cam, lang,
    tap, size, kept=None,
):  # fmt: skip
    """Another region size: the tapped dish again at that size; before any tap, nothing changes (the
    next tap uses it)."""
    if tap is None:
        return (gr.skip(),) * (len(show_answer(catalogue, None, None, lang)) + 1)
    return classify_page(store, table, catalogue, payload, run, threshold, want_cam, lang, tap, size, kept)


def choose(catalogue: foods.Foods, answer, food_id, lang):
    """A tap on a guess or a search result: that food, one of its first unit (the guesses keep their
    place). 'None of these' and 'not food' clear the dish and say what now."""
    if food_id in (NONE_OF_THESE, NOT_FOOD):
        *dish, _, _ = dish_view(catalogue, answer, None, None, None, lang)
        note = texts.text("none_note" if food_id == NONE_OF_THESE else "not_food_note", lang)
        return gr.skip(), None, *dish, note, gr.Dataframe(value=None, visible=False)
    if food_id not in catalogue:
        return (gr.skip(),) * 9
    in_guesses = food_id in offered(catalogue, answer)
    return (
        food_id if in_guesses else None,
        gr.skip() if in_guesses else food_id,
        *dish_view(catalogue, answer, food_id, *catalogue.default_portion(food_id), lang),
    )


def weigh(catalogue: foods.Foods, answer, food_id, amount, unit, lang):
    """A new amount or unit: (grams line, dish line, facts); a bad amount is a warning and leaves the
    page as it was."""
    if food_id not in catalogue:
        return gr.skip(), gr.skip(), gr.skip()
    try:
        *_, grams, line, table = dish_view(catalogue, answer, food_id, amount, unit, lang)
    except ValueError as error:
        gr.Warning(message(error, lang))
        return gr.skip(), gr.skip(), gr.skip()
    return grams, line, table


def change_unit(catalogue: foods.Foods, answer, food_id, amount, old_unit, unit, lang):
    """A new unit keeps the portion: the amount becomes the same grams in the new unit. Returns
    (amount, unit state, grams line, dish line, facts)."""
    if food_id not in catalogue or unit == old_unit:
        return (gr.skip(),) * 5
    units = {u.unit: u.grams for u in catalogue.units(food_id)}
    try:
        grams = catalogue.grams(food_id, amount, old_unit)
    except ValueError:
        grams = None
    if grams is not None and units.get(unit):
        amount = round(grams / units[unit], 0 if unit == foods.GRAMS else 2)
    else:
        amount = 1.0
    return amount, unit, *weigh(catalogue, answer, food_id, amount, unit, lang)


def relabel(catalogue: foods.Foods, own_runs, answer, food_id, amount, unit, lang):
    """Everything the answer shows, in a newly chosen language (the same answer and portion)."""
    try:
        dish = dish_view(catalogue, answer, food_id, amount, unit, lang)
    except ValueError:
        dish = dish_view(catalogue, answer, food_id, *catalogue.default_portion(food_id), lang)
    in_guesses = food_id in offered(catalogue, answer)
    return (
        headline(catalogue, answer, lang),
        gr.Radio(choices=guess_choices(catalogue, answer, lang), value=food_id if in_guesses else None),
        *dish[2:],
        details(answer, lang),
        gr.Dropdown(choices=run_choices(lang, own_runs)),
        gr.Dropdown(choices=slot_choices(lang)),
        gr.Image(alt_text=texts.text("heatmap_alt", lang)),
        region_hint(answer, lang),
        gr.Image(alt_text=texts.text("region_alt", lang)),
        gr.Radio(choices=size_choices(lang)),
    )


def slot_choices(lang: str) -> list[tuple[str, str]]:
    return [(texts.text(slot, lang), slot) for slot in meal.SLOTS]


def search_foods(catalogue: foods.Foods, answer, query, lang):
    """The foods matching a typed name (the model's guesses first), or a clear 'no match' line."""
    query = (query or "").strip()
    if not query:
        return gr.Radio(choices=[], value=None, visible=False), ""
    first = tuple(c for c, _ in answer["top"]) if answer else ()
    found = catalogue.search(query, first=first)
    if not found:
        return gr.Radio(choices=[], value=None, visible=False), texts.text("no_match", lang, query=query)
    return gr.Radio(choices=[(catalogue.label(f), f) for f in found], value=None, visible=True), ""


# --- the log ----------------------------------------------------------------------------------


def log_view(catalogue: foods.Foods, log: dict, day: str | None, now: str | None, lang: str):
    """(log, day list, total line, the day's dishes, entry list, CSV link, goal) for one day."""
    today, _ = split_now(now)
    day = day if isinstance(day, str) and meal.DATE.match(day) else today
    entries = meal.of_day(log, day)
    dishes = meal.facts(entries, catalogue)
    picks = [(meal.label(e, d, catalogue, lang), e["id"]) for e, d in zip(entries, dishes)]
    link = ""
    if entries:
        url = meal.data_url(meal.csv_text(entries, catalogue, lang))
        link = f'<a href="{url}" download="foodcls-{day}.csv">⬇ {texts.text("log_download", lang, day=day)}</a>'
    return (
        log,
        gr.Dropdown(choices=sorted({day, *meal.days(log, today)}, reverse=True), value=day),
        meal.summary(log, entries, catalogue, lang),
        meal.day_html(entries, catalogue, lang),
        gr.Dropdown(choices=picks, value=None),
        link,
        log["goal"],
    )


def add_to_log(catalogue: foods.Foods, stored, food_id, amount, unit, slot, lang, now, own=None):
    """'Add to log': the food shown, for its portion, now, in the chosen meal slot; then a line that
    says so. `own`: the person's values when the food is their own (meal.OWN)."""
    if food_id not in catalogue and food_id != meal.OWN:
        gr.Warning(texts.text("pick_dish", lang))
        return (gr.skip(),) * 8
    today, time = split_now(now)
    log = meal.clean(stored, catalogue, today, time)
    slot = slot if slot in meal.SLOTS else meal.slot_at(time)
    try:
        log = meal.add(log, catalogue, food_id, date=today, time=time, slot=slot, amount=amount, unit=unit, own=own)
    except ValueError as error:
        gr.Warning(message(error, lang))
        return (gr.skip(),) * 8
    name = meal.dish_name(log["entries"][-1], catalogue, lang)
    added = texts.text("log_added", lang, name=name, slot=texts.text(slot, lang))
    return *log_view(catalogue, log, today, now, lang), added


def add_own(catalogue: foods.Foods, stored, name, kcal, carbohydrate, protein, fat, sodium, amount, slot, lang, now):
    """'Add my own food': a food the catalogue lacks, with the person's values for one portion, for
    the amount box's number of portions (empty: 1). A bad value is a warning; the form keeps it all."""
    values = [
        value.strip() or None if isinstance(value, str) else value
        for value in (kcal, carbohydrate, protein, fat, sodium)
    ]
    own = {"name": name, **dict(zip(meal.OWN_LIMITS, values))}  # an empty box: not given
    amount = amount or 1.0  # the amount box is empty before a dish is chosen: the browser sends 0
    return add_to_log(catalogue, stored, meal.OWN, amount, meal.OWN_UNIT, slot, lang, now, own=own)


def add_again(catalogue: foods.Foods, stored, entry_id, slot, lang, now):
    """'Add again': the chosen entry's food and portion, logged now."""
    today, time = split_now(now)
    log = meal.clean(stored, catalogue, today, time)
    old = next((e for e in log["entries"] if e["id"] == entry_id), None)
    if old is None:
        return (gr.skip(),) * 7
    return add_to_log(catalogue, log, old["food"], old["amount"], old["unit"], slot, lang, now, old.get("own"))[:7]


def remove_entry(catalogue: foods.Foods, stored, day, entry_id, lang, now):
    today, time = split_now(now)
    log = meal.clean(stored, catalogue, today, time)
    if entry_id is None:
        return (gr.skip(),) * 7
    return log_view(catalogue, meal.remove(log, entry_id), day, now, lang)


def clear_day(catalogue: foods.Foods, stored, day, lang, now):
    """'Clear this day': the day's entries go, and 'Undo' can bring them back."""
    today, time = split_now(now)
    log, removed = meal.clear_day(meal.clean(stored, catalogue, today, time), day)
    return *log_view(catalogue, log, day, now, lang), removed, gr.Button(visible=bool(removed))


def undo_clear(catalogue: foods.Foods, stored, removed, day, lang, now):
    today, time = split_now(now)
    log = meal.restore(meal.clean(stored, catalogue, today, time), removed or [])
    return *log_view(catalogue, log, day, now, lang), [], gr.Button(visible=False)


def set_goal(catalogue: foods.Foods, stored, goal, day, lang, now):
    today, time = split_now(now)
    return log_view(catalogue, meal.set_goal(meal.clean(stored, catalogue, today, time), goal), day, now, lang)


def show_day(catalogue: foods.Foods, stored, day, lang, now):
    """A day of the log (today when none is chosen yet), checked: what a browser keeps may be old,
    edited or of the first version."""
    today, time = split_now(now)
    return log_view(catalogue, meal.clean(stored, catalogue, today, time), day, now, lang)


def log_panel(demo: gr.Blocks, catalogue: foods.Foods, lang: gr.Radio, now: gr.Textbox, slot: gr.Dropdown) -> list:
    """The log of this browser: a day's dishes and total against a goal, other days, add again,
    delete, clear with undo, CSV of the day. Returns what log_view fills (the log first)."""
    stored = gr.BrowserState(meal.empty(), storage_key="foodcls-log", secret=LOG_SECRET)
    with gr.Accordion(I18N("tab_log"), open=True, elem_id="log"):
        with gr.Row():
            day = gr.Dropdown([], value=None, label=I18N("log_day"), elem_id="log-day")
            goal = gr.Number(value=None, label=I18N("goal"), minimum=0, elem_id="goal")
        summary = gr.Markdown(elem_id="log-summary")
        shown = gr.HTML(elem_id="log-table")
        with gr.Row():
            pick = gr.Dropdown([], value=None, label=I18N("log_pick"), scale=3, elem_id="log-pick")
            again = gr.Button(I18N("log_again"), scale=1, elem_id="log-again")
            remove = gr.Button(I18N("log_remove"), scale=1, elem_id="log-remove")
        with gr.Row():
            clear = gr.Button(I18N("log_clear"), variant="secondary", elem_id="log-clear")
            undo = gr.Button(I18N("log_undo"), visible=False, elem_id="log-undo")
        link = gr.HTML(padding=True, elem_id="log-csv")
        private_note = gr.Markdown(elem_id="log-private")
    removed = gr.State([])
    view = [stored, day, summary, shown, pick, link, goal]
    quiet = {"api_visibility": "private", "show_progress": "hidden", "js": WITH_NOW}
    day.input(partial(show_day, catalogue), [stored, day, lang, now], view, **quiet)
    goal.submit(partial(set_goal, catalogue), [stored, goal, day, lang, now], view, **quiet)
    goal.blur(partial(set_goal, catalogue), [stored, goal, day, lang, now], view, **quiet)
    remove.click(partial(remove_entry, catalogue), [stored, day, pick, lang, now], view, **quiet)
    clear.click(partial(clear_day, catalogue), [stored, day, lang, now], [*view, removed, undo], **quiet)
    undo.click(partial(undo_clear, catalogue), [stored, removed, day, lang, now], [*view, removed, undo], **quiet)
    again.click(partial(add_again, catalogue), [stored, pick, slot, lang, now], view, **quiet)
    # The page's language arrives from the browser once it has loaded (LOAD_LANGUAGE): that first
    # change opens the log (checked, migrated), and each later one shows it in the new language.
    lang.change(partial(show_day, catalogue), [stored, day, lang, now], view, **quiet)
    lang.change(
        partial(texts.text, "log_private"), lang, private_note, api_visibility="private", show_progress="hidden"
    )
    return view


# --- the legacy Gradio API /classify (no locale: both languages) -------------------------------


def candidates(result: Classification) -> str:
    return "\n".join(f"- {dish.label} ({dish.probability:.0%})" for dish in result.top)


def verdict(result: Classification) -> str:
    """The /classify API's headline, in both languages (an API call has no language): the dish when
    the app names it, else 'not sure' and the candidates; then the nutrition source."""
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


def api_details(result: Classification) -> str:
    return texts.both(
        "details_line", sep="\n\n", name=result.model_name, source=result.weights_source, ms=result.inference_ms
    )


def classify_api(store: RunStore, table: nutrition.NutritionTable, payload, run, threshold, servings, want_cam):
    """The /classify API: (top dishes, nutrition facts, verdict, heat map, details), both languages."""
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
    except (PhotoError, ValueError, ModelUnavailable) as error:  # ValueError: a setting out of range
        raise refusal(error, None) from None
    has_facts = result.nutrition is not None and result.nutrition.has_data
    facts = nutrition.facts_frame(result.nutrition) if has_facts else pd.DataFrame()
    labels = {dish.label: dish.probability for dish in result.top}
    return labels, gr.update(value=facts, visible=not facts.empty), verdict(result), cam, api_details(result)


def nutrition_api(table: nutrition.NutritionTable, class_id, grams=None, servings=None) -> dict:
    """The /nutrition API: service.dish_facts, its errors as messages (ko+en) instead of tracebacks."""
    try:
        return service.dish_facts(table=table, class_id=class_id, grams=grams, servings=servings)
    except (service.UnknownDish, ValueError) as error:
        raise gr.Error(str(error), print_exception=False) from None


def legacy_api(store: RunStore, table: nutrition.NutritionTable, photo, run, threshold, want_cam) -> None:
    """The Gradio API's /classify and /nutrition as they were before the page spoke one language:
    their outputs are components nobody sees (the page shows the answer its own way)."""
    with gr.Group(visible=False):
        servings = gr.Number(1.0)
        outputs = [gr.Label(), gr.Dataframe(), gr.Markdown(), gr.Image(), gr.Markdown()]
        button = gr.Button()
    inputs = [photo, *service.api_inputs(model_id=run, threshold=threshold, servings=servings, heat_map=want_cam)]
    button.click(partial(classify_api, store, table), inputs, outputs, api_name="classify", preprocess=False)

    def nutrition_endpoint(class_id: str, grams: float | None = None, servings: float | None = None) -> dict:
        """Nutrition facts of one dish by class id, for grams or servings (default one serving)."""
        return nutrition_api(table, class_id, grams, servings)

    gr.api(nutrition_endpoint, api_name="nutrition")


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


def classify_tab(
    demo: gr.Blocks,
    store: RunStore,
    table: nutrition.NutritionTable,
    catalogue: foods.Foods,
    lang: gr.Radio,
    now: gr.Textbox,
) -> None:
    """The photo first, the answer beside it (under it on a phone), the log below."""
    with gr.Row(equal_height=False):
        with gr.Column():
            photo = gr.Image(
                label=I18N("photo"),
                type="filepath",
                sources=["upload", "webcam"],
                webcam_options=gr.WebcamOptions(
                    mirror=False, constraints={"video": {"facingMode": {"ideal": "environment"}}}
                ),
                alt_text=texts.text("photo_alt", DEFAULT_LANGUAGE),
                elem_id="photo",
            )
            hint = gr.Markdown(elem_id="region-hint")
            size = gr.Radio(
                size_choices(DEFAULT_LANGUAGE),
                value="medium",
                label=I18N("region_size"),
                info=I18N("region_size_info"),
                visible=False,
                elem_id="region-size",
            )
            with gr.Row(equal_height=True):
                region_view = gr.Image(
                    label=I18N("region"),
                    visible=False,
                    interactive=False,
                    alt_text=texts.text("region_alt", DEFAULT_LANGUAGE),
                    buttons=[],
                    height=120,
                    min_width=120,
                    elem_id="region",
                )
                whole = gr.Button(I18N("whole_photo"), visible=False, min_width=160, elem_id="whole-photo")
            with gr.Accordion(I18N("advanced"), open=False, elem_id="advanced"):
                run = gr.Dropdown(
                    run_choices(DEFAULT_LANGUAGE, sorted(store.extra)),
                    value=runs.DEPLOYED_RUN,
                    label=I18N("model"),
                    info=I18N("model_info"),
                    elem_id="model",
                )
                threshold = gr.Slider(
                    0,
                    1,
                    value=calibrated_threshold(store, runs.DEPLOYED_RUN),
                    step=0.05,
                    label=I18N("threshold"),
                    info=I18N("threshold_info"),
                    elem_id="threshold",
                )
                want_cam = gr.Checkbox(value=False, label=I18N("gradcam"), elem_id="gradcam")
                details_box = gr.Markdown(elem_id="details")
        with gr.Column():
            verdict_box = gr.Markdown(elem_id="verdict")
            guesses = gr.Radio([], value=None, label=I18N("guesses"), visible=False, elem_id="guesses")
            with gr.Row(equal_height=True):
                amount = gr.Number(value=None, label=I18N("amount"), scale=1, min_width=90, elem_id="amount")
                unit = gr.Dropdown([], value=None, label=I18N("unit"), scale=2, min_width=160, elem_id="unit")
            grams_line = gr.Markdown(elem_id="grams")
            with gr.Row(equal_height=True):
                slot = gr.Dropdown(
                    slot_choices(DEFAULT_LANGUAGE),
                    value="lunch",
                    label=I18N("slot"),
                    scale=1,
                    min_width=110,
                    elem_id="slot",
                )
                add = gr.Button(I18N("add_to_meal"), variant="primary", scale=2, min_width=160, elem_id="add")
            added = gr.Markdown(elem_id="added")
            dish = gr.Markdown(elem_id="dish")
            search = gr.Textbox(label=I18N("search"), max_lines=1, elem_id="search")
            results = gr.Radio([], value=None, visible=False, show_label=False, elem_id="results")
            search_note = gr.Markdown(elem_id="search-note")
            own_name, *own_values, own_add = own_food_form()
            facts = gr.Dataframe(
                label=I18N("nutrition"),
                visible=False,
                interactive=False,
                wrap=True,
                column_widths=["40%", "30%", "30%"],
                elem_id="facts",
            )
            cam = gr.Image(
                label=I18N("heatmap"),
                visible=False,
                interactive=False,
                alt_text=texts.text("heatmap_alt", DEFAULT_LANGUAGE),
                buttons=[],
                elem_id="heatmap",
            )
    log_view_outputs = log_panel(demo, catalogue, lang, now, slot)
    answer, food, last_unit, tap = gr.State(None), gr.State(None), gr.State(None), gr.State(None)
    kept = gr.State(None, time_to_live=KEPT_FOR_S)  # the photo's small copy for taps (kept_for_taps)
    private = {"api_visibility": "private"}
    dish_outputs = [food, amount, unit, last_unit, grams_line, dish, facts]
    answer_outputs = [answer, verdict_box, guesses, search, results, search_note, *dish_outputs, cam, details_box]
    answer_outputs += [hint, tap, region_view, whole, size, kept]
    whole_photo = [photo, run, threshold, want_cam, lang]  # a new photo, or 'whole photo': no tap
    settings = [*whole_photo, tap, size, kept]  # a changed setting: the same photo, or the same part of it
    classify = partial(classify_page, store, table, catalogue)

    def tapped(payload, run, threshold, want_cam, lang, size, kept, event: gr.SelectData):
        """A tap on the photo: the dish around that point (Gradio sends [x, y] in the photo's pixels)."""
        point = regions.tap_point(event.index)
        return classify(payload, run, threshold, want_cam, lang, list(point) if point else None, size, kept)

    new_photo = photo.input(
        classify, whole_photo, answer_outputs, trigger_mode="always_last", preprocess=False, **private
    )
    new_photo.success(None, None, None, js=SHOW_VERDICT)
    new_photo.then(None, None, None, js=PHOTO_SENT)
    tap_inputs = [*whole_photo, size, kept]
    photo.select(tapped, tap_inputs, answer_outputs, trigger_mode="always_last", preprocess=False, **private).success(
        None, None, None, js=SHOW_VERDICT
    )
    size.input(partial(resize_region, store, table, catalogue), settings, answer_outputs, preprocess=False, **private)

    def whole_again(payload, run, threshold, want_cam, lang, size, kept):
        """'Whole photo': the photo again without a tap (from the kept copy once the upload is swept)."""
        return classify(payload, run, threshold, want_cam, lang, None, size, kept)

    whole.click(whole_again, tap_inputs, answer_outputs, preprocess=False, **private).success(
        None, None, None, js=SHOW_VERDICT
    )
    run.change(classify, settings, answer_outputs, preprocess=False, **private)
    threshold.change(classify, settings, answer_outputs, trigger_mode="always_last", preprocess=False, **private)
    want_cam.change(classify, settings, answer_outputs, preprocess=False, **private)
    run.change(partial(calibrated_threshold, store), run, threshold, **private)

    chosen = [guesses, results, *dish_outputs]
    tapped = guesses.input(partial(choose, catalogue), [answer, guesses, lang], chosen, **private)
    tapped.then(None, guesses, None, js=FOCUS_SEARCH)
    results.input(partial(choose, catalogue), [answer, results, lang], chosen, **private)
    portion = [answer, food, amount, unit, lang]
    gr.on(
        [amount.submit, amount.blur],
        partial(weigh, catalogue),
        portion,
        [grams_line, dish, facts],
        trigger_mode="always_last",
        **private,
    )
    unit.input(
        partial(change_unit, catalogue),
        [answer, food, amount, last_unit, unit, lang],
        [amount, last_unit, grams_line, dish, facts],
        **private,
    )
    gr.on(
        [search.change, search.submit],
        partial(search_foods, catalogue),
        [answer, search, lang],
        [results, search_note],
        trigger_mode="always_last",
        show_progress="hidden",
        **private,
    )
    add.click(
        partial(add_to_log, catalogue),
        [log_view_outputs[0], food, amount, unit, slot, lang, now],
        [*log_view_outputs, added],
        js=WITH_NOW,
        show_progress="hidden",
        **private,
    )
    own_add.click(
        partial(add_own, catalogue),
        [log_view_outputs[0], own_name, *own_values, amount, slot, lang, now],
        [*log_view_outputs, added],
        js=WITH_NOW,
        show_progress="hidden",
        **private,
    )
    lang.change(
        partial(relabel, catalogue, sorted(store.extra)),
        [answer, food, amount, unit, lang],
        [
            verdict_box,
            guesses,
            unit,
            last_unit,
            grams_line,
            dish,
            facts,
            details_box,
            run,
            slot,
            cam,
            hint,
            region_view,
            size,
        ],
        **private,
    )
    lang.change(partial(search_foods, catalogue), [answer, search, lang], [results, search_note], **private)
    demo.load(None, None, slot, js=SLOT_NOW)
    legacy_api(store, table, photo, run, threshold, want_cam)


def own_food_form() -> list:
    """A food the catalogue lacks, folded under the search: its name, its values for one portion
    (energy required) and its button. Returns (name, kcal, carbohydrate, protein, fat, sodium, button)."""
    with gr.Accordion(I18N("own_food"), open=False, elem_id="own-food"):
        gr.Markdown(I18N("own_info"))
        name = gr.Textbox(label=I18N("own_name"), max_lines=1, elem_id="own-name")
        with gr.Row():
            # text boxes, not gr.Number: Gradio 6.31 shows and sends an empty number box as 0, which
            # would log an untouched optional nutrient as 0 g instead of "not given"
            values = [
                gr.Textbox(label=I18N(key), max_lines=1, min_width=120, elem_id=key.replace("_", "-"))
                for key in ("own_kcal", "own_carbohydrate", "own_protein", "own_fat", "own_sodium")
            ]
        button = gr.Button(I18N("own_add"), elem_id="own-add")
    return [name, *values, button]


def curves_tab_layout(curves_data: CurvesData, lang: gr.Radio):
    """The curves tab's controls and plots, and their events; returns what the page load fills."""
    lesson = gr.Markdown(elem_id="lesson")
    lang.change(partial(texts.text, "curves_lesson"), lang, lesson, api_visibility="private", show_progress="hidden")
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


def build_app(
    store: RunStore,
    nutrition_table: nutrition.NutritionTable,
    catalogue: food_catalogue.Catalogue | None = None,
) -> gr.Blocks:
    """The page; `catalogue` is the food catalogue the page searches (loaded here when not given)."""
    curves_data = CurvesData(store)
    catalogue = foods.Foods(catalogue if catalogue is not None else food_catalogue.Catalogue.load())
    with gr.Blocks(title="foodcls") as demo:  # uploads are deleted by uploads.start_sweeper, not delete_cache
        with gr.Row(equal_height=True):
            with gr.Column(scale=3, min_width=240):
                gr.Markdown(I18N("title"), elem_id="title")
            with gr.Column(scale=1, min_width=200):
                lang = gr.Radio(
                    [("한국어", "ko"), ("English", "en")],
                    value=None,  # set from the browser once the page has loaded: a change, always
                    label=I18N("language"),
                    elem_id="lang",
                )
        gr.Markdown(I18N("intro"))
        now = gr.Textbox(visible=False)  # the browser's local date and time, filled by an event's JS
        demo.load(None, None, lang, js=LOAD_LANGUAGE)
        lang.change(None, lang, None, js=SET_LANGUAGE)
        with gr.Tab(I18N("tab_classify")):
            classify_tab(demo, store, nutrition_table, catalogue, lang, now)
        with gr.Tab(I18N("tab_curves")):
            curves_outputs = curves_tab_layout(curves_data, lang)
        demo.load(partial(curves_tab, curves_data), None, curves_outputs, api_visibility="private")
        gr.api(partial(curves_json, curves_data), api_name="curves")
    return demo
