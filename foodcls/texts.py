"""Every text the app shows a person, as (Korean, English) pairs.

Labels are shown in the browser's language (`by_language`, for gr.I18n); messages are shown in both
languages at once (`both`), Korean first: errors and the verdict arrive without a locale.
GRADIO_LABELS override Gradio's own strings under Gradio's keys (same mechanism, same locales).
"""

LABELS = {
    "title": ("# foodcls: 접시 위의 음식은?", "# foodcls: what's on the plate?"),
    "intro": (
        "웹캠으로 식사 사진을 찍거나 사진을 올리세요. 음식 이름과 참고 영양 정보를 보여 줍니다. 사진은 저장하지 않습니다.",
        "Take a webcam snapshot of a meal or upload a photo. The app names the dish and shows reference "
        "nutrition facts. Photos are not kept.",
    ),
    "tab_classify": ("음식 분류", "Classify a meal"),
    "tab_curves": ("학습 곡선", "Training curves"),
    "photo": ("식사 사진", "Meal photo"),
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
    "servings": ("인분", "Servings"),
    "gradcam": ("모델이 본 곳 표시 (Grad-CAM)", "Show where the model looked (Grad-CAM)"),
    "classify": ("분류하기", "Classify"),
    "top": ("후보와 확신도", "Top guesses and how sure"),
    "nutrition": ("영양 정보", "Nutrition facts"),
    "heatmap": ("모델이 본 곳 (Grad-CAM 열지도)", "Where the model looked (Grad-CAM heat map)"),
    "details": ("자세히 (모델, 가중치, 시간)", "Details (model, weights, timing)"),
    "known_dishes": ("이 모델이 아는 음식", "Dishes this model knows"),
    "curve_models": ("모델", "Models"),
    "metric": ("지표", "Metric"),
    "split": ("데이터", "Split"),
    "log": ("로그 눈금", "Log scale"),
    "correct_top": ("맞는 음식 고르기", "Pick the right dish"),
    "correct_all": ("다른 음식 찾기 (한국어·영어)", "Another dish (search in Korean or English)"),
    "grams": ("양 (그램)", "Portion in grams"),
    "add_to_meal": ("식사에 추가", "Add to meal"),
    "meal": ("내 식사", "My meal"),
    "meal_dishes": ("식사의 음식과 합계", "Dishes in the meal and the total"),
    "meal_pick": ("뺄 음식", "Dish to remove"),
    "meal_remove": ("빼기", "Remove"),
    "meal_clear": ("모두 지우기", "Clear all"),
    "scroll_hint": ("← 표를 옆으로 밀면 나머지 열이 보입니다 →", "← Swipe the table sideways for more columns →"),
    "gradnorm_model": ("기울기 크기를 볼 모델", "Gradient norms of"),
}
# Gradio's own strings, by Gradio's translation keys (gradio/templates/frontend/assets/<lang>-*.js).
# Fixed English in Gradio 6.31, with no key to override: "Click to Access Webcam", the source buttons'
# aria-labels ("Upload file", ...), and the status live region's "common.complete" (its lookup does
# not see keys added through gr.I18n).
GRADIO_LABELS = {
    "upload_text.drop_image": ("사진을 여기에 끌어다 놓기", "Drop a meal photo here"),
    "upload_text.click_to_upload": ("눌러서 사진 올리기", "Click to upload a photo"),
    "upload_text.paste_clipboard": ("클립보드에서 붙여넣기", "Paste from clipboard"),
}
MESSAGES = {
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
    "unsure_body": (
        "가장 유력한 후보도 확신도 {p:.0%}로 기준 {t:.0%}보다 낮습니다. 아는 음식이 아닐 수도 있습니다. 후보:",
        "Even the best guess is only {p:.0%} sure, below the {t:.0%} needed to name a dish. "
        "It may be none of the dishes this model knows. Candidates:",
    ),
    "bad_threshold": ("신뢰도 기준은 0에서 1 사이의 숫자여야 합니다.", "The threshold must be a number from 0 to 1."),
    "named_confidence": ("확신도 {p:.0%}", "{p:.0%} sure"),
    "no_nutrition": ("이 음식의 영양 정보는 없습니다.", "No nutrition data for this dish."),
    "nutrition_note": (
        "이 접시를 측정한 값이 아닌 참고값입니다.",
        "Reference values for a typical portion, not a measurement of this plate.",
    ),
    "model_line": ("", "Model **{name}** from {source} · inference {ms:.0f} ms"),
    "your_choice": ("직접 고른 음식.", "Your choice."),
    "model_said": ("", "모델의 답 · The model said: {label} ({p:.0%})."),
    "no_such_dish": ("모르는 음식입니다.", "Unknown dish: pick a dish from the list."),
    "no_such_food": (
        "음식 목록에 없는 id입니다.",
        "Unknown food id: search the catalogue for one (/api/v1/foods?q=...).",
    ),
    "bad_query": ("검색어는 {limit}자 이하의 글자여야 합니다.", "The search text must be at most {limit} characters."),
    "bad_limit": ("결과 수는 1에서 {limit} 사이여야 합니다.", "The number of results must be from 1 to {limit}."),
    "pick_dish": ("먼저 음식을 고르세요.", "Pick a dish first: take a photo or choose one from the list."),
    "meal_empty": ("식사에 담은 음식이 없습니다.", "No dishes in the meal yet: add one with 'Add to meal'."),
    "meal_total": ("합계: 음식 {n}개, {kcal}", "Total: {n} dish(es), {kcal}."),
    "meal_partial": (
        "≥ 표시는 일부 음식에 값이 없다는 뜻입니다.",
        "≥: some dishes have no value for this, so the real total is higher.",
    ),
    "meal_full": ("식사가 가득 찼습니다.", "A meal holds at most {n} dishes: remove one first."),
    "meal_private": (
        "식사 목록은 이 브라우저에만 저장되고 서버에는 남지 않습니다.",
        "The meal is kept in this browser only, never on the server.",
    ),
    "meal_download": ("CSV 내려받기", "Download as CSV"),
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
    "deployed_model": ("추천", "recommended"),
    "study_model": ("연구용, 식사 분류용 아님", "study model, not for meals"),
    "no_history": ("학습 기록 없음: {names}.", "No training history for: {names}."),
}


def by_language() -> dict[str, dict[str, str]]:
    """The labels and Gradio's overridden strings as {"ko": {key: text}, "en": {key: text}}: what gr.I18n takes."""
    pairs = {**LABELS, **GRADIO_LABELS}
    return {language: {key: pair[i] for key, pair in pairs.items()} for i, language in enumerate(("ko", "en"))}


def both(key: str, sep: str = " ", **values) -> str:
    """A message in Korean then English (joined by `sep`), its {placeholders} filled from `values`."""
    return sep.join(part.format(**values) for part in MESSAGES[key] if part)


def in_language(message: str, lang: str) -> str:
    """One language of a "<Korean> <English>" message (as `both` and the errors make them): the Korean
    part ends at the first sentence end after its last Hangul letter. A message without Hangul is English."""
    hangul = [i for i, ch in enumerate(message) if "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e"]
    if not hangul:
        return message
    ends = [found + 1 for mark in (". ", "? ", "! ") if (found := message.find(mark, hangul[-1])) >= 0]
    if not ends:
        return message
    return message[: min(ends)].strip() if lang == "ko" else message[min(ends) :].strip()
