"""``F.unfold`` (im2col on Tensors) and its adjoint ``F.fold`` (col2im).

``unfold`` cuts every KH×KW window (with stride, padding and dilation, as in conv2d) out of
x (N, C, H, W) and lays the windows side by side as columns:

    out[n, c·KH·KW + kh·KW + kw, i·OW + j] = xpad[n, c, i·sh + kh·dh, j·sw + kw·dw]

so a convolution becomes ``weight.reshape(F, -1) @ unfold(x)``. ``fold`` goes back: each column
entry is *added* onto the pixel it would have been copied from, so pixels shared by overlapping
windows receive the sum; ``fold(unfold(x))`` is x times the number of windows covering each pixel.

Both are composed of slices (unfold) and of their adjoint, adding a block into zeros at a
strided slice (``IndexAdd``, the gradient of slicing), so each one's gradient is the other and
both are twice differentiable. ``ops/conv.py`` has the same pair on raw arrays, for speed.
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .conv import output_length, pair, window_slice
from .movement import IndexAdd, pad, stack


def _settings(op: str, kernel_size, dilation, padding, stride):
    return (pair(kernel_size, op, "kernel_size"), pair(dilation, op, "dilation"),
            pair(padding, op, "padding"), pair(stride, op, "stride"))


def unfold(x: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """x (N, C, H, W) -> (N, C·KH·KW, L), L = OH·OW windows; PyTorch's ``F.unfold``."""
    (kh, kw), dilation, padding, stride = _settings("unfold", kernel_size, dilation, padding,
                                                    stride)
    if x.ndim != 4:
        raise ShapeError(f"unfold: expected input (N, C, H, W), got shape {x.shape}")
    n, c, h, w = x.shape
    oh = output_length(h, kh, stride[0], padding[0], dilation[0])
    ow = output_length(w, kw, stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ShapeError(f"unfold: kernel {(kh, kw)} with dilation {dilation} does not fit the "
                         f"padded input {x.shape} (padding {padding})")
    x = pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    windows = [x[:, :, window_slice(i * dilation[0], stride[0], oh),
                 window_slice(j * dilation[1], stride[1], ow)]
               for i in range(kh) for j in range(kw)]                 # KH·KW of (N, C, OH, OW)
    return stack(windows, 2).reshape(n, c * kh * kw, oh * ow)


def fold(x: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """x (N, C·KH·KW, L) -> (N, C, H, W) with (H, W) = ``output_size``, overlaps summed;
    PyTorch's ``F.fold``."""
    (kh, kw), dilation, padding, stride = _settings("fold", kernel_size, dilation, padding,
                                                    stride)
    h, w = pair(output_size, "fold", "output_size")
    oh = output_length(h, kh, stride[0], padding[0], dilation[0])
    ow = output_length(w, kw, stride[1], padding[1], dilation[1])
    if x.ndim != 3 or x.shape[1] % (kh * kw) or x.shape[2] != oh * ow:
        raise ShapeError(f"fold: expected input (N, C·{kh * kw}, {oh * ow}) for output_size "
                         f"{(h, w)} and kernel {(kh, kw)}, got shape {x.shape}")
    n, c = x.shape[0], x.shape[1] // (kh * kw)
    blocks = x.reshape(n, c, kh, kw, oh, ow)
    padded = (n, c, h + 2 * padding[0], w + 2 * padding[1])
    total = None
    for i in range(kh):
        for j in range(kw):
            place = (slice(None), slice(None), window_slice(i * dilation[0], stride[0], oh),
                     window_slice(j * dilation[1], stride[1], ow))
            part = IndexAdd.apply(blocks[:, :, i, j], shape=padded, index=place)  # (N, C, Hp, Wp)
            total = part if total is None else total + part
    return total[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]
