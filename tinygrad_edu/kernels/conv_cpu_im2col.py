"""Convolution as im2col + matrix products, one image per job, for ``conv_cpu``.

The reference (``ops/conv.py``) explains the method: copy every input window into a column,

    cols[c·KH·KW + kh·KW + kw, oh·OW + ow] = xpad[c, oh·s + kh·d, ow·s + kw·d]     (one image)

so that the convolution of that image is one matrix product per group, y = W · cols, and its
gradients are two more, dW += dy · colsᵀ and dcols = Wᵀ · dy, followed by col2im (adding every
column entry back onto the pixel it was copied from).

What differs from the reference is the order of work. The reference builds the columns of the
whole batch, then multiplies. Here one job handles one image from start to end: it builds that
image's columns in a private buffer (small enough to stay in the CPU cache), hands the products
to BLAS through ``np.dot``, which multiplies matrices about twice as fast as the best loops
Numba writes without fastmath, and, in the backward pass, scatters its own dcols into its own
dx[n]. Each job writes only y[n], dx[n] and its own slice dw_per_image[n]; the weight gradient
is summed over images afterwards, so no two threads ever write the same element.

**Shifted columns for stride 1.** Copying a column row pixel by pixel costs more than the
product that uses it. With stride 1 the flat-shift layout of ``conv_cpu_direct`` makes each
column row *one* contiguous copy: with output rows stored on the padded width Wp
instead of OW, column row (c, kh, kw) is the flat padded plane c from kh·d·Wp + kw·d on, and
col2im is one contiguous addition per row. The Wp - OW extra entries per output row are
garbage in y (dropped when it is copied out) and multiply zeros in dy (which each job copies
onto rows of the same width), at the price of Wp / OW more arithmetic. The input carries one extra
zero row at the bottom so that the last shifted row stays inside it. In exchange the output and
its gradient must be copied between the two widths, so ``conv_cpu`` shifts only when the
columns (C/G·KH·KW rows) outnumber the filters (F/G rows); otherwise, and for every strided
convolution, the columns are copied pixel by pixel and the products read and write y and dy in
place.
"""
import numpy as np
from numba import njit, prange

JIT = dict(parallel=True, cache=True, fastmath=False)


@njit(cache=True, inline="always")
def _im2col_shifted(image, cols, geometry):
    """Stride 1: cols[(c, kh, kw), i] = image[c].flat[i + kh·dh·Wp + kw·dw]."""
    C, Hp, Wp = image.shape
    KH, KW, dh, dw = geometry.kernel_h, geometry.kernel_w, geometry.dilation_h, geometry.dilation_w
    for c in range(C):
        plane = image[c].reshape(Hp * Wp)
        for kh in range(KH):
            for kw in range(KW):
                row = cols[(c * KH + kh) * KW + kw]
                shift = kh * dh * Wp + kw * dw
                source = plane[shift:shift + row.shape[0]]
                for i in range(row.shape[0]):
                    row[i] = source[i]


@njit(cache=True, inline="always")
def _col2im_shifted(dcols, plane_grads, geometry):
    """The transpose of ``_im2col_shifted``: plane_grads (C, Hp, Wp) += each row, shifted back."""
    C, Hp, Wp = plane_grads.shape
    KH, KW, dh, dw = geometry.kernel_h, geometry.kernel_w, geometry.dilation_h, geometry.dilation_w
    for c in range(C):
        plane = plane_grads[c].reshape(Hp * Wp)
        for kh in range(KH):
            for kw in range(KW):
                row = dcols[(c * KH + kh) * KW + kw]
                shift = kh * dh * Wp + kw * dw
                target = plane[shift:shift + row.shape[0]]
                for i in range(row.shape[0]):
                    target[i] += row[i]


@njit(cache=True, inline="always")
def _im2col_pixels(image, cols, geometry):
    """Any stride: cols[(c, kh, kw), oh·OW + ow] = image[c, oh·sh + kh·dh, ow·sw + kw·dw]."""
    KH, KW, OH, OW = geometry.kernel_h, geometry.kernel_w, geometry.out_h, geometry.out_w
    sh, sw, dh, dw = geometry.stride_h, geometry.stride_w, geometry.dilation_h, geometry.dilation_w
    for c in range(image.shape[0]):
        for kh in range(KH):
            for kw in range(KW):
                row = cols[(c * KH + kh) * KW + kw]
                for oh in range(OH):
                    h = oh * sh + kh * dh
                    for ow in range(OW):
                        row[oh * OW + ow] = image[c, h, ow * sw + kw * dw]


