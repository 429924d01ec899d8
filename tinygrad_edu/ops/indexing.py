"""Indexing along one dimension: gather, scatter, scatter_add, index_select, masked_fill, narrow.

``gather`` and ``scatter_add`` are each other's adjoint, and that is the whole story of their
gradients. For an index tensor ``index`` and a dimension d, write p = (i0, ..., id, ...) for a
position in ``index`` and p[d <- index[p]] for the same position with its d-th coordinate
replaced by the index stored there. Then

    gather:        z[p] = a[p[d <- index[p]]]              da = scatter_add(zeros, d, index, grad)
    scatter_add:   z = a;  z[p[d <- index[p]]] += src[p]   da = grad,  dsrc = gather(grad, d, index)

A position of ``a`` picked twice by ``gather`` receives both gradients: scatter-add accumulates,
never assigns. Because each backward is the other operation, both are twice differentiable.

``scatter`` *assigns* instead of adding: z = a, then z[p[d <- index[p]]] = src[p]. The
overwritten elements of a no longer reach the output, so their gradient is 0
(da = scatter(grad, d, index, 0)), and each src element gets the gradient of the place it was
written to (dsrc = gather(grad, d, index)). With repeated indices the survivor is undefined in
PyTorch; here the last write wins (NumPy's assignment order).

``index_select``, ``masked_fill`` and ``narrow`` are composed: ``x[..., index, ...]``,
``where(mask, value, x)`` and a slice, whose gradients the engine already knows.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function, ShapeError
from ..tensor import Tensor
from .elementwise import where
from .movement import pad as pad_widths


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    """``dim`` counted from the front; out of range is an IndexError, as in PyTorch. A 0-d
    tensor accepts dim 0 and -1."""
    size = max(ndim, 1)
    if not isinstance(dim, int) or not -size <= dim < size:
        raise IndexError(f"{op}: dim {dim!r} is out of range for a tensor with {ndim} "
                         f"dimensions (expected an int in [{-size}, {size - 1}])")
    return dim % size


def _positions(xp, index, dim: int) -> tuple:
    """The advanced-indexing tuple that reads a[p[d <- index[p]]] for every position p."""
    grid = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)]) if index.ndim else []
    grid[dim] = index
    return tuple(grid)


def _check_index(op: str, a_shape: tuple, index, dim: int, src_shape=None) -> None:
    """PyTorch's rules: ``index`` is an integer tensor with a's number of dimensions, no longer
    than ``a`` in any dimension but ``dim`` (and no longer than ``src`` in any), and its entries
    lie in [0, a.shape[dim]) (no negative indices, as in PyTorch)."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != len(a_shape):
        raise ShapeError(f"{op}: index has {index.ndim} dimensions but the input has "
                         f"{len(a_shape)} (shapes {index.shape} and {a_shape})")
    for d, (n, m) in enumerate(zip(index.shape, a_shape)):
        if d != dim and n > m or src_shape is not None and n > src_shape[d]:
            raise ShapeError(f"{op}: index of shape {index.shape} is larger than the input "
                             f"{a_shape}" + (f" or src {src_shape}" if src_shape else "")
                             + f" in dimension {d}")
    if index.size and not (0 <= int(index.min()) and int(index.max()) < a_shape[dim]):
        raise IndexError(f"{op}: index values must lie in [0, {a_shape[dim]}) "
                         f"for dimension {dim} of size {a_shape[dim]}, got values from "
                         f"{int(index.min())} to {int(index.max())}")


class Gather(Function):
    """z[p] = a[p[d <- index[p]]]   (z has index's shape);   da = grad scatter-added back."""

    def forward(self, a, dim, index):
        self.dim, self.index = dim, index
        return a[_positions(self.xp, index, dim)]

    def backward(self, grad):
        zeros = Tensor._make(grad.xp.zeros(self.inputs[0].shape, dtype=grad.dtype), grad.device)
        return ScatterAdd.apply(zeros, grad, dim=self.dim, index=self.index)


class ScatterAdd(Function):
    """z = a with src[p] added at p[d <- index[p]];   da = grad,  dsrc = gather(grad, d, index)."""

    def forward(self, a, src, dim, index):
        self.dim, self.index = dim, index
        out = a.copy()
        used = src[tuple(slice(0, n) for n in index.shape)]   # src may be larger than index
        backend.scatter_add(out, _positions(self.xp, index, dim), used)
        return out

    def backward(self, grad):
        a, src = self.inputs
        grad_src = _padded_to(Gather.apply(grad, dim=self.dim, index=self.index), src.shape)
        return grad, (grad_src if src.requires_grad else None)


