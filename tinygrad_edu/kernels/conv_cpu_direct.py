"""Direct 2-D convolution kernels for stride 1 (the "flat-shift" loops), used by ``conv_cpu``.

With stride 1, store every output plane on the padded input's width Wp instead of OW: row oh,
column ow of the output sits at flat index i = oh·Wp + ow, and the input pixel it meets through
tap (kh, kw) sits at flat index i + kh·d·Wp + kw·d of the padded plane. That shift is the same
for *every* output pixel, so one tap of the convolution is a single contiguous axpy,

    acc[0:L] += w[f, c, kh, kw] · xpad_flat[shift : shift + L],     L = (OH - 1)·Wp + OW,

instead of OH short row updates. The Wp - OW extra columns per row are garbage and dropped at
the end (in the backward passes, dy is padded to width Wp with zeros there, so they add
nothing). The compiler turns each axpy into SIMD code: the loop index starts at 0 and the update
is elementwise, which is all LLVM needs without fastmath.

**How the work is divided (no two threads ever write the same element):**

- forward: one job per (image n, filter f) writes the plane y[n, f];
- input gradient: one job per (image n, channel c) writes the plane dx[n, c];
- weight gradient: one job per (filter f, channel c) writes dw[f, c], summing over all images.

Every job accumulates into a private buffer and copies it out once. The weight gradient is a
dot product; a running scalar sum cannot be vectorized without fastmath, so the products are
accumulated elementwise into a vector of partial sums (one per tap) and summed at the end.
Array views are made outside the innermost loops: making one costs as much as a short axpy.
Each kernel takes its arrays and the ``ConvGeometry`` (``ops/window.py``) of the convolution.
"""
import numpy as np
from numba import njit, prange

JIT = dict(parallel=True, cache=True, fastmath=False)


@njit(cache=True, inline="always")
def _axpy(acc, a, src):
    """acc += a · src (elementwise, equal lengths). Indices start at 0, so the loop vectorizes."""
    for i in range(acc.shape[0]):
        acc[i] += a * src[i]


@njit(cache=True, inline="always")
def _mul_add(acc, a, b):
    """acc += a · b elementwise (a vector of partial dot products)."""
    for i in range(acc.shape[0]):
        acc[i] += a[i] * b[i]


@njit(**JIT)
def forward(xpad, weight, y, geometry):
    """y (N, F, OH, OW) = conv2d of the padded input xpad (N, C, Hp, Wp) with weight."""
    N, _, Hp, Wp = xpad.shape
    F, Cg, KH, KW = weight.shape
    OH, OW, dh, dw = geometry.out_h, geometry.out_w, geometry.dilation_h, geometry.dilation_w
    L = (OH - 1) * Wp + OW
    filters_per_group = F // geometry.groups
    for job in prange(N * F):
        n, f = job // F, job % F
        c0 = (f // filters_per_group) * Cg
        acc = np.zeros(OH * Wp, xpad.dtype)                 # (OH, Wp) flattened
        acc_valid = acc[:L]
        for cg in range(Cg):
            xflat = xpad[n, c0 + cg].reshape(Hp * Wp)
            taps = weight[f, cg]
            for kh in range(KH):
                for kw in range(KW):
                    shift = kh * dh * Wp + kw * dw
                    _axpy(acc_valid, taps[kh, kw], xflat[shift:shift + L])
        y[n, f] = acc.reshape(OH, Wp)[:, :OW]


@njit(**JIT)
def grad_input(gy_wide, weight, gx, geometry):
    """gx (N, C, H, W) from gy_wide, dy on the padded width (N, F, OH, Wp), zero in the
    columns >= OW."""
    N, C, H, W = gx.shape
    F, Cg, KH, KW = weight.shape
    OH, Wp = gy_wide.shape[2], gy_wide.shape[3]
    ph, pw, dh, dw = geometry.padding_h, geometry.padding_w, geometry.dilation_h, geometry.dilation_w
    Hp = H + 2 * ph
    L = OH * Wp - (KW - 1) * dw             # the cut columns are zeros that would run past the end
    filters_per_group = F // geometry.groups
    for job in prange(N * C):
        n, c = job // C, job % C
        group, cg = c // Cg, c % Cg
        acc = np.zeros(Hp * Wp, gx.dtype)                    # (Hp, Wp) flattened
        for f in range(group * filters_per_group, (group + 1) * filters_per_group):
            gflat = gy_wide[n, f].reshape(OH * Wp)[:L]
            taps = weight[f, cg]
            for kh in range(KH):
                for kw in range(KW):
                    shift = kh * dh * Wp + kw * dw
                    _axpy(acc[shift:shift + L], taps[kh, kw], gflat)
        gx[n, c] = acc.reshape(Hp, Wp)[ph:ph + H, pw:pw + W]


@njit(**JIT)
def grad_weight(gy_wide, xpad, gw, geometry):
    """gw (F, C/groups, KH, KW) from gy_wide (N, F, OH, Wp) and the padded input xpad."""
    N, _, Hp, Wp = xpad.shape
    F, Cg, KH, KW = gw.shape
    OH, dh, dw = gy_wide.shape[2], geometry.dilation_h, geometry.dilation_w
    L = OH * Wp - (KW - 1) * dw           # the zero columns of gy_wide cancel the garbage
    filters_per_group = F // geometry.groups
    for job in prange(F * Cg):
        f, cg = job // Cg, job % Cg
        c = (f // filters_per_group) * Cg + cg
        partial = np.zeros((KH, KW, L), gw.dtype)          # a vector of partial sums per tap
        for n in range(N):
            gflat = gy_wide[n, f].reshape(OH * Wp)[:L]
            xflat = xpad[n, c].reshape(Hp * Wp)
            for kh in range(KH):
                for kw in range(KW):
                    shift = kh * dh * Wp + kw * dw
                    _mul_add(partial[kh, kw], gflat, xflat[shift:shift + L])
        for kh in range(KH):
            for kw in range(KW):
                gw[f, cg, kh, kw] = partial[kh, kw].sum()