@njit(cache=True, inline="always")
def _col2im_pixels(dcols, plane_grads, geometry):
    """The transpose of ``_im2col_pixels``: plane_grads (C, Hp, Wp) += every entry."""
    KH, KW, OH, OW = geometry.kernel_h, geometry.kernel_w, geometry.out_h, geometry.out_w
    sh, sw, dh, dw = geometry.stride_h, geometry.stride_w, geometry.dilation_h, geometry.dilation_w
    for c in range(plane_grads.shape[0]):
        for kh in range(KH):
            for kw in range(KW):
                row = dcols[(c * KH + kh) * KW + kw]
                for oh in range(OH):
                    h = oh * sh + kh * dh
                    for ow in range(OW):
                        plane_grads[c, h, ow * sw + kw * dw] += row[oh * OW + ow]


@njit(**JIT)
def forward(xpad, w, y, geometry, shifted):
    """y (N, F, OH, OW) from xpad (N, C, Hp, Wp) and w (G, F/G, C/G·KH·KW); ``shifted``: stride 1,
    shifted columns with output rows Wp wide (xpad then has its extra zero row)."""
    N, C, _, Wp = xpad.shape
    G, Fg, K = w.shape
    KH, KW, OH, OW = geometry.kernel_h, geometry.kernel_w, geometry.out_h, geometry.out_w
    F = y.shape[1]
    row_width = Wp if shifted else OW
    for n in prange(N):
        cols = np.empty((C * KH * KW, OH * row_width), xpad.dtype)   # (C·KH·KW, OH·row_width)
        if shifted:
            _im2col_shifted(xpad[n], cols, geometry)
            out = np.empty((F, OH * row_width), xpad.dtype)           # y[n] on wide rows
        else:
            _im2col_pixels(xpad[n], cols, geometry)
            out = y[n].reshape(F, OH * OW)                            # y[n] itself
        for g in range(G):
            np.dot(w[g], cols[g * K:(g + 1) * K], out[g * Fg:(g + 1) * Fg])
        if shifted:
            for f in range(F):
                for oh in range(OH):
                    for ow in range(OW):
                        y[n, f, oh, ow] = out[f, oh * row_width + ow]


@njit(**JIT)
def backward(gy, xpad, w, dx, dw_per_image, geometry, shifted, input_grad):
    """dx (N, C, H, W) (only with ``input_grad``) and dw_per_image (N, G, F/G, K), image n's
    share of dW, from gy (N, F, OH, OW), the padded input and w (G, F/G, K); ``shifted`` as in
    ``forward``."""
    N, C, H, W = dx.shape
    G, Fg, K = w.shape
    KH, KW, OH, OW = geometry.kernel_h, geometry.kernel_w, geometry.out_h, geometry.out_w
    F, ph, pw = gy.shape[1], geometry.padding_h, geometry.padding_w
    row_width = xpad.shape[3] if shifted else OW
    for n in prange(N):
        cols = np.empty((C * KH * KW, OH * row_width), xpad.dtype)    # (C·KH·KW, P)
        dcols = np.empty((C * KH * KW, OH * row_width), xpad.dtype)
        plane_grads = np.zeros(xpad.shape[1:], xpad.dtype)            # (C, Hp, Wp)
        if shifted:
            _im2col_shifted(xpad[n], cols, geometry)
            grads = np.zeros((F, OH * row_width), xpad.dtype)         # dy[n] on wide rows
            for f in range(F):
                for oh in range(OH):
                    for ow in range(OW):
                        grads[f, oh * row_width + ow] = gy[n, f, oh, ow]
        else:
            _im2col_pixels(xpad[n], cols, geometry)
            grads = gy[n].reshape(F, OH * OW)                         # dy[n] itself
        for g in range(G):
            group_grads = grads[g * Fg:(g + 1) * Fg]                   # (F/G, P)
            np.dot(group_grads, cols[g * K:(g + 1) * K].T, dw_per_image[n, g])  # dy colsᵀ
            if input_grad:
                np.dot(w[g].T, group_grads, dcols[g * K:(g + 1) * K])            # Wᵀ dy
        if not input_grad:
            continue
        if shifted:
            _col2im_shifted(dcols, plane_grads, geometry)
        else:
            _col2im_pixels(dcols, plane_grads, geometry)
        dx[n] = plane_grads[:, ph:ph + H, pw:pw + W]
