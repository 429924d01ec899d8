"""Tensor's operator methods, attached to the class in one place: the last step of the core.

``tensor.py`` defines what a tensor is; the operations in ``ops/`` are built on it. The methods
that call those operations (``x + y``, ``x.sum()``, ``x.reshape(2, 3)``) are written here, after
both, and copied onto ``Tensor`` by :func:`attach` (DeZero's ``setup_variable`` does the same).
That keeps the import graph a straight line with no module importing one that imports it back:

    backend -> autograd -> tensor -> ops/ -> tensor_methods

Each method is one line that hands the work to a ``Function`` (or a composed function) in
``ops/``, where the forward and backward math of each operation sit side by side.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .ops import elementwise, matmul, movement, reduce
from .ops import arrange, indexing, logical, norm, scan, sorting, unary
from .autograd import sum_to
from .tensor import Tensor


class TensorMethods:
    """The methods :func:`attach` copies onto ``Tensor`` (never instantiated itself)."""

    T = property(lambda self: self.permute(*reversed(range(self.ndim))), doc="all axes reversed")
    mT = property(lambda self: self.transpose(-2, -1), doc="the last two axes swapped")

    # --- changing device or dtype ---------------------------------------------------------
    def to(self, device: str) -> "Tensor":
        """This tensor on ``device`` (itself if already there). Gradients flow back across."""
        return self if device == self.device else movement.ToDevice.apply(self, device=device)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def astype(self, dtype) -> "Tensor":
        """A copy with another dtype; the gradient is cast back on the way back."""
        if np.dtype(dtype) == self.dtype:
            return self
        return elementwise.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    # --- arithmetic (ops/elementwise.py) -----------------------------------------------------
    def __add__(self, other): return elementwise.Add.apply(self, self._lift(other))
    def __radd__(self, other): return elementwise.Add.apply(self._lift(other), self)
    def __sub__(self, other): return elementwise.Sub.apply(self, self._lift(other))
    def __rsub__(self, other): return elementwise.Sub.apply(self._lift(other), self)
    def __mul__(self, other): return elementwise.Mul.apply(self, self._lift(other))
    def __rmul__(self, other): return elementwise.Mul.apply(self._lift(other), self)
    def __truediv__(self, other): return elementwise.Div.apply(self, self._lift(other))
    def __rtruediv__(self, other): return elementwise.Div.apply(self._lift(other), self)
    def __neg__(self): return elementwise.Neg.apply(self)
    def __matmul__(self, other): return matmul.matmul(self, self._lift(other))
    def __rmatmul__(self, other): return matmul.matmul(self._lift(other), self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or backend.is_array(exponent):
            return elementwise.Pow.apply(self, self._lift(exponent))
        return elementwise.PowScalar.apply(self, exponent=exponent)

    def __rpow__(self, base): return elementwise.Pow.apply(self._lift(base), self)

    def exp(self): return elementwise.Exp.apply(self)
    def log(self): return elementwise.Log.apply(self)
    def sqrt(self): return elementwise.Sqrt.apply(self)
    def tanh(self): return elementwise.Tanh.apply(self)
    def sigmoid(self): return elementwise.Sigmoid.apply(self)
    def relu(self): return elementwise.ReLU.apply(self)
    def abs(self): return elementwise.Abs.apply(self)
    def clip(self, min=None, max=None): return elementwise.Clip.apply(self, low=min, high=max)
    clamp = clip
    def sign(self): return unary.sign(self)

    # comparisons give boolean tensors and no gradient
    def __eq__(self, other): return elementwise.compare("equal", self, self._lift(other))
    def __ne__(self, other): return elementwise.compare("not_equal", self, self._lift(other))
    def __lt__(self, other): return elementwise.compare("less", self, self._lift(other))
    def __le__(self, other): return elementwise.compare("less_equal", self, self._lift(other))
    def __gt__(self, other): return elementwise.compare("greater", self, self._lift(other))
    def __ge__(self, other): return elementwise.compare("greater_equal", self, self._lift(other))
    def __invert__(self): return elementwise.compare("logical_not", self)
    __hash__ = object.__hash__   # defining __eq__ would otherwise make tensors unhashable

    # --- reductions (ops/reduce.py) ----------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return reduce.Sum.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return reduce.Max.apply(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return reduce.Min.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return reduce.mean(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return reduce.var(self, axis, keepdims, ddof)
    def logsumexp(self, axis=None, keepdims=False): return reduce.logsumexp(self, axis, keepdims)
    def softmax(self, axis=-1): return reduce.Softmax.apply(self, axis=axis)
    def log_softmax(self, axis=-1): return reduce.LogSoftmax.apply(self, axis=axis)
    def argmax(self, axis=None): return Tensor._make(self.data.argmax(axis=axis), self.device)
    def argmin(self, axis=None): return Tensor._make(self.data.argmin(axis=axis), self.device)

    # --- movement and indexing (ops/movement.py) ---------------------------------------------
    def reshape(self, *shape): return movement.reshape(self, shape)
    view = reshape
    def permute(self, *axes): return movement.permute(self, axes)
    def transpose(self, *axes): return movement.transpose(self, axes)
    def flatten(self, start_axis=0, end_axis=-1): return movement.flatten(self, start_axis, end_axis)
    def squeeze(self, axis=None): return movement.squeeze(self, axis)
    def unsqueeze(self, axis): return movement.unsqueeze(self, axis)
    def expand(self, *shape): return movement.expand(self, shape)
    def pad(self, pad_width, value=0.0): return movement.pad(self, pad_width, value)
    def __getitem__(self, index): return movement.getitem(self, index)

    # --- added operations (ops/arrange.py, indexing.py, scan.py, sorting.py, logical.py,
    # norm.py, unary.py): PyTorch's names and arguments
    def repeat(self, *sizes): return arrange.repeat(self, *sizes)
    def flip(self, *dims): return arrange.flip(self, *dims)
    def roll(self, shifts, dims=None): return arrange.roll(self, shifts, dims)
    def split(self, split_size, dim=0): return arrange.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return arrange.chunk(self, chunks, dim)
    def unbind(self, dim=0): return arrange.unbind(self, dim)
    def unfold(self, dimension, size, step): return arrange.unfold(self, dimension, size, step)
    def broadcast_to(self, *shape): return self.expand(*shape)
    def sum_to_size(self, *size): return sum_to(self, arrange.size_args(size), "sum_to_size")
    def narrow(self, dim, start, length): return indexing.narrow(self, dim, start, length)
    def gather(self, dim, index): return indexing.gather(self, dim, index)
    def scatter(self, dim, index, src=None, value=None):
        return indexing.scatter(self, dim, index, src, value)
    def scatter_add(self, dim, index, src): return indexing.scatter_add(self, dim, index, src)
    def index_select(self, dim, index): return indexing.index_select(self, dim, index)
    def masked_fill(self, mask, value): return indexing.masked_fill(self, mask, value)
    def cumsum(self, dim): return scan.cumsum(self, dim)
    def cumprod(self, dim): return scan.cumprod(self, dim)
    def prod(self, dim=None, keepdim=False): return scan.prod(self, dim, keepdim)
    def sort(self, dim=-1, descending=False, stable=True):
        return sorting.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=True):
        return sorting.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True):
        return sorting.topk(self, k, dim, largest, sorted)
    def any(self, dim=None, keepdim=False): return logical.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return logical.all(self, dim, keepdim)
    def isnan(self): return logical.isnan(self)
    def isinf(self): return logical.isinf(self)
    def isfinite(self): return logical.isfinite(self)
    def norm(self, p="fro", dim=None, keepdim=False): return norm.norm(self, p, dim, keepdim)
    def floor(self): return unary.floor(self)
    def ceil(self): return unary.ceil(self)
    def round(self): return unary.round(self)
    def trunc(self): return unary.trunc(self)
    def sin(self): return unary.sin(self)
    def cos(self): return unary.cos(self)
    def tan(self): return unary.tan(self)
    def asin(self): return unary.asin(self)
    def acos(self): return unary.acos(self)
    def atan(self): return unary.atan(self)
    def sinh(self): return unary.sinh(self)
    def cosh(self): return unary.cosh(self)
    def log2(self): return unary.log2(self)
    def log10(self): return unary.log10(self)
    def log1p(self): return unary.log1p(self)
    def exp2(self): return unary.exp2(self)
    def expm1(self): return unary.expm1(self)
    def rsqrt(self): return unary.rsqrt(self)
    def erf(self): return unary.erf(self)


def attach(cls=Tensor) -> None:
    """Copy every method and property of :class:`TensorMethods` onto ``cls``."""
    for name, value in vars(TensorMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(cls, name, value)


attach()
