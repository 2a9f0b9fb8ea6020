"""Process-wide settings: glibc's allocator for offline scoring, and which dtype the CPU computes natively."""

import json
import os
import subprocess
import sys

import pytest
import torch

from foodcls import serving

# Allocates and frees 24 blocks of 4 MiB, touching each page, for 8 rounds: page faults after the first round.
FAULTS_AFTER_FIRST_ROUND = """
import json, resource, sys
import torch
from foodcls import serving
if sys.argv[1] == "keep":
    assert serving.keep_freed_memory()
def round_of_blocks():
    blocks = [torch.ones(1 << 20) for _ in range(24)]  # 4 MiB each
    del blocks
round_of_blocks()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(7):
    round_of_blocks()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


def faults_after_first_round(setting: str) -> int:
    command = [sys.executable, "-c", FAULTS_AFTER_FIRST_ROUND, setting]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keeping_freed_memory_stops_the_page_faults_of_repeated_large_blocks():
    # by default glibc hands the freed heap top back to the kernel and faults it in again next round
    # run to run on the dev VM: default 25 k to 171 k faults (of 172 k pages touched), kept 1 k to 6 k
    default = sorted(faults_after_first_round("default") for _ in range(3))[1]
    kept = max(faults_after_first_round("keep") for _ in range(3))
    assert kept < default / 2, (default, kept)


@pytest.mark.parametrize(
    ("hardware", "environment", "aten", "native"),
    [
        (True, {}, "AVX512", True),
        (False, {}, "AVX512", False),  # AVX-512 without BF16 (Skylake): oneDNN would emulate it
        (True, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "AVX512", False),
        (True, {"ONEDNN_MAX_CPU_ISA": "avx512_core_amx"}, "AVX512", True),
        (True, {"DNNL_MAX_CPU_ISA": "AVX512_CORE"}, "AVX512", False),
        (True, {}, "AVX2", False),  # ATEN_CPU_CAPABILITY=avx2
    ],
)
def test_bfloat16_counts_as_native_only_where_the_cpu_and_both_limits_allow_it(
    monkeypatch, hardware, environment, aten, native
):
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: hardware)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: aten)
    assert serving.bf16_is_native() is native
    assert serving.serving_dtype() == (torch.bfloat16 if native else torch.float32)


def test_a_process_started_limited_to_avx2_serves_float32_on_avx2_kernels():
    environment = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    code = "import torch; from foodcls import serving; print(torch.backends.cpu.get_cpu_capability(), serving.serving_dtype())"
    answer = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **environment}, check=True, capture_output=True, text=True
    )
    assert answer.stdout.split() == ["AVX2", "torch.float32"]


class KeptFreedMemory(Exception):
    pass


@pytest.mark.parametrize("cli", ["evaluate", "calibrate", "probe"])
def test_the_offline_scoring_clis_keep_freed_memory_before_they_score(monkeypatch, tmp_path, cli):
    import importlib

    def keep_freed_memory():
        raise KeptFreedMemory

    module = importlib.import_module(f"foodcls.{cli}")
    monkeypatch.setattr(serving, "keep_freed_memory", keep_freed_memory)
    arguments = {
        "evaluate": ["--model", str(tmp_path), "--data", str(tmp_path)],
        "calibrate": ["--model", str(tmp_path), "--data", str(tmp_path), "--real", str(tmp_path)],
        "probe": ["--data", str(tmp_path), "--split-of", str(tmp_path)],
    }
    with pytest.raises(KeptFreedMemory):
        module.main(arguments[cli])
