"""``nn.init``: the random starting values of weights, and why their scale matters.

A layer y = W x with fan_in inputs adds up fan_in products, so if every w has variance s² and
every x variance 1, each y has variance fan_in·s². Repeat that over many layers and activations
either explode or vanish, unless s² ≈ 1/fan_in. The classical recipes choose s from the layer's
fans and the nonlinearity that follows:

    xavier (Glorot):  Var(w) = gain² · 2 / (fan_in + fan_out)   (keeps forward *and* backward
                                                                  variances steady, for tanh)
    kaiming (He):     Var(w) = gain² / fan                       (fan = fan_in or fan_out;
                                                                  gain² = 2 for relu, which
                                                                  zeroes half of its inputs)

A uniform distribution U(-b, b) has variance b²/3, so the uniform variants use b = √3 · std.
For a weight of shape (out, in, k1, k2, ...) (Linear or convolution), fan_in = in·k1·k2·...
and fan_out = out·k1·k2·....

PyTorch's Linear and Conv layers use ``kaiming_uniform_(w, a=√5)``, which works out to
U(±1/√fan_in), and draw the bias from the same range; Embedding uses N(0, 1).

Every function here overwrites ``tensor.data`` in place with draws from the device's generator
(so ``tg.manual_seed`` repeats them), records nothing in the graph, and returns the tensor.
"""
from __future__ import annotations

import math

from .. import backend
from ..tensor import Tensor

_LINEAR_GAINS = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
                 "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which to scale the std so a nonlinearity keeps the variance steady."""
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan_in_and_fan_out: needs a tensor with at least 2 axes "
                         f"(out, in, ...), got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` into the tensor's own array (keeping its dtype and device)."""
    tensor.data[...] = values
    return tensor


def _check_float(name: str, tensor: Tensor) -> None:
    if tensor.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating-point tensor, got dtype {tensor.dtype}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b)."""
    _check_float("uniform_", tensor)
    draws = backend.generator(tensor.device).random(tensor.shape, dtype=tensor.dtype)   # U(0, 1)
    return _fill(tensor, a + (b - a) * draws)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    _check_float("normal_", tensor)
    draws = backend.generator(tensor.device).standard_normal(tensor.shape, dtype=tensor.dtype)
    return _fill(tensor, mean + std * draws)


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-b, b) with b = gain·√(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """gain / √fan, where ``a`` is the negative slope of a leaky relu that follows."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-b, b) with b = √3 · gain / √fan  (He et al., 2015)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std²) with std = gain / √fan."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
