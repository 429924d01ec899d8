"""One Adam (or AdamW) step for one parameter as a single parallel loop (Numba).

The reference (``optim/adam.py``) updates a parameter with about a dozen NumPy operations, each a
pass over an array of the parameter's size, on one core:

    p <- p · (1 - lr·λ)                 (AdamW: decoupled weight decay)
    g <- g + λ p                        (Adam: L2 weight decay)
    m <- β1 m + (1 - β1) g
    v <- β2 v + (1 - β2) g²
    p <- p - lr/(1 - β1^t) · m / (√v / √(1 - β2^t) + ε)

Here each weight is read and written once, in the same order of operations and in the
parameter's dtype (the constants are rounded to it first, as NumPy does when it combines a
Python number with a float32 array), so the result is the reference's to the last bit; for
large parameters the loop runs on all cores. The reference keeps the cases this kernel leaves out: ``amsgrad``,
``maximize``, and parameters that are not one contiguous float32/float64 array.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


PARALLEL_FROM = 32768   # weights; below, waking the other threads costs more than it saves


def _step(p, g, m, v, consts):
    """The update above for flat p, g, m, v; ``consts`` from ``adam_step``."""
    shrink, decay, beta1, keep1, beta2, keep2 = consts[0], consts[1], consts[2], consts[3], \
        consts[4], consts[5]
    root, eps, step_size = consts[6], consts[7], consts[8]
    for i in prange(p.shape[0]):
        weight = p[i] * shrink
        grad = g[i] + decay * weight if decay != 0 else g[i]
        m[i] = m[i] * beta1 + keep1 * grad
        v[i] = v[i] * beta2 + keep2 * (grad * grad)
        p[i] = weight - m[i] / (np.sqrt(v[i]) / root + eps) * step_size


# one loop, compiled twice: on all cores, and on one for small parameters (biases, LayerNorm)
_step_parallel = njit(parallel=True, cache=True, error_model="numpy")(_step)
_step_serial = njit(cache=True, error_model="numpy")(_step)


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay,
              decoupled):
    """One step on arrays, in place: ``param``, ``exp_avg`` (m) and ``exp_avg_sq`` (v) are
    updated for gradient ``grad`` at step t = ``step`` (counted from 1)."""
    beta1, beta2 = betas
    shrink, decay = (1 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
    consts = np.array([shrink, decay, beta1, 1 - beta1, beta2, 1 - beta2,
                       math.sqrt(1 - beta2 ** step), eps, lr / (1 - beta1 ** step)], param.dtype)
    step_kernel = _step_parallel if param.size >= PARALLEL_FROM else _step_serial
    step_kernel(param.reshape(-1), np.ascontiguousarray(grad, param.dtype).reshape(-1),
                exp_avg.reshape(-1), exp_avg_sq.reshape(-1), consts)
