"""Fused ("flash") scaled dot-product attention on the CPU with Numba.

For one sequence (the kernels loop over N = batch·heads of them), with q (Tq, D), k (Tk, D),
v (Tk, Dv) and a scale s (1/√D by default):

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
Memory stays linear in T: q, k, v, out, lse, the gradients and padded, transposed copies of k
and v, all allocated outside the kernels, plus a few blocks of BLOCK_Q × BLOCK_K per thread.

**Block products by BLAS, the softmax by Numba.** Within a (query block, key block) pair every
step is either a small matrix product, S = (s·q) kᵀ, P v, dO vᵀ, Pᵀ dO, dSᵀ (s·q), dS k, which
``np.dot`` hands to BLAS (about twice as fast as the best loops Numba writes without fastmath;
one BLAS thread per Numba thread, see ``blas_threads``), or an elementwise step along a row of
the block, written as loops that LLVM vectorizes. The exponential is one of those steps: ``exp_cpu.exp_inplace``, because the C library's exp that
``np.exp`` calls inside Numba works one number at a time. Keys are prepared outside the kernels
in blocks, zero-padded to a whole number of blocks and transposed per block ((N, blocks, D,
BLOCK_K)), so every operand of ``np.dot`` is a contiguous array, as it requires; padded keys
are masked like causal ones.

**How the work is divided:** the forward runs one job per (sequence, query block), each writing
its own rows of out and lse. The backward runs one job per sequence, which owns dq, dk and dv
of that sequence, so no two threads ever write the same element; with a single sequence the
backward therefore uses one thread.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .blas_threads import single_threaded_blas
from .common import (AttentionSettings, check_attention_gradient, check_attention_shapes,
                     default_scale)
from .exp_cpu import constants, exp_inplace, scratch

JIT = dict(parallel=True, cache=True, fastmath=False)
BLOCK_Q = 64   # queries per block
BLOCK_K = 64   # keys per block


@njit(cache=True, inline="always")
def _visible(query, first_key, keys, causal):
    """How many keys of the block starting at first_key the query may see (keys: real keys
    in the block; the rest is padding)."""
    return min(keys, query + 1 - first_key) if causal else keys


@njit(**JIT)
def _forward(q, k_blocks, v, out, lse, settings, exp_consts):
    """out (N, Tq, Dv) and lse (N, Tq) from q (already scaled), the key blocks and v padded to
    whole blocks; ``settings``: an AttentionSettings (the real keys, the mask)."""
    N, Tq, _ = q.shape
    Dv = v.shape[2]
    Tk, causal = settings.keys, settings.causal
    n_blocks = (Tq + BLOCK_Q - 1) // BLOCK_Q
    for job in prange(N * n_blocks):
        n, i0 = job // n_blocks, (job % n_blocks) * BLOCK_Q
        rows = min(BLOCK_Q, Tq - i0)
        queries = q[n, i0:i0 + rows]                             # (rows, D), already scaled
        scores = np.empty((rows, BLOCK_K), q.dtype)              # S, then e^(S - m')
        block_out = np.empty((rows, Dv), q.dtype)
        acc = np.zeros((rows, Dv), q.dtype)                      # unnormalized out
        row_max = np.full(rows, -np.inf, q.dtype)
        row_sum = np.zeros(rows, q.dtype)
        bits, powers = scratch(BLOCK_K)
        k_end = min(Tk, i0 + rows) if causal else Tk
        for block in range((k_end + BLOCK_K - 1) // BLOCK_K):
            j0 = block * BLOCK_K
            np.dot(queries, k_blocks[n, block], scores)         # (rows, D) @ (D, BLOCK_K)
            for i in range(rows):
                s = scores[i]
                visible = _visible(i0 + i, j0, min(BLOCK_K, Tk - j0), causal)
                if visible <= 0:                                 # every key here is masked
                    s[:] = 0
                    continue
                new_max = max(row_max[i], s[:visible].max())
                rescale = np.exp(row_max[i] - new_max)           # e^(m - m')
                s[:visible] -= new_max
                exp_inplace(s[:visible], exp_consts, bits, powers)  # e^(S_ij - m')
                s[visible:] = 0
                row_sum[i] = row_sum[i] * rescale + s[:visible].sum()
                acc[i] *= rescale
                row_max[i] = new_max
            np.dot(scores, v[n, j0:j0 + BLOCK_K], block_out)    # (rows, BLOCK_K) @ (BLOCK_K, Dv)
            acc += block_out
        for i in range(rows):
            out[n, i0 + i] = acc[i] / row_sum[i]
            lse[n, i0 + i] = row_max[i] + np.log(row_sum[i])


@njit(**JIT)
def _backward(grad_out, saved, grads, settings, exp_consts):
    """grads = (dq (N, Tq, D), dk and dv padded like k to whole key blocks) from dO and the
    saved arrays: q (already scaled), k, k and v in transposed blocks, lse and Δ."""
    q, k, k_blocks, v_blocks, lse, delta = saved
    dq, dk, dv = grads
    Tk, causal, scale = settings.keys, settings.causal, settings.scale
    N, Tq, D = q.shape
    Dv = grad_out.shape[2]
    for n in prange(N):
        dk_n, dv_n = dk[n], dv[n]                                # padded to whole blocks
        dk_n[:] = 0
        dv_n[:] = 0
        probs = np.empty((BLOCK_Q, BLOCK_K), q.dtype)            # P
        dscores = np.empty((BLOCK_Q, BLOCK_K), q.dtype)          # dP, then dS
        key_grad, value_grad = np.empty((BLOCK_K, D), q.dtype), np.empty((BLOCK_K, Dv), q.dtype)
        query_grad = np.empty((BLOCK_Q, D), q.dtype)
        bits, powers = scratch(BLOCK_K)
        for i0 in range(0, Tq, BLOCK_Q):
            rows = min(BLOCK_Q, Tq - i0)
            queries, grads = q[n, i0:i0 + rows], grad_out[n, i0:i0 + rows]  # (rows, D), (rows, Dv)
            p, ds, dq_block = probs[:rows], dscores[:rows], query_grad[:rows]
            dq[n, i0:i0 + rows] = 0
            k_end = min(Tk, i0 + rows) if causal else Tk
            for block in range((k_end + BLOCK_K - 1) // BLOCK_K):
                j0 = block * BLOCK_K
                np.dot(queries, k_blocks[n, block], p)          # S = (s·q) kᵀ
                np.dot(grads, v_blocks[n, block], ds)           # dP = dO vᵀ
                for i in range(rows):
                    visible = max(_visible(i0 + i, j0, min(BLOCK_K, Tk - j0), causal), 0)
                    p_row, ds_row = p[i, :visible], ds[i, :visible]
                    p_row -= lse[n, i0 + i]
                    exp_inplace(p_row, exp_consts, bits, powers)  # P_ij = e^(S_ij - lse_i)
                    p[i, visible:] = 0
                    for j in range(visible):                     # dS_ij = P_ij (dP_ij - Δ_i)
                        ds_row[j] = p_row[j] * (ds_row[j] - delta[n, i0 + i])
                    ds[i, visible:] = 0
                np.dot(p.T, grads, value_grad)                   # dV += Pᵀ dO
                dv_n[j0:j0 + BLOCK_K] += value_grad
                np.dot(ds.T, queries, key_grad)                  # dK += dSᵀ (s·q)
                dk_n[j0:j0 + BLOCK_K] += key_grad
                np.dot(ds, k[n, j0:j0 + BLOCK_K], dq_block)     # dQ += dS k
                dq[n, i0:i0 + rows] += dq_block
            dq[n, i0:i0 + rows] *= scale


# ----------------------------------------------------------------------------- array functions

def _prepare(arrays, scale, D):
    dtype = np.result_type(*arrays)
    dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays], dtype.type(default_scale(scale, D))


def _padded_keys(a):
    """(N, Tk, D) -> (N, Tk rounded up to whole blocks, D), the new rows zero."""
    blocks = -(-a.shape[1] // BLOCK_K)
    padded = np.zeros((a.shape[0], blocks * BLOCK_K, a.shape[2]), a.dtype)
    padded[:, :a.shape[1]] = a
    return padded


def _key_blocks(padded):
    """(N, blocks·BLOCK_K, D) -> (N, blocks, D, BLOCK_K): each block of keys transposed."""
    N, T, D = padded.shape
    return np.ascontiguousarray(padded.reshape(N, T // BLOCK_K, BLOCK_K, D).transpose(0, 1, 3, 2))


def attention_forward(q, k, v, causal, scale):
    """(out, lse): out (N, Tq, Dv) = softmax(scale · q kᵀ) v, lse (N, Tq) the row log-sum-exp."""
    check_attention_shapes(q, k, v)
    (q, k, v), scale = _prepare((q, k, v), scale, q.shape[2])
    out = np.empty(q.shape[:2] + v.shape[2:], q.dtype)                # (N, Tq, Dv)
    lse = np.empty(q.shape[:2], q.dtype)                              # (N, Tq)
    settings = AttentionSettings(k.shape[1], bool(causal), scale)
    with single_threaded_blas():
        _forward(q * scale, _key_blocks(_padded_keys(k)), _padded_keys(v), out, lse, settings,
                 constants(q.dtype))
    return out, lse


def attention_backward(grad_out, q, k, v, out, lse, causal, scale):
    """(dq, dk, dv) for out = attention_forward(q, k, v, causal, scale)[0]."""
    check_attention_shapes(q, k, v)
    check_attention_gradient(grad_out, q, v, out, lse)
    (grad_out, q, k, v, out, lse), scale = _prepare((grad_out, q, k, v, out, lse), scale,
                                                    q.shape[2])
    delta = np.einsum("nid,nid->ni", grad_out, out)                   # (N, Tq)
    k_padded = _padded_keys(k)                                        # (N, Tk rounded up, D)
    dq = np.empty(q.shape, q.dtype)
    dk, dv = np.empty(k_padded.shape, q.dtype), np.empty(k_padded.shape[:2] + v.shape[2:], q.dtype)
    saved = (q * scale, k_padded, _key_blocks(k_padded), _key_blocks(_padded_keys(v)), lse, delta)
    with single_threaded_blas():
        _backward(grad_out, saved, (dq, dk, dv), AttentionSettings(k.shape[1], bool(causal), scale),
                  constants(q.dtype))
    return dq, np.ascontiguousarray(dk[:, :k.shape[1]]), np.ascontiguousarray(dv[:, :k.shape[1]])
