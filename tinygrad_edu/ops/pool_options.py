"""Pooling with PyTorch's further options, and adaptive average pooling, composed of slices.

``ops/pool.py`` is the fast path for the common case (a dense window, floor rounding; max
pooling through the kernels). The options here change which windows exist and what they divide
by, so they are written out on Tensors: the KH·KW strided slices of the padded input (one per
kernel offset, as in ``unfold``) stacked on a window axis, (N, C, KH·KW, OH, OW).

- ``dilation`` d spaces the window's taps d apart: offset (kh, kw) reads row i·s + kh·d.
- ``ceil_mode`` rounds the number of windows up, OH = ⌈(H + 2p - d(KH - 1) - 1) / s⌉ + 1, so a
  last, partial window covers the remaining rows, unless it would start beyond the padded
  input (then it is dropped, as in PyTorch). Its missing rows count as -inf (max) or are left
  out of the mean (average).
- ``return_indices``: the flat position h·W + w, in the unpadded plane, of each window's max.
- ``count_include_pad=False`` divides each window's sum by the number of real pixels in it;
  ``divisor_override`` divides by the given number instead.

Max pooling picks each window's winner with ``gather`` (the first maximum, as in PyTorch), so
the gradient reaches exactly the winner, and the composition is twice differentiable.

**Adaptive average pooling** chooses the windows from the output size: output row i averages
input rows ⌊i·H/OH⌋ up to ⌈(i+1)·H/OH⌉ (exclusive); windows may overlap by one row and differ
in size by one. When OH divides H they are a plain reshape and mean.
"""
from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import Tensor
from .conv import pair, window_slice
from .indexing import gather
from .movement import pad, stack


def _length(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool):
    """The number of windows along one axis, PyTorch's rule (``pooling_output_shape``)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    count = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def _windows(op, x, kernel, stride, padding, dilation, ceil_mode, fill):
    """(the stacked windows (N, C, KH·KW, OH, OW), (OH, OW)); padding and the ceil-mode tail
    hold ``fill``."""
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be >= 1 and padding >= 0, "
                         f"got {kernel}, {stride}, {dilation}, {padding}")
    for axis in (0, 1):
        if padding[axis] > (dilation[axis] * (kernel[axis] - 1) + 1) // 2:
            raise ValueError(f"{op}: padding {padding} must be at most half the kernel size "
                             f"{kernel} (dilation {dilation})")
    out = [_length(x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a], ceil_mode)
           for a in (0, 1)]
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {kernel} (dilation {dilation}) is larger than the padded "
                         f"input {x.shape} (padding {padding})")
    tail = [max(0, (out[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1
                - x.shape[2 + a] - 2 * padding[a]) for a in (0, 1)]
    padded = pad(x, ((0, 0), (0, 0), (padding[0], padding[0] + tail[0]),
                     (padding[1], padding[1] + tail[1])), value=fill)
    windows = [padded[:, :, window_slice(i * dilation[0], stride[0], out[0]),
                      window_slice(j * dilation[1], stride[1], out[1])]
               for i in range(kernel[0]) for j in range(kernel[1])]
    return stack(windows, 2), tuple(out)                              # (N, C, KH·KW, OH, OW)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """PyTorch's ``F.max_pool2d`` with every option; returns (output, indices) when
    ``return_indices``."""
    kernel = pair(kernel_size, "max_pool2d", "kernel_size")
    stride = kernel if stride is None else pair(stride, "max_pool2d", "stride")
    padding, dilation = pair(padding, "max_pool2d", "padding"), pair(dilation, "max_pool2d",
                                                                     "dilation")
    windows, (oh, ow) = _windows("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode,
                                 -math.inf)
    xp = x.xp
    winner = windows.data.argmax(axis=2)[:, :, None]                  # (N, C, 1, OH, OW)
    out = gather(windows, 2, winner).squeeze(2)                       # (N, C, OH, OW)
    if not return_indices:
        return out
    kh, kw = winner[:, :, 0] // kernel[1], winner[:, :, 0] % kernel[1]
    rows = xp.arange(oh)[:, None] * stride[0] - padding[0] + kh * dilation[0]
    cols = xp.arange(ow)[None, :] * stride[1] - padding[1] + kw * dilation[1]
    return out, Tensor._make((rows * x.shape[3] + cols).astype(xp.int64), x.device)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """PyTorch's ``F.avg_pool2d`` with every option."""
    kernel = pair(kernel_size, "avg_pool2d", "kernel_size")
    stride = kernel if stride is None else pair(stride, "avg_pool2d", "stride")
    padding = pair(padding, "avg_pool2d", "padding")
    windows, (oh, ow) = _windows("avg_pool2d", x, kernel, stride, padding, (1, 1), ceil_mode,
                                 0.0)
    total = windows.sum(2)                                            # (N, C, OH, OW)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must not be 0")
        return total / divisor_override
    xp = x.xp
    counts = []
    for axis, out in ((0, oh), (1, ow)):   # how many taps of each window count, per axis
        start = xp.arange(out) * stride[axis] - padding[axis]
        end = xp.minimum(start + kernel[axis], x.shape[2 + axis] + padding[axis])
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, x.shape[2 + axis])
        counts.append(end - start)
    divisor = (counts[0][:, None] * counts[1][None, :]).astype(x.dtype)   # (OH, OW)
    return total / Tensor._make(divisor, x.device)


def _adaptive_axis(x: Tensor, dim: int, out: int) -> Tensor:
    """Average ``x`` along ``dim`` into ``out`` adaptive windows."""
    size = x.shape[dim]
    if size % out == 0:
        shape = x.shape[:dim] + (out, size // out) + x.shape[dim + 1:]
        return x.reshape(shape).mean(dim + 1)
    means = [x[(slice(None),) * dim + (slice(i * size // out, -(-(i + 1) * size // out)),)]
             .mean(dim) for i in range(out)]
    return stack(means, dim)


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """PyTorch's ``F.adaptive_avg_pool2d``: (N, C, H, W) or (C, H, W) -> (..., OH, OW);
    ``output_size`` is an int or a pair, where None keeps that axis's size."""
    if x.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected input (N, C, H, W) or (C, H, W), "
                         f"got shape {x.shape}")
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    sizes = tuple(x.shape[x.ndim - 2 + a] if s is None else s for a, s in enumerate(sizes))
    if len(sizes) != 2 or min(sizes) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive ints, got "
                         f"{output_size}")
    return _adaptive_axis(_adaptive_axis(x, x.ndim - 2, sizes[0]), x.ndim - 1, sizes[1])
