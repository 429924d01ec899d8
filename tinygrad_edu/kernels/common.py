"""What the CPU and the GPU kernels share: argument checks and pure functions compiled for both.

A function here is plain Python on arrays and numbers, written in the small subset that both of
Numba's compilers accept (loops, arithmetic, indexing, ``math``). Each kernel file compiles it
for its target, ``njit(inline="always")`` on the CPU and ``cuda.jit(device=True)`` on the GPU
(minitorch's way), so the logic a CPU loop and a GPU thread have in common is written once.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def window_max(x, n, c, oh, ow, geometry):
    """(best, where) of pooling window (oh, ow) of plane x[n, c]: the largest value, and the
    flat index h·W + w of the first pixel that holds it (strictly greater wins, so ties go to
    the first maximum in row-major order and NaN never wins; padding counts as -inf). A window
    with nothing but -inf or NaN reports -inf and its first pixel."""
    H, W, KH, KW = geometry.in_h, geometry.in_w, geometry.kernel_h, geometry.kernel_w
    sh, sw, ph, pw = geometry.stride_h, geometry.stride_w, geometry.padding_h, geometry.padding_w
    best, where, first = -math.inf, -1, -1
    for kh in range(KH):
        h = oh * sh - ph + kh
        if h < 0 or h >= H:
            continue
        for kw in range(KW):
            w = ow * sw - pw + kw
            if w < 0 or w >= W:
                continue
            first = h * W + w if first < 0 else first
            if x[n, c, h, w] > best:
                best, where = x[n, c, h, w], h * W + w
    return best, where if where >= 0 else first


def check_pool_gradient(grad_y_shape, argmax_shape, x_shape) -> None:
    """Raise a ValueError unless dL/dy, the winners and x's shape fit together."""
    if tuple(grad_y_shape) != tuple(argmax_shape) or tuple(grad_y_shape[:2]) != tuple(x_shape[:2]):
        raise ValueError(f"max_pool2d backward: grad_y {tuple(grad_y_shape)}, argmax "
                         f"{tuple(argmax_shape)} and x shape {tuple(x_shape)} do not fit together")


class AttentionSettings(NamedTuple):
    """What the attention kernels need besides arrays: the number of real keys, the causal
    mask and the score scale (in the arrays' dtype)."""

    keys: int
    causal: bool
    scale: float


def check_attention_shapes(q, k, v) -> None:
    """Raise a ValueError unless q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) fit, with the
    same leading axes and Tk >= 1."""
    if not q.ndim == k.ndim == v.ndim >= 2 or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2] \
            or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention: expected q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) "
                         f"with the same leading axes, got {q.shape}, {k.shape}, {v.shape}")
    if k.shape[-2] == 0:
        raise ValueError("attention: there are no keys to attend to (Tk = 0)")


def check_attention_gradient(grad_out, q, v, out, lse) -> None:
    """Raise a ValueError unless dL/dout, out and lse fit q and v."""
    if grad_out.shape != out.shape or out.shape != q.shape[:-1] + v.shape[-1:] \
            or lse.shape != q.shape[:-1]:
        raise ValueError(f"attention backward: grad_out {grad_out.shape}, out {out.shape} and "
                         f"lse {lse.shape} do not fit q {q.shape} and v {v.shape}")


def kernel_dtype(*arrays) -> np.dtype:
    """The dtype the CPU kernels compute in: the arrays' common one if float32 or float64,
    float64 for anything else (integers, float16)."""
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def default_scale(scale, head_dim: int) -> float:
    """The score scale: 1/√D unless one is given."""
    return 1.0 / math.sqrt(head_dim) if scale is None else scale


def serial_and_parallel(kernel, **options):
    """(on all cores, on one core): ``kernel``, a CPU loop over ``prange``, compiled both ways
    with the ``njit`` ``options``; the caller runs a small array on one core, where waking
    the other threads would cost more than it saves."""
    from numba import njit
    return njit(parallel=True, **options)(kernel), njit(**options)(kernel)


def choose_version(versions, size: int, parallel_from: int, parallel=None):
    """The version of a ``serial_and_parallel`` pair to run on ``size`` numbers: all cores from
    ``parallel_from`` on, one core below; ``parallel`` True or False overrides the size."""
    on_all_cores = size >= parallel_from if parallel is None else parallel
    return versions[0] if on_all_cores else versions[1]
