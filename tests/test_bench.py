import json

from foodcls import predict, runs
from foodcls.bench import cli, per_model, report


def test_quick_benchmark_writes_its_table_and_json(tiny_weights, tmp_path):
    cli.main(["--quick", "--weights", str(tiny_weights), "--out", str(tmp_path)])
    table = (tmp_path / "bench.md").read_text()
    assert "| ShallowNet (3 classes) |" in table and "| DeepNet10 (3 classes) |" in table
    result = json.loads((tmp_path / "bench.json").read_text())
    assert {"speedup_vs_naive", "pct_of_ceiling", "request_forward_pct_of_ceiling"} <= set(result["models"][0])
    # every kind of client (gradio_client, Gradio REST, the JSON API) was served every request; a cold start answered
    assert [s["client"] for s in result["served"]] == ["gradio_client", "http", "json"]
    assert all(s["requests"] == 8 and s["requests_per_s"] > 0 for s in result["served"])
    assert "| JSON API `POST /api/v1/classify` | 8 |" in table and "req/s vs the Gradio REST path" in table
    assert result["cold_start"]["first_classify_s"] > result["cold_start"]["bare_import_s"] > 0


def test_held_out_accuracy_is_scored_for_the_float32_and_the_served_model(tiny_weights, tiny_dishes):
    run = tiny_weights / "shallownet"
    model, _ = runs.load_run(run)
    scores = per_model.held_out_top1(run, tiny_dishes, model, predict.load_classifier(run))
    # the colour dishes are easy: both paths get the held-out photos right
    assert scores == {"test_top1_float32": 1.0, "test_top1_served": 1.0}


def test_mac_count_of_shallownet_matches_the_hand_count():
    from foodcls import models

    model = models.build_model("shallownet", 10)
    # conv1: 60x60x6 outputs x 75; conv2: 26x26x16 x 150; fc: 2704x120 + 120x84 + 84x10
    expected = 60 * 60 * 6 * 75 + 26 * 26 * 16 * 150 + 2704 * 120 + 120 * 84 + 84 * 10
    assert per_model.count_macs(model, 64) == expected


def test_training_only_benchmark_runs_where_gradio_is_not_installed(tmp_path):
    import subprocess
    import sys

    # a GPU training machine has torch but not the app's packages: importing bench must not need them
    blocked = "import sys; sys.modules['gradio'] = sys.modules['gradio_client'] = None; import foodcls.bench.cli"
    subprocess.run([sys.executable, "-c", blocked], check=True)
    rows = [{"model": "ShallowNet", "device": "NVIDIA H200", "train_images_per_s": 51234.5}]
    table = report.markdown({"machine": {"cpu": "AMD EPYC", "cores": 16, "torch": "2.11.0"}, "training": rows})
    assert "| ShallowNet (NVIDIA H200) | 51234.5 |" in table and "forward" not in table


def test_the_bench_rewrites_only_its_own_section_of_the_performance_page(tmp_path):
    page = "# Performance\n\nby hand\n\n<!-- bench -->\nold numbers\n<!-- /bench -->\n\nmore by hand\n"
    updated = report.replace_section(page, "bench", "new numbers\n")
    assert "new numbers" in updated and "old numbers" not in updated
    assert updated.startswith("# Performance\n\nby hand") and updated.endswith("more by hand\n")
    assert "<!-- gpu -->\nrows\n<!-- /gpu -->" in report.replace_section(updated, "gpu", "rows")


def test_the_bench_leaves_prose_that_quotes_its_markers_alone():
    prose = "The bench rewrites `<!-- bench -->` to `<!-- /bench -->` below.\n\n"
    page = prose + "<!-- bench -->\nold numbers\n<!-- /bench -->\n"
    assert (
        report.replace_section(page, "bench", "new numbers") == prose + "<!-- bench -->\nnew numbers\n<!-- /bench -->\n"
    )
