"""The curves tab's figures and explanation."""

from foodcls import curves, hub, ui
from foodcls.store import RunStore


def test_curves_figure_has_one_trace_per_model_and_split():
    history = [
        {"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_acc": 0.1 * e, "val_acc": 0.1 * e} for e in (1, 2)
    ]
    histories = {"A": history, "B": history, "C": history}
    assert len(curves.curves_figure(histories, "loss", "both", True).data) == 6
    figure = curves.curves_figure(histories, "accuracy", "val", False)
    assert [trace.name for trace in figure.data] == ["A (validation)", "B (validation)", "C (validation)"]
    assert list(figure.data[0].y) == [0.1, 0.2]


def test_explanation_quotes_the_measured_numbers(tiny_weights):
    data = ui.CurvesData(RunStore(hub.WeightsSource(None, "unused", bundled=tiny_weights)))
    histories, configs, _ = data.get()
    text = curves.explanation(configs, histories)
    assert f"{histories['ShallowNet'][-1]['val_acc']:.1%}" in text


def _norms_history(layers: int, epochs: int = 2, scale: float = 1.0) -> list[dict]:
    return [
        {"epoch": e, "grad_norms": {f"layer{i}": scale * (i + 1) * e for i in range(layers)}}
        for e in range(1, epochs + 1)
    ]


def test_accuracy_plot_has_a_chance_line_and_titles_that_say_what_is_plotted():
    history = [{"epoch": e, "val_acc": 0.1 * e, "val_loss": 1 / e} for e in (1, 2)]
    figure = curves.curves_figure({"A": history}, "accuracy", "val", False, classes=10)
    assert [shape.y0 for shape in figure.layout.shapes] == [0.1]
    assert "chance (10%)" in figure.layout.annotations[0].text
    assert "accuracy" in figure.layout.title.text and "validation" in figure.layout.title.text
    assert not curves.curves_figure({"A": history}, "loss", "val", False, classes=10).layout.shapes


def test_gradient_norm_layers_run_input_to_output_on_one_scale_on_a_shared_axis():
    histories = {"plain": _norms_history(13, scale=1e-5), "skips": _norms_history(5)}
    y_range = curves.grad_norm_range(histories)
    assert y_range[0] <= -5 and y_range[1] >= 1  # holds both models' norms
    figure = curves.grad_norm_figure("plain", histories["plain"], y_range=y_range)
    names = [trace.name for trace in figure.data]
    assert "layer 1 (입력 쪽 input side)" in names[0] and "layer 13 (출력 쪽 output side)" in names[-1]
    assert [trace.showlegend for trace in figure.data].count(True) == 2  # first and last layers named
    colours = [trace.line.color for trace in figure.data]
    assert len(set(colours)) == 13 and colours[0] == "rgb(68, 1, 84)"  # Viridis, dark = input side
    assert list(figure.layout.yaxis.range) == y_range
