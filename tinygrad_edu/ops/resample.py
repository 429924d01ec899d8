"""``F.interpolate``: resize the spatial dimensions of (N, C, L), (N, C, H, W) or (N, C, D, H, W).

Each spatial dimension is resized on its own (the modes are separable). For an output position
i along a dimension of input length n and output length m, with scale = n / m (or
1 / scale_factor when a scale factor is given, as in PyTorch):

- ``nearest``: z_i = x_⌊i · scale⌋, the input element whose cell contains the output's start.
- ``linear`` / ``bilinear`` / ``trilinear``: the source coordinate
  s = (i + ½) · scale - ½ (clamped at 0) lies between x_⌊s⌋ and the next element, and
  z_i = (1 - t) · x_⌊s⌋ + t · x_⌊s⌋+1 with t = s - ⌊s⌋. ``align_corners=True`` maps the corner
  pixels onto each other instead: s = i · (n - 1) / (m - 1).

Both are composed: picking x_j for every i is an integer-array index, whose gradient adds
back onto each source element the gradients of every output that used it, weighted by t or
1 - t for the linear modes. So both are twice differentiable (linear in x).
"""
from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import Tensor

LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}


def _output_sizes(x: Tensor, size, scale_factor) -> tuple[list, list]:
    """(output length, scale used for the coordinates) per spatial dimension."""
    spatial = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = [size] * len(spatial) if isinstance(size, int) else list(size)
        if len(sizes) != len(spatial):
            raise ShapeError(f"interpolate: size {size} does not match the {len(spatial)} "
                             f"spatial dimensions of {x.shape}")
        return sizes, [n / m if m else 0.0 for n, m in zip(spatial, sizes)]
    factors = ([scale_factor] * len(spatial) if isinstance(scale_factor, (int, float))
               else list(scale_factor))
    if len(factors) != len(spatial) or min(factors) <= 0:
        raise ValueError(f"interpolate: scale_factor {scale_factor} must be positive, one per "
                         f"spatial dimension of {x.shape}")
    return [int(math.floor(n * f)) for n, f in zip(spatial, factors)], [1 / f for f in factors]


def _along(x: Tensor, dim: int, positions) -> Tensor:
    return x[(slice(None),) * dim + (positions,)]


def interpolate(x: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None) -> Tensor:
    """PyTorch's ``F.interpolate`` for modes nearest, linear, bilinear and trilinear."""
    if x.ndim not in (3, 4, 5):
        raise ShapeError(f"interpolate: expected input (N, C, ...) with 1 to 3 spatial "
                         f"dimensions, got shape {x.shape}")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("interpolate: align_corners only applies to the linear modes")
    elif LINEAR_MODES.get(mode) != x.ndim:
        raise ValueError(f"interpolate: mode {mode!r} does not fit an input of {x.ndim} "
                         f"dimensions (nearest, linear: 3-D, bilinear: 4-D, trilinear: 5-D)")
    sizes, scales = _output_sizes(x, size, scale_factor)
    xp = x.xp
    for axis, (n, m, scale) in enumerate(zip(x.shape[2:], sizes, scales)):
        dim, out = axis + 2, xp.arange(m, dtype=xp.float64)
        if mode == "nearest":
            x = _along(x, dim, xp.minimum(xp.floor(out * scale).astype(xp.int64), n - 1))
            continue
        if align_corners:
            source = out * ((n - 1) / (m - 1) if m > 1 else 0.0)
        else:
            source = xp.maximum((out + 0.5) * scale - 0.5, 0.0)
        low = xp.minimum(xp.floor(source).astype(xp.int64), n - 1)
        high = xp.minimum(low + 1, n - 1)
        shape = [1] * x.ndim
        shape[dim] = m
        t = Tensor._make((source - low).astype(x.dtype).reshape(shape), x.device)
        x = _along(x, dim, low) * (1 - t) + _along(x, dim, high) * t
    return x
