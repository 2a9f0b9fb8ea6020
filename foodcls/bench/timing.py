"""Timing helpers of the bench: repeated calls, percentiles, the matmul ceiling, the machine."""

import os
import platform
import statistics
import time
from pathlib import Path

import torch

from foodcls import serving


def timed(fn, repeats: int, warmup: int = 3) -> list[float]:
    """Seconds per call, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def p(times: list[float], q: int) -> float:
    """The q-th percentile in milliseconds."""
    return statistics.quantiles(times, n=100)[q - 1] * 1000 if len(times) > 1 else times[0] * 1000


def matmul_ceiling(dtype: torch.dtype, size: int, repeats: int) -> float:
    """GFLOP/s of a large square matrix product through torch: the machine's practical ceiling."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    best = min(timed(lambda: a @ b, repeats, warmup=2))
    return 2 * size**3 / best / 1e9


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host() -> dict:
    """The machine, with the instruction set PyTorch's kernels run (AVX2, AVX512) and any limit set on it."""
    limits = {name: os.environ[name] for name in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if name in os.environ}
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "isa": torch.backends.cpu.get_cpu_capability(),
        "bf16_native": serving.bf16_is_native(),
        "isa_limits": limits,
    }
