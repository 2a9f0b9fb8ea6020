"""The bench's results as bench.json, bench.md and the generated part of docs/performance.md."""

import json
import re
from pathlib import Path


def markdown(result: dict) -> str:
    machine = result["machine"]
    measured = f"Measured on {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}{isa_note(machine)}."
    if "models" not in result:
        return "\n".join([measured, *training_table(result["training"])]) + "\n"
    lines = [
        f"{measured} Matmul ceilings (GFLOP/s): "
        + ", ".join(
            f"{t} thread(s) " + " / ".join(f"{dtype} {value}" for dtype, value in c.items())
            for t, c in machine["matmul_gflops"].items()
        )
        + f". Models run as the app runs them, on {machine['serving_threads']} thread(s) per request; the % is of"
        " the ceiling of the dtype the model is served in, on as many threads.",
        "",
        "| model | params | input | MMACs | dtype | forward p50 / p95 ms | GFLOP/s (% of its dtype's ceiling) "
        "| request p50 / p95 ms | its forward: batch, ms (% of ceiling) | naive p50 ms | speed-up "
        "| test top-1 float32 / served |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        accuracy = f"{r['test_top1_float32']:.1%} / {r['test_top1_served']:.1%}" if "test_top1_served" in r else "-"
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['input']} | {r['mmacs']} | {r['dtype']} "
            f"| {r['forward_p50_ms']} / {r['forward_p95_ms']} | {r['gflops']} ({r['pct_of_ceiling']}%) "
            f"| {r['request_p50_ms']} / {r['request_p95_ms']} | {r['request_batch']}, {r['request_forward_p50_ms']}"
            f" ({r['request_forward_pct_of_ceiling']}%) | {r['naive_p50_ms']} | {r['speedup_vs_naive']}x | {accuracy} |"
        )
    lines += served_table(result.get("served", []))
    if "cold_start" in result:
        c = result["cold_start"]
        lines.append(
            f"Cold start: first classify after {c['first_classify_s']} s vs bare `import torch, gradio` {c['bare_import_s']} s ({c['ratio']}x)."
        )
    return "\n".join(lines + training_table(result["training"])) + "\n"


def isa_note(machine: dict) -> str:
    """How the machine's vector units were used: PyTorch's kernels' instruction set, whether bfloat16
    is native, and any limit the run was started under (how an older CPU is emulated)."""
    if "isa" not in machine:  # a result written before the bench recorded it
        return ""
    limits = " ".join(f"{name}={value}" for name, value in machine.get("isa_limits", {}).items())
    bf16 = "bfloat16 native" if machine.get("bf16_native") else "no native bfloat16"
    return f", {machine['isa']} kernels, {bf16}" + (f", limited by {limits}" if limits else "")


SERVED_NAMES = {
    "gradio_client": "Gradio API, Python gradio_client",
    "http": "Gradio REST API (upload, call, read the stream)",
    "json": "JSON API `POST /api/v1/classify`",
}


def served_table(rows: list[dict]) -> list[str]:
    """The app under concurrent users, one row per kind of client, each against Gradio's REST path."""
    if not rows:
        return []
    base = next((r for r in rows if r["client"] == "http"), None)
    rounds = max((len(r.get("rounds", [])) for r in rows), default=0)
    turns = f"; the median of {rounds} rounds, app and twins taking turns" if rounds > 1 else ""
    lines = [
        "",
        f"Served to {rows[0]['users']} concurrent users (clients on the same machine{turns}):",
        "",
        "| client | requests | req/s | p95 ms | app CPU ms per request | req/s vs the Gradio REST path "
        "| no-op twin req/s | app vs twin | each round: app / twin req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{r['requests_per_s'] / base['requests_per_s']:.2f}x" if base and base["requests_per_s"] else "-"
        twin = r.get("twin_requests_per_s")
        vs_twin = f"{r['vs_twin']:.2f}x" if twin else "-"
        each = ", ".join(f"{app} / {other}" for app, other in r.get("rounds", [])) or "-"
        lines.append(
            f"| {SERVED_NAMES.get(r['client'], r['client'])} | {r['requests']} | {r['requests_per_s']} "
            f"| {r['p95_ms']} | {r['app_cpu_ms_per_request']} | {ratio} | {twin or '-'} | {vs_twin} | {each} |"
        )
    return lines + [""]


def training_table(rows: list[dict]) -> list[str]:
    header = "\n| model | training images/s (batch 64) |\n|---|---:|"
    return [header] + [f"| {r['model']} ({r['device']}) | {r['train_images_per_s']} |" for r in rows]


def replace_section(document: str, name: str, text: str) -> str:
    """`document` with the text between the lines <!-- name --> and <!-- /name --> replaced (appended if
    absent); the markers count only on lines of their own, so prose that quotes them is left alone."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    section = f"{start}\n{text.rstrip()}\n{end}"
    pattern = re.compile(f"^{re.escape(start)}$.*?^{re.escape(end)}$", re.DOTALL | re.MULTILINE)
    if pattern.search(document):
        return pattern.sub(lambda _: section, document)
    return document.rstrip() + f"\n\n{section}\n"


def write_results(out: Path, result: dict, doc: Path | None = None, section: str = "bench") -> None:
    """bench.json and bench.md in `out`; with `doc`, the same table as that file's generated section."""
    text = markdown(result)
    (out / "bench.json").write_text(json.dumps(result, indent=1))
    (out / "bench.md").write_text(text)
    if doc is not None:
        doc.write_text(replace_section(doc.read_text() if doc.is_file() else "", section, text))
    print(text)
