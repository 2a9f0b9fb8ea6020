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
