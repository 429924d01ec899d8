"""Helpers shared by the core tests: input arrays, a NumPy reference for undoing broadcasting,
and hypothesis strategies for shapes, broadcast pairs, reduction axes and index expressions.

Inputs come in two layouts on purpose: "contiguous", and "transposed", a non-contiguous view
(the transpose of a C-ordered array), because strided inputs are where array code goes wrong.
"""
import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg

LAYOUTS = ["contiguous", "transposed"]


def make_array(rng, shape, layout="contiguous", low=-2.0, high=2.0):
    """float64 values uniform in [low, high) with ``shape``, in the given memory layout."""
    shape = tuple(shape)
    if layout == "transposed" and len(shape) >= 2:
        return rng.uniform(low, high, size=shape[::-1]).T
    return rng.uniform(low, high, size=shape)


def away_from(array, points, margin=0.2):
    """``array`` with every value closer than ``margin`` to one of ``points`` pushed ``margin``
    away from it, so finite differences never straddle a kink."""
    array = np.array(array, dtype=np.float64)
    for p in points:
        close = np.abs(array - p) < margin
        array[close] = p + np.where(array[close] >= p, margin, -margin)
    return array


def leaf(array, device="cpu", requires_grad=True):
    """A float64 leaf tensor holding ``array`` on ``device``."""
    if not isinstance(array, np.ndarray):
        array = np.asarray(array, dtype=np.float64)
    return tg.Tensor(array, requires_grad=requires_grad, device=device)


def np_sum_to(grad, shape):
    """Reference for undoing broadcasting, written independently of the engine's ``sum_to``."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


# ----------------------------------------------------------------------------- strategies

def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


@st.composite
def broadcast_pairs(draw, max_dims=3, min_side=1, max_side=4):
    """Two shapes that broadcast together: each drops some leading axes of a common shape and
    sets some of the remaining axes to 1."""
    full = draw(shapes(0, max_dims, min_side, max_side))

    def operand():
        kept = full[draw(st.integers(0, len(full))):]
        return tuple(1 if draw(st.booleans()) else n for n in kept)

    return operand(), operand()


@st.composite
def reduction_cases(draw):
    """(shape, axis, keepdims) with axis None, an int (maybe negative) or a tuple of ints."""
    shape = draw(shapes(1, 4, 1, 4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in chosen)
    return shape, axis, draw(st.booleans())


@st.composite
def index_cases(draw):
    """(shape, index): an index expression mixing integers, slices with any step (negative
    included), None, Ellipsis and at most one integer array (which may repeat entries)."""
    shape = draw(shapes(1, 3, 1, 5))
    parts, used_array = [], False
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full", "array"]))
        if kind == "array" and used_array:
            kind = "slice"
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            parts.append(slice(start, stop, step))
        elif kind == "full":
            parts.append(slice(None))
        else:
            used_array = True
            parts.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))))
        if draw(st.integers(0, 5)) == 0:
            parts.append(None)
    cut = draw(st.integers(0, len(parts)))
    if draw(st.booleans()) and not any(isinstance(p, np.ndarray) for p in parts[cut:]):
        parts = parts[:cut] + [Ellipsis]   # the rest of the axes, taken whole
    return shape, tuple(parts)


@st.composite
def gather_cases(draw, min_side=0):
    """(input shape, dim, index) for gather/scatter_add: an index with the input's number of
    dimensions, no longer than the input in the other dimensions (it may be shorter, as PyTorch
    allows), with values drawn with replacement, so indices repeat, and sides that may be 0."""
    shape = draw(shapes(1, 3, max(min_side, 1), 4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(draw(st.integers(min_side, 4 if d == dim % len(shape) else n))
                        for d, n in enumerate(shape))
    count = int(np.prod(index_shape))
    values = draw(st.lists(st.integers(0, shape[dim] - 1), min_size=count,
                           max_size=count))
    return shape, dim, np.array(values, dtype=np.int64).reshape(index_shape)
