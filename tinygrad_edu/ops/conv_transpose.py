"""Transposed convolution ("deconvolution"): the gradient of conv2d with respect to its input,
used as a layer that upsamples.

conv2d with stride s maps an input of length H to about H/s outputs; each output is a dot
product of a window of inputs with the filter. The transposed convolution runs that map
backwards: each *input* pixel i spreads a copy of the filter, scaled by its value, onto the
outputs i·s - p + k·d (k = 0 .. K-1), and overlapping copies add up. Along one axis

    OH = (H - 1)·s - 2p + d·(KH - 1) + output_padding + 1.

It is composed of ordinary stride-1 convolutions, one per **phase**. Take dilation 1 first and
count output positions from the uncropped start, o = i·s + k. The outputs with o ≡ r (mod s)
only ever receive the taps k ≡ r, so with o = q·s + r and k = r + m·s,

    out[q·s + r] = Σ_m x[q - m] · w[r + m·s]

which is a stride-1 transposed convolution of x with the sub-filter w[r::s]: a plain conv2d of
x padded by (len(w[r::s]) - 1) zeros, with that sub-filter flipped in space and its in/out
channel axes swapped ((C_in, C_out/G) becomes (C_out, C_in/G), group by group). The s_h·s_w
phases are interleaved into the output and the padding p cropped off (``output_padding`` adds
rows at the bottom and right). This does exactly the multiplications the definition asks for.
Dilation d spaces the taps d apart; it is folded into the filter first (d - 1 zeros between
taps), which costs the multiplications by those zeros and keeps one path.

Everything runs on conv2d (and the Numba kernels, through ``impl``); the gradient is conv2d's
through the slicing and reshaping, so like conv2d it is first-order only.
"""
from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import Tensor
from .conv import conv2d, pair
from .movement import pad as pad_widths, stack
from .padding import pad


def _dilated(weight: Tensor, dilation: tuple) -> Tensor:
    """(…, KH, KW) -> (…, d_h·(KH-1)+1, d_w·(KW-1)+1) with d - 1 zeros between the taps."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return weight
    a, b, kh, kw = weight.shape
    spaced = pad_widths(weight.reshape(a, b, kh, 1, kw, 1),
                        ((0, 0),) * 3 + ((0, dh - 1), (0, 0), (0, dw - 1)))
    return spaced.reshape(a, b, kh * dh, kw * dw)[:, :, :(kh - 1) * dh + 1, :(kw - 1) * dw + 1]


def _as_conv_filter(weight: Tensor, groups: int) -> Tensor:
    """Transposed-conv weight (C_in, C_out/G, KH, KW) -> conv2d weight (C_out, C_in/G, KH, KW):
    flipped in space, in/out channels swapped within each group."""
    c_in, c_out_group, kh, kw = weight.shape
    flipped = weight.flip((2, 3)).reshape(groups, c_in // groups, c_out_group, kh, kw)
    return flipped.transpose(1, 2).reshape(groups * c_out_group, c_in // groups, kh, kw)


def _phase(x: Tensor, sub: Tensor, rows: int, cols: int, groups: int, impl) -> Tensor:
    """The stride-1 transposed convolution of x with the sub-filter ``sub``, padded with zeros
    at the end to (rows, cols) outputs: (N, C_out, rows, cols)."""
    n, _, h, w = x.shape
    c_out = sub.shape[1] * groups
    mh, mw = sub.shape[2:]
    if mh == 0 or mw == 0:   # a phase that no tap reaches (stride larger than the kernel)
        return Tensor._make(x.xp.zeros((n, c_out, rows, cols), dtype=x.dtype), x.device)
    spread = pad_widths(x, ((0, 0), (0, 0), (mh - 1, mh - 1), (mw - 1, mw - 1)))
    out = conv2d(spread, _as_conv_filter(sub, groups), None, 1, 0, 1, groups, impl=impl)
    return pad_widths(out, ((0, 0), (0, 0), (0, rows - (h + mh - 1)), (0, cols - (w + mw - 1))))


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
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be >= 1 and padding >= 0, got "
                         f"{stride}, {dilation}, {padding}")
    for axis in (0, 1):
        if not 0 <= output_padding[axis] < max(stride[axis], dilation[axis]):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"stride {stride} or dilation {dilation}")
    weight = _dilated(weight, dilation)
    (n, _, h, w), (sh, sw), (kh, kw) = x.shape, stride, weight.shape[2:]
    rows, cols = h - 1 + math.ceil(kh / sh), w - 1 + math.ceil(kw / sw)   # per phase
    phases = [[_phase(x, weight[:, :, rh::sh, rw::sw], rows, cols, groups, impl)
               for rw in range(sw)] for rh in range(sh)]
    grid = stack([stack(row, 0) for row in phases], 0)          # (sh, sw, N, C_out, rows, cols)
    c_out = grid.shape[3]
    full = grid.permute(2, 3, 4, 0, 5, 1).reshape(n, c_out, rows * sh, cols * sw)
    out_h = (h - 1) * sh - 2 * padding[0] + kh + output_padding[0]
    out_w = (w - 1) * sw - 2 * padding[1] + kw + output_padding[1]
    y = pad(full, (-padding[1], out_w + padding[1] - cols * sw,
                   -padding[0], out_h + padding[0] - rows * sh))          # (N, C_out, OH, OW)
    if bias is None:
        return y
    if bias.shape != (c_out,):
        raise ShapeError(f"{op}: bias must have shape ({c_out},), got {bias.shape}")
    return y + bias.reshape(-1, 1, 1)
