"""2-D convolution on an NVIDIA GPU: numba.cuda kernels for the data movement, cuBLAS for the math.

The formulas are those of ``conv_cpu.py``. On a GPU the split of work is different from the CPU
one: the arithmetic of a convolution is a matrix product, and cuBLAS (through CuPy's ``matmul``)
multiplies matrices far faster than any loop we could write here. What a library call does *not*
do well is the rearranging around it, so that is what the two kernels below do:

- ``_im2col``: cols[n, c·KH·KW + kh·KW + kw, oh·OW + ow] = xpad[n, c, oh·s + kh·d, ow·s + kw·d]
  (one thread per entry of cols; padding reads as zero, so no padded copy of x is made);
- ``_col2im``: its transpose, dx[n, c, h, w] = Σ of the cols entries that were read from (h, w).
  One thread per *input* pixel gathers its sum, so no two threads write the same element and no
  atomics are needed (the result is also deterministic, unlike an atomic scatter).

Then, with G groups, Fg = F/G filters and K = (C/G)·KH·KW entries per group and column:

    y      = W (G, Fg, K) @ cols (N, G, K, P)              -> (N, G, Fg, P),  P = OH·OW
    dcols  = Wᵀ (G, K, Fg) @ dy (N, G, Fg, P)              -> (N, G, K, P)  -> col2im -> dx
    dW     = Σ_n dy (G, Fg, N·P) @ colsᵀ (G, N·P, K)        -> (G, Fg, K)

Both kernels and both array functions take the convolution's ``ConvGeometry`` (``ops/window.py``),
which holds the output size, computed and checked once. The kernels take CuPy arrays directly (``__cuda_array_interface__``); under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) they take NumPy arrays, which is how the tests run them without a GPU.
"""
from __future__ import annotations

from numba import cuda

from ..backend import array_module, device_of
from .cuda_launch import launch


@cuda.jit
def _im2col(x, cols, geometry):
    N, C, H, W = x.shape
    P = cols.shape[2]
    KH, KW, sh, sw = geometry.kernel_h, geometry.kernel_w, geometry.stride_h, geometry.stride_w
    ph, pw, dh, dw = geometry.padding_h, geometry.padding_w, geometry.dilation_h, geometry.dilation_w
    OW = geometry.out_w
    index = cuda.grid(1)
    if index >= N * C * KH * KW * P:
        return
    p = index % P                      # the output pixel (oh, ow)
    row = (index // P) % (C * KH * KW)  # the tap (c, kh, kw)
    n = index // (P * C * KH * KW)
    c, kh, kw = row // (KH * KW), (row // KW) % KH, row % KW
    h = (p // OW) * sh - ph + kh * dh
    w = (p % OW) * sw - pw + kw * dw
    if 0 <= h < H and 0 <= w < W:
        cols[n, row, p] = x[n, c, h, w]
    else:
        cols[n, row, p] = 0


@cuda.jit
def _col2im(cols, dx, geometry):
    N, C, H, W = dx.shape
    KH, KW, sh, sw = geometry.kernel_h, geometry.kernel_w, geometry.stride_h, geometry.stride_w
    ph, pw, dh, dw = geometry.padding_h, geometry.padding_w, geometry.dilation_h, geometry.dilation_w
    OH, OW = geometry.out_h, geometry.out_w
    index = cuda.grid(1)
    if index >= N * C * H * W:
        return
    w, h = index % W, (index // W) % H
    c, n = (index // (H * W)) % C, index // (C * H * W)
    total = cols[n, 0, 0] * 0
    for kh in range(KH):
        top = h + ph - kh * dh           # = oh·sh for the output row that read (h, w)
        if top < 0 or top % sh != 0 or top // sh >= OH:
            continue
        for kw in range(KW):
            left = w + pw - kw * dw
            if left < 0 or left % sw != 0 or left // sw >= OW:
                continue
            total += cols[n, (c * KH + kh) * KW + kw, (top // sh) * OW + left // sw]
    dx[n, c, h, w] = total


def _cols(x, geometry):
    """im2col of x: (N, C·KH·KW, OH·OW)."""
    xp = array_module(device_of(x))
    (KH, KW), (OH, OW) = geometry.kernel, geometry.output
    N, C = x.shape[:2]
    cols = xp.empty((N, C * KH * KW, OH * OW), x.dtype)
    launch(_im2col, cols.size, x, cols, geometry)
    return cols


def conv2d_forward(x, weight, geometry):
    """y (N, F, OH, OW) = conv2d(x, weight); same contract as ``conv_cpu.conv2d_forward``."""
    geometry.require_input("conv2d", x.shape, weight.shape)
    xp = array_module(device_of(x))
    x, weight = xp.ascontiguousarray(x), xp.ascontiguousarray(weight, dtype=x.dtype)
    (N, F), G, (OH, OW) = (x.shape[0], weight.shape[0]), geometry.groups, geometry.output
    cols = _cols(x, geometry).reshape(N, G, -1, OH * OW)                   # (N, G, K, P)
    y = xp.matmul(weight.reshape(1, G, F // G, -1), cols)                   # (N, G, Fg, P)
    return y.reshape(N, F, OH, OW)


def conv2d_backward(grad_y, x, weight, geometry, input_grad=True):
    """(dx, dweight); same contract as ``conv_cpu.conv2d_backward`` (dx None without
    ``input_grad``)."""
    geometry.require_input("conv2d", x.shape, weight.shape)
    xp = array_module(device_of(x))
    x, weight = xp.ascontiguousarray(x), xp.ascontiguousarray(weight, dtype=x.dtype)
    (N, F), G, (OH, OW) = (x.shape[0], weight.shape[0]), geometry.groups, geometry.output
    gy = xp.ascontiguousarray(grad_y, dtype=x.dtype).reshape(N, G, F // G, OH * OW)  # (N, G, Fg, P)
    w = weight.reshape(G, F // G, -1)                                       # (G, Fg, K)
    dx = None
    if input_grad:
        dcols = xp.matmul(w.transpose(0, 2, 1)[None], gy)                   # (N, G, K, P)
        dcols = xp.ascontiguousarray(dcols.reshape(N, -1, OH * OW))         # (N, C·KH·KW, P)
        dx = xp.empty(x.shape, x.dtype)
        launch(_col2im, dx.size, dcols, dx, geometry)
    cols = _cols(x, geometry).reshape(N, G, -1, OH * OW)                    # (N, G, K, P)
    gy_g = gy.transpose(1, 2, 0, 3).reshape(G, F // G, -1)                  # (G, Fg, N·P)
    cols_g = cols.transpose(1, 0, 3, 2).reshape(G, -1, cols.shape[2])        # (G, N·P, K)
    dw = xp.matmul(gy_g, cols_g)                                            # (G, Fg, K)
    return dx, dw.reshape(weight.shape)
