"""Sorting along one dimension: sort, argsort, topk.

Sorting only moves values: the sorted tensor is ``gather(x, dim, indices)`` with the indices
of the sorting permutation, so its gradient is the gradient of gather (each value's gradient
goes back to the place it came from) and no new backward rule is needed. The indices are
integers and carry no gradient.

``sort`` and ``topk`` return a named pair ``(values, indices)``, like ``torch.return_types``:
``values, indices = x.sort()`` and ``x.sort().values`` both work. Ties keep their original
order (a stable sort), in both directions.
"""
from __future__ import annotations

from typing import NamedTuple

from ..autograd import ShapeError
from ..tensor import Tensor
from .indexing import gather, normalize_dim


class ValuesIndices(NamedTuple):
    """The (values, indices) pair that sort, topk (and max/min along a dim) return."""

    values: Tensor
    indices: Tensor


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """The indices that sort x along ``dim`` (int64, no gradient). Ties keep their order."""
    dim = normalize_dim(dim, x.ndim, "argsort")
    xp, data = x.xp, x.data
    if x.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=xp.int64), x.device)
    if not descending:
        order = xp.argsort(data, axis=dim, kind="stable")
    else:   # stable descending: sort the reversed line ascending, reverse, map positions back
        size = data.shape[dim]
        reversed_order = xp.argsort(xp.flip(data, axis=dim), axis=dim, kind="stable")
        order = (size - 1) - xp.flip(reversed_order, axis=dim)
    return Tensor._make(order.astype(xp.int64), x.device)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = True) -> ValuesIndices:
    """``torch.sort``: (values, indices) with values = x sorted along ``dim``."""
    indices = argsort(x, dim, descending)
    if x.ndim == 0:
        return ValuesIndices(x, indices)
    return ValuesIndices(gather(x, dim, indices), indices)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> ValuesIndices:
    """``torch.topk``: the k largest (or smallest) elements along ``dim`` and their indices,
    largest first (smallest first when ``largest=False``)."""
    dim = normalize_dim(dim, x.ndim, "topk")
    size = x.shape[dim] if x.ndim else 1
    if not isinstance(k, int) or not 0 <= k <= size:
        raise ShapeError(f"topk: k={k!r} must be an int in [0, {size}] for dimension {dim} of "
                         f"shape {x.shape}")
    indices = argsort(x, dim, descending=largest)
    if x.ndim == 0:
        return ValuesIndices(x, indices)
    indices = indices[(slice(None),) * dim + (slice(0, k),)]
    return ValuesIndices(gather(x, dim, indices), indices)
