"""The curves tab's content: Plotly figures, the summary table and the explanation, from the study runs."""

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from foodcls.models import MODEL_SPECS

SPLIT_NAMES = {"train": "train", "val": "validation"}
SPLIT_WORDS = {"train": "학습 train", "val": "검증 validation", "both": "학습·검증 train and validation"}
METRIC_WORDS = {"accuracy": "정확도 accuracy", "loss": "손실 loss"}
LAYER_COLOURS = "Viridis"  # one continuous scale: dark purple = input side, yellow = output side
TITLE = {"font": {"size": 14}, "x": 0, "xanchor": "left", "automargin": True}


def curves_figure(
    histories: dict[str, list[dict]], metric: str, split: str, log_y: bool, classes: int | None = None
) -> go.Figure:
    """One line per model and split: metric 'loss' or 'accuracy', split 'train', 'val' or 'both'.

    With `classes`, the accuracy plot has a dashed line at chance (1 / classes)."""
    key = {"loss": "loss", "accuracy": "acc"}[metric]
    splits = ["train", "val"] if split == "both" else [split]
    figure = go.Figure()
    for name, history in histories.items():
        for part in splits:
            figure.add_trace(
                go.Scatter(
                    x=[h["epoch"] for h in history],
                    y=[h[f"{part}_{key}"] for h in history],
                    mode="lines+markers",
                    name=f"{name} ({SPLIT_NAMES[part]})",
                    legendgroup=name,
                    line={"dash": "solid" if part == "val" else "dot"},
                    hovertemplate=f"{name} {SPLIT_NAMES[part]}<br>epoch %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
                )
            )
    if metric == "accuracy" and classes:
        figure.add_hline(
            y=1 / classes,
            line={"dash": "dash", "color": "#444"},
            layer="below",  # under the lines: DeepNet10's sits on it
            annotation_text=f"우연 수준 chance ({1 / classes:.0%})",
            annotation_position="bottom right",  # below the line, where no model's accuracy is
        )
    figure.update_layout(
        title={**TITLE, "text": f"에포크별 {METRIC_WORDS[metric]} ({SPLIT_WORDS[split]})"},
        xaxis_title="에포크 epoch",
        yaxis_title=METRIC_WORDS[metric],
        yaxis_type="log" if log_y else "linear",
        yaxis_tickformat=".0%" if metric == "accuracy" else None,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "l": 10, "r": 10},
    )
    return figure


def layer_name(depth: int, layers: int) -> str:
    """'layer 1 (input side)' ... 'layer 13 (output side)', in Korean and English."""
    side = " (입력 쪽 input side)" if depth == 1 else " (출력 쪽 output side)" if depth == layers else ""
    return f"{depth}층 layer {depth}{side}"


def grad_norm_range(histories: dict[str, list[dict]]) -> list[float]:
    """The log10 y range that holds every layer's gradient norm of every history: plots that share it
    can be compared at a glance."""
    values = [max(v, 1e-12) for history in histories.values() for h in history for v in h["grad_norms"].values()]
    if not values:
        return [-6.0, 1.0]
    return [math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))]


def grad_norm_figure(name: str, history: list[dict], y_range: list[float] | None = None) -> go.Figure:
    """Mean gradient norm of every conv/linear layer per epoch (log scale), coloured from the input
    side to the output side on one continuous scale; `y_range` (log10) shares the axis between plots."""
    figure = go.Figure()
    layers = list(history[0]["grad_norms"]) if history else []
    colours = sample_colorscale(LAYER_COLOURS, [i / max(len(layers) - 1, 1) for i in range(len(layers))])
    for depth, (layer, colour) in enumerate(zip(layers, colours), start=1):
        label = layer_name(depth, len(layers))
        figure.add_trace(
            go.Scatter(
                x=[h["epoch"] for h in history],
                y=[max(h["grad_norms"][layer], 1e-12) for h in history],
                mode="lines",
                name=label,
                line={"color": colour, "width": 3 if depth in (1, len(layers)) else 1.5},
                showlegend=depth in (1, len(layers)),  # the colour scale runs in between
                hovertemplate=f"{label} ({layer})<br>epoch %{{x}}<br>gradient norm %{{y:.3g}}<extra></extra>",
            )
        )
    figure.update_layout(
        title={
            **TITLE,
            "text": f"{name}<br>층별 기울기 크기 · gradient norm per layer",
            "yref": "container",
            "y": 0.97,
        },
        legend_title={"text": "색 colour: 입력 input → 출력 output", "side": "top"},
        xaxis_title="에포크 epoch",
        yaxis_title="기울기 크기 gradient norm (log)",
        yaxis_type="log",
        yaxis_range=y_range,
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 80, "l": 10, "r": 10},
    )
    return figure


