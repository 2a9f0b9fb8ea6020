import json
import subprocess
import sys

import pytest
import torch

from foodcls import data, predict, runs
from foodcls.bench import cli, per_model, report, views
from foodcls.launch import ROOT


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
    # the Gradio REST path and the JSON API were also measured against their no-op twins
    twins = {s["client"]: s.get("twin_requests_per_s") for s in result["served"]}
    assert twins["gradio_client"] is None and twins["http"] > 0 and twins["json"] > 0 and "| app vs twin |" in table
    assert result["cold_start"]["first_classify_s"] > result["cold_start"]["bare_import_s"] > 0


def test_served_rounds_are_reported_as_medians_and_each_rounds_own_ratio():
    from foodcls.bench import served

    turns = [(40.0, 100.0), (52.0, 80.0), (45.0, 60.0)]  # (app, twin) requests/s: ratios 0.4, 0.65, 0.75
    rounds = [
        {"users": 16, "requests": 320, "requests_per_s": app, "p95_ms": 400.0 + app, "app_cpu_ms_per_request": 30.0}
        | {"twin_requests_per_s": twin}
        for app, twin in turns
    ]
    row = served.median_row("http", rounds)
    assert row["requests_per_s"] == 45.0 and row["twin_requests_per_s"] == 80.0 and row["p95_ms"] == 445.0
    assert row["vs_twin"] == 0.65  # the median round's ratio, not the medians' (45 / 80 = 0.56)
    table = "\n".join(report.served_table([row]))
    assert "the median of 3 rounds" in table and "| 0.65x | 40.0 / 100.0, 52.0 / 80.0, 45.0 / 60.0 |" in table


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


def test_the_bench_asked_for_avx2_reruns_itself_with_onednn_and_aten_limited_to_it(monkeypatch, tmp_path):
    for name in cli.ISA_LIMITS["avx2"]:
        monkeypatch.delenv(name, raising=False)
    started = []

    def run(command, env):
        started.append((command, env))
        return subprocess.CompletedProcess(command, 3)

    monkeypatch.setattr(cli.subprocess, "run", run)
    with pytest.raises(SystemExit) as exit:
        cli.main(["--isa", "avx2", "--quick", "--out", str(tmp_path)])
    ((command, env),) = started
    assert command[1:] == ["-m", "foodcls.bench", "--isa", "avx2", "--quick", "--out", str(tmp_path)]
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["ATEN_CPU_CAPABILITY"] == "avx2"
    assert exit.value.code == 3  # the child's exit status is the bench's
    assert not (tmp_path / "bench.json").exists()  # the parent measured nothing itself


def test_a_bench_process_limited_to_avx2_records_it_and_writes_a_section_of_its_own(monkeypatch, tmp_path):
    for name, value in cli.ISA_LIMITS["avx2"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.subprocess, "run", lambda *a, **k: pytest.fail("a limited bench must not rerun itself"))
    rows = [{"model": "ShallowNet", "device": "CPU", "train_images_per_s": 1000.0}]
    monkeypatch.setattr(cli.training, "bench_training", lambda steps: rows)
    doc = tmp_path / "performance.md"
    doc.write_text("<!-- bench-training-only -->\nnative numbers\n<!-- /bench-training-only -->\n")
    cli.main(["--isa", "avx2", "--training-only", "--out", str(tmp_path), "--doc", str(doc)])
    machine = json.loads((tmp_path / "bench.json").read_text())["machine"]
    assert machine["isa_limits"] == {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    page = doc.read_text()
    assert "native numbers" in page and "<!-- bench-training-only-avx2 -->" in page
    assert "limited by ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2" in page


def test_a_process_started_in_the_benchs_avx2_environment_runs_avx2_kernels_without_bfloat16():
    code = "import json; from foodcls.bench.timing import host; print(json.dumps(host()))"
    answer = subprocess.run(
        [sys.executable, "-c", code], env=cli.limited_environment("avx2"), check=True, capture_output=True, text=True
    )
    machine = json.loads(answer.stdout)
    assert machine["isa"] == "AVX2" and machine["bf16_native"] is False


def test_the_ceilings_are_measured_only_for_the_dtypes_the_cpu_computes_natively(monkeypatch):
    measured = []
    monkeypatch.setattr(per_model, "matmul_ceiling", lambda dtype, size, repeats: measured.append(dtype) or 1.0)
    monkeypatch.setattr(per_model.serving, "bf16_is_native", lambda: False)
    assert all(set(c) == {"float32"} for c in per_model.matmul_ceilings(quick=True).values())
    monkeypatch.setattr(per_model.serving, "bf16_is_native", lambda: True)
    assert all(set(c) == {"float32", "bfloat16"} for c in per_model.matmul_ceilings(quick=True).values())
    assert set(measured) == {torch.float32, torch.bfloat16}


def test_each_way_of_fewer_views_is_scored_from_the_logits_the_app_serves():
    classifier = predict.Classifier(*runs.load_run(ROOT / "weights" / "efficientnet_lite0_food101"))  # its own way
    squares = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    logits = views.per_view_logits(classifier, squares, batch_size=2)
    found = views.ways(classifier.config)
    assert list(found)[0] == "zooms 1.0 + 0.65 × flip" and len(found) == 6  # the served way first
    flips, zooms = found["zooms 1.0 + 0.65 × flip"]
    served = torch.stack([classifier.logits_of_pixels(classifier.views(square[None])) for square in squares])
    torch.testing.assert_close(views.way_logits(logits, flips, zooms), served, rtol=1e-3, atol=1e-3)
    one = torch.stack(
        [
            classifier.model(
                classifier.request_inputs(
                    data.centre_zooms(data.stored_as(square[None], classifier.config["source_jpeg"]), [1.0], 128)
                )
            )
            .float()
            .mean(0)
            for square in squares
        ]
    )
    torch.testing.assert_close(views.way_logits(logits, *found["zooms 1.0 × flip"]), one.detach(), rtol=1e-3, atol=1e-3)