class Scatter(Function):
    """z = a with src[p] written at p[d <- index[p]] (or ``value`` when src is absent);
    da = grad with the written places zeroed,  dsrc = gather(grad, d, index)."""

    def forward(self, a, *src, dim, index, value=None):
        self.dim, self.index = dim, index
        out = a.copy()
        written = src[0][tuple(slice(0, n) for n in index.shape)] if src else value
        out[_positions(self.xp, index, dim)] = written
        return out

    def backward(self, grad):
        grad_a = Scatter.apply(grad, dim=self.dim, index=self.index, value=0)
        if len(self.inputs) == 1 or not self.inputs[1].requires_grad:
            return (grad_a,) + (None,) * (len(self.inputs) - 1)
        grad_src = _padded_to(Gather.apply(grad, dim=self.dim, index=self.index),
                              self.inputs[1].shape)
        return grad_a, grad_src


def _padded_to(grad: Tensor, shape: tuple) -> Tensor:
    """``grad`` (index's shape) zero-padded to ``shape``: the src elements the index never
    reached got no use and no gradient."""
    if grad.shape == tuple(shape):
        return grad
    return pad_widths(grad, tuple((0, m - n) for n, m in zip(grad.shape, shape)))


def _index_array(x: Tensor, index):
    """``index`` (Tensor, list or array) as an array on x's device."""
    if isinstance(index, Tensor):
        Function.check_devices("index", (x, index))
        return index.data
    return x.xp.asarray(index)


def gather(x: Tensor, dim: int, index) -> Tensor:
    """``torch.gather``: out[p] = x[p with its ``dim`` coordinate replaced by index[p]]."""
    dim = normalize_dim(dim, x.ndim, "gather")
    index = _index_array(x, index)
    _check_index("gather", x.shape, index, dim)
    return Gather.apply(x, dim=dim, index=index)


def scatter_add(x: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """``torch.scatter_add``: a copy of x with src[p] added at x[p with dim <- index[p]]."""
    dim = normalize_dim(dim, x.ndim, "scatter_add")
    index, src = _index_array(x, index), x._lift(src)
    _check_index("scatter_add", x.shape, index, dim, src.shape)
    return ScatterAdd.apply(x, src.astype(x.dtype), dim=dim, index=index)


def scatter(x: Tensor, dim: int, index, src=None, value=None) -> Tensor:
    """``torch.scatter``: a copy of x with src[p] (a tensor) or ``value`` (a number) written at
    x[p with dim <- index[p]]. ``x.scatter(dim, index, 2.0)`` writes the number 2."""
    dim = normalize_dim(dim, x.ndim, "scatter")
    index = _index_array(x, index)
    if isinstance(src, Tensor):
        _check_index("scatter", x.shape, index, dim, src.shape)
        return Scatter.apply(x, src.astype(x.dtype), dim=dim, index=index)
    value = src if value is None else value
    if value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    _check_index("scatter", x.shape, index, dim)
    return Scatter.apply(x, dim=dim, index=index, value=value)


def index_select(x: Tensor, dim: int, index) -> Tensor:
    """``torch.index_select``: the slices x[..., i, ...] along ``dim`` for each i in the 1-D
    ``index``, composed as ``x[:, ..., index]`` (repeated indices add their gradients)."""
    dim = normalize_dim(dim, x.ndim, "index_select")
    index = _index_array(x, index)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ShapeError(f"index_select: index must be a 1-D integer tensor, got shape "
                         f"{index.shape} and dtype {index.dtype}")
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(())
    return x[(slice(None),) * dim + (index.reshape(-1),)]


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask`` is True, x elsewhere (mask broadcasts to x's shape); composed as
    ``where(mask, value, x)``, so the filled places get no gradient."""
    mask = _index_array(x, mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a boolean tensor, got dtype {mask.dtype}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    out = where(mask, value.astype(x.dtype) if isinstance(value, Tensor) else value, x)
    if out.shape != x.shape:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return out


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``torch.narrow``: ``length`` elements along ``dim`` from ``start`` (negative counts from
    the end), a slice that shares the gradient path of ``x[..., start:start + length]``."""
    dim = normalize_dim(dim, x.ndim, "narrow")
    size = x.shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dimension {dim} of size "
                         f"{size}")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {dim} of "
                         f"size {size}")
    return x[(slice(None),) * dim + (slice(start, start + length),)]
