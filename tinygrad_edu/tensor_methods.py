"""Tensor's operator methods, attached to the class in one place: the last step of the core.

``tensor.py`` defines what a tensor is; the operations in ``ops/`` are built on it. The methods
that call those operations (``x + y``, ``x.sum()``, ``x.reshape(2, 3)``) are written here, after
both, and copied onto ``Tensor`` by :func:`attach` (DeZero's ``setup_variable`` does the same).
That keeps the import graph a straight line with no module importing one that imports it back:

    backend -> autograd -> tensor -> ops/ -> tensor_methods

Each method is one line that hands the work to a ``Function`` (or a composed function) in
``ops/``, where the forward and backward math of each operation sit side by side.

Arguments are PyTorch's (``dim``, ``keepdim``, ``start_dim``...); NumPy's spellings ``axis=``
and ``keepdims=`` are accepted as aliases wherever PyTorch accepts them (:func:`_dim`).
"""
from __future__ import annotations

import numpy as np

from . import autograd, backend
from .ops import elementwise, matmul, movement, reduce
from .ops import arrange, indexing, logical, norm, scan, sorting, unary
from .autograd import sum_to
from .tensor import DEFAULT_DTYPE, Tensor, category, is_floating, promote_types


def _dim(dim, axis, keepdim=False, keepdims=None, op="reduce"):
    """``(dim, keepdim)`` from PyTorch's names or NumPy's aliases ``axis`` / ``keepdims``."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: got both dim={dim} and its alias axis={axis}")
        dim = axis
    return dim, keepdim if keepdims is None else keepdims


def _softmax_dim(dim, axis) -> int:
    """The dim of softmax/log_softmax: ``dim`` or its alias ``axis``; None means the last dim."""
    dim = dim if axis is None else axis
    return -1 if dim is None else dim


def _float(x: Tensor) -> Tensor:
    """``x``, or an integer/bool ``x`` as float32: what PyTorch computes exp, log, sqrt... in."""
    return x if category(x.data.dtype) >= 2 else x.astype(DEFAULT_DTYPE)


def _operands(x: Tensor, other) -> tuple[Tensor, Tensor]:
    """``x`` and ``other`` (lifted to a Tensor) in their common dtype (``promote_types``)."""
    other = x._lift(other)
    if x.data.dtype == other.data.dtype:   # the common case, checked first: it costs nothing
        return x, other
    return elementwise.promoted(x, other)


def _dtype(dtype):
    """A NumPy dtype from a dtype object, a type or a name ("float32", "long", "torch.float")."""
    if isinstance(dtype, str):
        dtype = _DTYPE_NAMES.get(dtype.removeprefix("torch.").removeprefix("tinygrad_edu."), dtype)
    return np.dtype(dtype)


_DTYPE_NAMES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                "int": "int32", "short": "int16", "bool": "bool", "FloatTensor": "float32",
                "DoubleTensor": "float64", "LongTensor": "int64", "IntTensor": "int32",
                "HalfTensor": "float16", "BoolTensor": "bool", "ByteTensor": "uint8"}
_TYPE_NAMES = {np.dtype(v): k for k, v in _DTYPE_NAMES.items() if k.endswith("Tensor")}


def _refuse_in_place(x: Tensor, op: str, *others) -> None:
    """In-place changes are for tensors outside the graph (as in PyTorch, a leaf that requires
    grad may be changed only under ``no_grad``, as optimizers and initializers do)."""
    if not autograd.is_grad_enabled():
        return
    if x.requires_grad and x.grad_fn is None:
        raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place "
                           f"(its gradient would be wrong); do it under `with no_grad():`")
    if x.grad_fn is not None or any(isinstance(o, Tensor) and o.requires_grad for o in others):
        raise RuntimeError(f"{op}: in-place operations on tensors in the graph are not supported "
                           f"here; write the out-of-place form (x = x + y) instead")


class TensorMethods:
    """The methods :func:`attach` copies onto ``Tensor`` (never instantiated itself)."""

    T = property(lambda self: self.permute(*reversed(range(self.ndim))), doc="all axes reversed")
    mT = property(lambda self: self.transpose(-2, -1), doc="the last two axes swapped")

    # --- changing device or dtype ---------------------------------------------------------
    def to(self, *args, dtype=None, device=None, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``, as in
        PyTorch; itself when nothing changes. Gradients flow back across devices and float
        dtypes. (``non_blocking`` and ``copy`` are accepted and have no effect here.)"""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in backend.DEVICES:
                device = arg
            elif arg is not None:
                dtype = arg
        out = self
        if device is not None and device.split(":")[0] != self.device:
            out = movement.ToDevice.apply(out, device=device.split(":")[0])
        return out if dtype is None else out.astype(dtype)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def astype(self, dtype) -> "Tensor":
        """A copy with another dtype. Between float dtypes the gradient is cast back on the way
        back; a cast to an integer or bool type carries no gradient (as in PyTorch)."""
        dtype = _dtype(dtype)
        if dtype == self.dtype:
            return self
        if category(dtype) < 2:
            return Tensor._make(self.data.astype(dtype), self.device)
        return elementwise.Cast.apply(self, dtype=dtype)

    def type(self, dtype=None):
        """Without an argument, the type's name ("tinygrad_edu.FloatTensor"); else ``astype``."""
        if dtype is None:
            return f"tinygrad_edu.{_TYPE_NAMES.get(self.dtype, str(self.dtype))}"
        return self.astype(dtype)

    def float(self): return self.astype(np.float32)
    def double(self): return self.astype(np.float64)
    def half(self): return self.astype(np.float16)
    def long(self): return self.astype(np.int64)
    def int(self): return self.astype(np.int32)
    def bool(self): return self.astype(np.bool_)
    def is_floating_point(self): return is_floating(self.dtype)

    # --- arithmetic (ops/elementwise.py), in PyTorch's promoted dtype --------------------------
    def __add__(self, other): return elementwise.Add.apply(*_operands(self, other))
    def __radd__(self, other): return elementwise.Add.apply(*_operands(self, other)[::-1])
    def __sub__(self, other): return elementwise.Sub.apply(*_operands(self, other))
    def __rsub__(self, other): return elementwise.Sub.apply(*_operands(self, other)[::-1])
    def __mul__(self, other): return elementwise.Mul.apply(*_operands(self, other))
    def __rmul__(self, other): return elementwise.Mul.apply(*_operands(self, other)[::-1])
    def __neg__(self): return elementwise.Neg.apply(self)
    def __matmul__(self, other): return matmul.matmul(self, self._lift(other))
    def __rmatmul__(self, other): return matmul.matmul(self._lift(other), self)

    def __truediv__(self, other):
        """True division: integers are divided as float32 (``Tensor([1, 2]) / 2`` is 0.5, 1.0)."""
        a, b = _operands(self, other)
        return elementwise.Div.apply(_float(a), _float(b))

    def __rtruediv__(self, other):
        a, b = _operands(self, other)
        return elementwise.Div.apply(_float(b), _float(a))

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or backend.is_array(exponent):
            return elementwise.Pow.apply(*_operands(self, exponent))
        base = _float(self) if isinstance(exponent, float) else self   # int ** 0.5 is float32
        return elementwise.PowScalar.apply(base, exponent=exponent)

    def __rpow__(self, base): return elementwise.Pow.apply(*_operands(self, base)[::-1])

    def __floordiv__(self, other):
        """⌊a / b⌋, rounded down as in Python and PyTorch; no gradient (piecewise constant)."""
        return elementwise.compare("floor_divide", *_operands(self, other))

    def __rfloordiv__(self, other):
        return elementwise.compare("floor_divide", *_operands(self, other)[::-1])

    def __mod__(self, other):
        """a - b·⌊a / b⌋, with the sign of b (Python's and PyTorch's remainder). For floats the
        floor is a constant, so d/da = 1 and d/db = -⌊a / b⌋, as in PyTorch."""
        a, b = _operands(self, other)
        if category(a.dtype) < 2:
            return elementwise.compare("remainder", a, b)
        return a - b * elementwise.compare("floor", (a / b).detach())

    def __rmod__(self, other): return self._lift(other).__mod__(self)

    def add(self, other, alpha=1): return self + (other if alpha == 1 else other * alpha)
    def sub(self, other, alpha=1): return self - (other if alpha == 1 else other * alpha)
    def mul(self, other): return self * other
    def div(self, other, rounding_mode=None):
        """``self / other``; ``rounding_mode="floor"`` is ``//``, ``"trunc"`` rounds toward 0."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            return elementwise.compare("trunc", (self / other).detach()).astype(
                promote_types(*_operands(self, other)))
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', "
                         f"got {rounding_mode!r}")
    def pow(self, exponent): return self ** exponent
    def neg(self): return -self
    def matmul(self, other): return self @ other

    def exp(self): return elementwise.Exp.apply(_float(self))
    def log(self): return elementwise.Log.apply(_float(self))
    def sqrt(self): return elementwise.Sqrt.apply(_float(self))
    def tanh(self): return elementwise.Tanh.apply(_float(self))
    def sigmoid(self): return elementwise.Sigmoid.apply(_float(self))
    def relu(self): return elementwise.ReLU.apply(self)
    def abs(self): return elementwise.Abs.apply(self)

    def clip(self, min=None, max=None):
        """Values limited to [min, max]; at least one bound must be given (as in PyTorch)."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        return elementwise.Clip.apply(self, low=min, high=max)
    clamp = clip
    def sign(self): return unary.sign(self)

    # comparisons give boolean tensors and no gradient
    def __eq__(self, other): return elementwise.compare("equal", self, self._lift(other))
    def __ne__(self, other): return elementwise.compare("not_equal", self, self._lift(other))
    def __lt__(self, other): return elementwise.compare("less", self, self._lift(other))
    def __le__(self, other): return elementwise.compare("less_equal", self, self._lift(other))
    def __gt__(self, other): return elementwise.compare("greater", self, self._lift(other))
    def __ge__(self, other): return elementwise.compare("greater_equal", self, self._lift(other))
    __hash__ = object.__hash__   # defining __eq__ would otherwise make tensors unhashable

    # bitwise on integers, logical on bool (as in PyTorch); no gradient
    def _bitwise(self, other, name):
        a, b = _operands(self, other)
        if a.dtype.kind not in "biu":
            raise TypeError(f"{name}: needs integer or bool tensors, got dtype {a.dtype}")
        return elementwise.compare(name, a, b)

    def __and__(self, other): return self._bitwise(other, "bitwise_and")
    def __or__(self, other): return self._bitwise(other, "bitwise_or")
    def __xor__(self, other): return self._bitwise(other, "bitwise_xor")
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise_not): needs an integer or bool tensor, got {self.dtype}")
        return elementwise.compare("invert", self)

    # --- reductions (ops/reduce.py) ----------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "sum")
        x = self if dtype is None else self.astype(dtype)
        if x.dtype.kind == "b":   # counting: bool sums are int64, as in PyTorch
            x = x.astype(np.int64)
        return reduce.Sum.apply(x, axis=dim, keepdims=keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "mean")
        return reduce.mean(_float(self if dtype is None else self.astype(dtype)), dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        """Σ (x - mean)² / (n - correction); unbiased (correction=1) by default, as in PyTorch.
        ``unbiased=False`` is ``correction=0``; ``x.var(False)`` reads as unbiased=False too."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "var")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        elif unbiased is not None:
            raise TypeError("var: give unbiased= or correction=, not both")
        return reduce.var(_float(self), dim, keepdim, correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        """√var, with ``var``'s arguments (unbiased by default)."""
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims).sqrt()

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "logsumexp")
        return reduce.logsumexp(_float(self), dim, keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Without ``dim``: the largest element. With ``dim``: the named pair (values, indices)
        along it, as PyTorch (``_, predicted = logits.max(1)`` gives class indices). Given a
        tensor, the elementwise maximum."""
        if isinstance(dim, Tensor):
            return elementwise.maximum(self, dim)
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "max")
        if dim is None:
            return reduce.Max.apply(self, axis=None, keepdims=keepdim)
        return reduce.along(self, dim, keepdim, largest=True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The mirror image of :meth:`max`."""
        if isinstance(dim, Tensor):
            return elementwise.minimum(self, dim)
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "min")
        if dim is None:
            return reduce.Min.apply(self, axis=None, keepdims=keepdim)
        return reduce.along(self, dim, keepdim, largest=False)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest value over ``dim`` (one or several dims); ties share the gradient."""
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "amax")
        return reduce.Max.apply(self, axis=dim, keepdims=keepdim)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "amin")
        return reduce.Min.apply(self, axis=dim, keepdims=keepdim)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "argmax")
        return reduce.arg_extreme(self, dim, keepdim, largest=True)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _dim(dim, axis, keepdim, keepdims, "argmin")
        return reduce.arg_extreme(self, dim, keepdim, largest=False)

    def softmax(self, dim=-1, dtype=None, *, axis=None):
        """e^x / Σ e^x along ``dim`` (the last dim when None; see ops/reduce.py::Softmax)."""
        dim = _softmax_dim(dim, axis)
        x = _float(self if dtype is None else self.astype(dtype))
        return reduce.Softmax.apply(x, axis=dim)

    def log_softmax(self, dim=-1, dtype=None, *, axis=None):
        dim = _softmax_dim(dim, axis)
        x = _float(self if dtype is None else self.astype(dtype))
        return reduce.LogSoftmax.apply(x, axis=dim)

    # --- movement and indexing (ops/movement.py) ---------------------------------------------
    def reshape(self, *shape): return movement.reshape(self, shape)
    view = reshape
    def view_as(self, other): return self.reshape(other.shape)
    reshape_as = view_as
    def contiguous(self): return self   # every array here is usable as it is
    def clone(self): return movement.Copy.apply(self)
    def permute(self, *dims): return movement.permute(self, dims)

    def transpose(self, dim0, dim1):
        """Swap two dims (PyTorch's meaning; ``permute`` reorders all of them)."""
        return movement.transpose(self, dim0, dim1)

    def t(self):
        """The transpose of a matrix (a tensor of at most 2 dims), as ``torch.t``."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dims, got shape {self.shape}")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def flatten(self, start_dim=0, end_dim=-1): return movement.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None, *, axis=None):
        return movement.squeeze(self, _dim(dim, axis, op="squeeze")[0])

    def unsqueeze(self, dim): return movement.unsqueeze(self, dim)
    def expand(self, *shape): return movement.expand(self, shape)
    def expand_as(self, other): return self.expand(other.shape)
    def pad(self, pad_width, value=0.0): return movement.pad(self, pad_width, value)
    def tril(self, diagonal=0): return movement.triangle(self, diagonal, lower=True)
    def triu(self, diagonal=0): return movement.triangle(self, diagonal, lower=False)
    def __getitem__(self, index): return movement.getitem(self, index)

    # --- in place, outside the graph (see _refuse_in_place) -----------------------------------
    def _assign(self, value, op: str) -> "Tensor":
        """Write ``value``'s elements into this tensor's own array and return the tensor."""
        value = value.data if isinstance(value, Tensor) else value
        if category(np.dtype(getattr(value, "dtype", self.dtype))) >= 2 > category(self.dtype):
            raise RuntimeError(f"{op}: a float result cannot be stored in place into a tensor "
                               f"of dtype {self.dtype}")
        self.data[...] = value
        return self

    def add_(self, other, alpha=1):
        _refuse_in_place(self, "add_", other)
        return self._assign(self.add(other, alpha=alpha), "add_")

    def sub_(self, other, alpha=1):
        _refuse_in_place(self, "sub_", other)
        return self._assign(self.sub(other, alpha=alpha), "sub_")

    def mul_(self, other):
        _refuse_in_place(self, "mul_", other)
        return self._assign(self * other, "mul_")

    def div_(self, other):
        _refuse_in_place(self, "div_", other)
        return self._assign(self / other, "div_")

    def zero_(self):
        _refuse_in_place(self, "zero_")
        return self._assign(0, "zero_")

    def fill_(self, value):
        _refuse_in_place(self, "fill_", value)
        return self._assign(value, "fill_")

    def copy_(self, source):
        """Copy ``source``'s values (broadcast to this shape, moved to this device) in place."""
        _refuse_in_place(self, "copy_", source)
        source = source if isinstance(source, Tensor) else Tensor(source)
        return self._assign(backend.to_device(source.data, self.device).astype(self.dtype),
                            "copy_")

    def __setitem__(self, index, value):
        """``x[index] = value`` on a tensor outside the graph (as the in-place methods)."""
        _refuse_in_place(self, "setitem", value)
        value = value.data if isinstance(value, Tensor) else value
        self.data[movement._index_on(index, self)] = value

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
