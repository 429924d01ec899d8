"""Fused scaled dot-product attention on an NVIDIA GPU with numba.cuda (memory linear in T).

The math is that of ``attention_cpu.py``: an online softmax in the forward pass that keeps only
the row log-sum-exp, and a backward pass that recomputes P_ij = e^(s·q_i·k_j - lse_i).

The GPU version is the simplest faithful one, one thread per row, so each thread's loop reads
like the formulas:

- forward: one thread per query row i runs over the keys, keeping the running max m and sum l
  in registers and the unnormalized output row in ``out`` itself (rescaled in place when m grows);
- backward, dq: one thread per query row i: dq_i = s · Σ_j P_ij (dP_ij - Δ_i) k_j;
- backward, dk and dv: one thread per key row j: dv_j = Σ_i P_ij dO_i and
  dk_j = s · Σ_i P_ij (dP_ij - Δ_i) q_i, with dP_ij = dO_i · v_j and Δ_i = dO_i · out_i.

Each thread writes only its own row, so there are no atomics and the sums run in a fixed order.
Unlike cuBLAS-based attention (the reference, which reaches the tensor cores), these loops use
no shared-memory tiling, so they are about memory, not speed: the T×T matrix never exists.

The kernels take CuPy arrays (or NumPy arrays under Numba's CUDA simulator).
"""
from __future__ import annotations

import math

from numba import cuda

from ..backend import array_module, device_of
from .common import (AttentionSettings, check_attention_gradient, check_attention_shapes,
                     default_scale)
from .cuda_launch import launch


@cuda.jit(device=True)
def _score(q, k, n, i, j, scale):
    """scale · q[n, i] · k[n, j]"""
    total = q[n, i, 0] * 0
    for d in range(q.shape[2]):
        total += q[n, i, d] * k[n, j, d]
    return total * scale


@cuda.jit
def _forward(q, k, v, out, lse, settings):
    N, Tq = q.shape[0], q.shape[1]
    Tk, Dv = v.shape[1], v.shape[2]
    causal, scale = settings.causal, settings.scale
    index = cuda.grid(1)
    if index >= N * Tq:
        return
    n, i = index // Tq, index % Tq
    row_max, row_sum = -math.inf, 0.0
    for d in range(Dv):
        out[n, i, d] = 0
    for j in range(min(Tk, i + 1) if causal else Tk):
        s = _score(q, k, n, i, j, scale)
        new_max = max(row_max, s)
        rescale, p = math.exp(row_max - new_max), math.exp(s - new_max)
        row_sum = row_sum * rescale + p
        for d in range(Dv):
            out[n, i, d] = out[n, i, d] * rescale + p * v[n, j, d]
        row_max = new_max
    for d in range(Dv):
        out[n, i, d] /= row_sum
    lse[n, i] = row_max + math.log(row_sum)


@cuda.jit
def _grad_query(grad_out, q, k, v, lse, delta, dq, settings):
    causal, scale = settings.causal, settings.scale
    N, Tq, D = q.shape
    Tk, Dv = v.shape[1], v.shape[2]
    index = cuda.grid(1)
    if index >= N * Tq:
        return
    n, i = index // Tq, index % Tq
    for d in range(D):
        dq[n, i, d] = 0
    for j in range(min(Tk, i + 1) if causal else Tk):
        p = math.exp(_score(q, k, n, i, j, scale) - lse[n, i])
        dp = grad_out[n, i, 0] * 0
        for d in range(Dv):
            dp += grad_out[n, i, d] * v[n, j, d]
        ds = p * (dp - delta[n, i]) * scale
        for d in range(D):
            dq[n, i, d] += ds * k[n, j, d]


@cuda.jit
def _grad_key_value(grad_out, q, k, v, lse, delta, dk, dv, settings):
    causal, scale = settings.causal, settings.scale
    N, Tq, D = q.shape
    Tk, Dv = v.shape[1], v.shape[2]
    index = cuda.grid(1)
    if index >= N * Tk:
        return
    n, j = index // Tk, index % Tk
    for d in range(D):
        dk[n, j, d] = 0
    for d in range(Dv):
        dv[n, j, d] = 0
    for i in range(j if causal else 0, Tq):
        p = math.exp(_score(q, k, n, i, j, scale) - lse[n, i])
        dp = grad_out[n, i, 0] * 0
        for d in range(Dv):
            dp += grad_out[n, i, d] * v[n, j, d]
            dv[n, j, d] += p * grad_out[n, i, d]
        ds = p * (dp - delta[n, i]) * scale
        for d in range(D):
            dk[n, j, d] += ds * q[n, i, d]


def _prepare(arrays, scale, D):
    """The arrays contiguous in one dtype with their leading axes merged into one, (N, T, D),
    and the scale in that dtype."""
    xp = array_module(device_of(arrays[0]))
    dtype = xp.result_type(*arrays)
    lead = arrays[0].ndim - 2
    return xp, [xp.ascontiguousarray(a, dtype=dtype).reshape((-1,) + a.shape[lead:])
                for a in arrays], dtype.type(default_scale(scale, D))


def attention_forward(q, k, v, causal, scale):
    """(out, lse); same contract as ``attention_cpu.attention_forward``."""
    check_attention_shapes(q, k, v)
    lead = q.shape[:-2]
    xp, (q, k, v), scale = _prepare((q, k, v), scale, q.shape[-1])
    out = xp.empty(q.shape[:2] + v.shape[2:], q.dtype)                # (N, Tq, Dv)
    lse = xp.empty(q.shape[:2], q.dtype)                              # (N, Tq)
    launch(_forward, q.shape[0] * q.shape[1], q, k, v, out, lse,
           AttentionSettings(k.shape[1], bool(causal), scale))
    return out.reshape(lead + out.shape[1:]), lse.reshape(lead + lse.shape[1:])


def attention_backward(grad_out, q, k, v, out, lse, causal, scale):
    """(dq, dk, dv); same contract as ``attention_cpu.attention_backward``."""
    check_attention_shapes(q, k, v)
    check_attention_gradient(grad_out, q, v, out, lse)
    shapes = (q.shape, k.shape, v.shape)
    xp, (grad_out, q, k, v, out), scale = _prepare((grad_out, q, k, v, out), scale, q.shape[-1])
    lse = xp.ascontiguousarray(lse, dtype=q.dtype).reshape(q.shape[:2])   # (N, Tq)
    delta = (grad_out * out).sum(axis=-1)                             # (N, Tq)
    dq, dk, dv = xp.empty(q.shape, q.dtype), xp.empty(k.shape, q.dtype), xp.empty(v.shape, q.dtype)
    settings = AttentionSettings(k.shape[1], bool(causal), scale)
    # arrays one by one: numba.cuda reads a CuPy array as an argument, not inside a tuple
    launch(_grad_query, q.shape[0] * q.shape[1], grad_out, q, k, v, lse, delta, dq, settings)
    launch(_grad_key_value, k.shape[0] * k.shape[1], grad_out, q, k, v, lse, delta, dk, dv,
           settings)
    return tuple(g.reshape(shape) for g, shape in zip((dq, dk, dv), shapes))
