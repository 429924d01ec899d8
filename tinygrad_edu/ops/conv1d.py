"""1-D convolution as a 2-D convolution of height 1.

A signal x (N, C, L) is an image x (N, C, 1, L), and a filter w (F, C/groups, K) is a filter
w (F, C/groups, 1, K); sliding it along the one axis is ``conv2d`` with stride, padding and
dilation (1, s), (0, p), (1, d). So conv1d is composed, and it runs on whichever conv2d
implementation (``impl``) is selected, Numba kernels included. Its gradient is conv2d's, and
like conv2d it is first-order only.
"""
from __future__ import annotations

from numbers import Integral

from ..autograd import ShapeError
from ..tensor import Tensor
from .conv import conv2d


def single(value, op: str, name: str) -> int:
    """An int, or a 1-tuple of one, as an int."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, Integral):
        raise ValueError(f"{op}: {name} must be an int or a 1-tuple of an int, got {value!r}")
    return int(value)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1, impl=None) -> Tensor:
    """PyTorch's ``F.conv1d``: x (N, C, L) or (C, L), weight (F, C/groups, K), bias (F,)
    -> (N, F, OL) with OL = (L + 2p - d·(K - 1) - 1) // s + 1."""
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expected input (N, C, L) and weight (F, C/groups, K), got "
                         f"input {x.shape} and weight {weight.shape}")
    stride, padding, dilation = (single(stride, "conv1d", "stride"),
                                 single(padding, "conv1d", "padding"),
                                 single(dilation, "conv1d", "dilation"))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding),
               (1, dilation), groups, impl=impl).squeeze(2)                  # (N, F, OL)
    return y.squeeze(0) if unbatched else y
