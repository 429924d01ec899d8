"""Fused ("flash") scaled dot-product attention on the CPU with Numba.

For one sequence (the kernels loop over all of them), with q (Tq, D), k (Tk, D), v (Tk, Dv)
and a scale s (1/√D by default):

    S = s · q kᵀ   (Tq, Tk)        P = softmax(S) row by row        out = P v   (Tq, Dv)

and, with causal=True, query i only sees keys j <= i (PyTorch's ``is_causal``: the mask is the
lower triangle aligned at the top left).

**Forward without the T×T matrix.** The reference builds S and P whole: Tq·Tk numbers per
sequence, so memory grows with T². Here a job owns a block of BLOCK_Q queries and walks the
keys in blocks of BLOCK_K, keeping per query only a running maximum m, a running sum l and an
unnormalized output row (the "online softmax"). When a new block raises the maximum from m to
m', everything gathered so far is rescaled by e^(m - m'):

    l <- l·e^(m - m') + Σ_j e^(S_ij - m')        acc <- acc·e^(m - m') + Σ_j e^(S_ij - m') v_j

At the end out_i = acc / l, and we keep only the log-sum-exp lse_i = m + log l per query.

**Backward by recomputation.** With dO = dL/dout, the softmax backward needs P again; since
P_ij = e^(S_ij - lse_i), it is recomputed block by block from q, k and lse:

    dV = Pᵀ dO      dP = dO vᵀ      dS = P ⊙ (dP - Δ),  Δ_i = Σ_d dO_id · out_id
    dQ = s · dS k   dK = dSᵀ (s·q)

(Δ_i = Σ_j P_ij dP_ij, the softmax term, rewritten with out = P v so it costs O(Dv) per row.)
Memory stays linear in T: besides the inputs and outputs, a few blocks per thread.

**A key per row.** A block of scores is held transposed, Sᵀ (BLOCK_K, queries): the softmax
works along a query's keys, which is now down a column, so every step of it (the running
maximum, the shift, the sum) is one operation across a row of queries, which LLVM vectorizes
without reordering any sum, instead of a reduction along a short row, one number at a time.
The exponential is ``exp_cpu.exp``, because the C library's exp that ``np.exp`` calls inside
Numba works one number at a time. It runs over a key's whole row, hidden queries included,
which are zeroed after: a loop of the block's full length vectorizes, while the visible part
of a causal row, shorter than the compiler's vector step, ran mostly one number at a time
(the forward kernel took 1.3x as long that way on GPT-sized blocks). The products
S = k (s·q)ᵀ, P v, v dOᵀ, Pᵀ dO, dSᵀ (s·q), dS k are ``np.dot`` on blocks, handed to BLAS
(about twice as fast as the best loops Numba writes without fastmath; one BLAS thread per Numba
thread, see ``blas_threads``).

**Any layout, no copies outside.** The arrays are (P, H, T, D): any leading axes as two, in
any memory layout, such as the views of one (B, T, 3, H, D) projection that a transformer
splits into heads. Each job gathers its blocks into small contiguous arrays (zero rows past the
last key, masked like causal ones), scaling the queries by s on the way, so nothing is copied,
padded or transposed whole before the kernels run. When the inputs have batch and heads axes,
the outputs out, dq, dk, dv are made with the heads axis inside the time axis in memory,
(P, T, H, D) seen as (P, H, T, D): the layout a transformer merges the heads back from, so
that step needs no copy either (with fewer leading axes they are plain row-major). The kernels are
compiled on first use of a dtype, once for arrays of every layout (an explicit signature),
not once per combination of layouts.

**How the work is divided:** the forward runs one job per (sequence, query block), each writing
its own rows of out and lse. The backward runs one job per sequence, which owns dq, dk and dv
of that sequence, so no two threads ever write the same element; with a single sequence the
backward therefore uses one thread.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numba import njit, prange, typeof, types

from .blas_threads import single_threaded_blas
from .common import (AttentionSettings, check_attention_gradient, check_attention_shapes,
                     default_scale, kernel_dtype)
from .exp_cpu import exp

BLOCK_Q = 64   # queries per block
BLOCK_K = 64   # keys per block
JIT = dict(parallel=True, cache=True, fastmath=False)


def _parameter_types(dtype) -> SimpleNamespace:
    """Numba's types of the kernels' parameters for ``dtype``; every array is of any layout."""
    scalar = typeof(dtype.type(0))
    return SimpleNamespace(
        read=types.Array(scalar, 4, "A", readonly=True), write=types.Array(scalar, 4, "A"),
        read_rows=types.Array(scalar, 3, "A", readonly=True),
        write_rows=types.Array(scalar, 3, "A"),
        settings=typeof(AttentionSettings(1, True, dtype.type(1))))


_compiled = {}


def _compile(kernel, dtype):
    """``kernel`` compiled for ``dtype`` on first use, once for arrays of every layout (left to
    itself, Numba compiles a version per combination of C-ordered and strided arguments)."""
    key = (kernel.__name__, np.dtype(dtype))
    if key not in _compiled:
        t = _parameter_types(np.dtype(dtype))
        signature = {"_forward": types.void(t.read, t.read, t.read, t.write, t.write_rows,
                                            t.settings),
                     "_backward": types.void(t.read, t.read, t.read, t.read, t.read, t.write,
                                             t.write, t.write, t.read_rows,
                                             t.settings)}[kernel.__name__]
        _compiled[key] = njit(signature, **JIT)(kernel)
    return _compiled[key]


@njit(cache=True, inline="always")
def _gather(block, source, start):
    """block[:] = source[start : start + len(block)] as a contiguous array; rows past the end
    of source are zero."""
    rows = min(block.shape[0], source.shape[0] - start)
    for r in range(rows):
        for d in range(block.shape[1]):
            block[r, d] = source[start + r, d]
    block[rows:] = 0


@njit(cache=True, inline="always")
def _hidden(key, first_query, queries, keys, causal):
    """How many of a block's queries, counted from its first, may not see ``key``: all of them
    for a padded key (key >= keys), those before it (i < key) under a causal mask."""
    if key >= keys:
        return queries
    return min(max(key - first_query, 0), queries) if causal else 0


def _forward(q, k, v, out, lse, settings):
    """out (P, H, Tq, Dv) and lse (P, H, Tq) from q, k, v; ``settings``: an AttentionSettings
    (the number of keys, the mask, the scale)."""
    P, H, Tq, D = q.shape
    Dv = v.shape[3]
    Tk, causal, scale = settings.keys, settings.causal, settings.scale
    n_blocks = (Tq + BLOCK_Q - 1) // BLOCK_Q
    for job in prange(P * H * n_blocks):
        sequence, i0 = job // n_blocks, (job % n_blocks) * BLOCK_Q
        p, h = sequence // H, sequence % H
        rows = min(BLOCK_Q, Tq - i0)
        queries = np.empty((rows, D), q.dtype)
        _gather(queries, q[p, h], i0)
        queries *= scale                                         # s·q (rows, D)
        keys, values = np.empty((BLOCK_K, D), q.dtype), np.empty((BLOCK_K, Dv), q.dtype)
        scores_t = np.empty((BLOCK_K, rows), q.dtype)            # Sᵀ, then e^(S - m')ᵀ
        block_out = np.empty((rows, Dv), q.dtype)
        acc = np.zeros((rows, Dv), q.dtype)                      # unnormalized out
        row_max, row_sum = np.full(rows, -np.inf, q.dtype), np.zeros(rows, q.dtype)
        new_max, shift = np.empty(rows, q.dtype), np.empty(rows, q.dtype)
        k_end = min(Tk, i0 + rows) if causal else Tk
        for j0 in range(0, k_end, BLOCK_K):
            _gather(keys, k[p, h], j0)
            _gather(values, v[p, h], j0)
            np.dot(keys, queries.T, scores_t)                    # (BLOCK_K, D) @ (D, rows)
            new_max[:] = row_max
            for j in range(BLOCK_K):                             # m' = max(m, max_j S_ij)
                for i in range(_hidden(j0 + j, i0, rows, Tk, causal), rows):
                    new_max[i] = max(new_max[i], scores_t[j, i])
            for i in range(rows):   # a query that sees no key yet shifts by 0, not by -inf
                shift[i] = new_max[i] if new_max[i] > -np.inf else 0
                rescale = np.exp(row_max[i] - shift[i])          # e^(m - m')
                row_sum[i] *= rescale
                acc[i] *= rescale
                row_max[i] = new_max[i]
            for j in range(BLOCK_K):                             # e^(S_ij - m'), 0 where hidden
                hidden, row = _hidden(j0 + j, i0, rows, Tk, causal), scores_t[j]
                for i in range(rows):
                    row[i] = exp(row[i] - shift[i])
                row[:hidden] = 0
                for i in range(rows):
                    row_sum[i] += row[i]
            np.dot(scores_t.T, values, block_out)                # (rows, BLOCK_K) @ (BLOCK_K, Dv)
            acc += block_out
        for i in range(rows):
            for d in range(Dv):
                out[p, h, i0 + i, d] = acc[i, d] / row_sum[i]
            lse[p, h, i0 + i] = row_max[i] + np.log(row_sum[i])


def _backward(grad_out, q, k, v, out, dq, dk, dv, lse, settings):
    """dq, dk, dv (P, H, T, D) from dO = grad_out, q, k, v, out and lse."""
    Tk, causal, scale = settings.keys, settings.causal, settings.scale
    P, H, Tq, D = q.shape
    Dv = v.shape[3]
    padded_keys = (Tk + BLOCK_K - 1) // BLOCK_K * BLOCK_K
    for sequence in prange(P * H):
        p, h = sequence // H, sequence % H
        key_grads = np.zeros((padded_keys, D), q.dtype)          # dK of the sequence
        value_grads = np.zeros((padded_keys, Dv), q.dtype)       # dV of the sequence
        keys, values = np.empty((BLOCK_K, D), q.dtype), np.empty((BLOCK_K, Dv), q.dtype)
        key_grad, value_grad = np.empty((BLOCK_K, D), q.dtype), np.empty((BLOCK_K, Dv), q.dtype)
        for i0 in range(0, Tq, BLOCK_Q):
            rows = min(BLOCK_Q, Tq - i0)
            queries, grads = np.empty((rows, D), q.dtype), np.empty((rows, Dv), q.dtype)
            _gather(queries, q[p, h], i0)
            queries *= scale                                     # s·q (rows, D)
            _gather(grads, grad_out[p, h], i0)                   # dO (rows, Dv)
            delta = np.zeros(rows, q.dtype)                      # Δ_i = Σ_d dO_id out_id
            for i in range(rows):
                for d in range(Dv):
                    delta[i] += grads[i, d] * out[p, h, i0 + i, d]
            lse_rows = lse[p, h, i0:i0 + rows].copy()                # contiguous: vectorizes
            probs_t = np.empty((BLOCK_K, rows), q.dtype)             # Sᵀ, then Pᵀ
            dscores_t = np.empty((BLOCK_K, rows), q.dtype)           # dPᵀ, then dSᵀ
            query_grad, query_grads = np.empty((rows, D), q.dtype), np.zeros((rows, D), q.dtype)
            k_end = min(Tk, i0 + rows) if causal else Tk
            for j0 in range(0, k_end, BLOCK_K):
                _gather(keys, k[p, h], j0)
                _gather(values, v[p, h], j0)
                np.dot(keys, queries.T, probs_t)                 # Sᵀ = k (s·q)ᵀ
                np.dot(values, grads.T, dscores_t)               # dPᵀ = v dOᵀ
                for j in range(BLOCK_K):     # Pᵀ and dSᵀ = Pᵀ ⊙ (dPᵀ - Δ), 0 where hidden
                    probs, dscores = probs_t[j], dscores_t[j]
                    for i in range(rows):
                        probs[i] = exp(probs[i] - lse_rows[i])
                    probs[:_hidden(j0 + j, i0, rows, Tk, causal)] = 0
                    for i in range(rows):
                        dscores[i] = probs[i] * (dscores[i] - delta[i])
                np.dot(probs_t, grads, value_grad)               # dV += Pᵀ dO
                value_grads[j0:j0 + BLOCK_K] += value_grad
                np.dot(dscores_t, queries, key_grad)             # dK += dSᵀ (s·q)
                key_grads[j0:j0 + BLOCK_K] += key_grad
                np.dot(dscores_t.T, keys, query_grad)            # dQ += dS k
                query_grads += query_grad
            for i in range(rows):
                for d in range(D):
                    dq[p, h, i0 + i, d] = query_grads[i, d] * scale
        dk[p, h] = key_grads[:Tk]
        dv[p, h] = value_grads[:Tk]


# ----------------------------------------------------------------------------- array functions

def _as_sequences(a, dtype, trailing: int = 2):
    """(..., T, D) -> (P, H, T, D) in ``dtype`` (``trailing`` = 1: (..., T) -> (P, H, T)); a view
    unless the dtype changes or more than two leading axes have to be merged."""
    a = a.astype(dtype, copy=False)
    lead = a.ndim - trailing
    if lead <= 2:
        return a.reshape((1,) * (2 - lead) + a.shape)
    return a.reshape((-1,) + a.shape[-trailing - 1:])


def _empty_output(shape, dtype, heads: bool):
    """An empty (P, H, T, D) array: with ``heads`` (the inputs have batch and heads axes) laid
    out (P, T, H, D) in memory (see the docstring), otherwise row-major."""
    P, H, T, D = shape
    if not heads:
        return np.empty(shape, dtype)
    return np.empty((P, T, H, D), dtype).transpose(0, 2, 1, 3)


def attention_forward(q, k, v, causal, scale):
    """(out, lse): out (..., Tq, Dv) = softmax(scale · q kᵀ) v, lse (..., Tq) the row
    log-sum-exp; q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) with the same leading axes."""
    check_attention_shapes(q, k, v)
    dtype, lead = kernel_dtype(q, k, v), q.shape[:-2]
    q, k, v = (_as_sequences(a, dtype) for a in (q, k, v))            # (P, H, T, D)
    out = _empty_output(q.shape[:3] + v.shape[3:], dtype, len(lead) >= 2)  # (P, H, Tq, Dv)
    lse = np.empty(q.shape[:3], dtype)                                # (P, H, Tq)
    settings = AttentionSettings(k.shape[2], bool(causal),
                                 dtype.type(default_scale(scale, q.shape[3])))
    with single_threaded_blas():
        _compile(_forward, dtype)(q, k, v, out, lse, settings)
    return out.reshape(lead + out.shape[2:]), lse.reshape(lead + lse.shape[2:])


def attention_backward(grad_out, q, k, v, out, lse, causal, scale):
    """(dq, dk, dv), shaped like q, k, v, for out = attention_forward(q, k, v, causal, scale)[0]."""
    check_attention_shapes(q, k, v)
    check_attention_gradient(grad_out, q, v, out, lse)
    dtype, shapes = kernel_dtype(grad_out, q, k, v, out, lse), (q.shape, k.shape, v.shape)
    arrays = [_as_sequences(a, dtype) for a in (grad_out, q, k, v, out)]  # (P, H, T, D) each
    grads = [_empty_output(a.shape, dtype, q.ndim >= 4) for a in arrays[1:4]]  # dq, dk, dv
    settings = AttentionSettings(k.shape[-2], bool(causal),
                                 dtype.type(default_scale(scale, q.shape[-1])))
    with single_threaded_blas():
        _compile(_backward, dtype)(*arrays, *grads, _as_sequences(lse, dtype, trailing=1),
                                   settings)
    return tuple(g.reshape(shape) for g, shape in zip(grads, shapes))
