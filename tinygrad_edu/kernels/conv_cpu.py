"""2-D convolution on the CPU with Numba: forward, gradient of the input, gradient of the weight.

The math is the reference's (``ops/conv.py``). With x padded by p, for output pixel (oh, ow):

    y[n, f, oh, ow] = Σ_{c, kh, kw} w[f, c, kh, kw] · xpad[n, c, oh·s + kh·d, ow·s + kw·d]

(c runs over the channels of f's group). The backward pass sends every product back to where
its factors came from:

    dxpad[n, c, oh·s + kh·d, ow·s + kw·d] += w[f, c, kh, kw] · dy[n, f, oh, ow]
    dw[f, c, kh, kw] = Σ_{n, oh, ow} dy[n, f, oh, ow] · xpad[n, c, oh·s + kh·d, ow·s + kw·d]

**Two strategies, chosen per shape.**

- *Direct loops* (``conv_cpu_direct``, stride 1 only): every tap (kh, kw) is one long SIMD axpy
  over a whole output plane, with no copy of the input at all. Numba's loops reach about half of
  BLAS's arithmetic speed, but they skip the im2col copy (KH·KW times the input), its col2im
  twin and the many small matrix products of a batch; when there are few filters per group
  those copies, not the arithmetic, are what costs time.
- *im2col + BLAS* (``conv_cpu_im2col``): the reference's method, one image per job, its columns
  built in a cache-sized private buffer (for stride 1 with the same flat shift, one contiguous
  copy per column row) and multiplied by BLAS. With many filters the arithmetic dominates and
  BLAS, with fused multiply-adds and register blocking that Numba cannot express without
  fastmath, does it about twice as fast as our loops. Strided convolutions always take this
  path: a stride breaks the flat shift of the direct loops.

``DIRECT_MAX_FILTERS`` is the boundary: stride-1 convolutions with at most that many filters per
group run direct. Timed both ways on the W6 shapes (``python -m benchmarks.kernels`` shows which
path each shape takes) with two threads, the direct loops win clearly at LeNet-5's first layer
(6 filters) and lose from 16 filters on, where BLAS's speed pays for the copies.

Every function here takes arrays and one ``ConvGeometry`` (``ops/window.py``), which computed
and checked the output size once, for the reference and for every kernel.
"""
from __future__ import annotations

import numpy as np

from . import conv_cpu_direct as direct
from . import conv_cpu_im2col as im2col
from .blas_threads import single_threaded_blas
from .common import kernel_dtype

DIRECT_MAX_FILTERS = 8    # filters per group; stride-1 convolutions up to this run direct


def _common_dtype(*arrays):
    """Contiguous copies (where needed) in one float dtype, float32 or float64."""
    dtype = kernel_dtype(*arrays)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


def _padded(x, ph, pw, extra_rows=0):
    """x with ph zero rows above and ph + extra_rows below, pw zero columns left and right."""
    N, C, H, W = x.shape
    xpad = np.zeros((N, C, H + 2 * ph + extra_rows, W + 2 * pw), x.dtype)
    xpad[:, :, ph:ph + H, pw:pw + W] = x
    return xpad


def _widened(grad_y, width):
    """grad_y (N, F, OH, OW) on rows ``width`` wide, zero beyond OW: (N, F, OH, width)."""
    wide = np.zeros(grad_y.shape[:3] + (width,), grad_y.dtype)
    wide[..., :grad_y.shape[3]] = grad_y
    return wide


def _runs_direct(weight, stride, groups) -> bool:
    return tuple(stride) == (1, 1) and weight.shape[0] // groups <= DIRECT_MAX_FILTERS


def _shifts_columns(weight, stride, groups) -> bool:
    """im2col path: shifted columns (stride 1, more column rows than filters) or pixel ones."""
    F, Cg, KH, KW = weight.shape
    return tuple(stride) == (1, 1) and Cg * KH * KW > F // groups


def conv2d_forward(x, weight, geometry):
    """y = conv2d(x, weight), x (N, C, H, W), weight (F, C // groups, KH, KW) -> (N, F, OH, OW);
    ``geometry`` from ``ops.window.conv_geometry``."""
    geometry.require_input("conv2d", x.shape, weight.shape)
    x, weight = _common_dtype(x, weight)
    N, F, G = x.shape[0], weight.shape[0], geometry.groups
    (ph, pw) = geometry.padding
    y = np.empty((N, F) + geometry.output, x.dtype)                     # (N, F, OH, OW)
    if _runs_direct(weight, geometry.stride, G):
        direct.forward(_padded(x, ph, pw), weight, y, geometry)
        return y
    shifted = _shifts_columns(weight, geometry.stride, G)
    xpad = _padded(x, ph, pw, extra_rows=int(shifted))                 # (N, C, Hp, Wp)
    with single_threaded_blas():
        im2col.forward(xpad, weight.reshape(G, F // G, -1), y, geometry, shifted)
    return y


def conv2d_backward(grad_y, x, weight, geometry, input_grad=True):
    """(dL/dx, dL/dweight) for y = conv2d(x, weight), given grad_y = dL/dy (N, F, OH, OW);
    dL/dx is None without ``input_grad`` (the input needs no gradient: it is not computed)."""
    geometry.require_input("conv2d", x.shape, weight.shape)
    if grad_y.shape != (x.shape[0], weight.shape[0]) + geometry.output:
        raise ValueError(f"conv2d backward: grad_y has shape {grad_y.shape}, expected "
                         f"{(x.shape[0], weight.shape[0]) + geometry.output}")
    grad_y, x, weight = _common_dtype(grad_y, x, weight)
    N, F, G = x.shape[0], weight.shape[0], geometry.groups
    (ph, pw) = geometry.padding
    grad_x = np.empty(x.shape, x.dtype)                                 # (N, C, H, W)
    if _runs_direct(weight, geometry.stride, G):
        gy_wide = _widened(grad_y, geometry.padded[1])                  # (N, F, OH, Wp)
        grad_w = np.empty(weight.shape, x.dtype)                        # (F, C/G, KH, KW)
        if input_grad:
            direct.grad_input(gy_wide, weight, grad_x, geometry)
        direct.grad_weight(gy_wide, _padded(x, ph, pw), grad_w, geometry)
        return grad_x if input_grad else None, grad_w
    shifted = _shifts_columns(weight, geometry.stride, G)
    w = weight.reshape(G, F // G, -1)                                   # (G, F/G, K)
    grad_w_per_image = np.empty((N,) + w.shape, x.dtype)                # (N, G, F/G, K)
    with single_threaded_blas():
        im2col.backward(grad_y, _padded(x, ph, pw, extra_rows=int(shifted)), w, grad_x,
                        grad_w_per_image, geometry, shifted, input_grad)
    return grad_x if input_grad else None, grad_w_per_image.sum(axis=0).reshape(weight.shape)
