"""Int8 quantization: store weights in 8 bits, multiply in integers, rescale at the end.

A float32 weight takes 4 bytes; an int8 one takes 1. Quantization maps each real number r to an
integer q with one float ``scale`` per group of numbers,

    q = clamp(round(r / scale), -127, 127),      r ≈ q · scale,

*symmetric* (zero maps to zero, no zero-point), so the rounding error of every element is at
most scale / 2. The pieces, one file each:

- ``int8.py``: the arithmetic on arrays: ``quantize_per_channel`` (a weight, one scale per
  output channel: scale_o = max|W_o,:| / 127, so a channel of small weights keeps its
  precision), ``quantize_per_tensor`` (an activation, one scale), ``dequantize`` and
  ``int8_matmul`` (int8 × int8 products summed in int32);
- ``dynamic.py``: ``QuantizedLinear``, ``QuantizedConv2d`` and ``quantize_dynamic(model)``
  (PyTorch's name), which returns a copy whose layers keep int8 weights and quantize their
  input on the fly ("dynamic": the input's scale is measured on every call);
- ``fake.py``: ``fake_quantize`` for quantization-aware training: round in the forward pass,
  let the gradient through unchanged (the straight-through estimator).
"""
from .int8 import QMAX, dequantize, int8_matmul, quantize_per_channel, quantize_per_tensor
from .dynamic import QuantizedConv2d, QuantizedLinear, quantize_dynamic
from .fake import fake_quantize, fake_quantize_per_channel
