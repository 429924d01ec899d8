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

**How the work is divided:** one job per (image, channel) plane, in both directions. A plane's
outputs only read, and its gradients only write, that same plane, so no two threads ever
write the same element.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

JIT = dict(parallel=True, cache=True, fastmath=False)


@njit(**JIT)
def _forward(x, y, argmax, kh_size, kw_size, sh, sw, ph, pw):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for job in prange(N * C):
        n, c = job // C, job % C
        plane = x[n, c]
        for oh in range(OH):
            for ow in range(OW):
                best, where, first = -np.inf, -1, -1
                for kh in range(kh_size):
                    h = oh * sh - ph + kh
                    if h < 0 or h >= H:
                        continue
                    for kw in range(kw_size):
                        w = ow * sw - pw + kw
                        if w < 0 or w >= W:
                            continue
                        first = h * W + w if first < 0 else first
                        if plane[h, w] > best:
                            best, where = plane[h, w], h * W + w
                y[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = where if where >= 0 else first


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


def _check(x_shape, kernel_size, stride, padding) -> tuple:
    """Validate the arguments and return the output size (OH, OW)."""
    if len(x_shape) != 4:
        raise ValueError(f"max_pool2d: expected x of shape (N, C, H, W), got {tuple(x_shape)}")
    H, W = x_shape[2], x_shape[3]
    if H < 1 or W < 1:
        raise ValueError(f"max_pool2d: the input planes of x {tuple(x_shape)} are empty")
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0 or 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"max_pool2d: kernel_size {kernel_size} and stride {stride} must be >= 1, "
                         f"padding {padding} >= 0 and at most half the kernel size")
    OH, OW = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    if OH < 1 or OW < 1:
        raise ValueError(f"max_pool2d: the window {kernel_size} does not fit the padded input "
                         f"({H + 2 * ph}, {W + 2 * pw})")
    return OH, OW


def max_pool2d_forward(x, kernel_size, stride, padding):
    """(y, argmax) for x (N, C, H, W); kernel_size, stride, padding are (h, w) pairs."""
    OH, OW = _check(x.shape, kernel_size, stride, padding)
    x = np.ascontiguousarray(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    y = np.empty(x.shape[:2] + (OH, OW), x.dtype)                     # (N, C, OH, OW)
    argmax = np.empty(y.shape, np.int64)                              # (N, C, OH, OW)
    _forward(x, y, argmax, int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))
    return y, argmax


def max_pool2d_backward(grad_y, argmax, x_shape):
    """dL/dx (x_shape) from dL/dy and the winners' flat indices."""
    if grad_y.shape != argmax.shape or grad_y.shape[:2] != tuple(x_shape[:2]):
        raise ValueError(f"max_pool2d backward: grad_y {grad_y.shape}, argmax {argmax.shape} and "
                         f"x shape {tuple(x_shape)} do not fit together")
    grad_y = np.ascontiguousarray(grad_y)
    grad_x = np.zeros(tuple(x_shape), grad_y.dtype)                   # (N, C, H, W)
    _backward(grad_y, np.ascontiguousarray(argmax, dtype=np.int64), grad_x)
    return grad_x
