"""``Tensor``: an n-dimensional array that remembers how it was made.

A Tensor wraps one backend array (``.data``: NumPy on "cpu", CuPy on "cuda") and, if it was
computed from tensors that require gradients, the ``Function`` that made it (``.grad_fn``).
Calling ``loss.backward()`` walks those links backwards and fills ``.grad`` of every leaf tensor
that has ``requires_grad=True`` (see ``autograd.py`` for the walk itself).

This file holds what a tensor *is*: its array, device, gradient and place in the graph. What it
can *do* (``x + y``, ``x.sum()``, ``x.reshape(...)``) is defined by the operations in ``ops/``,
which are built on this class; ``tensor_methods.py`` attaches them as methods once they exist,
so the import order is the straight line backend -> autograd -> tensor -> ops -> tensor_methods.

dtype rules: Python floats become float32 (the default, as in PyTorch), and so do NumPy float
scalars such as ``np.float64(1.0)``; a NumPy array keeps its dtype, so float64 arrays stay
float64 (gradient checks use that). Python scalars mixed into an operation take the tensor's
dtype. A device is "cpu" or "cuda", and nothing moves between them unless you call ``.to()``.
"""
from __future__ import annotations

import numpy as np

from . import autograd, backend

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

    def backward(self, gradient=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``; see ``autograd.backward``."""
        autograd.backward(self, gradient, create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # --- mixing in Python numbers and arrays -------------------------------------------------
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
