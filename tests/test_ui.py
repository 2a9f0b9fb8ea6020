"""The page's handlers and its API, through gradio_client against the app served on 127.0.0.1."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers import dish_photo, save
from PIL import Image

from foodcls import catalogue, foods, hub, meal, models, nutrition, runs, texts, ui, uploads
from foodcls.service import api_inputs
from foodcls.store import RunStore

TABLE = nutrition.NutritionTable.load()


@pytest.fixture(scope="module")
def client(tiny_weights):
    store = RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))
    demo = ui.build_app(store, TABLE)
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=None,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size="10mb",
        **ui.launch_options(),
    )
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def classify(client, path, run="shallownet", threshold=0.0, servings=1.0, cam=False):
    settings = api_inputs(model_id=run, threshold=threshold, servings=servings, heat_map=cam)
    return client.predict(handle_file(str(path)), *settings, api_name="/classify")


def test_classify_api_names_the_dish_and_gives_its_nutrition(client, tmp_path):
    labels, facts, verdict, cam, details = classify(client, save(dish_photo("ramen"), tmp_path / "meal.png"))
    assert labels["label"] == "라멘 · Ramen"
    assert len(labels["confidences"]) == 3
    energy = dict((row[0], row[1]) for row in facts["value"]["data"])["에너지 Energy"]
    assert energy == "450.0 kcal"
    assert verdict.startswith("## 라멘 · Ramen\n")  # the named dish is the headline
    assert "식품의약품안전처" in verdict and "not a measurement of this plate" in verdict
    assert "ms" not in verdict and "bundled weights/" not in verdict  # technical details are in the fold
    assert "ms" in details and "bundled weights/" in details


def test_grad_cam_heat_map_is_returned_on_request(client, tmp_path):
    *_, cam, _ = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), cam=True)
    assert Image.open(cam).size == (256, 256)


def test_below_the_threshold_the_app_says_unknown_and_hides_nutrition(client, tmp_path):
    labels, facts, verdict, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "meal.png"), threshold=1.0)
    headline, *rest = verdict.split("\n")
    assert headline == "## 잘 모르겠습니다 · Not sure what this is"  # never a dish as the headline
    assert any(line.startswith("- 초밥 · Sushi (") for line in rest)  # the guesses, offered as candidates
    assert facts["visible"] is False
    assert len(labels["confidences"]) == 3


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a photo")
    bomb = folder / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    truncated = io.BytesIO()
    dish_photo("ramen").save(truncated, "JPEG")
    (folder / "cut.jpg").write_bytes(truncated.getvalue()[:300])
    return {
        "zero-byte": (folder / "empty.jpg", "empty"),
        "not an image": (folder / "notes.jpg", "not a readable image"),
        "decompression bomb": (bomb, "too large"),
        "one pixel": (save(Image.new("RGB", (1, 1)), folder / "dot.png"), "too small"),
        "truncated": (folder / "cut.jpg", "not a readable image"),
    }


def test_bad_inputs_get_a_clear_message_and_the_app_keeps_serving(client, tmp_path):
    for case, (path, message) in _bad_files(tmp_path).items():
        with pytest.raises(AppError, match=message):
            classify(client, path)
        labels, *_ = classify(client, save(dish_photo("bibimbap"), tmp_path / "ok.png"))
        assert labels["label"] == "비빔밥 · Bibimbap", case


def test_no_photo_gets_a_clear_message(client):
    with pytest.raises(AppError, match="No photo"):
        client.predict(None, *api_inputs(model_id="shallownet", threshold=0.5), api_name="/classify")


def test_unusual_colour_modes_and_animations_classify_correctly(client, tmp_path):
    red = dish_photo("bibimbap", size=80)
    sixteen = Image.fromarray(np.asarray(red.convert("L"), dtype=np.uint16) * 257)
    cases = {
        "rgba.png": (red.convert("RGBA"), {}),
        "cmyk.jpg": (red.convert("CMYK"), {}),
        "palette.png": (red.convert("P"), {}),
        "anim.gif": (red, {"save_all": True, "append_images": [dish_photo("sushi", size=80)]}),
    }
    for name, (image, options) in cases.items():
        labels, *_ = classify(client, save(image, tmp_path / name, **options))
        assert labels["label"] == "비빔밥 · Bibimbap", name
    for name, image in {"grey.png": red.convert("L"), "sixteen.png": sixteen}.items():
        labels, *_ = classify(client, save(image, tmp_path / name))
        assert len(labels["confidences"]) == 3, name


def test_curves_api_serves_the_histories_and_a_missing_one_leaves_the_others(client):
    result = client.predict(api_name="/curves")
    assert set(result["histories"]) == {"ShallowNet", "DeepNet10"}
    assert len(result["histories"]["ShallowNet"]) == 6
    assert "grad_norms" in result["histories"]["DeepNet10"][0]


def test_uploads_over_the_size_cap_are_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(11 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        classify(client, big)
    labels, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "ok.png"))
    assert labels["label"] == "초밥 · Sushi"


def _raw_classify(client, photo_payload, threshold=0.0, cam=True) -> str:
    """POST the /classify call as an attacker would (a path without `meta`), return the event stream."""
    import httpx

    base = client.src.rstrip("/") + "/gradio_api/call/classify"
    body = {"data": [photo_payload, *api_inputs(model_id="shallownet", threshold=threshold, heat_map=cam)]}
    event = httpx.post(base, json=body, timeout=30).json()["event_id"]
    return httpx.get(f"{base}/{event}", timeout=60).text


@pytest.mark.parametrize("target", ["/etc/passwd", "docs/screenshot.png", "README.md", "/nonexistent.png"])
def test_a_file_outside_the_uploads_cannot_be_read_through_the_api(client, target):
    path = str(Path(__file__).resolve().parents[1] / target) if not target.startswith("/") else target
    stream = _raw_classify(client, {"path": path})
    assert "event: error" in stream and "not an upload of this app" in stream
    assert "image" not in stream.split("event: error")[-1].lower().replace("image/", "")  # no picture came back
    assert path not in stream and "UnidentifiedImageError" not in stream


def test_an_uploaded_photo_is_still_classified_after_the_refusals(client, tmp_path):
    labels, *_ = classify(client, save(dish_photo("sushi"), tmp_path / "ok.png"))
    assert labels["label"] == "초밥 · Sushi"


@pytest.mark.parametrize("threshold", [-0.5, 1.5, "high"])
def test_a_threshold_out_of_range_is_refused_with_a_message(client, tmp_path, threshold):
    with pytest.raises(AppError, match="0에서 1"):
        classify(client, save(dish_photo("ramen"), tmp_path / "t.png"), threshold=threshold)


def test_an_iphone_heic_photo_classifies_like_a_jpeg(client, tmp_path):
    import pillow_heif

    heic = tmp_path / "IMG_0042.HEIC"
    pillow_heif.from_pillow(dish_photo("sushi")).save(heic, quality=95)
    labels, facts, verdict, *_ = classify(client, heic)
    assert labels["label"] == "초밥 · Sushi" and "식품의약품안전처" in verdict


def test_nutrition_api_gives_a_dish_by_id_for_grams_or_servings(client):
    one = client.predict("pho", api_name="/nutrition")
    assert one["label"] == "쌀국수 · Pho" and one["grams"] == TABLE.row("pho")["serving_g"]
    half = client.predict("pho", 300, None, api_name="/nutrition")
    assert half["servings"] == 0.5 and half["per_portion"]["energy_kcal"] == pytest.approx(
        one["per_portion"]["energy_kcal"] / 2
    )
    assert client.predict("pho", None, 2, api_name="/nutrition")["grams"] == 1200
    for args, message in [
        (("pizzza",), "^모르는 음식입니다. Unknown dish: pick"),
        (("pho", 9000, None), "at most 5000 g"),
    ]:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name="/nutrition")
    assert client.predict("ramen", api_name="/nutrition")["per_portion"]["energy_kcal"] == 450.0  # still serving


def test_every_text_has_both_languages_each_in_its_own():
    pairs = {**texts.LABELS, **texts.GRADIO_LABELS, **texts.MESSAGES}
    for key, (ko, en) in pairs.items():
        assert ko and en, f"{key}: a language is missing"
        assert not texts.HANGUL.search(en), f"{key}: Korean in the English text {en!r}"
        neutral = re.sub(r"\{[^}]*\}|\b(g|kcal|ms)\b", "", ko)  # placeholders and units read the same in both
        letters = [ch for ch in neutral if ch.isalpha()]
        assert not letters or texts.HANGUL.search(ko), f"{key}: no Korean in the Korean text {ko!r}"


def test_a_message_made_in_both_languages_shows_in_one():
    message = texts.both("too_small", width=3, height=4)
    assert message.startswith("사진이 너무 작습니다") and "too small" in message  # the API's both
    assert texts.in_language(message, "en") == "The image is too small (3x4 pixels): send a real photo."
    assert texts.in_language(ValueError(message).args[0], "ko").startswith("사진이 너무 작습니다 (3x4")
    assert texts.in_language("plain", "ko") == "plain"


@pytest.mark.parametrize(
    "header, lang",
    [
        ("ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("en-US,ko;q=0.5", "en"),
        ("fr-FR,ko;q=0.5", "ko"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_browser_language_picks_korean_or_english(header, lang):
    assert texts.browser_language(header) == lang


CATALOGUE = foods.Foods(catalogue.Catalogue.load())


@pytest.fixture(scope="module")
def store(tiny_weights):
    return RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights))


def page_answer(store, dish, lang, threshold=0.0, cam=False):
    path = save(dish_photo(dish), uploads.own_upload_dir() / f"{dish}-{lang}.png")  # only uploads are read
    try:
        return ui.classify_page(store, TABLE, CATALOGUE, {"path": str(path)}, "shallownet", threshold, cam, lang)
    finally:
        uploads.forget(path)


def shown_text(outputs) -> str:
    """The text a person sees in a set of handler outputs (strings, choices, tables)."""
    parts = []
    for out in outputs:
        if isinstance(out, str):
            parts.append(out)
        elif hasattr(out, "choices") and out.choices:
            parts += [label for label, _ in out.choices]
        if hasattr(out, "value") and isinstance(out.value, dict) and "headers" in out.value:
            parts += out.value["headers"] + [cell for row in out.value["data"] for cell in row]
    return "\n".join(map(str, parts))


def visible(outputs) -> list:
    """classify_page's outputs a person sees: headline, guesses, search note, unit list, grams line,
    dish line, facts, details (not the states: answer, food id, unit id)."""
    return [outputs[i] for i in (1, 2, 5, 8, 10, 11, 12, 14)]


def without_dish_names(text: str) -> str:
    """The text less the dish name lines ('라멘 · Ramen' may be bilingual: it helps there)."""
    return re.sub(r"^(## |\*\*).*$", "", text, flags=re.M)


def test_the_page_answers_in_english_without_korean_outside_the_dish_name(store):
    outputs = page_answer(store, "ramen", "en")
    headline, guesses = outputs[1:3]
    assert headline.startswith("## 라멘 · Ramen\n")  # the dish name line: both languages
    assert [label for label, _ in guesses.choices][0].startswith("Ramen · ")  # the list: one language
    text = without_dish_names(shown_text(visible(outputs)))
    assert "kcal" in text and "Source: Korean MFDS" in text
    text = text.replace(TABLE.row("ramen")["source_name"], "")  # the cited row's own name: a dish name too
    assert not texts.HANGUL.search(text), text


def test_the_page_answers_in_korean_without_english_sentences(store):
    text = without_dish_names(shown_text(visible(page_answer(store, "ramen", "ko"))))
    assert "라멘 · " in text and "출처: 식품의약품안전처" in text
    words = re.findall(r"[A-Za-z]{3,}", re.sub(r"shallownet|ShallowNet|weights|MFDS|kcal|D\d+", "", text))
    assert not words, words


def test_not_sure_says_what_to_do_next_once_and_lists_the_guesses_once(store):
    answer, headline, guesses, _, _, _, food, *_ = page_answer(store, "sushi", "en", threshold=1.0)
    assert headline == "## Not sure what this is\n\nTap the right dish below, or search for it by name."
    offered = [value for _, value in guesses.choices]
    assert offered[:3] == ["sushi", "ramen", "bibimbap"] and guesses.value is None and food is None  # none chosen
    assert offered[3:] == ["김밥", "김치찌개", "순두부찌개", ui.NONE_OF_THESE, ui.NOT_FOOD]  # look-alikes, two ways out
    assert guesses.choices[3][0] == "Gimbap (a Korean look-alike)" and guesses.choices[-1][0] == "Not food"
    *_, line, facts = ui.choose(CATALOGUE, answer, ui.NOT_FOOD, "en")
    assert line == "Not food: nothing to log." and facts.visible is False
    guess, result, food, *_, line, _ = ui.choose(CATALOGUE, answer, ui.NONE_OF_THESE, "ko")
    assert food is None and line == texts.text("none_note", "ko") and "'내 음식'" in line  # the own-food form
    guess, result, food, amount, unit, *_ = ui.choose(CATALOGUE, answer, "김밥", "ko")
    assert guess == "김밥" and food == "김밥" and amount == 1.0 and unit.value == "serving"


def test_a_model_that_cannot_serve_is_refused_in_the_persons_language_and_both_for_the_api(store):
    path = save(dish_photo("ramen"), uploads.own_upload_dir() / "refused.png")
    try:
        for lang in ("ko", "en"):
            with pytest.raises(ui.gr.Error) as refused:
                ui.classify_page(store, TABLE, CATALOGUE, {"path": str(path)}, "no_such_run", 0.5, False, lang)
            assert refused.value.message == texts.text("unknown_model", lang)
        with pytest.raises(ui.gr.Error) as refused:
            ui.classify_api(store, TABLE, {"path": str(path)}, "no_such_run", 0.5, 1.0, False)
        assert refused.value.message == texts.both("unknown_model")
        assert texts.HANGUL.search(refused.value.message) and re.search(r"[A-Za-z]{4,}", refused.value.message)
    finally:
        uploads.forget(path)


def test_a_cleared_photo_clears_the_answer_without_an_error(store):
    answer, headline, guesses, *_ = ui.classify_page(store, TABLE, CATALOGUE, None, "shallownet", 0.5, False, "ko")
    assert answer is None and headline == "" and guesses.visible is False


def test_tapping_another_guess_shows_it_and_keeps_the_model_answer_in_the_line(store):
    answer, *_ = page_answer(store, "ramen", "en")
    guess, result, food, amount, unit, last, grams, line, facts = ui.choose(CATALOGUE, answer, "pho", "en")
    assert food == "pho" and amount == 1.0 and unit.value == "serving" and grams == "= 600 g"
    assert "**쌀국수 · Pho** · Your choice · The model said: Ramen" in line
    energy = dict((row[0], row[1]) for row in facts.value["data"])["Energy"]
    assert energy == f"{TABLE.row('pho')['energy_kcal']:,.0f} kcal"  # whole kcal


def test_changing_the_unit_keeps_the_portion_and_a_bad_amount_is_refused(store):
    answer, *_ = page_answer(store, "ramen", "en")
    amount, unit, grams, line, facts = ui.change_unit(CATALOGUE, answer, "pho", 1.5, "serving", "g", "en")
    assert amount == 900 and unit == "g" and grams == "= 900 g"
    amount, unit, grams, *_ = ui.change_unit(CATALOGUE, answer, "pho", 300, "g", "serving", "en")
    assert amount == 0.5 and grams == "= 300 g"
    with pytest.warns(UserWarning, match="at most 5,000 g"):
        assert ui.weigh(CATALOGUE, answer, "pho", 9000, "g", "en") == (ui.gr.skip(),) * 3


def test_search_finds_any_food_of_the_catalogue_and_says_clearly_when_nothing_matches():
    results, note = ui.search_foods(CATALOGUE, None, "쌀국", "ko")
    assert results.visible and results.choices[0] == ("쌀국수 · Pho", "pho") and note == ""
    results, _ = ui.search_foods(CATALOGUE, None, "ㄸㅂㅇ", "ko")
    assert results.choices[0][1] == "떡볶이"
    results, _ = ui.search_foods(CATALOGUE, None, "bagel", "en")
    assert results.choices[0][1].startswith("fndds:")
    *_, amount, unit, _, grams, line, facts = ui.choose(CATALOGUE, None, results.choices[0][1], "en")
    assert "1 regular (105 g)" in [label for label, _ in unit.choices] and "USDA FNDDS" in line
    results, note = ui.search_foods(CATALOGUE, None, "zzzz", "en")
    assert not results.visible and note == "No food matches 'zzzz': try another name, or log it as your own food below."


def test_switching_language_relabels_the_answer(store):
    answer, *_ = page_answer(store, "ramen", "en")
    headline, guesses, unit, _, grams, line, facts, about, *_ = ui.relabel(
        CATALOGUE, [], answer, "ramen", 1.0, "serving", "ko"
    )
    assert headline.endswith("확신도 " + headline.rsplit(" ", 1)[-1]) and guesses.choices[0][0].startswith("라멘 · ")
    assert unit.choices[0][0] == "1인분 (550 g)" and facts.value["headers"][0] == "영양소"


NOW = "2026-12-05T12:30"


def test_the_log_adds_deletes_clears_and_undoes_by_day():
    view = ui.add_to_log(CATALOGUE, meal.empty(), "pho", 1.0, "serving", "lunch", "ko", NOW)
    log, days, summary, table, picks, link, goal, added = view
    assert [e["food"] for e in log["entries"]] == ["pho"] and log["entries"][0]["date"] == "2026-12-05"
    assert "합계 320 kcal" in summary and "점심" in table and "쌀국수" in table and added.startswith("쌀국수")
    assert 'download="foodcls-2026-12-05.csv"' in link
    log, *_ = ui.add_again(CATALOGUE, log, picks.choices[0][1], "dinner", "ko", "2026-12-06T19:00")
    assert [(e["date"], e["slot"]) for e in log["entries"]] == [("2026-12-05", "lunch"), ("2026-12-06", "dinner")]
    log, days, *_ = ui.show_day(CATALOGUE, log, "2026-12-05", "en", "2026-12-06T19:05")
    assert days.choices == [("2026-12-06", "2026-12-06"), ("2026-12-05", "2026-12-05")]  # two days, newest first
    log, _, summary, *_, removed, undo = ui.clear_day(CATALOGUE, log, "2026-12-05", "en", "2026-12-06T19:05")
    assert len(log["entries"]) == 1 and len(removed) == 1 and undo.visible and "Nothing logged" in summary
    log, _, summary, *_ = ui.undo_clear(CATALOGUE, log, removed, "2026-12-05", "en", "2026-12-06T19:06")
    assert len(log["entries"]) == 2 and "Total 320 kcal" in summary
    log, *_ = ui.remove_entry(CATALOGUE, log, "2026-12-05", removed[0]["id"], "en", "2026-12-06T19:07")
    assert [e["date"] for e in log["entries"]] == ["2026-12-06"]


def test_the_day_total_is_shown_against_the_goal():
    log, *_ = ui.add_to_log(CATALOGUE, meal.empty(), "pho", 2.0, "serving", "lunch", "en", NOW)
    _, _, summary, *_ = ui.set_goal(CATALOGUE, log, 2000, "2026-12-05", "en", NOW)
    assert "Total 641 kcal" in summary and "1,359 kcal left of a 2,000 kcal goal" in summary


def test_the_log_survives_a_restart_because_its_secret_is_fixed(store):
    secrets = []
    for _ in range(2):  # two builds of the app, as two starts of it
        demo = ui.build_app(store, TABLE)
        states = [block for block in demo.blocks.values() if isinstance(block, ui.gr.BrowserState)]
        assert [state.storage_key for state in states] == ["foodcls-log"]
        secrets.append(states[0].secret)
    assert secrets[0] == secrets[1] == ui.LOG_SECRET


def test_study_models_are_labelled_and_the_deployed_model_recommended():
    labels = {run: label for label, run in ui.run_choices("en")}
    assert "recommended" in labels[runs.DEPLOYED_RUN] and "101" in labels[runs.DEPLOYED_RUN]
    assert all("study model" in labels[run] for run in models.STUDY_MODELS)
    assert "추천" in dict((run, label) for label, run in ui.run_choices("ko"))[runs.DEPLOYED_RUN]


def test_a_run_of_ones_own_is_offered_last_under_its_folder_name():
    choices = ui.run_choices("ko", ["kfood150"])
    assert choices[-1] == ("내 모델 · kfood150", "kfood150") and len(choices) == len(runs.SERVED_RUNS) + 1


def test_an_own_food_from_the_form_is_logged_and_shown_as_the_persons_values():
    form = ["Grandma's soup", "350", "", " 12 ", "", "800"]  # as the text boxes send it: empty is not given
    view = ui.add_own(CATALOGUE, meal.empty(), *form, 0, "dinner", "en", NOW)  # amount box empty (0): 1 portion
    log, days, summary, table, picks, link, goal, added = view
    assert log["entries"][0]["food"] == meal.OWN and log["entries"][0]["amount"] == 1.0
    assert added == "Added Grandma's soup (your own values) to Dinner." and "Total 350 kcal" in summary
    assert (
        "(your own values)" in table
        and picks.choices[0][0] == "12:30 Dinner · Grandma's soup (your own values) · 1 portion"
    )
    log, _, summary, *_ = ui.add_again(CATALOGUE, log, picks.choices[0][1], "dinner", "en", NOW)
    assert "Total 700 kcal · 2 dish(es)" in summary
    log, *_ = ui.add_own(CATALOGUE, log, *form, 1.5, "dinner", "ko", NOW)
    own = log["entries"][-1]["own"]
    assert log["entries"][-1]["amount"] == 1.5 and own["sodium_mg"] == 800 and own["protein_g"] == 12
    assert own["carbohydrate_g"] is None and own["fat_g"] is None  # left empty: not 0 g


@pytest.mark.parametrize(
    "form, amount, lang, shown",
    [
        (["", "350", "", "", "", ""], None, "ko", "음식 이름을 1~60자로 적어 주세요."),
        (["soup", "", "", "", "", ""], None, "en", "Energy must be a number from 0 to 5,000 kcal."),
        (["soup", "a lot", "", "", "", ""], None, "en", "Energy must be a number from 0 to 5,000 kcal."),
        (["soup", "350", "", "", "", "-3"], None, "ko", "나트륨은(는) 0에서 50,000 mg 사이의 숫자여야 합니다."),
        (["soup", "350", "", "", "", ""], 300, "en", "The amount must be above 0 and at most 100."),
    ],
)
def test_bad_own_food_input_gets_a_message_in_the_chosen_language_and_changes_nothing(form, amount, lang, shown):
    with pytest.warns(UserWarning) as warned:
        outputs = ui.add_own(CATALOGUE, meal.empty(), *form, amount, "lunch", lang, NOW)
    assert outputs == (ui.gr.skip(),) * 8  # the log, and the form (not an output), stay as they were
    assert str(warned[-1].message) == shown
