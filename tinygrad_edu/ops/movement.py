"""Movement and indexing: operations that move values around without computing new ones.

Each backward puts the gradient back where the value came from: reshape undoes a reshape,
a permutation is undone by the inverse permutation, a slice's gradient is scattered back into
zeros (adding, when an integer-array index picks the same element twice), concatenation is
undone by slicing.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function, ShapeError, is_grad_enabled, sum_to
from ..tensor import Tensor, promote_dtypes
from .elementwise import where


def _shape_arg(shape: tuple) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _axis(axis: int, ndim: int, op: str) -> int:
    """``axis`` counted from the front (-1 is the last of ``ndim`` axes); out of range: an
    IndexError, as PyTorch raises."""
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: dim {axis} is out of range for {ndim} dimensions "
                         f"(expected a dim in [{-ndim}, {ndim - 1}])")
    return axis % ndim


class Reshape(Function):
    """z = a with a new shape (same elements in the same order);   da = grad reshaped back."""

    def forward(self, a, shape):
        return a.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.inputs[0].shape)


class Copy(Function):
    """z = a copy of a in a new array;   da = grad (``clone``: the same values, not shared)."""

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return grad


class Permute(Function):
    """z = a with its axes reordered;   da = grad with the inverse order."""

    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, grad):
        return grad.permute(*np.argsort(self.axes).tolist())


class Expand(Function):
    """z = a broadcast to a larger shape (no copy);   da = grad summed back to a's shape."""

    def forward(self, a, shape):
        return self.xp.broadcast_to(a, shape)

    def backward(self, grad):
        return sum_to(grad, self.inputs[0].shape, "Expand.backward")


class Pad(Function):
    """z = a surrounded by ``value``, with ``pad_width`` one (before, after) pair per axis;
    da = the middle of grad, where a's elements sit."""

    def forward(self, a, pad_width, value):
        self.pad_width = pad_width
        return self.xp.pad(a, pad_width, constant_values=value)

    def backward(self, grad):
        return grad[tuple(slice(before, n - after) for (before, after), n
                          in zip(self.pad_width, grad.shape))]


class GetItem(Function):
    """z = a[index];   da = zeros of a's shape with grad added at ``index`` (see IndexAdd)."""

    def forward(self, a, index):
        self.index = index
        return a[index]

    def backward(self, grad):
        return IndexAdd.apply(grad, shape=self.inputs[0].shape, index=self.index)

    def add_gradient_into(self, total, grad):
        """total[index] += grad in place, each repeated pick counted (see IndexAdd)."""
        _add_at(total, self.index, grad)


class IndexAdd(Function):
    """z = zeros(shape) with g added at ``index``: the gradient of ``a[index]``.

    With an integer-array index the same element can be picked twice (``a[[0, 0]]``); each pick
    contributes to its gradient, so values are *added* with scatter-add, never assigned.
    Backward:  dg = grad[index]."""

    def forward(self, g, shape, index):
        self.index = index
        out = self.xp.zeros(shape, dtype=g.dtype)
        _add_at(out, index, g)
        return out

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index)


def _add_at(target, index, values) -> None:
    """target[index] += values, in place."""
    if _is_advanced(index):
        backend.scatter_add(target, index, values)
    else:   # basic slicing never picks an element twice: a plain add is enough
        target[index] += values


class Cat(Function):
    """z = the inputs joined along ``axis``;   each input's gradient is its slice of grad."""

    def forward(self, *arrays, axis):
        self.axis = axis
        return self.xp.concatenate(arrays, axis=axis)

    def backward(self, grad):
        grads, start = [], 0
        for tensor in self.inputs:
            index = [slice(None)] * grad.ndim
            index[self.axis] = slice(start, start + tensor.shape[self.axis])
            grads.append(grad[tuple(index)])
            start += tensor.shape[self.axis]
        return tuple(grads)


class ToDevice(Function):
    """z = a copied to another device;   da = grad copied back to a's device.

    The one operation whose output lives on another device than its input, so it builds its
    output itself instead of going through ``Function.apply``."""

    def backward(self, grad):
        return grad.to(self.inputs[0].device)

    @classmethod
    def apply(cls, a: Tensor, device: str) -> Tensor:
        requires_grad = a.requires_grad and is_grad_enabled()
        out = Tensor._make(backend.to_device(a.data, device), device, requires_grad)
        if requires_grad:
            fn = cls()
            fn.inputs = (a,)
            out.grad_fn = fn
        return out


# ----------------------------------------------------------------------------- Tensor methods

def reshape(x: Tensor, shape: tuple) -> Tensor:
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    try:
        return Reshape.apply(x, shape=shape)
    except ShapeError:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.numel()} elements) into shape {shape}") from None


