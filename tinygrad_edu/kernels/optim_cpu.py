"""An optimizer's step for one parameter as a single loop (Numba): SGD with momentum, Adam, AdamW.

The references (``optim/sgd.py``, ``optim/adam.py``) update a parameter with NumPy operations,
each a pass over an array of the parameter's size, on one core: three to five for SGD with
momentum, about a dozen for Adam. Here each weight is read and written once:

    SGD      g <- g + λ p                        (weight decay λ)
             b <- μ b + (1 - τ) g                (momentum μ, dampening τ)
             p <- p - lr · (g + μ b)  with Nesterov momentum,  p - lr · b  without

    Adam     p <- p · (1 - lr·λ)                 (AdamW: decoupled weight decay)
             g <- g + λ p                        (Adam: L2 weight decay)
             m <- β1 m + (1 - β1) g
             v <- β2 v + (1 - β2) g²
             p <- p - lr/(1 - β1^t) · m / (√v / √(1 - β2^t) + ε)

in the references' order of operations and in the parameter's dtype (the constants are rounded
to it first, as NumPy does when it combines a Python number with a float32 array), so the
results are the references' to the last bit. Each loop is compiled twice, for all cores and for
one: a small parameter (a bias) is done before the other threads would have woken up.

The references keep what these loops leave out: ``maximize``, Adam's ``amsgrad``, SGD's first
step (which creates the momentum buffer) and SGD without momentum (one array operation
already), and parameters that are not one contiguous float32/float64 array.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .common import choose_version, serial_and_parallel

PARALLEL_FROM = 32768   # weights; below, waking the other threads costs more than it saves


def _sgd(p, g, b, consts, nesterov):
    """The SGD update above for flat p, g and the momentum buffer b."""
    decay, momentum, keep, lr = consts[0], consts[1], consts[2], consts[3]
    for i in prange(p.shape[0]):
        grad = g[i] + decay * p[i] if decay != 0 else g[i]
        b[i] = b[i] * momentum + (grad if keep == 1 else keep * grad)
        p[i] = p[i] - lr * (grad + momentum * b[i] if nesterov else b[i])


def _adam(p, g, m, v, consts):
    """The Adam update above for flat p, g, m, v."""
    shrink, decay, beta1, keep1, beta2, keep2 = consts[0], consts[1], consts[2], consts[3], \
        consts[4], consts[5]
    root, eps, step_size = consts[6], consts[7], consts[8]
    for i in prange(p.shape[0]):
        weight = p[i] * shrink
        grad = g[i] + decay * weight if decay != 0 else g[i]
        m[i] = m[i] * beta1 + keep1 * grad
        v[i] = v[i] * beta2 + keep2 * (grad * grad)
        p[i] = weight - m[i] / (np.sqrt(v[i]) / root + eps) * step_size


_SGD, _ADAM = (serial_and_parallel(loop, cache=True, error_model="numpy")
               for loop in (_sgd, _adam))


def _flat(param, grad):
    """The parameter (contiguous: a view) and its gradient as flat arrays of its dtype."""
    return param.reshape(-1), np.ascontiguousarray(grad, param.dtype).reshape(-1)


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov):
    """One SGD step with an existing momentum buffer, on arrays, in place (``param`` and
    ``momentum_buffer``)."""
    consts = np.array([weight_decay, momentum, 1 - dampening, lr], param.dtype)
    sgd = choose_version(_SGD, param.size, PARALLEL_FROM)
    sgd(*_flat(param, grad), momentum_buffer.reshape(-1), consts, bool(nesterov))


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay,
              decoupled):
    """One step on arrays, in place: ``param``, ``exp_avg`` (m) and ``exp_avg_sq`` (v) are
    updated for gradient ``grad`` at step t = ``step`` (counted from 1)."""
    beta1, beta2 = betas
    shrink, decay = (1 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
    consts = np.array([shrink, decay, beta1, 1 - beta1, beta2, 1 - beta2,
                       math.sqrt(1 - beta2 ** step), eps, lr / (1 - beta1 ** step)], param.dtype)
    adam = choose_version(_ADAM, param.size, PARALLEL_FROM)
    adam(*_flat(param, grad), exp_avg.reshape(-1), exp_avg_sq.reshape(-1), consts)
