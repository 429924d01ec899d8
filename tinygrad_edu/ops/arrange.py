"""Rearranging along dimensions: repeat, flip, roll, and cutting into pieces (split, chunk, unbind).

Every one of them is composed from movement operations the engine already differentiates
(reshape, expand, slicing, ``cat``), so no new backward rule is needed:

    repeat:  x (a, b).repeat(r, s) = x viewed as (1, a, 1, b), expanded to (r, a, s, b) and
             reshaped to (r·a, s·b); the gradient of expand sums the r·s copies back.
    flip:    x[..., ::-1, ...]; its gradient is the gradient flipped back.
    roll:    cat(x[-k:], x[:-k]) along the dimension; the gradient is rolled back by -k.
    split / chunk / unbind:  slices of x; each piece's gradient lands in its own slice.
    unfold:  window w of length ``size`` is x[w·step : w·step + size] along the dimension, one
             integer-array index for all windows; overlapping windows add their gradients.
"""
from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import Tensor
from .indexing import normalize_dim
from .movement import cat


def size_args(sizes: tuple) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes


def repeat(x: Tensor, *sizes) -> Tensor:
    """``torch.Tensor.repeat``: tile x ``sizes[i]`` times along dimension i; extra leading sizes
    add new dimensions (x (3,).repeat(2, 2) is (2, 6))."""
    sizes = size_args(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: give at least one repeat count per dimension ({x.ndim}), "
                         f"got {sizes}")
    if any(not isinstance(r, int) or r < 0 for r in sizes):
        raise ValueError(f"repeat: repeat counts must be integers >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    spread = x.reshape(tuple(n for side in shape for n in (1, side)))       # (1, a, 1, b, ...)
    tiled = spread.expand(tuple(n for r, side in zip(sizes, shape) for n in (r, side)))
    return tiled.reshape(tuple(r * side for r, side in zip(sizes, shape)))  # (r·a, s·b, ...)


def flip(x: Tensor, *dims) -> Tensor:
    """``torch.flip``: reverse the order of the elements along each dimension in ``dims``
    (``x.flip(0, 2)`` or ``x.flip((0, 2))``)."""
    dims = size_args(dims)
    dims = {normalize_dim(d, x.ndim, "flip") for d in dims}
    if x.ndim == 0:
        return x
    return x[tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(x.ndim))]


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """``torch.roll``: shift the elements by ``shifts`` along ``dims``, wrapping around; without
    ``dims`` x is flattened, rolled and reshaped back."""
    if dims is None:
        if not isinstance(shifts, int):
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts!r}")
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    for shift, dim in zip(shifts, dims):
        dim = normalize_dim(dim, x.ndim, "roll")
        size = x.shape[dim]
        k = shift % size if size else 0
        if k:
            before = (slice(None),) * dim
            x = cat([x[before + (slice(size - k, None),)], x[before + (slice(0, size - k),)]], dim)
    return x


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """``torch.split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or of
    the given list of sizes, which must add up to the dimension's length."""
    dim = normalize_dim(dim, x.ndim, "split")
    size = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be a positive int, got {step}")
        lengths = [min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        lengths = list(split_size_or_sections)
        if sum(lengths) != size or min(lengths, default=0) < 0:
            raise ValueError(f"split: sections {lengths} must be >= 0 and add up to the length "
                             f"{size} of dimension {dim}")
    pieces, start = [], 0
    for length in lengths:
        pieces.append(x[(slice(None),) * dim + (slice(start, start + length),)])
        start += length
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``torch.chunk``: at most ``chunks`` pieces of equal length ceil(n / chunks) along ``dim``
    (the last may be shorter, and there may be fewer pieces, as in PyTorch; an empty dimension
    gives ``chunks`` empty pieces)."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    dim = normalize_dim(dim, x.ndim, "chunk")
    if x.shape[dim] == 0:
        return split(x, [0] * chunks, dim)
    return split(x, math.ceil(x.shape[dim] / chunks), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """``torch.unbind``: the slices x[..., i, ...] along ``dim``, each without that dimension."""
    if x.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    dim = normalize_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim]))


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``torch.Tensor.unfold``: every window of ``size`` elements along ``dimension``, ``step``
    apart; the windows replace that dimension and their elements form a new last one."""
    dim = normalize_dim(dimension, x.ndim, "unfold")
    length = x.shape[dim] if x.ndim else 1
    if not 0 <= size <= length or step < 1:
        raise ValueError(f"unfold: size {size} must be in [0, {length}] and step {step} >= 1")
    xp = x.xp
    starts = xp.arange((length - size) // step + 1) * step
    windows = x.reshape(1) if x.ndim == 0 else x
    picked = windows[(slice(None),) * dim + (starts[:, None] + xp.arange(size)[None, :],)]
    return picked.permute(*range(dim + 1), *range(dim + 2, picked.ndim), dim + 1)