def permute(x: Tensor, axes: tuple) -> Tensor:
    axes = tuple(_axis(a, x.ndim, "permute") for a in _shape_arg(axes))
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of {x.shape}")
    return x if axes == tuple(range(x.ndim)) else Permute.apply(x, axes=axes)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap dims ``dim0`` and ``dim1`` (as in PyTorch); a 0-d or 1-d tensor accepts 0 and -1."""
    ndim = max(x.ndim, 1)
    i, j = _axis(dim0, ndim, "transpose"), _axis(dim1, ndim, "transpose")
    if x.ndim < 2:
        return x
    order = list(range(x.ndim))
    order[i], order[j] = order[j], order[i]
    return permute(x, tuple(order))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` .. ``end_dim`` (inclusive) into one."""
    if x.ndim == 0:
        _axis(start_dim, 1, "flatten"), _axis(end_dim, 1, "flatten")
        return x.reshape(1)
    start, end = _axis(start_dim, x.ndim, "flatten"), _axis(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"(tensor of shape {x.shape})")
    merged = math.prod(x.shape[start:end + 1])   # not -1: that is ambiguous for empty tensors
    return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop dims of length 1 (all of them, or the ones named; a named dim longer than 1 stays,
    as in PyTorch). Naming one dim twice is an error."""
    named = (dim,) if isinstance(dim, int) else dim
    dims = range(x.ndim) if dim is None else [_axis(d, max(x.ndim, 1), "squeeze") for d in named]
    if len(set(dims)) != len(dims):
        raise ValueError(f"squeeze: dim {dim} names the same dim twice")
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a dim of length 1 at position ``dim`` (negative counts from the end)."""
    dim = _axis(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


def triangle(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    """``tril`` (``lower``) or ``triu``: the last two dims' lower or upper triangle, from
    ``diagonal`` (0 the main one, positive above it), zeros elsewhere. It is ``where`` with a
    constant mask, so the gradient passes inside the triangle and is 0 outside."""
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: needs at least 2 dims, got {x.shape}")
    rows, cols = x.shape[-2:]
    offset = x.xp.arange(cols)[None, :] - x.xp.arange(rows)[:, None]   # (rows, cols) j - i
    keep = offset <= diagonal if lower else offset >= diagonal
    zero = Tensor._make(x.xp.zeros((), dtype=x.dtype), x.device)   # keeps x's dtype, bool too
    return where(Tensor._make(keep, x.device), x, zero)


def expand(x: Tensor, shape: tuple) -> Tensor:
    """Broadcast to ``shape`` without copying; -1 keeps an axis's length (as in PyTorch)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if -1 in shape[:max(lead, 0)]:
        raise ShapeError(f"expand: -1 in {shape} stands for an axis that {x.shape} does not have")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return x if shape == x.shape else Expand.apply(x, shape=shape)


def pad(x: Tensor, pad_width, value=0.0) -> Tensor:
    """Surround ``x`` with ``value``. ``pad_width`` is read as in ``np.pad``: one (before, after)
    pair per axis, or a single pair or a single number that every axis uses."""
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    except ValueError:
        raise ShapeError(f"pad: pad_width {pad_width} does not fit a tensor of shape {x.shape}; "
                         f"give one (before, after) pair per axis") from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0, got {pad_width}")
    return Pad.apply(x, pad_width=tuple(map(tuple, widths.tolist())), value=value)


def _is_advanced(index) -> bool:
    """True if ``index`` contains an array or list: NumPy's advanced (copying) indexing."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(backend.is_array(p) or isinstance(p, list) for p in parts)


def _index_on(index, x: Tensor):
    """``index`` with Tensors and lists replaced by integer/boolean arrays on x's device."""
    if isinstance(index, tuple):
        return tuple(_index_on(part, x) for part in index)
    if isinstance(index, Tensor):
        Function.check_devices("getitem", (x, index))
        return index.data
    if isinstance(index, list) and not index:   # x[[]]: no rows, as in PyTorch
        return x.xp.zeros(0, dtype=np.int64)
    if isinstance(index, list) or backend.is_array(index):
        return x.xp.asarray(index)
    return index


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: slices, integers, None, Ellipsis, and integer or boolean arrays."""
    try:
        return GetItem.apply(x, index=_index_on(index, x))
    except IndexError as error:
        raise IndexError(f"getitem: {error} (tensor of shape {x.shape})") from None


def cat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (all other lengths must agree); ``axis`` is an alias.
    The tensors meet in their promoted dtype, as in any binary operation."""
    tensors = _promoted_all(tensors, "cat")
    if tensors[0].ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors have no dim to join along; use stack")
    dim = dim if axis is None else axis
    return Cat.apply(*tensors, axis=_axis(dim, tensors[0].ndim, "cat"))


def stack(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim; ``axis`` is an alias."""
    tensors = _promoted_all(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    dim = _axis(dim if axis is None else axis, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def _promoted_all(tensors, op: str) -> list:
    """A non-empty list of Tensors, all in their common (promoted) dtype."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    if any(not isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{op}: expected tensors, got "
                        f"{[type(t).__name__ for t in tensors if not isinstance(t, Tensor)][0]}")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = promote_dtypes(dtype, t.dtype)
    return [t.astype(dtype) for t in tensors]
