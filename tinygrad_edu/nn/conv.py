"""``Conv2d``, ``Conv1d``, ``ConvTranspose2d`` and the pooling layers of a convolutional network.

A convolution layer holds F filters, ``weight`` of shape (F, C/groups, KH, KW), and a ``bias``
of shape (F,); each filter slides over the image and produces one output channel (the math,
forward and backward, is in ``ops/conv.py``). Pooling layers have no parameters: they shrink each
channel by keeping the maximum or the mean of every window (``ops/pool.py``).

Initialisation follows PyTorch: ``kaiming_uniform_(weight, a=√5)``, which is U(±1/√fan_in)
with fan_in = C/groups · KH · KW, and the bias from the same range. Layouts and names match
PyTorch's, so a PyTorch state_dict loads unchanged.

``Conv1d`` (weight (F, C/groups, K)) and ``ConvTranspose2d`` (weight (C_in, C_out/groups, KH,
KW), PyTorch's layout, so its fan_in is C_out/groups · KH · KW) are initialised the same way.

The layers call ``nn.functional`` (``F.conv2d``, ``F.max_pool2d``...), looked up at call time,
so when a fast kernel is selected there, the layers use it too.
"""
from __future__ import annotations

import math

from .. import creation
from ..autograd import ShapeError
from ..ops.conv import pair
from ..ops.conv1d import single
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


def _init_weight_and_bias(layer: Module, weight_shape: tuple, out_channels: int,
                          bias: bool) -> None:
    """PyTorch's default: kaiming_uniform_(a=√5) for the weight, U(±1/√fan_in) for the bias,
    fan_in = weight_shape[1] · kernel size."""
    weight = creation.zeros(*weight_shape)
    layer.weight = Parameter(init.kaiming_uniform_(weight, a=math.sqrt(5)))
    bound = 1 / math.sqrt(math.prod(weight_shape[1:]))
    layer.bias = (Parameter(init.uniform_(creation.zeros(out_channels), -bound, bound))
                  if bias else None)


class Conv1d(Module):
    """y = conv1d(x, weight) + bias:  x (N, in_channels, L) -> (N, out_channels, OL)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (single(kernel_size, "Conv1d", "kernel_size"),)
        self.stride = (single(stride, "Conv1d", "stride"),)
        self.padding = (single(padding, "Conv1d", "padding"),)
        self.dilation = (single(dilation, "Conv1d", "dilation"),)
        _init_weight_and_bias(self, (out_channels, in_channels // groups) + self.kernel_size,
                              out_channels, bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[-2] != self.in_channels:
            raise ShapeError(f"Conv1d: expected input of shape (N, {self.in_channels}, L), "
                             f"got {x.shape}")
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """The transposed convolution (see ``ops/conv_transpose.py``): x (N, in_channels, H, W) ->
    (N, out_channels, OH, OW), OH = (H - 1)·s - 2p + d·(KH - 1) + output_padding + 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"ConvTranspose2d: groups={groups} must divide "
                             f"in_channels={in_channels} and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "ConvTranspose2d", "kernel_size")
        self.stride = pair(stride, "ConvTranspose2d", "stride")
        self.padding = pair(padding, "ConvTranspose2d", "padding")
        self.output_padding = pair(output_padding, "ConvTranspose2d", "output_padding")
        self.dilation = pair(dilation, "ConvTranspose2d", "dilation")
        _init_weight_and_bias(self, (in_channels, out_channels // groups) + self.kernel_size,
                              out_channels, bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ConvTranspose2d: expected input of shape "
                             f"(N, {self.in_channels}, H, W), got {x.shape}")
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, groups={self.groups}, "
                f"dilation={self.dilation}, bias={self.bias is not None}")


class MaxPool2d(Module):
    """The maximum of each window:  (N, C, H, W) -> (N, C, OH, OW); stride defaults to the
    kernel size, padding counts as -inf. ``return_indices=True`` also returns the winners'
    flat positions, as in PyTorch."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x: Tensor):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean of each window (padded zeros counted unless ``count_include_pad=False``):
    (N, C, H, W) -> (N, C, OH, OW); stride defaults to the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
