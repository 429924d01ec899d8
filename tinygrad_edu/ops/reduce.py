"""Reductions (sum, max, min and what is composed from them) and the softmax family.

``axis`` is None (all axes), an int or a tuple of ints, negative counting from the end;
``keepdims=True`` keeps each reduced axis with length 1, as in NumPy.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor


def _axes(axis, ndim: int) -> tuple:
    """``axis`` as a sorted tuple of distinct non-negative axes. A 0-d tensor accepts axis 0
    or -1 (as in PyTorch) and has nothing to reduce."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    if ndim == 0:
        return ()
    axes = tuple(sorted(a % ndim for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis} names the same axis twice")
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
        if a.size == 0:
            raise ValueError(f"{self.reduce_name} of an empty tensor of shape {a.shape}")
        return getattr(a, self.reduce_name)(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        (a,) = self.inputs
        kept = _kept_shape(a.shape, self.axes)
        winners = (a == self.output.detach().reshape(kept)).astype(grad.dtype)   # (a.shape)
        return grad.reshape(kept) * (winners / winners.sum(axis=self.axes, keepdims=True))


class Min(Max):
    """z = min a over ``axis``;   the mirror image of Max, ties split evenly."""

    reduce_name = "min"


def mean(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """Σ x / n, with n the number of elements reduced."""
    count = 1
    for a in _axes(axis, x.ndim):
        count *= x.shape[a]
    return x.sum(axis=axis, keepdims=keepdims) / count


def var(x: Tensor, axis=None, keepdims=False, ddof=0) -> Tensor:
    """Σ (x - mean)² / (n - ddof). ``ddof=0`` (NumPy's default) is the population variance;
    ``ddof=1`` is the unbiased estimate (``torch.var``'s default)."""
    count = 1
    for a in _axes(axis, x.ndim):
        count *= x.shape[a]
    centered = x - x.mean(axis=axis, keepdims=True)
    return (centered * centered).sum(axis=axis, keepdims=keepdims) / (count - ddof)


def logsumexp(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """log Σ e^x, computed as m + log Σ e^(x - m) with m = max x, so that no e^x overflows.

    m is taken as a constant: the result does not depend on the choice of m, so no gradient
    flows through it. The gradient that remains is softmax(x)."""
    axes = _axes(axis, x.ndim)
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
        shifted = a - a.max(axis=self.axis, keepdims=True)
        return shifted - self.xp.log(self.xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad):
        return grad - self.output.exp() * grad.sum(axis=self.axis, keepdims=True)
