"""Prepare a trained model for serving one photo at a time on the CPU: `prepare_for_cpu`.

An ensemble's members that begin with the same layers run them once; batch norms are folded into
the convolutions, TensorFlow's "same" padding is moved inside the stride-2 convolutions, the weights
go channels-last and to bfloat16 where the CPU computes it natively (AVX512-BF16/AMX), and the whole
network is traced once for oneDNN Graph. The process-wide torch switches this relies on are set
once by the app at start, with `configure_process`.
"""

import copy
import ctypes
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from foodcls.models import Conv2dSame, EfficientNetLite, Ensemble, FirstStages, LaterStages, same_padding

# One torch thread per request, with Gradio running several requests at once: on 2 cores that served
# 24-26 requests/s against 20-21 with two threads each, whose spinning workers fought over the cores;
# a lone request takes ~24 ms instead of ~15 ms (EfficientNet-Lite0 at 192 px, both numbers).
SERVING_THREADS = 1


def configure_process(threads: int | None = SERVING_THREADS) -> None:
    """The process-wide torch switches the app serves under; `python app.py` sets them at start.

    oneDNN fusion lets TorchScript hand the traced graphs to oneDNN Graph (without it they run on
    TorchScript's own interpreter, slower but the same). Denormal floats are flushed to zero: tiny
    activations are slow as denormals and change nothing above 1e-38. `threads=None` keeps torch's.
    """
    if hasattr(torch.jit, "enable_onednn_fusion"):  # a torch without it serves on TorchScript's interpreter
        torch.jit.enable_onednn_fusion(True)
    torch.set_flush_denormal(True)
    if threads is not None:
        torch.set_num_threads(threads)


# glibc's mallopt options (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8


def mallopt(option: int, value: int) -> bool:
    """glibc's mallopt(option, value): whether it took; False where the C library is not glibc."""
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(option, value))
    except (OSError, AttributeError):
        return False  # macOS, musl: their allocators have no such settings


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (like MALLOC_ARENA_MAX=2) before Gradio starts its worker threads.

    Each worker thread otherwise gets an arena of its own that fragments: under the load test the
    app grew 92 MB per 256 requests without the cap and 21 MB with it (2-core machine).
    """
    return mallopt(M_ARENA_MAX, count)


def keep_freed_memory() -> bool:
    """Let glibc reuse freed blocks of up to 32 MiB instead of returning them to the kernel (like
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483647), for the offline scoring CLIs.

    A forward frees megabytes of activations per layer; by default each block over the (adaptive)
    mmap threshold is a fresh mmap, and every page of it a page fault, so scoring batches of
    photos spent most of its CPU time in the kernel. The process keeps its peak heap instead.
    """
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1)


# oneDNN's ISA limits (ONEDNN_MAX_CPU_ISA) under which it still computes bfloat16 natively
BF16_ONEDNN_ISAS = {
    "AVX512_CORE_BF16",
    "AVX512_CORE_FP16",
    "AVX10_1_512",
    "AVX512_CORE_AMX",
    "AVX10_1_512_AMX",
    "AVX512_CORE_AMX_FP16",
    "AVX10_1_512_AMX_FP16",
    "ALL",
    "DEFAULT",
}


def bf16_is_native() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX) and the process may use it:
    neither oneDNN (ONEDNN_MAX_CPU_ISA) nor PyTorch's own kernels (ATEN_CPU_CAPABILITY) are limited
    below it, which is how an AVX2-only CPU is emulated on a newer one.

    oneDNN's own check (`torch.ops.mkldnn._is_mkldnn_bf16_supported`) says yes on any AVX-512 CPU and
    ignores both limits; there bfloat16 is emulated, slower than float32.
    """
    hardware = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    onednn_limit = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "ALL")).upper()
    return hardware and onednn_limit in BF16_ONEDNN_ISAS and torch.backends.cpu.get_cpu_capability() == "AVX512"


def serving_dtype() -> torch.dtype:
    """bfloat16 where the CPU computes it natively (about twice the float32 matmul rate), else float32."""
    return torch.bfloat16 if bf16_is_native() else torch.float32


@dataclass(frozen=True)
class PreparedModel:
    model: nn.Module  # folded, padded, channels-last, in `dtype`; still differentiable (Grad-CAM)
    inference_model: nn.Module  # `model` compiled for oneDNN Graph, or `model` itself where it cannot be
    dtype: torch.dtype


def prepare_for_cpu(model: nn.Module, input_size: int, make_example) -> PreparedModel:
    """A serving copy of `model` (which is left as it was) for inputs of `input_size` pixels.

    `make_example(dtype)` returns what one request runs through the model, in that dtype: the
    padding is fixed and the graph traced and checked for exactly that shape.
    """
    dtype = serving_dtype()
    prepared = fold_batch_norms(share_identical_stages(copy.deepcopy(model)), input_size)
    prepared = prepared.to(memory_format=torch.channels_last, dtype=dtype)
    example = make_example(dtype)
    prepared = pad_inside_convolutions(prepared, example)
    return PreparedModel(prepared, compile_for_cpu(prepared, example), dtype)


class SharedStagesEnsemble(nn.Module):
    """An Ensemble whose members' first layers are one network, run once per photo (`shared`), and
    whose `members` run only the rest of each member; the same logits as the Ensemble."""

    def __init__(self, shared: nn.Module, members: list[nn.Module]):
        super().__init__()
        self.shared, self.members = shared, nn.ModuleList(members)

    def forward(self, x):
        x = self.shared(x)
        return torch.stack([member(x) for member in self.members]).mean(0)


