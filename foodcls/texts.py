"""Every text the app shows a person, as (Korean, English) pairs: the page speaks one of them.

The person's language is "ko" or "en": the page's switch (remembered in the browser, first taken
from the browser's language). Component labels go through gr.I18n (`by_language`), whose locale the
page sets to the same language; everything the server writes (verdict, nutrition, log, messages)
is made with `text(key, lang)`. `both` joins the two, Korean first, for callers that do not know
the person's language (the JSON API's errors); its result remembers its parts, so the page can show
one of them (`in_language`). GRADIO_LABELS override Gradio's own strings under Gradio's keys.
Dish names are the one exception: the dish name line shows them in both languages.
"""

import json
import re

LANGUAGES = ("ko", "en")

LABELS = {
    "title": ("# foodcls: 접시 위의 음식은?", "# foodcls: what's on the plate?"),
    "intro": (
        "식사 사진을 찍거나 고르면 음식 이름과 영양 정보를 알려 드립니다. 사진은 저장하지 않습니다.",
        "Take or choose a photo of a meal: the app names the dish and shows its nutrition. Photos are not kept.",
    ),
    "language": ("언어", "Language"),
    "tab_classify": ("음식 사진", "Meal photo"),
    "tab_log": ("오늘의 기록", "Food log"),
    "tab_curves": ("학습 곡선", "Training curves"),
    "photo": ("식사 사진 (찍기 또는 고르기)", "Meal photo (take or choose)"),
    "advanced": ("고급 설정: 모델, 확신 기준, Grad-CAM", "Advanced: model, threshold, Grad-CAM"),
    "model": ("모델", "Model"),
    "model_info": (
        "추천 모델을 쓰세요. 연구용 모델은 '학습 곡선' 탭의 실험용이며 DeepNet10은 일부러 학습에 실패하는 모델입니다.",
        "Use the recommended model. The study models belong to the 'Training curves' experiment; "
        "DeepNet10 is meant to fail.",
    ),
    "threshold": ("확신 기준", "How sure before naming a dish"),
    "threshold_info": (
        "모델의 확신이 이 값보다 낮으면 음식 이름 대신 '잘 모르겠습니다'와 후보를 보여 줍니다.",
        "Below this confidence the app says it is not sure and lists candidates instead of naming a dish.",
    ),
    "gradcam": ("모델이 본 곳 표시 (Grad-CAM)", "Show where the model looked (Grad-CAM)"),
    "guesses": ("맞는 음식을 누르세요", "Tap the right dish"),
    "search": ("다른 음식 찾기 (한국어·영어)", "Search for another dish (Korean or English)"),
    "amount": ("양", "Amount"),
    "unit": ("단위", "Unit"),
    "add_to_meal": ("기록에 추가", "Add to log"),
    "nutrition": ("영양 정보", "Nutrition facts"),
    "heatmap": ("모델이 본 곳 (Grad-CAM 열지도)", "Where the model looked (Grad-CAM heat map)"),
    "details": ("자세히 (모델, 가중치, 시간)", "Details (model, weights, timing)"),
    "known_dishes": ("이 모델이 아는 음식", "Dishes this model knows"),
    "curve_models": ("모델", "Models"),
    "metric": ("지표", "Metric"),
    "split": ("데이터", "Split"),
    "log": ("로그 눈금", "Log scale"),
    "gradnorm_model": ("기울기 크기를 볼 모델", "Gradient norms of"),
    "scroll_hint": ("← 표를 옆으로 밀면 나머지 열이 보입니다 →", "← Swipe the table sideways for more columns →"),
    "slot": ("끼니", "Meal"),
    "goal": ("하루 목표 열량 (kcal, 선택)", "Daily energy goal (kcal, optional)"),
    "log_day": ("날짜", "Day"),
    "log_entries": ("기록한 음식", "Logged dishes"),
    "log_pick": ("고를 항목", "Entry"),
    "log_remove": ("지우기", "Delete"),
    "log_again": ("다시 추가", "Add again"),
    "log_clear": ("이 날 모두 지우기", "Clear this day"),
    "log_undo": ("되돌리기", "Undo"),
    "own_food": ("목록에 없나요? 내 음식으로 기록하기", "Not listed? Log your own food"),
    "own_info": (
        "1회분의 값을 직접 적으세요. 출처 있는 값과 구별해 어디서나 '직접 입력한 값'으로 표시됩니다. "
        "몇 회분인지는 위의 '양' 칸에 적습니다 (비우면 1).",
        "Give the values of one portion: they are marked as your own values everywhere, apart from cited "
        "sources. How many portions: the Amount box above (empty: 1).",
    ),
    "own_name": ("음식 이름", "Food name"),
    "own_kcal": ("1회분 열량 (kcal)", "Energy per portion (kcal)"),
    "own_carbohydrate": ("탄수화물 (g, 선택)", "Carbohydrate (g, optional)"),
    "own_protein": ("단백질 (g, 선택)", "Protein (g, optional)"),
    "own_fat": ("지방 (g, 선택)", "Fat (g, optional)"),
    "own_sodium": ("나트륨 (mg, 선택)", "Sodium (mg, optional)"),
    "own_add": ("내 음식 기록에 추가", "Add my own food"),
    "region": ("누른 부분", "The part you tapped"),
    "whole_photo": ("사진 전체로 돌아가기", "Back to the whole photo"),
    "region_size": ("누른 곳 주변을 볼 범위", "How much around a tap"),
    "region_size_info": (
        "음식 하나하나가 사진에 크게 찍혔으면 '크게'를 고르세요.",
        "Choose 'Large' when each dish fills much of the photo.",
    ),
}
# Gradio's own strings, by Gradio's translation keys (gradio/templates/frontend/assets/<lang>-*.js).
# "Click to Access Webcam" has no key in Gradio 6.31: the page's script writes it (ui.PAGE_JS).
GRADIO_LABELS = {
    "upload_text.drop_image": ("사진을 여기에 끌어다 놓기", "Drop a meal photo here"),
    "upload_text.click_to_upload": ("눌러서 사진 찍기 또는 고르기", "Tap to take or choose a photo"),
    "upload_text.paste_clipboard": ("클립보드에서 붙여넣기", "Paste from clipboard"),
    # announced to screen readers when a request ends; without a translation they read the key itself
    "common.complete": ("완료", "Done"),
    "common.error": ("오류", "Error"),
}
MESSAGES = {
    "photo_alt": ("식사 사진", "Meal photo"),
    "heatmap_alt": ("모델이 본 곳을 색으로 표시한 사진", "The photo coloured where the model looked"),
    "sending_photo": ("사진 보내는 중… ({kb} KB)", "Sending the photo… ({kb} KB)"),
    "webcam": ("눌러서 웹캠 켜기", "Click to access the webcam"),
    "region_alt": (
        "사진에서 누른 부분: 이 부분의 음식 이름을 찾았습니다",
        "The part of the photo you tapped: the dish named is the one in it",
    ),
    "size_small": ("작게", "Small"),
    "size_medium": ("보통", "Medium"),
    "size_large": ("크게", "Large"),
    "region_hint": ("여러 음식이 있나요? 사진에서 음식 하나를 누르세요.", "Several dishes? Tap one in the photo."),
    "region_next": (
        "사진에서 다음 음식을 누르세요. 음식마다 따로 기록됩니다.",
        "Tap the next dish in the photo: each is logged on its own.",
    ),
    "photo_gone": (
        "사진은 개인정보 보호를 위해 1분쯤 뒤 서버에서 지워집니다. 다른 음식을 보려면 사진을 다시 찍거나 고르세요.",
        "For privacy the server deletes a photo about a minute after it arrives: to classify another dish in it, "
        "take or choose the photo again.",
    ),
    "no_photo": (
        "사진이 없습니다. 먼저 웹캠으로 찍거나 식사 사진을 올려 주세요.",
        "No photo: take a webcam snapshot or upload a meal photo first.",
    ),
    "empty_file": (
        "빈 파일입니다. 사진을 다시 올려 주세요.",
        "The file is empty (0 bytes): please upload the photo again.",
    ),
    "too_large": (
        "사진이 너무 커서 안전하게 열 수 없습니다. 더 작은 사진을 보내 주세요.",
        "The image is too large to open safely: please send a smaller photo.",
    ),
    "unreadable": (
        "사진 파일로 읽을 수 없습니다. JPEG나 PNG 사진을 보내 주세요.",
        "This file is not a readable image: please send a JPEG or PNG photo.",
    ),
    "too_small": (
        "사진이 너무 작습니다 ({width}x{height} 픽셀). 실제 사진을 보내 주세요.",
        "The image is too small ({width}x{height} pixels): send a real photo.",
    ),
    "unsure_headline": ("잘 모르겠습니다", "Not sure what this is"),
    "unsure_next": (
        "아래 후보 중 맞는 음식을 누르거나, 음식 이름으로 찾아 주세요.",
        "Tap the right dish below, or search for it by name.",
    ),
    "unsure_body": (
        "가장 유력한 후보도 확신도 {p:.0%}로 기준 {t:.0%}보다 낮습니다. 아는 음식이 아닐 수도 있습니다. 후보:",
        "Even the best guess is only {p:.0%} sure, below the {t:.0%} needed to name a dish. "
        "It may be none of the dishes this model knows. Candidates:",
    ),
    "bad_threshold": ("신뢰도 기준은 0에서 1 사이의 숫자여야 합니다.", "The threshold must be a number from 0 to 1."),
    "named_confidence": ("확신도 {p:.0%}", "{p:.0%} sure"),
    "guess": ("{name} · {p:.0%}", "{name} · {p:.0%}"),
    "no_nutrition": ("이 음식의 영양 정보는 없습니다.", "No nutrition data for this dish."),
    "nutrition_note": (
        "이 접시를 측정한 값이 아닌 참고값입니다.",
        "Reference values for a typical portion, not a measurement of this plate.",
    ),
    "source_mfds": (
        "출처: 식품의약품안전처 식품영양성분 DB, {name} {code} ({year})",
        "Source: Korean MFDS food nutrient database, {name} {code} ({year})",
    ),
    "source_usda": ("출처: {source} {year} {code}, {name}", "Source: {source} {year} {code}, {name}"),
    "match_closest": (
        "가장 가까운 항목의 값이라 실제 음식과 다를 수 있습니다.",
        "The closest row: {note}",
    ),
    "match_partial": ("일부만 해당하는 항목의 값입니다.", "A partial match: {note}"),
    "model_line": (
        "모델 {name} · 가중치 출처 {source} · 추론 {ms:.0f} ms",
        "Model {name} from {source} · inference {ms:.0f} ms",
    ),
    "your_choice": ("직접 고른 음식", "Your choice"),
    "model_said": ("모델의 답: {name} ({p:.0%})", "The model said: {name} ({p:.0%})"),
    "no_such_dish": ("모르는 음식입니다.", "Unknown dish: pick a dish from the list."),
    "no_such_food": (
        "음식 목록에 없는 id입니다.",
        "Unknown food id: search the catalogue for one (/api/v1/foods?q=...).",
    ),
    "bad_query": ("검색어는 {limit}자 이하의 글자여야 합니다.", "The search text must be at most {limit} characters."),
    "bad_limit": ("결과 수는 1에서 {limit} 사이여야 합니다.", "The number of results must be from 1 to {limit}."),
    "pick_dish": ("먼저 음식을 고르세요.", "Pick a dish first: take a photo or choose one from the list."),
    "details_line": (
        "모델 {name} · 가중치 출처 {source} · 추론 {ms:.0f} ms",
        "Model {name} · weights from {source} · inference {ms:.0f} ms",
    ),
    "bad_request": (
        "요청 값이 올바르지 않습니다. 사진을 다시 올려 주세요.",
        "The request's values are not what this page sends: upload the photo again.",
    ),
    "unknown_model": ("모르는 모델입니다. 목록에서 모델을 고르세요.", "Unknown model: choose a model from the list."),
    "model_loading": (
        "모델을 불러오는 중입니다. 몇 초 뒤에 다시 시도해 주세요.",
        "The model is loading: try again in a few seconds.",
    ),
    "model_unavailable": (
        "이 모델을 지금 불러올 수 없습니다. 다른 모델을 골라 주세요.",
        "This model cannot be loaded right now: please choose another model.",
    ),
    "run_efficientnet_lite0_food101": ("2 × EfficientNet-Lite0 · 음식 101가지", "2 × EfficientNet-Lite0 · 101 dishes"),
    "run_efficientnet_lite0": ("EfficientNet-Lite0 · 아시아 음식 10가지", "EfficientNet-Lite0 · 10 Asian dishes"),
    "bundled_weights": ("앱에 든 가중치 (weights/)", "bundled weights/"),
    "deployed_model": ("추천", "recommended"),
    "study_model": ("연구용, 식사 분류용 아님", "study model, not for meals"),
    "own_run": ("내 모델 · {run}", "Your model · {run}"),
    "no_history": ("학습 기록 없음: {names}.", "No training history for: {names}."),
    "portion_grams": ("= {grams:,.0f} g", "= {grams:,.0f} g"),
    "no_match": (
        "'{query}'에 맞는 음식이 없습니다. 다른 이름이나 초성으로 찾거나, 아래 '내 음식'으로 기록하세요.",
        "No food matches '{query}': try another name, or log it as your own food below.",
    ),
    "bad_amount": ("양은 0보다 큰 숫자여야 합니다.", "The amount must be a number above 0."),
    "too_many": ("양은 0보다 크고 {limit:g} 이하여야 합니다.", "The amount must be above 0 and at most {limit:g}."),
    "lookalike": ("{name} (비슷해 보이는 한국 음식)", "{name} (a Korean look-alike)"),
    "none_of_these": ("이 중에 없음: 이름으로 찾기", "None of these: search by name"),
    "not_food": ("음식이 아님", "Not food"),
    "none_note": (
        "위의 검색 칸에 음식 이름을 적어 주세요. 목록에 없으면 아래 '내 음식'으로 기록할 수 있습니다.",
        "Type the dish's name in the search box; if it is not listed, log it as your own food below.",
    ),
    "not_food_note": ("음식이 아니라서 기록할 것이 없습니다.", "Not food: nothing to log."),
    "too_much": ("양은 {limit:,.0f} g 이하여야 합니다.", "The portion must be at most {limit:,.0f} g."),
    # nutrition facts table
    "col_nutrient": ("영양소", "Nutrient"),
    "col_portion": ("이 양 ({grams:,.0f} g)", "This portion ({grams:,.0f} g)"),
    "col_100g": ("100 g당", "Per 100 g"),
    "not_analysed": ("분석 안 됨", "not analysed"),
    "energy_kcal": ("열량", "Energy"),
    "carbohydrate_g": ("탄수화물", "Carbohydrate"),
    "protein_g": ("단백질", "Protein"),
    "fat_g": ("지방", "Fat"),
    "sugars_g": ("당류", "Sugars"),
    "sodium_mg": ("나트륨", "Sodium"),
    "saturated_fat_g": ("포화지방", "Saturated fat"),
    "cholesterol_mg": ("콜레스테롤", "Cholesterol"),
    # the log
    "breakfast": ("아침", "Breakfast"),
    "lunch": ("점심", "Lunch"),
    "dinner": ("저녁", "Dinner"),
    "snack": ("간식", "Snack"),
    "log_empty": ("이 날 기록한 음식이 없습니다.", "Nothing logged on this day yet: add a dish with 'Add to log'."),
    "log_total": ("합계 {kcal:,.0f} kcal · 음식 {n}개", "Total {kcal:,.0f} kcal · {n} dish(es)"),
    "log_total_partial": ("합계 ≥ {kcal:,.0f} kcal · 음식 {n}개", "Total ≥ {kcal:,.0f} kcal · {n} dish(es)"),
    "log_goal": ("목표 {goal:,.0f} kcal 중 {left:,.0f} kcal 남음", "{left:,.0f} kcal left of a {goal:,.0f} kcal goal"),
    "log_over": (
        "목표 {goal:,.0f} kcal보다 {over:,.0f} kcal 많음",
        "{over:,.0f} kcal over a {goal:,.0f} kcal goal",
    ),
    "log_partial": (
        "≥: 일부 음식에 값이 없어 실제 합계는 더 큽니다.",
        "≥: some dishes have no value for this, so the real total is higher.",
    ),
    "log_full": (
        "기록이 가득 찼습니다. 오래된 항목을 지워 주세요.",
        "The log holds at most {n} entries: delete old ones first.",
    ),
    "log_private": (
        "기록은 이 브라우저에만 저장되고 서버에는 남지 않습니다.",
        "The log is kept in this browser only, never on the server.",
    ),
    "own_values": ("직접 입력한 값", "your own values"),
    "warning_title": ("확인해 주세요", "Warning"),
    "error_title": ("오류", "Error"),
    "own_dish": ("{name} (직접 입력한 값)", "{name} (your own values)"),
    "own_portion": ("1회분", "1 portion"),
    "bad_own_name": ("음식 이름을 1~{limit}자로 적어 주세요.", "Give the food a name of 1 to {limit} characters."),
    "bad_own_value": (
        "{name_ko}은(는) 0에서 {limit:,.0f} {unit} 사이의 숫자여야 합니다.",
        "{name_en} must be a number from 0 to {limit:,.0f} {unit}.",
    ),
    "log_download": ("CSV 내려받기 ({day})", "Download {day} as CSV"),
    "log_added": ("{name}을(를) {slot}에 추가했습니다.", "Added {name} to {slot}."),
    "log_cleared": (
        "이 날의 기록을 지웠습니다. '되돌리기'로 되살릴 수 있습니다.",
        "Cleared this day: 'Undo' brings it back.",
    ),
    "col_time": ("시간", "Time"),
    "col_slot": ("끼니", "Meal"),
    "col_dish": ("음식", "Dish"),
    "col_amount": ("양", "Portion"),
    "col_kcal": ("열량 (kcal)", "Energy (kcal)"),
    "total": ("합계", "Total"),
    "curves_lesson": (
        "층만 더 쌓은 신경망(DeepNet10)은 배우지 못하고, 같은 신경망에 스킵 연결을 더하면 배웁니다. 아래 그래프가 그 차이를 보여 줍니다.",
        "A deeper plain network (DeepNet10) fails to learn, and the same network with skip connections learns: "
        "the plots below show the difference.",
    ),
    "metric_accuracy": ("정확도", "accuracy"),
    "metric_loss": ("손실", "loss"),
    "split_train": ("학습", "train"),
    "split_val": ("검증", "validation"),
    "split_both": ("둘 다", "both"),
}


HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


class Both(str):
    """A message in Korean then English, that remembers its two parts (for `in_language`)."""

    parts: dict[str, str]


def _pair(key: str) -> tuple[str, str]:
    return MESSAGES[key] if key in MESSAGES else LABELS[key]


def text(key: str, lang: str, **values) -> str:
    """One message (or label) in the person's language ("ko" or "en"; anything else is English)."""
    return _pair(key)[1 if lang != "ko" else 0].format(**values)


def both(key: str, sep: str = " ", **values) -> Both:
    """A message in Korean then English (joined by `sep`), its {placeholders} filled from `values`."""
    parts = {lang: part.format(**values) for lang, part in zip(LANGUAGES, MESSAGES[key])}
    message = Both(sep.join(part for part in parts.values() if part))
    message.parts = parts
    return message


def in_language(message, lang: str) -> str:
    """One language of a Korean-then-English message: a `both` message's own part, or for a plain string
    (a `both` that lost its parts on the way, e.g. through an exception) the Korean part ends at the first
    sentence end after its last Hangul letter. A message without Hangul is English."""
    parts = getattr(message, "parts", None)
    if parts:
        return parts[lang if lang in parts else "en"]
    message = str(message)
    hangul = [match.start() for match in HANGUL.finditer(message)]
    if not hangul:
        return message
    ends = [found + 1 for mark in (". ", "? ", "! ") if (found := message.find(mark, hangul[-1])) >= 0]
    if not ends:
        return message
    return message[: min(ends)].strip() if lang == "ko" else message[min(ends) :].strip()


def json_pair(key: str) -> str:
    """A message's two texts as a JSON object {"ko": ..., "en": ...}, for the page's scripts."""
    return json.dumps(dict(zip(LANGUAGES, _pair(key))), ensure_ascii=False)


def by_language() -> dict[str, dict[str, str]]:
    """The labels and Gradio's overridden strings as {"ko": {key: text}, "en": {key: text}}: what gr.I18n takes."""
    pairs = {**LABELS, **GRADIO_LABELS}
    return {language: {key: pair[i] for key, pair in pairs.items()} for i, language in enumerate(LANGUAGES)}


def browser_language(accept_language: str | None) -> str:
    """ "ko" or "en" from a browser's language list (navigator.language or Accept-Language): the first
    of the two the list names, English when it names neither."""
    for tag in re.split(r"\s*,\s*", accept_language or ""):
        primary = tag.split(";")[0].strip().lower().split("-")[0]
        if primary in LANGUAGES:
            return primary
    return "en"
