"""LayerNorm with its scale and shift, forward and backward, one pass over each row (Numba).

For a row x of n numbers (LayerNorm normalizes each row of the last axes on its own), with
weight w, bias b and g = dL/dy:

    forward    μ = mean(x),  σ = √(mean((x - μ)²) + ε),  x̂ = (x - μ)/σ,  y = x̂ · w + b
    backward   ĝ = g · w,  dL/dx = (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂)) / σ
               dL/dw = Σ_rows g · x̂,  dL/db = Σ_rows g

(derived in ``ops/normalization.py``, whose ``Normalize`` is the reference). The reference
makes seven passes over the (rows, n) array forward and eleven backward, each a separate
NumPy operation with its own temporary; here a row is read two or three times while it sits
in the first-level cache, and the rows are spread over all cores.

**What is kept for backward:** μ and 1/σ per row, two numbers, instead of x̂, a whole array:
backward recomputes x̂ from x (which the graph keeps anyway) in the same order of operations,
so it is the same x̂ to the last bit.

**Sums in parallel.** dL/dw and dL/db add up over all rows. Each parallel job owns a block of
rows and its own partial sums, one row of ``partial`` per job, so no two threads write the same
number; NumPy adds the partials at the end. Sums along a row are allowed to be reassociated
(``fastmath={"reassoc"}``), which lets LLVM vectorize them; nothing else of fast math is on, so
NaN and infinity propagate as in NumPy.

**One core below a million numbers.** Both loops are compiled twice, for all cores and for
one. In a training step LayerNorm mostly runs right after a matrix product, when OpenBLAS's
idle worker still spins on the second core (``blas_threads``) and Numba's worker is asleep
and has to be woken. Timed that way on a 2-core Xeon, one core was faster: the forward pass of
a (1024, 128) array took 68 us against 124, the backward 113 against 136; the forward stayed
faster up to 2 million numbers, the backward up to about half a million. So arrays below
``PARALLEL_FROM`` numbers run on one core. In a whole W3 step (18 LayerNorms of that size)
the difference is within the noise: 55.3-56.3 ms either way, in two runs of 128 steps each.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .common import choose_version, serial_and_parallel

JIT = dict(cache=True, error_model="numpy", fastmath={"reassoc"})
PARALLEL_FROM = 1 << 20   # numbers in x; below, one core (see above)


def _constants(dtype, n, eps) -> np.ndarray:
    """[0, 1, 1/n, ε] in ``dtype``, so that float32 math stays float32 (Numba widens float32
    combined with a Python number to float64)."""
    return np.array([0, 1, 1 / n, eps], dtype)


def _forward(x, weight, bias, consts, y, mean, inv_std):
    """y = x̂ · w + b for every row of x (rows, n); μ and 1/σ of each row into mean, inv_std."""
    rows, n = x.shape
    zero, one, inv_n, eps = consts[0], consts[1], consts[2], consts[3]
    for r in prange(rows):
        row = x[r]
        mu = row.sum() * inv_n
        squares = zero
        for j in range(n):
            squares += (row[j] - mu) * (row[j] - mu)
        scale = one / np.sqrt(squares * inv_n + eps)
        for j in range(n):
            y[r, j] = (row[j] - mu) * scale * weight[j] + bias[j]
        mean[r], inv_std[r] = mu, scale


def _backward(g, x, weight, mean, inv_std, consts, grad_x, partial_w, partial_b):
    """dL/dx into grad_x; the sums of g · x̂ and g over each job's rows into its partial row."""
    rows, n = x.shape
    zero, inv_n = consts[0], consts[2]
    jobs = partial_w.shape[0]
    per_job = (rows + jobs - 1) // jobs
    for job in prange(jobs):
        sum_w, sum_b = partial_w[job], partial_b[job]
        sum_w[:] = 0
        sum_b[:] = 0
        for r in range(job * per_job, min(rows, (job + 1) * per_job)):
            mu, scale = mean[r], inv_std[r]
            mean_g, mean_gx = zero, zero
            for j in range(n):
                x_hat = (x[r, j] - mu) * scale
                sum_w[j] += g[r, j] * x_hat
                sum_b[j] += g[r, j]
                mean_g += g[r, j] * weight[j]
                mean_gx += g[r, j] * weight[j] * x_hat
            mean_g, mean_gx = mean_g * inv_n, mean_gx * inv_n
            for j in range(n):
                x_hat = (x[r, j] - mu) * scale
                grad_x[r, j] = (g[r, j] * weight[j] - mean_g - x_hat * mean_gx) * scale


_FORWARD, _BACKWARD = (serial_and_parallel(loop, **JIT) for loop in (_forward, _backward))


def _rows(a, n):
    return np.ascontiguousarray(a).reshape(-1, n)


def layer_norm_forward(x, weight, bias, eps, parallel=None):
    """(y, (μ, 1/σ)): y = x̂ · w + b over the last ``weight.ndim`` axes of a float32/64 array x,
    and what ``layer_norm_backward`` needs of this forward pass. ``parallel``: on all cores
    (True) or one (False); None chooses by size (``PARALLEL_FROM``)."""
    n = weight.size
    rows = _rows(x, n)                                              # (rows, n)
    y = np.empty(rows.shape, x.dtype)
    mean, inv_std = np.empty(rows.shape[0], x.dtype), np.empty(rows.shape[0], x.dtype)
    forward = choose_version(_FORWARD, rows.size, PARALLEL_FROM, parallel)
    forward(rows, weight.reshape(-1), bias.reshape(-1), _constants(x.dtype, n, eps), y, mean,
            inv_std)
    return y.reshape(x.shape), (mean, inv_std)


def layer_norm_backward(g, x, weight, saved, parallel=None):
    """(dL/dx, dL/dw, dL/db) from g = dL/dy and the ``saved`` pair of ``layer_norm_forward``;
    ``parallel`` as there."""
    n = weight.size
    rows = _rows(x, n)
    grad_x = np.empty(rows.shape, x.dtype)
    jobs = max(1, min(rows.shape[0], 4 * numba.get_num_threads()))  # a few blocks per thread
    partial_w, partial_b = np.empty((jobs, n), x.dtype), np.empty((jobs, n), x.dtype)
    backward = choose_version(_BACKWARD, rows.size, PARALLEL_FROM, parallel)
    backward(_rows(g, n).astype(x.dtype, copy=False), rows, weight.reshape(-1), *saved,
             _constants(x.dtype, n, 0), grad_x, partial_w, partial_b)
    return (grad_x.reshape(x.shape), partial_w.sum(axis=0).reshape(weight.shape),
            partial_b.sum(axis=0).reshape(weight.shape))
