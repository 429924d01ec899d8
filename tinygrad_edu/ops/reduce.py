"""Reductions (sum, max, min and what is composed from them) and the softmax family.

``dim`` is None (all dims), an int or a tuple of ints, negative counting from the end;
``keepdim=True`` keeps each reduced dim with length 1, as in PyTorch. (The Tensor methods also
accept NumPy's spellings ``axis=`` and ``keepdims=``, as PyTorch does; the functions here take the
resolved values positionally.)

``max``/``min`` have two meanings, as in PyTorch: over everything (or several dims, ``amax``) they
give the extreme value, and the gradient is split evenly between ties; along one dim they give a
named pair ``(values, indices)``, and the gradient goes to the element the index names.
"""
from __future__ import annotations

import math
from collections import namedtuple

from ..autograd import Function
from ..tensor import Tensor
from .elementwise import where

# The pairs ``x.max(dim)`` and ``x.min(dim)`` return (``torch.return_types.max`` in PyTorch).
max_values_indices = namedtuple("max", ["values", "indices"])
min_values_indices = namedtuple("min", ["values", "indices"])


def _axes(axis, ndim: int) -> tuple:
    """``axis`` as a sorted tuple of distinct non-negative axes. A 0-d tensor accepts axis 0
    or -1 (as in PyTorch) and has nothing to reduce."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(f"dim {a} is out of range for a tensor with {ndim} dimensions "
                             f"(expected a dim in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    if ndim == 0:
        return ()
    axes = tuple(sorted(a % ndim for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"dim {axis} names the same dim twice")
    return axes


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with every reduced axis set to 1 (the keepdims shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """z = Σ a over ``axis``;   dz/da = 1, so the gradient is ``grad`` copied back along the
    reduced axes: reshape it to the keepdims shape, then expand to the input's shape."""

    def forward(self, a, axis, keepdims):
        self.axes = _axes(axis, a.ndim)
        return a.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        (a,) = self.inputs
        return grad.reshape(_kept_shape(a.shape, self.axes)).expand(a.shape)


