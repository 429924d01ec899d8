"""``Tensor``: an n-dimensional array that remembers how it was made.

A Tensor wraps one backend array (``.data``: NumPy on "cpu", CuPy on "cuda") and, if it was
computed from tensors that require gradients, the ``Function`` that made it (``.grad_fn``).
Calling ``loss.backward()`` walks those links backwards and fills ``.grad`` of every leaf tensor
that has ``requires_grad=True`` (see ``autograd.py`` for the walk itself).

This file holds the class and its operator methods. Each method is one line that hands the work
to a ``Function`` in ``ops/``, where the forward and backward math of each operation sit side
by side.

dtype rules: Python floats become float32 (the default, as in PyTorch), and so do NumPy float
scalars such as ``np.float64(1.0)``; a NumPy array keeps its dtype, so float64 arrays stay
float64 (gradient checks use that). Python scalars mixed into an operation take the tensor's
dtype. A device is "cpu" or "cuda", and nothing moves between them unless you call ``.to()``.
"""
from __future__ import annotations

import numpy as np

from . import backend

DEFAULT_DTYPE = np.float32


def _as_array(data, dtype, device):
    """A backend array for ``data`` (a list, scalar, NumPy/CuPy array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    if not backend.is_array(data):
        data = np.asarray(data)
        if dtype is None and data.dtype.kind == "f":
            dtype = DEFAULT_DTYPE
    device = device or backend.device_of(data)
    data = backend.to_device(data, device)
    if dtype is not None and data.dtype != np.dtype(dtype):
        data = data.astype(dtype)
    return data, device


class Tensor:
    """An array with reverse-mode automatic differentiation.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    Tensor([[2., 4.]])
    """

    __slots__ = ("data", "device", "grad", "requires_grad", "grad_fn", "__weakref__")
    __array_priority__ = 1000   # `ndarray + Tensor` calls Tensor.__radd__, not NumPy's add

    def __init__(self, data, requires_grad: bool = False, dtype=None, device: str | None = None):
        self.data, self.device = _as_array(data, dtype, device)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, device: str, requires_grad: bool = False) -> "Tensor":
        """Wrap an array already on ``device`` without any checks (the fast path for ops)."""
        out = object.__new__(Tensor)
        out.data, out.device, out.grad, out.grad_fn = data, device, None, None
        out.requires_grad = requires_grad
        return out

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    # --- what it is --------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    xp = property(lambda self: backend.array_module(self.device), doc="NumPy or CuPy")
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))), doc="all axes reversed")
    mT = property(lambda self: self.transpose(-2, -1), doc="the last two axes swapped")

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(backend.asnumpy(self.data), separator=", ", prefix="Tensor(")
        extras = [f"device='{self.device}'"] if self.device != "cpu" else []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={type(self.grad_fn).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({body}{''.join(', ' + e for e in extras)})"

    # --- leaving the graph, changing device or dtype ------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (copied off the GPU if needed)."""
        return backend.asnumpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares the array; no gradient flows back)."""
        return Tensor._make(self.data, self.device)

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

    def backward(self, gradient=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``; see ``autograd.backward``."""
        autograd.backward(self, gradient, create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # --- arithmetic (ops/elementwise.py) -----------------------------------------------------
    def _lift(self, other) -> "Tensor":
        """``other`` as a Tensor on this tensor's device. A Python number takes this tensor's
        dtype when that keeps the number's kind (``x * 2.0`` stays float32, ``i + 1`` stays an
        integer); otherwise NumPy's rules decide (``mask + 1`` counts in int64 instead of
        computing a logical or, ``i * 0.5`` is float64)."""
        if isinstance(other, Tensor):
            return other
        if backend.is_array(other):
            return Tensor(other)
        kind = self.data.dtype.kind
        keeps_kind = kind == "f" or (kind in "iu" and isinstance(other, int))
        dtype = self.data.dtype if keeps_kind else None
        return Tensor._make(self.xp.asarray(other, dtype=dtype), self.device)

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
    def sign(self): return elementwise.compare("sign", self)

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


# The operations are built on Tensor, so they are imported after it is defined.
from . import autograd  # noqa: E402
from .ops import elementwise, matmul, movement, reduce  # noqa: E402
