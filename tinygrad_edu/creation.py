"""Making tensors: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``, ``ones``, ``full``,
``empty``, ``arange``, ``linspace``, ``eye``, ``rand``, ``randn``, ``randint``, ``randperm`` and
the ``*_like`` forms.

Every factory takes ``dtype`` (float32 by default, or inferred from the values as PyTorch does:
``full((2,), 4)`` is int64, ``arange(3)`` int64), ``device`` ("cpu" by default) and
``requires_grad``. Shapes are given as ``zeros(2, 3)`` or ``zeros((2, 3))`` (or ``size=``).
Random factories draw from the device's generator, which ``manual_seed`` resets, so a seeded
program gives the same numbers every run on a given device.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import DEFAULT_DTYPE, Tensor


def _shape(shape: tuple, size=None) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(size=(2, 3))`` all mean the shape (2, 3)."""
    if size is not None:
        shape = (size,)
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise TypeError(f"shape: expected non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _device(device) -> str:
    """A device name ("cpu", "cuda"); ``tg.device("cuda:0")`` and plain strings are accepted."""
    return "cpu" if device is None else str(device).split(":")[0]


def _wrap(data, device: str, requires_grad: bool) -> Tensor:
    return Tensor._make(data, device).requires_grad_(requires_grad)


def _float_dtype(dtype, op: str):
    """``dtype`` if it is a floating-point type (the only kind a random sampler draws)."""
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{op}: random samples need a floating-point dtype, got {np.dtype(dtype)}")
    return dtype


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (as ``torch.tensor``): Python floats become
    float32, ints int64, bools bool; a NumPy array keeps its dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype,
                  device=None if device is None else _device(device))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing its memory when the dtype and device already match."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor(data, dtype=dtype, device=None if device is None else _device(device))


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor that shares ``array``'s memory and keeps its dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(array, "cpu")


def manual_seed(seed: int) -> None:
    """Seed every backend's random generator."""
    backend.manual_seed(seed)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = _device(device)
    data = backend.array_module(device).zeros(_shape(shape, size), dtype or DEFAULT_DTYPE)
    return _wrap(data, device, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = _device(device)
    data = backend.array_module(device).ones(_shape(shape, size), dtype or DEFAULT_DTYPE)
    return _wrap(data, device, requires_grad)


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor whose values are not meant to be read before being written. PyTorch leaves them
    uninitialised; here they are zeros, which is one of the values such a tensor may hold."""
    return zeros(*shape, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``size`` filled with ``fill_value``; the dtype follows the value, as in PyTorch
    (an int gives int64, a bool bool, a float float32)."""
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else DEFAULT_DTYPE)
    device = _device(device)
    data = backend.array_module(device).full(_shape((size,)), fill_value, dtype)
    return _wrap(data, device, requires_grad)


def rand(*shape, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples from [0, 1)."""
    device = _device(device)
    data = backend.generator(device).random(_shape(shape, size),
                                            dtype=_float_dtype(dtype or DEFAULT_DTYPE, "rand"))
    return _wrap(data, device, requires_grad)


def randn(*shape, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Samples from the standard normal distribution N(0, 1)."""
    device = _device(device)
    data = backend.generator(device).standard_normal(
        _shape(shape, size), dtype=_float_dtype(dtype or DEFAULT_DTYPE, "randn"))
    return _wrap(data, device, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)`` as in PyTorch; int64 unless ``dtype`` says otherwise."""
    if size is None:   # randint(high, size): the second positional argument is the size
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: the size argument is required, e.g. randint(0, 10, (3,))")
    if high <= low:
        raise ValueError(f"randint: high must be above low, got low={low}, high={high}")
    device = _device(device)
    data = backend.generator(device).integers(low, high, _shape((size,)))
    return _wrap(data.astype(dtype or np.int64), device, requires_grad)


def randperm(n: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    device = _device(device)
    data = backend.generator(device).permutation(n).astype(dtype or np.int64)
    return _wrap(data, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)`` is 0..n-1). Integer arguments
    give int64, as in PyTorch; any float argument gives float32 unless ``dtype`` says otherwise."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = "int64" if all(isinstance(v, int) for v in (start, end, step)) else DEFAULT_DTYPE
    device = _device(device)
    data = backend.array_module(device).arange(start, end, step, dtype=dtype)
    return _wrap(data, device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (float32)."""
    device = _device(device)
    data = backend.array_module(device).linspace(start, end, steps, dtype=dtype or DEFAULT_DTYPE)
    return _wrap(data, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = _device(device)
    data = backend.array_module(device).eye(n, m, dtype=dtype or DEFAULT_DTYPE)
    return _wrap(data, device, requires_grad)


def _like(factory, x: Tensor, dtype, device, requires_grad, *args) -> Tensor:
    """``factory`` for x's shape, with x's dtype and device unless given."""
    return factory(x.shape, *args, dtype=dtype or x.dtype, device=device or x.device,
                   requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(zeros, x, dtype, device, requires_grad)


def ones_like(x: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(ones, x, dtype, device, requires_grad)


def empty_like(x: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(empty, x, dtype, device, requires_grad)


def full_like(x: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def rand_like(x: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(rand, x, dtype, device, requires_grad)


def randn_like(x: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(randn, x, dtype, device, requires_grad)


def randint_like(x: Tensor, low, high=None, dtype=None, device=None) -> Tensor:
    """``randint`` with x's shape (``randint_like(x, high)`` or ``(x, low, high)``)."""
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, x.shape, dtype=dtype or x.dtype, device=device or x.device)