def summary_table(configs: dict[str, dict], metrics: dict[str, dict | None], histories: dict) -> pd.DataFrame:
    rows = []
    for name, config in configs.items():
        test = metrics.get(name) or {}
        history = histories.get(name) or []
        rows.append(
            {
                "model": name,
                "parameters": f"{config['parameters']:,}",
                "recipe": config["recipe"],
                "epochs": len(history) or config["recipe_settings"]["epochs"],
                "best val acc": f"{config['best_val_acc']:.1%}",
                "test top-1": f"{test['top1']:.1%}" if test else "n/a",
                "test top-3": f"{test['top3']:.1%}" if test else "n/a",
                "train time": f"{config['train_seconds'] / 60:.1f} min",
                "device": config["device"],
            }
        )
    return pd.DataFrame(rows)


def explanation(configs: dict[str, dict], histories: dict[str, list[dict]]) -> str:
    """What the measured study curves show, in Korean and English, with the numbers of these runs."""
    final = {name: history[-1]["val_acc"] for name, history in histories.items() if history}
    if not final:
        return "No training histories were found. 학습 기록을 찾지 못했습니다."
    classes = len(next(iter(configs.values()))["classes"]) if configs else 10
    chance = 1 / classes

    def acc(name):
        return f"{final[name]:.1%}" if name in final else "n/a"

    def first_layer_ratio(name):
        history = histories.get(name)
        if not history:
            return math.nan
        norms = list(history[0]["grad_norms"].values())
        return norms[0] / max(norms[-1], 1e-12)

    shallow, deep5, plain, skip, resnet = (
        MODEL_SPECS[run].name for run in ("shallownet", "deepnet5", "deepnet10", "skipcon_deepnet10", "resnet18")
    )
    lines = [
        f"**Final validation accuracy** (chance is {chance:.0%}): "
        + ", ".join(f"{name} {acc(name)}" for name in final)
        + ".",
    ]
    if plain in final and skip in final:
        stuck = final[plain] < chance + 0.05
        lines.append(
            f"- {plain} {'stays near chance: it does not learn' if stuck else 'does learn in this run'}, "
            f"while {skip}, the same ten layers plus identity skips, reaches {acc(skip)}. "
            f"In the first epoch the first layer of {plain} got {first_layer_ratio(plain):.2g}x the gradient of its "
            f"last layer, against {first_layer_ratio(skip):.2g}x with skips (see the gradient-norm figures)."
        )
        lines.append(
            f"- {plain}는 {'찬스 수준에 머물러 학습하지 못합니다' if stuck else '이번 실행에서는 학습합니다'}. "
            f"같은 10개 층에 스킵 연결만 더한 {skip}는 {acc(skip)}에 도달합니다. "
            "아래 기울기 그래프가 그 이유(앞쪽 층까지 기울기가 전달되는지)를 보여 줍니다."
        )
    if shallow in final and deep5 in final:
        lines.append(
            f"- Deeper is not automatically better: {shallow} {acc(shallow)} vs {deep5} {acc(deep5)} "
            f"vs {plain} {acc(plain)}. 깊다고 항상 좋은 것은 아닙니다."
        )
    if resnet in final:
        lines.append(
            f"- {resnet} (skips and batch norm) reaches {acc(resnet)}. "
            f"{resnet}(스킵 연결과 배치 정규화)은 {acc(resnet)}에 도달합니다."
        )
    return "\n".join(lines)
