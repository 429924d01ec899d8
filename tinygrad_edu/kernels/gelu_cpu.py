"""The tanh GELU, forward and backward, in three passes each instead of a dozen (Numba).

The reference (``ops/activation.py``) evaluates

    z = x/2 · (1 + t),   t = tanh u,   u = √(2/π)(x + 0.044715 x³)
    dL/dx = dL/dz · [(1 + t)/2 + x/2 · (1 - t²) · √(2/π)(1 + 3·0.044715 x²)]

as a chain of NumPy operations: about eight passes over the (B, T, 4C) activation forward and
a dozen backward, each one reading and writing a whole array, on one core. Here each
direction is three passes over one array, two of them parallel Numba loops:

    forward    t = u(x)  (Numba)   ->   t = tanh t  (NumPy, in place)   ->   t = z(x, t)  (Numba)
    backward   t = u(x)  (Numba)   ->   t = tanh t  (NumPy, in place)   ->   t = dL/dx  (Numba)

**Why tanh stays with NumPy.** NumPy's tanh is vectorized by hand (SIMD intrinsics); inside a
Numba loop, tanh is a call of the C library's, one number at a time, some thirty times slower
here. The loops around it are only multiplies and adds, which LLVM vectorizes once Numba is
told not to check for division by zero (``error_model="numpy"``: the checks would stop it).

**t is recomputed, not saved.** The backward pass computes t again from x (two cheap passes)
rather than keeping a second array of the activation's size alive from forward to backward,
as PyTorch does; the reference does the same, so both have one interface:
``gelu_tanh_forward(x)`` and ``gelu_tanh_backward(grad, x)``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

JIT = dict(parallel=True, cache=True, error_model="numpy")


def _constants(dtype) -> np.ndarray:
    """[1, 1/2, √(2/π), 0.044715, 3·0.044715] in ``dtype``, so that float32 math stays float32
    (Numba widens float32 + a Python number to float64)."""
    return np.array([1, 0.5, math.sqrt(2 / math.pi), 0.044715, 3 * 0.044715], dtype)


@njit(**JIT)
def _inner(x, u, consts):
    """u = √(2/π)(x + 0.044715 x³) for flat x."""
    root, cubic = consts[2], consts[3]
    for i in prange(x.shape[0]):
        v = x[i]
        u[i] = root * (v + cubic * (v * v) * v)


@njit(**JIT)
def _output(x, t, consts):
    """t = x/2 · (1 + t), in place: tanh u becomes the GELU's output z."""
    one, half = consts[0], consts[1]
    for i in prange(x.shape[0]):
        t[i] = half * x[i] * (one + t[i])


@njit(**JIT)
def _input_gradient(grad, x, t, consts):
    """t = dL/dz · dz/dx, in place: tanh u becomes the gradient of x."""
    one, half, root, three_cubic = consts[0], consts[1], consts[2], consts[4]
    for i in prange(x.shape[0]):
        v, tanh_u = x[i], t[i]
        du_dx = root * (one + three_cubic * (v * v))
        t[i] = grad[i] * (half * (one + tanh_u) + half * v * (one - tanh_u * tanh_u) * du_dx)


def _flat(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def _tanh_inner(x, consts):
    """(x flattened, tanh u(x) in a new flat array)."""
    x = _flat(x, x.dtype)
    t = np.empty_like(x)
    _inner(x, t, consts)
    return x, np.tanh(t, out=t)


def gelu_tanh_forward(x):
    """z = x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³))), elementwise, for a float32/64 array."""
    consts = _constants(x.dtype)
    flat, t = _tanh_inner(x, consts)
    _output(flat, t, consts)
    return t.reshape(x.shape)


def gelu_tanh_backward(grad, x):
    """dL/dx from dL/dz = ``grad`` for z = gelu_tanh_forward(x)."""
    consts = _constants(x.dtype)
    flat, t = _tanh_inner(x, consts)
    _input_gradient(_flat(grad, x.dtype), flat, t, consts)
    return t.reshape(x.shape)
