"""Fake quantization, for quantization-aware training (QAT).

A model trained in float and then quantized loses a little accuracy to rounding. QAT lets the
model see the rounding while it trains: in the forward pass a weight (or activation) r becomes

    fake_quantize(r) = clamp(round(r / s), -127, 127) · s            still float, on the int8 grid

so the loss is the loss of the quantized model. ``round`` has derivative 0 almost everywhere,
which would stop all learning, so backward uses the *straight-through estimator* (Bengio et
al., 2013): it treats the rounding as the identity,

    d fake_quantize(r) / dr = 1   where |round(r / s)| <= 127 (inside the range),
                            = 0   outside, where the clamp really holds the value fixed.

Composed from existing operations, with no backward rule of its own: with the constant mask
m = [|round(r / s)| <= 127] (an array, not part of the graph),

    fake_quantize(r) = r · m + (grid(r) - r · m)          the bracket a constant,

whose value is grid(r) and whose derivative is m. (A ``clip`` would give the same except at
its end points, where the largest weight of each channel sits: it would never learn.)
"""
from __future__ import annotations

from ..tensor import Tensor
from .int8 import QMAX, symmetric_scale


def fake_quantize(x: Tensor, scale) -> Tensor:
    """x rounded to the symmetric int8 grid of step ``scale`` (a number, or an array that
    broadcasts against x), with the straight-through gradient."""
    xp = x.xp
    steps = xp.rint(x.data / xp.asarray(scale, dtype=x.dtype))              # x's shape
    inside = (xp.abs(steps) <= QMAX).astype(x.dtype)                        # the mask m
    grid = (xp.clip(steps, -QMAX, QMAX) * scale).astype(x.dtype)
    return x * Tensor._make(inside, x.device) + Tensor._make(grid - x.data * inside, x.device)


def fake_quantize_per_channel(w: Tensor, axis: int = 0) -> Tensor:
    """``fake_quantize`` with one scale per slice along ``axis``, max|w_slice| / 127 measured
    on w's current values (as ``quantize_per_channel`` will): the weight step of QAT."""
    xp = w.xp
    others = tuple(i for i in range(w.ndim) if i != axis % w.ndim)
    shape = [1] * w.ndim
    shape[axis] = -1
    scale = symmetric_scale(xp.abs(w.data).max(axis=others), xp).reshape(shape).astype(w.dtype)
    return fake_quantize(w, scale)
