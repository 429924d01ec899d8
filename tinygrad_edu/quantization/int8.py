"""Symmetric int8 quantization of arrays, and the integer matrix product.

    scale = max|r| / 127   (over the tensor, or over each output channel)
    q     = clamp(round(r / scale), -127, 127)           int8
    r̂     = q · scale                                     |r - r̂| <= scale / 2

``round`` is round-half-to-even (NumPy's ``rint``, as PyTorch's quantizers). An all-zero group
gets scale 1, so it quantizes to zeros instead of dividing by zero.

**The product.** For y = x Wᵀ with x ≈ q_x s_x (one scale) and W_o ≈ q_W,o s_o (one per output),

    y_no = Σ_k x_nk W_ok ≈ s_x s_o · Σ_k q_x,nk q_W,ok,

so the whole sum runs in integers and one multiplication per output rescales it. Each product
of two int8 numbers lies in [-127², 127²] = ±16,129; a sum of K of them needs
log2(16,129 · K) + 1 bits, which fits int32 for K up to 2³¹ / 16,129 ≈ 133,000 inputs, far above
any layer here (``MAX_INT32_FEATURES``). int8 alone would overflow at the first product.
"""
from __future__ import annotations

QMAX = 127
MAX_INT32_FEATURES = (2 ** 31 - 1) // (QMAX * QMAX)   # 133,144 int8 products fit int32


def symmetric_scale(max_abs, xp):
    """max|r| / 127, with 1 where the group is all zeros."""
    return xp.where(max_abs > 0, max_abs / QMAX, 1.0).astype("float32")


def _round(values, scale, xp):
    return xp.clip(xp.rint(values / scale), -QMAX, QMAX).astype("int8")


def quantize_per_tensor(r, xp):
    """(q int8 of r's shape, scale: a 0-d float32 array) with one scale for all of ``r``."""
    scale = symmetric_scale(xp.abs(r).max() if r.size else xp.zeros((), r.dtype), xp)
    return _round(r, scale, xp), scale


def quantize_per_channel(w, xp, axis: int = 0):
    """(q int8 of w's shape, scales float32 of shape (w.shape[axis],)): one scale per slice
    along ``axis`` (the output channels of a Linear's (out, in) or a Conv2d's (O, C, KH, KW))."""
    others = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
    scales = symmetric_scale(xp.abs(w).max(axis=others), xp)                     # (channels,)
    shape = [1] * w.ndim
    shape[axis] = -1
    return _round(w, scales.reshape(shape), xp), scales


def dequantize(q, scale, axis: int | None = None):
    """q · scale as float32; ``axis``: the channel axis of per-channel scales."""
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
    return (q.astype("float32") * scale).astype("float32")


def int8_matmul(q_x, q_w):
    """Σ_k q_x[n, k] q_w[o, k] for int8 q_x (N, K) and q_w (O, K), summed in int32 -> (N, O)."""
    if q_x.shape[-1] > MAX_INT32_FEATURES:
        raise ValueError(f"int8_matmul: {q_x.shape[-1]} features could overflow int32 (at most "
                         f"{MAX_INT32_FEATURES} are safe)")
    return q_x.astype("int32") @ q_w.astype("int32").T                  # (N, O) int32
