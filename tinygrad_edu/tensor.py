"""``Tensor``: an n-dimensional array that remembers how it was made.

A Tensor wraps one backend array (``.data``: NumPy on "cpu", CuPy on "cuda") and, if it was
computed from tensors that require gradients, the ``Function`` that made it (``.grad_fn``).
Calling ``loss.backward()`` walks those links backwards and fills ``.grad`` of every leaf tensor
that has ``requires_grad=True`` (see ``backprop.py`` for the walk itself).

This file holds what a tensor *is*: its array, device, gradient and place in the graph. What it
can *do* (``x + y``, ``x.sum()``, ``x.reshape(...)``) is defined by the operations in ``ops/``,
which are built on this class; ``tensor_methods.py`` attaches them as methods once they exist,
so the import order is the straight line backend -> autograd -> tensor -> ops -> tensor_methods.

dtype rules are PyTorch's. Python floats become float32 (the default), and so do NumPy float
scalars such as ``np.float64(1.0)``; Python ints become int64; a NumPy array keeps its dtype, so
float64 arrays stay float64 (gradient checks use that). When two tensors meet, the result has the
higher *category* (bool < integer < floating point) and, within a category, the wider type, except
that a 0-d tensor or a Python number never widens a tensor of its own category
(:func:`promote_types`): int + float32 is float32, float64 + float32 is float64, float32 + 2.5
stays float32. A device is "cpu" or "cuda", and nothing moves between them unless you call
``.to()``.
"""
from __future__ import annotations

import numpy as np

from . import autograd, backend

DEFAULT_DTYPE = np.float32


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}   # bool < integer < floating < complex


def category(dtype) -> int:
    """0 bool, 1 integer, 2 floating point, 3 complex. The floats of the ``ml_dtypes`` package
    (bfloat16, used by ``tg.amp``) are floating point too, though NumPy files them as kind "V"."""
    if dtype.kind == "V" and dtype.name.startswith(("bfloat", "float")):
        return 2
    return _CATEGORY[dtype.kind]


def is_floating(dtype) -> bool:
    """True for the floating-point dtypes (float16/32/64, bfloat16)."""
    return category(dtype) == 2


class Size(tuple):
    """A tensor's shape, as ``x.size()`` returns it: a tuple that also knows its element count."""

    def numel(self) -> int:
        count = 1
        for n in self:
            count *= n
        return count

    def dim(self) -> int:
        return len(self)

    def __repr__(self) -> str:
        return f"tinygrad_edu.Size({list(self)})"


class device(str):
    """A device name, as ``torch.device`` makes one: ``device("cuda:0")`` is "cuda" (this
    engine uses one GPU), with PyTorch's ``.type`` and ``.index``. It is a string, so it can be
    passed wherever a device is expected and compares equal to "cpu" or "cuda"."""

    def __new__(cls, type: str, index: int | None = None):
        name, _, number = str(type).partition(":")
        if name not in backend.DEVICES:
            raise ValueError(f"device: expected one of {backend.DEVICES}, got {type!r}")
        self = super().__new__(cls, name)
        self.index = int(number) if number else index
        return self

    type = property(str)

    def __repr__(self) -> str:
        return f"device(type='{self}')"


def _check_data(data, op: str):
    """Refuse what is not numbers (None, a string, a dict) with a TypeError, as PyTorch does."""
    if data is None or isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"{op}: expected numbers, a nested list of numbers, an array or a Tensor, "
                        f"got {type(data).__name__}")


def _as_array(data, dtype, device):
    """A backend array for ``data`` (a list, scalar, NumPy/CuPy array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    if not backend.is_array(data):
        _check_data(data, "Tensor")
        data = np.asarray(data)
        if data.dtype.kind not in "biufc":
            raise TypeError(f"Tensor: data must be numbers, got values of type "
                            f"{data.dtype} (from {type(data).__name__})")
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
    xp = property(lambda self: backend.array_module(self.device), doc="NumPy or CuPy")
    is_leaf = property(lambda self: self.grad_fn is None)

    def numel(self) -> int:
        return self.data.size

    def size(self, dim: int | None = None):
        """The shape as a :class:`Size` or, given ``dim``, the length of that axis (an int)."""
        if dim is None:
            return Size(self.data.shape)
        if not -max(self.ndim, 1) <= dim < max(self.ndim, 1):
            raise IndexError(f"size: dim {dim} is out of range for a tensor with {self.ndim} "
                             f"dimensions")
        return self.data.shape[dim] if self.ndim else 1

    def dim(self) -> int:
        return self.data.ndim

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

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``; see ``autograd.backward``.
        The graph can be walked once unless ``retain_graph=True`` (default: ``create_graph``)."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # --- mixing in Python numbers and arrays -------------------------------------------------
    def _lift(self, other) -> "Tensor":
        """``other`` as a Tensor on this tensor's device. A Python number is *weak*, as in
        PyTorch: it takes this tensor's dtype when that keeps the number's kind (``x * 2.0``
        stays float32, ``i + 1`` stays an integer, ``mask & True`` stays bool); otherwise it
        gets the default of its kind (``i * 0.5`` is float32, ``mask + 1`` int64)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):   # the common case (x * 2.0): tested first
            kind = category(self.data.dtype)
            if isinstance(other, bool):
                dtype = self.data.dtype
            elif isinstance(other, int):
                dtype = self.data.dtype if kind >= 1 else np.int64
            else:
                dtype = self.data.dtype if kind >= 2 else DEFAULT_DTYPE
            xp = backend.array_module(self.device)
            return Tensor._make(xp.asarray(other, dtype=dtype), self.device)
        if backend.is_array(other):
            return Tensor(other)
        _check_data(other, "operand")
        return Tensor(other, device=self.device)


def promote_dtypes(da, db):
    """The common dtype of two tensors' dtypes, by PyTorch's rules: the higher category wins
    (int64 with float32 is float32, bool with int64 is int64); within one category the wider type
    wins (float64 with float32 is float64)."""
    if da == db:
        return da
    ca, cb = category(da), category(db)
    if ca != cb:
        return da if ca > cb else db
    return np.promote_types(da, db)


def promote_types(a: Tensor, b: Tensor):
    """The dtype of an operation on ``a`` and ``b``: :func:`promote_dtypes`, except that a 0-d
    tensor never widens a dimensioned tensor of its own category (``x + Tensor(2.0)`` keeps x's
    dtype, as in PyTorch)."""
    da, db = a.data.dtype, b.data.dtype
    if da != db and category(da) == category(db):
        if a.data.ndim == 0 and b.data.ndim:
            return db
        if b.data.ndim == 0 and a.data.ndim:
            return da
    return promote_dtypes(da, db)
