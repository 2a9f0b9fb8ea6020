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
    "named_confidence": ("확신도 {p:.0%}", "{p:.0%} sure"),
    "no_nutrition": ("이 음식의 영양 정보는 없습니다.", "No nutrition data for this dish."),
    "nutrition_note": (
        "이 접시를 측정한 값이 아닌 참고값입니다.",
        "Reference values for a typical portion, not a measurement of this plate.",
    ),
    "details_line": (
        "모델 {name} · 가중치 출처 {source} · 추론 {ms:.0f} ms",
        "Model {name} · weights from {source} · inference {ms:.0f} ms",
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
