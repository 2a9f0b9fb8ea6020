"""The bench's command line: `python -m foodcls.bench [--quick | --training-only] [--isa avx2]`.

Writes bench.json and bench.md to --out and, on a full run, the latest numbers into
docs/performance.md (--doc); `--isa avx2` into a section of its own.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from foodcls.bench import per_model, report, served, training
from foodcls.bench.timing import host
from foodcls.launch import ROOT

DOC = ROOT / "docs" / "performance.md"
# Environment that limits oneDNN and PyTorch's own kernels to an instruction set, as a CPU without
# more has it (no AVX-512, no bfloat16); both are read when torch loads, so only by processes started with it.
ISA_LIMITS = {"avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}}
DATA_DIRS = [ROOT.parent / "shared" / "data" / "food101-asian10-64", Path.home() / ".cache" / "foodcls" / "food101-64"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--photo", type=Path, help="a meal photo (default: a synthetic 512 px image)")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument(
        "--doc", type=Path, help=f"the page whose generated section gets the numbers (default {DOC}; none with --quick)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help="a data folder for test top-1 of the float32 and the served model, each run scored on the first "
        f"that has all its classes (repeatable; default {', '.join(str(d) for d in DATA_DIRS)}; skipped when absent)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="seconds, not minutes: few repeats and requests, no accuracy"
    )
    parser.add_argument(
        "--training-only", action="store_true", help="only training images/s (e.g. on a GPU machine without gradio)"
    )
    parser.add_argument(
        "--isa",
        choices=sorted(ISA_LIMITS),
        help="measure as a CPU limited to this instruction set would (in a child process that torch starts in "
        "limited: ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, inherited by the app it serves)",
    )
    args = parser.parse_args(argv)
    if args.isa and not runs_limited_to(args.isa):
        argv = sys.argv[1:] if argv is None else argv
        command = [sys.executable, "-m", "foodcls.bench", *argv]
        raise SystemExit(subprocess.run(command, env=limited_environment(args.isa)).returncode)
    doc = args.doc or (None if args.quick else DOC)
    suffix = f"-{args.isa}" if args.isa else ""
    args.out.mkdir(parents=True, exist_ok=True)
    training_steps = 2 if args.quick else 10
    if args.training_only:
        result = {"machine": host(), "training": training.bench_training(training_steps)}
        report.write_results(args.out, result, doc, section=f"bench-training-only{suffix}")
        return
    photo = args.photo
    if photo is None:
        photo = args.out / "photo.jpg"
        Image.effect_mandelbrot((512, 512), (-2, -1.5, 1, 1.5), 100).convert("RGB").save(photo)
    repeats = 5 if args.quick else 100
    data_dirs = [] if args.quick else (args.data or DATA_DIRS)
    model_rows, machine = per_model.bench_models(args.weights, photo, repeats, args.quick, data_dirs)
    machine.update(host())
    result = {"machine": machine, "models": model_rows, "training": training.bench_training(training_steps)}
    users, requests, rounds = (2, 8, 1) if args.quick else (16, 320, 3)
    result["served"] = served.bench_served(users, requests, photo, rounds=rounds)
    result["cold_start"] = served.bench_cold_start(photo)
    report.write_results(args.out, result, doc, section=f"bench{suffix}")


def limited_environment(isa: str) -> dict[str, str]:
    """This process's environment with oneDNN and PyTorch's kernels limited to `isa` (ISA_LIMITS)."""
    return {**os.environ, **ISA_LIMITS[isa]}


def runs_limited_to(isa: str) -> bool:
    """Whether this process was started limited to `isa`."""
    return all(os.environ.get(name) == value for name, value in ISA_LIMITS[isa].items())