class Max(Function):
    """z = max a over ``axis``;   dz/da = 1 at the maximum, 0 elsewhere.

    Ties: when several elements share the maximum, the gradient is split evenly between them
    (as ``torch.amax`` does), so the gradient still sums to ``grad`` and no element is favoured.
    """

    reduce_name = "max"
    saves_output = True

    def forward(self, a, axis, keepdims):
        self.axes = _axes(axis, a.ndim)
        if any(a.shape[i] == 0 for i in self.axes) or (a.ndim == 0 and a.size == 0):
            raise IndexError(f"{self.reduce_name}: cannot reduce dims {self.axes} of length 0 "
                             f"(tensor of shape {a.shape}); the extreme of nothing is undefined")
        return getattr(a, self.reduce_name)(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        (a,) = self.inputs
        kept = _kept_shape(a.shape, self.axes)
        winners = (a == self.output.detach().reshape(kept)).astype(grad.dtype)   # (a.shape)
        return grad.reshape(kept) * (winners / winners.sum(axis=self.axes, keepdims=True))


class Min(Max):
    """z = min a over ``axis``;   the mirror image of Max, ties split evenly."""

    reduce_name = "min"


def along(x: Tensor, dim: int, keepdim: bool, largest: bool):
    """``x.max(dim)`` (``largest``) or ``x.min(dim)``: the named pair (values, indices).

    The index is the first extreme along ``dim`` (NaN counts as the extreme, as in PyTorch);
    the values are picked with a one-hot mask, ``Σ where(i == index, x, 0)`` along ``dim``, so the
    gradient goes to the picked element alone and is itself differentiable."""
    pair = max_values_indices if largest else min_values_indices
    if not isinstance(dim, int):
        raise TypeError(f"{pair.__name__}: dim must be one int, got {dim!r} (for the extreme over "
                        f"several dims use a{pair.__name__}, which gives the values only)")
    (d,) = _axes(dim, x.ndim) or (None,)
    if d is None:   # a 0-d tensor: its own extreme, at index 0
        return pair(x, Tensor._make(x.xp.zeros((), dtype="int64"), x.device))
    if x.shape[d] == 0:
        raise IndexError(f"{pair.__name__}: dim {dim} has length 0 (tensor of shape {x.shape}), "
                         f"so it has no extreme element")
    find = x.xp.argmax if largest else x.xp.argmin
    index = find(x.data, axis=d, keepdims=True)                          # (kept shape)
    positions = x.xp.arange(x.shape[d]).reshape((-1,) + (1,) * (x.ndim - d - 1))
    picked = Tensor._make(positions == index, x.device)                  # (x.shape) one-hot
    values = where(picked, x, 0).sum(axis=d, keepdims=keepdim)
    indices = Tensor._make(index if keepdim else index.squeeze(d), x.device)
    return pair(values, indices)


def arg_extreme(x: Tensor, dim, keepdim: bool, largest: bool) -> Tensor:
    """The int64 index of the first maximum (or minimum) along ``dim``; over all elements of the
    flattened tensor for ``dim=None``. No gradient: an index is not differentiable."""
    find = x.xp.argmax if largest else x.xp.argmin
    (d,) = _axes(dim, x.ndim) if dim is not None and x.ndim else (dim,)
    if (d is None and x.numel() == 0) or (d is not None and x.ndim and x.shape[d] == 0):
        raise IndexError(f"arg{'max' if largest else 'min'}: the tensor of shape {x.shape} has "
                         f"no element along dim {dim}, so no extreme element")
    if d is None:
        index = find(x.data.reshape(-1))
        return Tensor._make(index.reshape((1,) * x.ndim) if keepdim else index, x.device)
    if x.ndim == 0:
        return Tensor._make(x.xp.zeros((), dtype="int64"), x.device)
    return Tensor._make(find(x.data, axis=d, keepdims=keepdim), x.device)


def mean(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """Σ x / n, with n the number of elements reduced."""
    count = 1
    for a in _axes(axis, x.ndim):
        count *= x.shape[a]
    return x.sum(axis=axis, keepdims=keepdims) / count


def var(x: Tensor, axis=None, keepdims=False, correction=1) -> Tensor:
    """Σ (x - mean)² / max(n - correction, 0), with n the number of elements reduced.

    ``correction=1`` (the default, as in PyTorch) is Bessel's unbiased estimate; ``correction=0``
    is the population variance (NumPy's default). With no degrees of freedom left the divisor is
    0, so the result is inf (or nan for 0/0), as in PyTorch, never a negative number."""
    count = math.prod(x.shape[a] for a in _axes(axis, x.ndim))
    centered = x - x.mean(axis=axis, keepdims=True)
    return (centered * centered).sum(axis=axis, keepdims=keepdims) / max(count - correction, 0)


def logsumexp(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """log Σ e^x, computed as m + log Σ e^(x - m) with m = max x, so that no e^x overflows.

    m is taken as a constant: the result does not depend on the choice of m, so no gradient
    flows through it. The gradient that remains is softmax(x). An empty sum is 0, so the
    logsumexp of an empty dim is log 0 = -inf (as in PyTorch)."""
    axes = _axes(axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes):
        return x.sum(axis=axes, keepdims=keepdims) - float("inf")
    peak = x.data.max(axis=axes, keepdims=True)
    shift = Tensor._make(x.xp.where(x.xp.isfinite(peak), peak, 0), x.device)   # -inf rows: 0
    out = (x - shift).exp().sum(axis=axes, keepdims=True).log() + shift      # (kept shape)
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))


class Softmax(Function):
    """s = e^a / Σ e^a along ``axis`` (computed from a - max a, so nothing overflows).

    Backward (the Jacobian is diag(s) - s sᵀ):  da = s · (grad - Σ grad · s)."""

    saves_output = True

    def forward(self, a, axis):
        self.axis = _axes(axis, a.ndim)
        if a.size == 0:
            return a.copy()
        exps = self.xp.exp(a - a.max(axis=self.axis, keepdims=True))
        return exps / exps.sum(axis=self.axis, keepdims=True)

    def backward(self, grad):
        s = self.output
        return s * (grad - (grad * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """z = a - logsumexp(a) along ``axis``.

    Backward:  da = grad - softmax(a) · Σ grad,  with softmax(a) = e^z."""

    saves_output = True

    def forward(self, a, axis):
        self.axis = _axes(axis, a.ndim)
        if a.size == 0:
            return a.copy()
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - self.xp.log(self.xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad):
        return grad - self.output.exp() * grad.sum(axis=self.axis, keepdims=True)
