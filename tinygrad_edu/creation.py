"""Making tensors: ``zeros``, ``ones``, ``full``, ``rand``, ``randn``, ``arange``, ``eye``, ``*_like``.

Every factory takes ``dtype`` (float32 by default), ``device`` ("cpu" by default) and
``requires_grad``. Random factories draw from the device's generator, which ``manual_seed``
resets, so a seeded program gives the same numbers every run on a given device.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import DEFAULT_DTYPE, Tensor


def _shape(shape: tuple) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _wrap(data, device: str, requires_grad: bool) -> Tensor:
    return Tensor._make(data, device).requires_grad_(requires_grad)


def _float_dtype(dtype, op: str):
    """``dtype`` if it is a floating-point type (the only kind a random sampler draws)."""
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{op}: random samples need a floating-point dtype, got {np.dtype(dtype)}")
    return dtype


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """Same as ``Tensor(data, ...)``; the name PyTorch users reach for."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def manual_seed(seed: int) -> None:
    """Seed every backend's random generator."""
    backend.manual_seed(seed)


def zeros(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    return _wrap(backend.array_module(device).zeros(_shape(shape), dtype), device, requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    return _wrap(backend.array_module(device).ones(_shape(shape), dtype), device, requires_grad)


def full(shape, fill_value, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    data = backend.array_module(device).full(_shape((shape,)), fill_value, dtype)
    return _wrap(data, device, requires_grad)


def rand(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    """Uniform samples from [0, 1)."""
    data = backend.generator(device).random(_shape(shape), dtype=_float_dtype(dtype, "rand"))
    return _wrap(data, device, requires_grad)


def randn(*shape, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    """Samples from the standard normal distribution N(0, 1)."""
    data = backend.generator(device).standard_normal(_shape(shape),
                                                     dtype=_float_dtype(dtype, "randn"))
    return _wrap(data, device, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``start, start + step, ...`` below ``stop`` (``arange(n)`` is 0..n-1). Integer arguments
    give int64, as in PyTorch; any float argument gives float32 unless ``dtype`` says otherwise."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = "int64" if all(isinstance(v, int) for v in (start, stop, step)) else DEFAULT_DTYPE
    data = backend.array_module(device).arange(start, stop, step, dtype=dtype)
    return _wrap(data, device, requires_grad)


def eye(n, m=None, dtype=DEFAULT_DTYPE, device="cpu", requires_grad=False) -> Tensor:
    return _wrap(backend.array_module(device).eye(n, m, dtype=dtype), device, requires_grad)


def zeros_like(x: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def ones_like(x: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def full_like(x: Tensor, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=x.device,
                requires_grad=requires_grad)


def rand_like(x: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return rand(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def randn_like(x: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return randn(x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)
