"""Scaled dot-product attention, the reference: a few Tensor operations.

Each query asks "which keys look like me?" and returns the matching mix of values. For queries
q (..., Tq, D), keys k (..., Tk, D) and values v (..., Tk, Dv):

    scores  = q kᵀ · scale                     (..., Tq, Tk),  scale = 1/√D by default
    weights = softmax(scores) along the keys    each row sums to 1
    out     = weights v                         (..., Tq, Dv)

The 1/√D keeps the scores' variance near 1 when q and k have unit-variance entries, so the
softmax does not saturate as D grows. The leading axes ``...`` (batch, heads) broadcast.

**Masks** decide which keys a query may see. A blocked score is set to -inf before the softmax,
so its weight is exactly e^-inf = 0:

- ``mask`` is boolean with True = *keep* (PyTorch's ``F.scaled_dot_product_attention``
  convention), broadcastable to (..., Tq, Tk); a floating-point ``mask`` is *added* to the
  scores instead (0 keeps, -inf blocks, anything else biases);
- ``causal=True`` lets query i see keys j <= i only (a lower-triangular mask aligned at the top
  left, as in PyTorch, also when Tq != Tk): a language model cannot peek at the future.

A query row that may see no key at all has no softmax to speak of (0/0); like PyTorch, its
output is 0, and no NaN reaches the gradients.

``dropout_p`` > 0 zeroes each attention weight with that probability and scales the rest by
1/(1 - p) (training only; the caller passes 0 in evaluation). A fused kernel that never forms
the weights cannot drop them, so a dispatcher sends such calls here.

**Backward** needs no rule of its own: matmul, multiplication, ``where`` and softmax each bring
theirs, so the gradient is the chain of theirs, and it is itself differentiable (the function
passes gradgradcheck). Its cost is the (..., Tq, Tk) score matrix held in memory, which is what
the fused kernel in ``tinygrad_edu.kernels`` avoids; it is checked against this function.
"""
from __future__ import annotations

import math

from .. import backend
from ..autograd import ShapeError
from ..tensor import Tensor
from .elementwise import where


def _check_shapes(q: Tensor, k: Tensor, v: Tensor) -> None:
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(f"scaled_dot_product_attention: q, k, v need shape (..., T, D), got "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"scaled_dot_product_attention: queries {q.shape} and keys {k.shape} "
                         f"need the same last dimension D")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: keys {k.shape} and values {v.shape} "
                         f"need the same number of positions Tk")


def _keep_mask(xp, mask, causal: bool, tq: int, tk: int):
    """The boolean "may attend" array (True = keep), or None when everything is kept, and the
    float mask to add to the scores, or None."""
    keep = xp.tril(xp.ones((tq, tk), dtype=bool)) if causal else None      # (Tq, Tk)
    additive = None
    if mask is not None:
        mask = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
        if mask.dtype == bool:
            keep = mask if keep is None else keep & mask
        else:
            additive = mask
    return keep, additive


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask=None, causal: bool = False,
                                 scale: float | None = None, dropout_p: float = 0.0) -> Tensor:
    """softmax(q kᵀ · scale + masking) v:  q (..., Tq, D), k (..., Tk, D), v (..., Tk, Dv)
    -> (..., Tq, Dv). ``mask``: boolean, True = keep (or float, added to the scores),
    broadcastable to (..., Tq, Tk); ``causal``: query i sees keys j <= i; ``scale``: 1/√D by
    default; ``dropout_p``: dropout on the attention weights."""
    _check_shapes(q, k, v)
    if not 0 <= dropout_p < 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), "
                         f"got {dropout_p}")
    tq, tk = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.mT) * scale                                              # (..., Tq, Tk)
    keep, additive = _keep_mask(q.xp, mask, causal, tq, tk)
    if additive is not None:
        scores = scores + Tensor._make(additive.astype(scores.dtype), scores.device)
    if keep is None:
        weights = scores.softmax(axis=-1)                                    # (..., Tq, Tk)
    else:
        sees_a_key = keep.any(axis=-1, keepdims=True)                        # (..., Tq, 1)
        # blocked scores get -inf added (one addition, whose backward is free, where ``where``
        # would cost two selections); a row that sees nothing keeps its finite scores, so its
        # softmax is not 0/0 ...
        blocked = q.xp.where(keep | ~sees_a_key, 0, -math.inf).astype(scores.dtype)
        weights = (scores + Tensor._make(blocked, scores.device)).softmax(axis=-1)
        if not bool(sees_a_key.all()):
            weights = where(sees_a_key, weights, 0.0)   # ... and is then replaced by zeros
    if dropout_p > 0:
        uniform = backend.generator(q.device).random(weights.shape, dtype=weights.dtype)
        scaled_keep = (uniform >= dropout_p).astype(weights.dtype) / (1 - dropout_p)  # 0, 1/(1-p)
        weights = weights * Tensor._make(scaled_keep, q.device)
    return weights @ v                                                       # (..., Tq, Dv)
