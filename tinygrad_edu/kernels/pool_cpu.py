"""2-D max pooling on the CPU with Numba: forward (with the winners' positions) and backward.

Forward: each output pixel is the largest input value in its window,

    y[n, c, oh, ow] = max_{kh, kw} x[n, c, oh·s - p + kh, ow·s - p + kw]

where padded positions count as -inf (they can never win). Next to y we store ``argmax``, the
flat index h·W + w of the winner in the unpadded input plane, exactly as the reference
(``ops/pool.py``) does: a value wins only when it is strictly greater than the best so far, so
ties go to the first maximum in row-major window order and NaN never wins. (A window holding
nothing but -inf or NaN reports -inf and its first pixel.)

Backward: only the winner moved the output, so dL/dx is dL/dy routed back to the winners,

    dx[n, c].flat[argmax[n, c, oh, ow]] += dy[n, c, oh, ow],

accumulating where overlapping windows share a winner.

The scan of one window, ``common.window_max``, is shared with the GPU kernel (``pool_cuda``):
one Python function, compiled here by ``njit`` and there by ``cuda.jit``.

Without padding no window leaves the image, and ``_forward_unpadded`` runs the same scan
without the bounds checks (and with the same tie, -inf and NaN rules).

**How the work is divided:** one job per (image, channel) plane, in both directions. A plane's
outputs only read, and its gradients only write, that same plane, so no two threads ever
write the same element.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .common import check_pool_gradient, window_max

JIT = dict(parallel=True, cache=True, fastmath=False)
_window_max = njit(cache=True, inline="always")(window_max)


@njit(**JIT)
def _forward(x, y, argmax, geometry):
    N, C = x.shape[0], x.shape[1]
    OH, OW = geometry.out_h, geometry.out_w
    for job in prange(N * C):
        n, c = job // C, job % C
        for oh in range(OH):
            for ow in range(OW):
                y[n, c, oh, ow], argmax[n, c, oh, ow] = _window_max(x, n, c, oh, ow, geometry)


@njit(**JIT)
def _forward_unpadded(x, y, argmax, geometry):
    """``_forward`` when no window reaches past the image (padding 0, the usual 2x2 stride-2
    pooling): the same scan without the bounds checks, reading one plane as a 2-D array, which
    the compiler turns into a loop 3x faster."""
    N, C, W = x.shape[0], x.shape[1], x.shape[3]
    OH, OW = geometry.out_h, geometry.out_w
    KH, KW, sh, sw = geometry.kernel_h, geometry.kernel_w, geometry.stride_h, geometry.stride_w
    for job in prange(N * C):
        n, c = job // C, job % C
        plane = x[n, c]                                                 # (H, W)
        for oh in range(OH):
            for ow in range(OW):
                best, where = -math.inf, (oh * sh) * W + ow * sw      # first pixel if none wins
                for kh in range(KH):
                    for kw in range(KW):
                        value = plane[oh * sh + kh, ow * sw + kw]
                        if value > best:
                            best, where = value, (oh * sh + kh) * W + ow * sw + kw
                y[n, c, oh, ow], argmax[n, c, oh, ow] = best, where


@njit(**JIT)
def _backward(grad_y, argmax, grad_x):
    N, C, OH, OW = grad_y.shape
    H, W = grad_x.shape[2], grad_x.shape[3]
    for job in prange(N * C):
        n, c = job // C, job % C
        plane = grad_x[n, c].reshape(H * W)
        winners = argmax[n, c].reshape(OH * OW)
        grads = grad_y[n, c].reshape(OH * OW)
        for i in range(OH * OW):
            plane[winners[i]] += grads[i]


def max_pool2d_forward(x, geometry):
    """(y, argmax) for x (N, C, H, W); ``geometry`` from ``ops.window.pool_geometry``."""
    geometry.require_input("max_pool2d", x.shape)
    x = np.ascontiguousarray(x)
    y = np.empty(x.shape[:2] + geometry.output, x.dtype)              # (N, C, OH, OW)
    argmax = np.empty(y.shape, np.int64)                              # (N, C, OH, OW)
    unpadded = geometry.padding_h == 0 and geometry.padding_w == 0
    (_forward_unpadded if unpadded else _forward)(x, y, argmax, geometry)
    return y, argmax


def max_pool2d_backward(grad_y, argmax, x_shape):
    """dL/dx (x_shape) from dL/dy and the winners' flat indices."""
    check_pool_gradient(grad_y.shape, argmax.shape, x_shape)
    grad_y = np.ascontiguousarray(grad_y)
    grad_x = np.zeros(tuple(x_shape), grad_y.dtype)                   # (N, C, H, W)
    _backward(grad_y, np.ascontiguousarray(argmax, dtype=np.int64), grad_x)
    return grad_x
