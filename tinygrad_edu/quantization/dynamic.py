"""Dynamic quantization: int8 weights, inputs quantized on the fly, integer products.

``quantize_dynamic(model)`` returns a copy of ``model`` in which every ``Linear`` and ``Conv2d``
is replaced by its quantized twin. Each twin keeps

    weight_int8    int8, the layer's weight shape       quantize_per_channel(W), axis 0
    weight_scale   float32 (out,)                       one scale per output channel
    bias           float32 (out,) or None               kept in float (it is tiny)

as buffers, so the copy's ``state_dict`` (and a checkpoint saved from it) holds int8 and the
scales: about a quarter of the float32 size (``tinygrad-edu quantize`` saves it deflated, so
that the fixed headers of its many small arrays add little to that). On each call the input x
gets one scale s_x measured on x itself (hence "dynamic"), the products run as int8 × int8
summed in int32, and one multiplication by s_x · s_o per output brings the result back to
float:

    y = (q_x q_Wᵀ) · s_x s_o + b                                   (N, out)

A convolution is the same product on the image patches (im2col): each output pixel is the dot
product of one flattened C·KH·KW patch with each flattened filter.

Quantized layers are for inference: they hold no parameters and give no gradients (to train
with quantization in mind, see ``fake.py``). Differences from PyTorch's ``quantize_dynamic``:
the input is quantized symmetrically to int8 (PyTorch: asymmetric uint8 with a zero-point),
and ``Conv2d`` is included by default (PyTorch's dynamic mode covers Linear and recurrent
layers only).
"""
from __future__ import annotations

import copy

from ..autograd import ShapeError
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.utils import replace_submodule
from ..tensor import Tensor
from .int8 import int8_matmul, quantize_per_channel, quantize_per_tensor


class _Quantized(Module):
    """The shared part: the int8 weight, its scales and the float bias, as buffers."""

    def __init__(self, layer):
        super().__init__()
        xp = layer.weight.xp
        q, scales = quantize_per_channel(layer.weight.data, xp, axis=0)
        device = layer.weight.device
        self.register_buffer("weight_int8", Tensor._make(q, device))
        self.register_buffer("weight_scale", Tensor._make(scales, device))
        self.register_buffer("bias", None if layer.bias is None
                             else Tensor._make(layer.bias.data.astype("float32"), device))

    def _rescale(self, accumulated, input_scale):
        """int32 sums (..., out) -> float32: times s_x s_o, plus the bias."""
        y = accumulated.astype("float32") * (input_scale * self.weight_scale.data)
        return y + self.bias.data if self.bias is not None else y


class QuantizedLinear(_Quantized):
    """The int8 twin of a ``Linear``: ``QuantizedLinear(linear)``."""

    def __init__(self, linear: Linear):
        super().__init__(linear)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"QuantizedLinear: expected input of shape (..., "
                             f"{self.in_features}), got {x.shape}")
        xp = x.xp
        q_x, s_x = quantize_per_tensor(x.data, xp)                          # (..., in) int8
        flat = q_x.reshape(-1, self.in_features)                            # (N, in)
        accumulated = int8_matmul(flat, self.weight_int8.data)              # (N, out) int32
        y = self._rescale(accumulated, s_x)                             # (N, out)
        return Tensor._make(y.reshape(x.shape[:-1] + (self.out_features,)), x.device)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


class QuantizedConv2d(_Quantized):
    """The int8 twin of a ``Conv2d`` (any stride, padding, dilation and groups)."""

    def __init__(self, conv: Conv2d):
        super().__init__(conv)
        self.stride, self.padding = conv.stride, conv.padding
        self.dilation, self.groups = conv.dilation, conv.groups
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels

    def _patches(self, q_x, xp):
        """(N, OH, OW, C, KH, KW) int8 views of every input patch."""
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        _, _, kh, kw = self.weight_int8.shape
        padded = xp.pad(q_x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))         # (N, C, H+2p, W+2p)
        span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        windows = xp.lib.stride_tricks.sliding_window_view(padded, span, axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]                     # (N, C, OH, OW, KH, KW)
        return windows.transpose(0, 2, 3, 1, 4, 5)                          # (N, OH, OW, C, KH, KW)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"QuantizedConv2d: expected input of shape (N, "
                             f"{self.in_channels}, H, W), got {x.shape}")
        xp = x.xp
        q_x, s_x = quantize_per_tensor(x.data, xp)                          # (N, C, H, W) int8
        patches = self._patches(q_x, xp)                                    # (N, OH, OW, C, KH, KW)
        n, oh, ow = patches.shape[:3]
        c_group = self.in_channels // self.groups
        o_group = self.out_channels // self.groups
        outputs = []
        for g in range(self.groups):
            cols = patches[:, :, :, g * c_group:(g + 1) * c_group]
            cols = cols.reshape(n * oh * ow, -1)                            # (N·OH·OW, Cg·KH·KW)
            filters = self.weight_int8.data[g * o_group:(g + 1) * o_group]
            outputs.append(int8_matmul(cols, filters.reshape(o_group, -1)))  # (N·OH·OW, Og)
        accumulated = xp.concatenate(outputs, axis=1)                       # (N·OH·OW, O) int32
        y = self._rescale(accumulated, s_x)                             # (N·OH·OW, O)
        y = y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2)   # (N, O, OH, OW)
        return Tensor._make(xp.ascontiguousarray(y), x.device)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, int8")


QUANTIZED = {Linear: QuantizedLinear, Conv2d: QuantizedConv2d}


def quantize_dynamic(model: Module, qconfig_spec=None, inplace: bool = False) -> Module:
    """A copy of ``model`` (or ``model`` itself with ``inplace=True``) with every layer whose
    type is in ``qconfig_spec`` (default: {Linear, Conv2d}) replaced by its int8 twin."""
    kinds = set(QUANTIZED) if qconfig_spec is None else set(qconfig_spec)
    unknown = kinds - set(QUANTIZED)
    if unknown:
        raise ValueError(f"quantize_dynamic: cannot quantize {sorted(k.__name__ for k in unknown)}"
                         f"; supported: {[k.__name__ for k in QUANTIZED]}")
    model = model if inplace else copy.deepcopy(model)
    for path, module in list(model.named_modules()):
        if type(module) in kinds:
            replace_submodule(model, path, QUANTIZED[type(module)](module))
    return model
