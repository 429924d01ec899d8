"""The geometry of a sliding window, for convolution and pooling, computed in this one place.

A window of KH×KW taps, spread by a dilation d, moves over a plane zero-padded by p on both
sides in steps of a stride s. Along the height axis it fits

    OH = (H + 2·p - d·(KH - 1) - 1) // s + 1          (the same rule gives OW)

times. ``ConvGeometry`` holds those settings and the sizes they give, validated once by
:func:`conv_geometry` (or :func:`pool_geometry`); the reference in ``conv.py`` and ``pool.py``
and every kernel in ``tinygrad_edu.kernels`` take it as their one settings argument instead of
a list of loose integers. It is a ``NamedTuple`` of ints, so Numba's ``njit`` and ``cuda.jit``
kernels accept it as it is (``geometry.stride_h`` compiles).
"""
from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

from ..autograd import ShapeError


class ConvGeometry(NamedTuple):
    """The settings of a 2-D sliding window and the sizes they give.

    Its fields are plain ints, the form a Numba kernel can read anywhere (a parallel loop
    accepts no tuples from outside); in Python the properties give them as (height, width)
    pairs. ``in_h, in_w`` and ``out_h, out_w`` are the plane sizes; ``groups`` splits the
    channels of a convolution (1 for pooling, whose channels never mix)."""

    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    padding_h: int
    padding_w: int
    dilation_h: int
    dilation_w: int
    groups: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int

    kernel = property(lambda self: (self.kernel_h, self.kernel_w))
    stride = property(lambda self: (self.stride_h, self.stride_w))
    padding = property(lambda self: (self.padding_h, self.padding_w))
    dilation = property(lambda self: (self.dilation_h, self.dilation_w))
    input = property(lambda self: (self.in_h, self.in_w), doc="(H, W)")
    output = property(lambda self: (self.out_h, self.out_w), doc="(OH, OW)")
    padded = property(lambda self: (self.in_h + 2 * self.padding_h,
                                    self.in_w + 2 * self.padding_w),
                      doc="(H + 2·ph, W + 2·pw): the plane the window moves over")

    def require_input(self, op: str, x_shape, weight_shape=None) -> None:
        """Raise a ValueError naming ``op`` unless arrays of these shapes fit this geometry."""
        fits = len(x_shape) == 4 and tuple(x_shape[2:]) == self.input
        if weight_shape is not None:
            fits = (fits and len(weight_shape) == 4 and tuple(weight_shape[2:]) == self.kernel
                    and weight_shape[1] * self.groups == x_shape[1]      # channels per group
                    and weight_shape[0] % self.groups == 0)              # filters
        if not fits:
            shapes = str(tuple(x_shape)) + ("" if weight_shape is None
                                            else f" and {tuple(weight_shape)}")
            raise ValueError(f"{op}: arrays of shapes {shapes} do not fit {self}")


def pair(value, op: str, name: str) -> tuple[int, int]:
    """An int or a pair of ints as an (h, w) pair, e.g. ``stride=2`` -> (2, 2)."""
    if isinstance(value, Integral):
        value = (value, value)
    values = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != 2 or not all(isinstance(v, Integral) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


def output_length(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """How many window positions fit along one axis: (size + 2p - d·(k-1) - 1) // s + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def window_slice(offset: int, stride: int, count: int) -> slice:
    """The positions ``offset, offset + stride, ...`` (``count`` of them) along one axis."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _geometry(op, x_shape, kernel, stride, padding, dilation, groups) -> ConvGeometry:
    """The geometry, after checking that the (dilated) window fits the padded plane."""
    for name, value, low in (("stride", stride, 1), ("dilation", dilation, 1),
                             ("padding", padding, 0), ("kernel_size", kernel, 1)):
        if min(value) < low:
            raise ValueError(f"{op}: {name} must be >= {low}, got {value}")
    plane = (int(x_shape[2]), int(x_shape[3]))
    for axis, name in ((0, "height"), (1, "width")):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        padded = plane[axis] + 2 * padding[axis]
        if span > padded:
            dilated = f" (with dilation {dilation[axis]})" if dilation[axis] != 1 else ""
            raise ShapeError(f"{op}: kernel {name} {span}{dilated} is larger than the padded "
                             f"input {name} {padded}; input {tuple(x_shape)}, padding {padding}")
    output = [output_length(plane[a], kernel[a], stride[a], padding[a], dilation[a])
              for a in (0, 1)]
    return ConvGeometry(*(int(v) for v in (*kernel, *stride, *padding, *dilation, groups,
                                           *plane, *output)))


def conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups: int,
                  op: str = "conv2d") -> ConvGeometry:
    """The validated geometry of convolving x (N, C, H, W) with weight (F, C/groups, KH, KW);
    ``stride``, ``padding``, ``dilation`` are (h, w) pairs. Bad shapes raise a ShapeError,
    bad settings a ValueError, each naming ``op`` and the values."""
    x_shape, weight_shape = tuple(x_shape), tuple(weight_shape)
    if len(x_shape) != 4 or len(weight_shape) != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) and weight (F, C/groups, KH, KW), "
                         f"got input {x_shape} and weight {weight_shape}")
    channels, filters = x_shape[1], weight_shape[0]
    if not isinstance(groups, Integral) or groups < 1 or channels % groups or filters % groups:
        raise ShapeError(f"{op}: groups={groups} must divide both the input channels "
                         f"({channels}) and the filters ({filters}); input {x_shape}, "
                         f"weight {weight_shape}")
    if weight_shape[1] * groups != channels:
        raise ShapeError(f"{op}: input {x_shape} has {channels} channels, but weight "
                         f"{weight_shape} with groups={groups} expects {weight_shape[1] * groups}")
    return _geometry(op, x_shape, weight_shape[2:], stride, padding, dilation, groups)


def pool_geometry(x_shape, kernel, stride, padding, op: str = "max_pool2d") -> ConvGeometry:
    """The validated geometry of pooling x (N, C, H, W) over ``kernel`` windows (pairs);
    padding may be at most half the kernel (PyTorch's rule)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got shape {x_shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size and stride must be >= 1 and padding >= 0, got "
                         f"kernel_size={kernel}, stride={stride}, padding={padding}")
    if min(x_shape[2:]) < 1:
        raise ShapeError(f"{op}: the input planes of x {x_shape} are empty")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return _geometry(op, x_shape, kernel, stride, padding, (1, 1), 1)