def same_weights(modules: list[nn.Module]) -> bool:
    states = [module.state_dict() for module in modules]
    return all(state.keys() == states[0].keys() for state in states) and all(
        torch.equal(state[name], value) for state in states[1:] for name, value in states[0].items()
    )


def share_identical_stages(model: nn.Module) -> nn.Module:
    """An Ensemble of EfficientNet-Lite members whose stem and first stages have the same weights
    (fine-tuning keeps the first ImageNet stages frozen) as a SharedStagesEnsemble; other models as
    they are. Made of `model`'s own modules, which it leaves as they were. The 101-dish members share
    their stem and two stages: ~22% of each member's forward.
    """
    members = list(getattr(model, "members", []))
    if not isinstance(model, Ensemble) or not all(isinstance(member, EfficientNetLite) for member in members):
        return model
    if not same_weights([FirstStages(member, 0) for member in members]):  # the stems
        return model
    shared_blocks = 0
    while shared_blocks < len(members[0].blocks) and same_weights([m.blocks[shared_blocks] for m in members]):
        shared_blocks += 1
    shared = FirstStages(members[0], shared_blocks)
    rests = [LaterStages(member, shared_blocks) for member in members]
    return SharedStagesEnsemble(shared, rests)


@contextmanager
def removed_after(handles: list):
    """Hook handles that are removed when the block ends, however it ends."""
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def run_once_with_hooks(model: nn.Module, example: torch.Tensor, handles: list) -> None:
    """Run `example` through `model` once, for what its hooks observe; the hooks are removed after."""
    with removed_after(handles), torch.inference_mode():
        model(example)


def replace_module(model: nn.Module, name: str, replacement: nn.Module) -> None:
    parent, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent), attribute, replacement)


def fold_batch_norms(model: nn.Module, input_size: int) -> nn.Module:
    """Fold every eval-mode BatchNorm into the convolution that feeds it: same outputs, one pass fewer.

    Which convolution feeds which norm is observed in one forward pass; the norm becomes an Identity.
    Works in place on `model` and returns it.
    """
    model.eval()
    outputs, fed_by = {}, {}

    def after_conv(module, _inputs, output):
        outputs[id(output)] = (module, output)  # the output is kept so its id is not reused

    def before_norm(module, inputs):
        fed_by[module] = outputs.get(id(inputs[0]), (None,))[0]

    hooks = [m.register_forward_hook(after_conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_pre_hook(before_norm) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    run_once_with_hooks(model, torch.zeros(1, 3, input_size, input_size), hooks)
    names = {module: name for name, module in model.named_modules()}
    for norm, conv in fed_by.items():
        if conv is not None:
            replace_module(model, names[conv], fuse_conv_bn_eval(conv, norm))
            replace_module(model, names[norm], nn.Identity())
    return model


def pad_inside_convolutions(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """Each Conv2dSame becomes a plain Conv2d for inputs of `example`'s size, with identical outputs.

    Where TensorFlow's padding puts one row (column) more at the bottom (right), the kernel grows by
    a zero first row (column) and the padding becomes symmetric: the windows land on the same pixels.
    That drops the separate pad before each stride-2 convolution, which oneDNN Graph cannot fuse.
    Works in place on `model` and returns it.
    """
    sizes = {}

    def record_size(conv, inputs):
        sizes[conv] = inputs[0].shape[2:]

    hooks = [m.register_forward_pre_hook(record_size) for m in model.modules() if isinstance(m, Conv2dSame)]
    run_once_with_hooks(model, example, hooks)
    names = {module: name for name, module in model.named_modules()}
    for conv, (height, width) in sizes.items():
        left, right, top, bottom = same_padding(conv, height, width)
        extra = (bottom - top, right - left)
        if not set(extra) <= {0, 1} or conv.dilation != (1, 1):
            continue
        kernel = (conv.kernel_size[0] + extra[0], conv.kernel_size[1] + extra[1])
        padding = (top + extra[0], left + extra[1])
        plain = nn.Conv2d(conv.in_channels, conv.out_channels, kernel, conv.stride, padding, groups=conv.groups)
        weight = conv.weight.new_zeros(plain.weight.shape)
        weight[:, :, extra[0] :, extra[1] :] = conv.weight.detach()
        plain.weight = nn.Parameter(weight.contiguous(memory_format=torch.channels_last))
        plain.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone())
        replace_module(model, names[conv], plain)
    return model


def compile_for_cpu(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """An inference-only copy of `model` for inputs like `example`: traced and frozen, run by oneDNN
    Graph once `configure_process` has switched it on, which fuses convolutions with what follows
    them and runs the graph outside Python (and its interpreter lock). Checked against `model` on
    `example`; where it cannot be made, `model`.

    TorchScript is deprecated in favour of torch.compile, yet it is what serves fastest here:
    EfficientNet-Lite0 at 192 px, batch 1, one thread: 3.9-4.8 ms, against 7.1 with torch.compile
    (after ~28 s of compiling) and 9.8 eager.
    """
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation and tracer notes; the check below is what counts
            graph = torch.jit.freeze(torch.jit.trace(model.eval(), example, check_trace=False))  # checked below
            for _ in range(3):  # the profiling executor records shapes on the first runs, then fuses
                graph(example)
            torch.testing.assert_close(graph(example), model(example), rtol=0.02, atol=0.02)
    except (RuntimeError, AttributeError, AssertionError) as error:  # no oneDNN, untraceable, a mismatch
        warnings.warn(f"serving {type(model).__name__} eagerly, without oneDNN Graph: {error}", stacklevel=2)
        return model
    return graph
