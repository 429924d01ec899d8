"""``F.pad``: widen (or, with negative widths, crop) the last dimensions of a tensor.

``pad`` lists (before, after) widths starting from the *last* dimension, as in PyTorch:
``(1, 2)`` pads the last dimension by 1 in front and 2 behind; ``(1, 1, 3, 0)`` also pads the
second-to-last one by 3 in front. A negative width removes that many elements instead.

The modes differ in what the new border holds, for a line a_0 ... a_(n-1):

    constant   value, value | a_0 ... a_(n-1) | value, value
    reflect    a_2, a_1     | a_0 ... a_(n-1) | a_(n-2), a_(n-3)     (the edge is not repeated)
    replicate  a_0, a_0     | a_0 ... a_(n-1) | a_(n-1), a_(n-1)
    circular   a_(n-2), a_(n-1) | a_0 ... a_(n-1) | a_0, a_1

Everything is composed: cropping is a slice, constant padding is the ``Pad`` operation, and the
other modes pick each output element from one input position, ``x[..., positions, ...]``, an
integer-array index. Its gradient scatter-adds back, so an edge element that was copied into
the border several times receives the sum of all its copies' gradients.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .movement import pad as pad_constant

MODES = ("constant", "reflect", "replicate", "circular")


def _border_positions(xp, n: int, before: int, after: int, mode: str, dim: int):
    """The input position each element of the padded line comes from."""
    if mode == "reflect" and (before >= n or after >= n):
        raise ValueError(f"pad: reflect padding ({before}, {after}) must be smaller than the "
                         f"size {n} of dimension {dim}")
    if mode == "circular" and (before > n or after > n):
        raise ValueError(f"pad: circular padding ({before}, {after}) must be at most the size "
                         f"{n} of dimension {dim}")
    if n == 0:
        raise ValueError(f"pad: {mode} padding needs a non-empty dimension {dim}")
    positions = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1) if n > 1 else 1                       # reflect: a_0 .. a_(n-1) .. a_1
    folded = positions % period
    return xp.where(folded < n, folded, period - folded)


def pad(x: Tensor, pad: tuple, mode: str = "constant", value=None) -> Tensor:
    """PyTorch's ``F.pad(input, pad, mode="constant", value=None)``; see the module docstring."""
    pad = tuple(pad)
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim or not all(isinstance(w, int) for w in pad):
        raise ShapeError(f"pad: pad must hold an even number of ints, at most 2 per dimension "
                         f"of the input {x.shape}, got {pad}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value is only used by mode 'constant', not {mode!r}")
    widths = [(0, 0)] * (x.ndim - len(pad) // 2) + [
        (pad[i], pad[i + 1]) for i in reversed(range(0, len(pad), 2))]   # one pair per dim
    crop = tuple(slice(max(-before, 0), n - max(-after, 0))
                 for (before, after), n in zip(widths, x.shape))
    if any(w < 0 for w in pad):
        if any(s.stop < s.start for s in crop):
            raise ShapeError(f"pad: negative widths {pad} crop more than the input {x.shape} has")
        x = x[crop]
    grow = [(max(before, 0), max(after, 0)) for before, after in widths]
    if mode == "constant":
        return pad_constant(x, grow, 0.0 if value is None else value) if any(map(any, grow)) else x
    for dim, (before, after) in enumerate(grow):
        if before or after:
            positions = _border_positions(x.xp, x.shape[dim], before, after, mode, dim)
            x = x[(slice(None),) * dim + (positions,)]
    return x
