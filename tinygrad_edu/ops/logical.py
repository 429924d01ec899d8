"""Questions about values, answered with booleans: isnan, isinf, isfinite, any, all.

A boolean result has no gradient (its derivative is 0 almost everywhere and a boolean tensor
cannot require grad), so these work on the arrays directly and return tensors outside the graph.
"""
from __future__ import annotations

from ..tensor import Tensor
from .indexing import normalize_dim


def _boolean(x: Tensor, data) -> Tensor:
    return Tensor._make(x.xp.asarray(data, dtype=bool), x.device)


def isnan(x: Tensor) -> Tensor:
    return _boolean(x, x.xp.isnan(x.data))


def isinf(x: Tensor) -> Tensor:
    return _boolean(x, x.xp.isinf(x.data))


def isfinite(x: Tensor) -> Tensor:
    return _boolean(x, x.xp.isfinite(x.data))


def _reduce_bool(name: str, x: Tensor, dim, keepdim: bool) -> Tensor:
    if dim is None:
        return _boolean(x, getattr(x.data, name)())
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(normalize_dim(d, x.ndim, name) for d in dims) if x.ndim else None
    return _boolean(x, getattr(x.data, name)(axis=axes, keepdims=keepdim))


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where any element (along ``dim``, or of all of x) is nonzero."""
    return _reduce_bool("any", x, dim, keepdim)


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (along ``dim``, or of all of x) is nonzero."""
    return _reduce_bool("all", x, dim, keepdim)
