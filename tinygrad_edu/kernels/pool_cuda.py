"""2-D max pooling on an NVIDIA GPU with numba.cuda: forward and backward.

The math and the tie rule are those of ``pool_cpu.py`` (strictly greater wins, so ties go to
the first maximum in row-major window order; padding is -inf; NaN never wins). Pooling has no
matrix product to hand to a library, so both directions are plain kernels:

- forward: one thread per output pixel scans its window (``common.window_max``, the same
  function the CPU kernel compiles) and writes y and argmax;
- backward: one thread per output pixel adds its dy to the winner's gradient. Overlapping
  windows can share a winner, so the addition is atomic (``cuda.atomic.add``); the order of
  those additions, and so the last bit of such a sum, can vary from run to run. Without overlap
  (stride >= kernel size, the usual case) every winner gets a single addition.

The kernels take CuPy arrays (or NumPy arrays under Numba's CUDA simulator).
"""
from __future__ import annotations

from numba import cuda

from ..backend import array_module, device_of
from .common import check_pool_gradient, window_max
from .cuda_launch import launch

_window_max = cuda.jit(device=True)(window_max)


@cuda.jit
def _forward(x, y, argmax, geometry):
    N, C = x.shape[0], x.shape[1]
    OH, OW = geometry.out_h, geometry.out_w
    index = cuda.grid(1)
    if index >= N * C * OH * OW:
        return
    ow, oh = index % OW, (index // OW) % OH
    c, n = (index // (OH * OW)) % C, index // (C * OH * OW)
    y[n, c, oh, ow], argmax[n, c, oh, ow] = _window_max(x, n, c, oh, ow, geometry)


@cuda.jit
def _backward(grad_y, argmax, grad_x):
    N, C, OH, OW = grad_y.shape
    W = grad_x.shape[3]
    index = cuda.grid(1)
    if index >= N * C * OH * OW:
        return
    ow, oh = index % OW, (index // OW) % OH
    c, n = (index // (OH * OW)) % C, index // (C * OH * OW)
    winner = argmax[n, c, oh, ow]
    cuda.atomic.add(grad_x, (n, c, winner // W, winner % W), grad_y[n, c, oh, ow])


def max_pool2d_forward(x, geometry):
    """(y, argmax); same contract as ``pool_cpu.max_pool2d_forward``."""
    geometry.require_input("max_pool2d", x.shape)
    xp = array_module(device_of(x))
    x = xp.ascontiguousarray(x)
    y = xp.empty(x.shape[:2] + geometry.output, x.dtype)              # (N, C, OH, OW)
    argmax = xp.empty(y.shape, xp.int64)                              # (N, C, OH, OW)
    launch(_forward, y.size, x, y, argmax, geometry)
    return y, argmax


def max_pool2d_backward(grad_y, argmax, x_shape):
    """dL/dx (x_shape) from dL/dy and the winners' flat indices."""
    check_pool_gradient(grad_y.shape, argmax.shape, x_shape)
    xp = array_module(device_of(grad_y))
    grad_y = xp.ascontiguousarray(grad_y)
    grad_x = xp.zeros(tuple(x_shape), grad_y.dtype)                   # (N, C, H, W)
    launch(_backward, grad_y.size, grad_y, xp.ascontiguousarray(argmax), grad_x)
    return grad_x
