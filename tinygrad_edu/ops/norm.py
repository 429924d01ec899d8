"""Vector norms, and the two functions built on them: normalize and cosine_similarity.

    ‖x‖_p = (Σ |x_i|^p)^(1/p)        ‖x‖_2 = √(Σ x_i²)      ‖x‖_∞ = max |x_i|      ‖x‖_1 = Σ |x_i|

All are composed from reductions and elementwise operations, so their gradients come from the
engine; for p = 2, d‖x‖/dx = x / ‖x‖. At x = 0 that is 0/0: like PyTorch we return the
subgradient 0 there (the square root is only taken where the sum of squares is positive).
"""
from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import Tensor
from . import reduce
from .elementwise import maximum, where
from .indexing import normalize_dim


def _dims(x: Tensor, dim, op: str):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(normalize_dim(d, x.ndim, op) for d in dims) if x.ndim else None


def _safe_sqrt(squares: Tensor) -> Tensor:
    """√s with gradient 0 (not 1/0) where s = 0."""
    positive = squares.data > 0
    return where(positive, where(positive, squares, 1.0).sqrt(), 0.0)


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """``torch.norm``: the p-norm of all of x, or of each line along ``dim``; ``p`` is a number,
    ``"fro"`` (the 2-norm of all elements), ``inf`` or ``-inf``."""
    dims = _dims(x, dim, "norm")
    if p in ("fro", 2, 2.0):
        return _safe_sqrt((x * x).sum(dims, keepdim))
    if p == math.inf:
        return reduce.Max.apply(x.abs(), axis=dims, keepdims=keepdim)
    if p == -math.inf:
        return reduce.Min.apply(x.abs(), axis=dims, keepdims=keepdim)
    if p == 0:
        nonzero = Tensor._make((x.data != 0).astype(x.dtype), x.device)
        return nonzero.sum(dims, keepdim)
    if p == 1:
        return x.abs().sum(dims, keepdim)
    if not isinstance(p, (int, float)) or p < 0:
        raise ValueError(f"norm: p must be 'fro', a number >= 0, inf or -inf, got {p!r}")
    return (x.abs() ** p).sum(dims, keepdim) ** (1.0 / p)


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``F.normalize``: x / max(‖x‖_p, eps) along ``dim``, so each line has norm 1."""
    return x / maximum(norm(x, p, dim, keepdim=True), eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``F.cosine_similarity``: x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along ``dim``
    (x1 and x2 broadcast against each other)."""
    if x1.ndim != x2.ndim and min(x1.ndim, x2.ndim) == 0:
        raise ShapeError(f"cosine_similarity: inputs of shapes {x1.shape} and {x2.shape}")
    n1 = maximum(norm(x1, 2, dim), eps)
    n2 = maximum(norm(x2, 2, dim), eps)
    return (x1 * x2).sum(normalize_dim(dim, max(x1.ndim, x2.ndim), "cosine_similarity")) / (n1 * n2)
