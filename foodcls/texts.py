"""Every text the app shows a person, as (Korean, English) pairs.

Labels are shown in the browser's language (`by_language`, for gr.I18n); messages are shown in both
languages at once (`both`), Korean first: errors and the verdict arrive without a locale.
An empty half is left out: the model line is the same in both languages.
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
    "threshold": ("신뢰도 기준", "Confidence threshold"),
    "servings": ("인분", "Servings"),
    "gradcam": ("모델이 본 곳 표시 (Grad-CAM)", "Show where the model looked (Grad-CAM)"),
    "classify": ("분류하기", "Classify"),
    "top": ("상위 음식", "Top dishes"),
    "nutrition": ("영양 정보", "Nutrition facts"),
    "heatmap": ("Grad-CAM 열지도", "Grad-CAM heat map"),
    "curve_models": ("모델", "Models"),
    "metric": ("지표", "Metric"),
    "split": ("데이터", "Split"),
    "log": ("로그 눈금", "Log scale"),
    "gradnorm_model": ("기울기 크기: 모델", "Gradient norms of"),
    "correct_top": ("맞는 음식 고르기", "Pick the right dish"),
    "correct_all": ("다른 음식 찾기 (한국어·영어)", "Another dish (search in Korean or English)"),
    "grams": ("양 (그램)", "Portion in grams"),
    "add_to_meal": ("식사에 추가", "Add to meal"),
    "meal": ("내 식사", "My meal"),
    "meal_dishes": ("식사의 음식과 합계", "Dishes in the meal and the total"),
    "meal_pick": ("뺄 음식", "Dish to remove"),
    "meal_remove": ("빼기", "Remove"),
    "meal_clear": ("모두 지우기", "Clear all"),
}
MESSAGES = {
    "no_photo": ("사진이 없습니다.", "No photo: take a webcam snapshot or upload a meal photo first."),
    "empty_file": ("빈 파일입니다.", "The file is empty (0 bytes): please upload the photo again."),
    "too_large": ("사진이 너무 큽니다.", "The image is too large to open safely: please send a smaller photo."),
    "unreadable": ("사진을 읽을 수 없습니다.", "This file is not a readable image ({reason})."),
    "too_small": (
        "사진이 너무 작습니다.",
        "The image is too small ({width}x{height} pixels): send a real photo.",
    ),
    "unknown_dish": (
        "**이 사진은 아는 음식이 아닌 것 같습니다.**",
        "This photo is probably none of the dishes this model knows (top guess {p:.0%} < threshold {t:.0%}). "
        "The guesses above are shown for transparency only.",
    ),
    "bad_threshold": ("신뢰도 기준은 0에서 1 사이의 숫자여야 합니다.", "The threshold must be a number from 0 to 1."),
    "no_nutrition": ("영양 정보 없음.", "no nutrition data for this dish."),
    "nutrition_note": (
        "이 접시를 측정한 값이 아닌 참고값입니다.",
        "Reference values for a typical portion, not a measurement of this plate.",
    ),
    "model_line": ("", "Model **{name}** from {source} · inference {ms:.0f} ms"),
    "no_history": ("학습 기록 없음:", "No training history for: {names}."),
    "your_choice": ("직접 고른 음식.", "Your choice."),
    "model_said": ("", "모델의 답 · The model said: {label} ({p:.0%})."),
    "no_such_dish": ("모르는 음식입니다.", "Unknown dish id {class_id!r}: pick a dish from the list."),
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
}


def by_language() -> dict[str, dict[str, str]]:
    """The labels as {"ko": {key: text}, "en": {key: text}}: what gr.I18n takes."""
    return {language: {key: pair[i] for key, pair in LABELS.items()} for i, language in enumerate(("ko", "en"))}


def both(key: str, **values) -> str:
    """A message in Korean then English, its {placeholders} filled from `values`."""
    return " ".join(part.format(**values) for part in MESSAGES[key] if part)
