"""2-D max pooling on an NVIDIA GPU with numba.cuda: forward and backward.

The math and the tie rule are those of ``pool_cpu.py`` (strictly greater wins, so ties go to
the first maximum in row-major window order; padding is -inf; NaN never wins). Pooling has no
matrix product to hand to a library, so both directions are plain kernels:

- forward: one thread per output pixel scans its window and writes y and argmax;
- backward: one thread per output pixel adds its dy to the winner's gradient. Overlapping
  windows can share a winner, so the addition is atomic (``cuda.atomic.add``); the order of
  those additions, and so the last bit of such a sum, can vary from run to run. Without overlap
  (stride >= kernel size, the usual case) every winner gets a single addition.

The kernels take CuPy arrays (or NumPy arrays under Numba's CUDA simulator).
"""
from __future__ import annotations

import math

from numba import cuda

from ..backend import array_module, device_of
from .conv_cuda import _launch
from .pool_cpu import _check


@cuda.jit
def _forward(x, y, argmax, KH, KW, sh, sw, ph, pw):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    index = cuda.grid(1)
    if index >= N * C * OH * OW:
        return
    ow, oh = index % OW, (index // OW) % OH
    c, n = (index // (OH * OW)) % C, index // (C * OH * OW)
    best, where, first = -math.inf, -1, -1
    for kh in range(KH):
        h = oh * sh - ph + kh
        if h < 0 or h >= H:
            continue
        for kw in range(KW):
            w = ow * sw - pw + kw
            if w < 0 or w >= W:
                continue
            first = h * W + w if first < 0 else first
            if x[n, c, h, w] > best:
                best, where = x[n, c, h, w], h * W + w
    y[n, c, oh, ow] = best
    argmax[n, c, oh, ow] = where if where >= 0 else first


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


def max_pool2d_forward(x, kernel_size, stride, padding):
    """(y, argmax); same contract as ``pool_cpu.max_pool2d_forward``."""
    OH, OW = _check(x.shape, kernel_size, stride, padding)
    xp = array_module(device_of(x))
    x = xp.ascontiguousarray(x)
    y = xp.empty(x.shape[:2] + (OH, OW), x.dtype)                     # (N, C, OH, OW)
    argmax = xp.empty(y.shape, xp.int64)                              # (N, C, OH, OW)
    _launch(_forward, y.size, x, y, argmax, *kernel_size, *stride, *padding)
    return y, argmax


def max_pool2d_backward(grad_y, argmax, x_shape):
    """dL/dx (x_shape) from dL/dy and the winners' flat indices."""
    if grad_y.shape != argmax.shape or grad_y.shape[:2] != tuple(x_shape[:2]):
        raise ValueError(f"max_pool2d backward: grad_y {grad_y.shape}, argmax {argmax.shape} and "
                         f"x shape {tuple(x_shape)} do not fit together")
    xp = array_module(device_of(grad_y))
    grad_y = xp.ascontiguousarray(grad_y)
    grad_x = xp.zeros(tuple(x_shape), grad_y.dtype)                   # (N, C, H, W)
    _launch(_backward, grad_y.size, grad_y, xp.ascontiguousarray(argmax), grad_x)
    return grad_x
