"""Transposed convolution ("deconvolution"): the gradient of conv2d with respect to its input,
used as a layer that upsamples.

conv2d with stride s maps an input of length H to about H/s outputs; each output is a dot
product of a window of inputs with the filter. The transposed convolution runs that map
backwards: each *input* pixel spreads a copy of the filter, scaled by its value, onto an
output window, and overlapping copies add up. Along one axis the output length is

    OH = (H - 1)·s - 2p + d·(KH - 1) + output_padding + 1.

That is itself an ordinary convolution of a modified input, which is how it is composed here:

1. insert s - 1 zeros between neighbouring input pixels (stride becomes spacing);
2. pad by d·(KH - 1) - p zeros on each side (crop when negative), plus ``output_padding``
   at the bottom and right;
3. convolve, stride 1, with the filters flipped in space and their in/out channel axes
   swapped: weight (C_in, C_out/G, KH, KW) becomes (C_out, C_in/G, KH, KW), group by group.

Composition keeps one convolution implementation to trust (and the Numba kernels, through
``impl``), at the price of multiplying the s² - 1 inserted zeros of step 1. Its gradient is
conv2d's through the reshapes, so it is first-order only, as conv2d is.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .conv import conv2d, pair
from .movement import pad as pad_widths
from .padding import pad


def _spread(x: Tensor, stride: tuple) -> Tensor:
    """(N, C, H, W) -> (N, C, (H-1)·sh + 1, (W-1)·sw + 1) with sh - 1, sw - 1 zeros between."""
    sh, sw = stride
    if (sh, sw) == (1, 1):
        return x
    n, c, h, w = x.shape
    spaced = pad_widths(x.reshape(n, c, h, 1, w, 1),
                        ((0, 0),) * 3 + ((0, sh - 1), (0, 0), (0, sw - 1)))
    return spaced.reshape(n, c, h * sh, w * sw)[:, :, :(h - 1) * sh + 1, :(w - 1) * sw + 1]


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1, impl=None) -> Tensor:
    """PyTorch's ``F.conv_transpose2d``: x (N, C_in, H, W), weight (C_in, C_out/groups, KH, KW),
    bias (C_out,) -> (N, C_out, OH, OW); see the module docstring for OH."""
    op = "conv_transpose2d"
    stride, padding = pair(stride, op, "stride"), pair(padding, op, "padding")
    output_padding, dilation = pair(output_padding, op, "output_padding"), pair(dilation, op,
                                                                                "dilation")
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[0] or \
            groups < 1 or weight.shape[0] % groups:
        raise ShapeError(f"{op}: expected input (N, C_in, H, W) and weight (C_in, C_out/groups, "
                         f"KH, KW) with groups={groups} dividing C_in, got input {x.shape} and "
                         f"weight {weight.shape}")
    for axis in (0, 1):
        if not 0 <= output_padding[axis] < max(stride[axis], dilation[axis]):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"stride {stride} or dilation {dilation}")
    c_in, c_out_group, kh, kw = weight.shape
    edge = [dilation[0] * (kh - 1) - padding[0], dilation[1] * (kw - 1) - padding[1]]
    spread = pad(_spread(x, stride), (edge[1], edge[1] + output_padding[1],
                                      edge[0], edge[0] + output_padding[0]))
    flipped = weight.flip((2, 3)).reshape(groups, c_in // groups, c_out_group, kh, kw)
    flipped = flipped.transpose(1, 2).reshape(groups * c_out_group, c_in // groups, kh, kw)
    return conv2d(spread, flipped, bias, 1, 0, dilation, groups, impl=impl)
