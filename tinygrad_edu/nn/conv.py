"""``Conv2d``, ``MaxPool2d`` and ``AvgPool2d``: the layers of a convolutional network.

A convolution layer holds F filters, ``weight`` of shape (F, C/groups, KH, KW), and a ``bias``
of shape (F,); each filter slides over the image and produces one output channel (the math,
forward and backward, is in ``ops/conv.py``). Pooling layers have no parameters: they shrink each
channel by keeping the maximum or the mean of every window (``ops/pool.py``).

Initialisation follows PyTorch: ``kaiming_uniform_(weight, a=√5)``, which is U(±1/√fan_in)
with fan_in = C/groups · KH · KW, and the bias from the same range. Layouts and names match
PyTorch's, so a PyTorch state_dict loads unchanged.

The layers call ``nn.functional`` (``F.conv2d``, ``F.max_pool2d``...), looked up at call time,
so when a fast kernel is selected there, the layers use it too.
"""
from __future__ import annotations

import math

from .. import creation
from ..autograd import ShapeError
from ..ops.conv import pair
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, weight) + bias:  x (N, in_channels, H, W) -> (N, out_channels, OH, OW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "Conv2d", "kernel_size")
        self.stride = pair(stride, "Conv2d", "stride")
        self.padding = pair(padding, "Conv2d", "padding")
        self.dilation = pair(dilation, "Conv2d", "dilation")
        self.groups = groups
        weight = creation.zeros(out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(init.kaiming_uniform_(weight, a=math.sqrt(5)))
        fan_in = in_channels // groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / math.sqrt(fan_in)
        self.bias = (Parameter(init.uniform_(creation.zeros(out_channels), -bound, bound))
                     if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d: expected input of shape (N, {self.in_channels}, H, W), "
                             f"got {x.shape}")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class _Pool2d(Module):
    """What both pooling layers share: the window settings."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each window:  (N, C, H, W) -> (N, C, OH, OW); stride defaults to the
    kernel size, padding counts as -inf."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each window (padded zeros counted):  (N, C, H, W) -> (N, C, OH, OW); stride
    defaults to the kernel size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
