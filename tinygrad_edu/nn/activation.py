"""Activation functions: the nonlinearities between layers, as functions and as Modules.

Without a nonlinearity a stack of Linear layers is still one linear map. Each function here is
applied elementwise (softmax and log_softmax along one axis), and most are one line composed
from the engine's operations, whose backward rules already exist:

    relu(x)        = max(x, 0)                      d/dx = 1 if x > 0 else 0
    leaky_relu(x)  = x if x > 0 else s·x            d/dx = 1 if x > 0 else s
    sigmoid(x)     = 1 / (1 + e^-x)                 d/dx = σ(x)(1 - σ(x))
    tanh(x)                                         d/dx = 1 - tanh²(x)
    softplus(x)    = log(1 + e^x)                   d/dx = σ(x)
    gelu(x)        = x·Φ(x) = x/2 · (1 + erf(x/√2))  (Φ: the standard normal CDF)
    gelu_tanh(x)   = x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³)))   (GPT-2's approximation)

Three of them have their own differentiable operation in ``ops/activation.py``: ``Erf`` (exact
GELU is composed from it, and its gradient Φ(x) + x·φ(x) comes out of the chain rule),
``LogOnePlusExp`` (softplus, overflow-free) and ``GeluTanh`` (the tanh GELU in one step).
"""
from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..ops.activation import Erf, GeluTanh, LogOnePlusExp
from ..ops.elementwise import where
from ..tensor import Tensor
from .module import Module


# ----------------------------------------------------------------------------- functions

def erf(x: Tensor) -> Tensor:
    return Erf.apply(x)


def relu(x: Tensor) -> Tensor:
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope·x."""
    return where(x > 0, x, x * negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """log(1 + e^(beta·x)) / beta: a smooth relu (``beta`` sharpens the corner)."""
    return LogOnePlusExp.apply(x) if beta == 1 else LogOnePlusExp.apply(x * beta) / beta


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x). ``approximate="tanh"`` uses the tanh formula of GPT-2 and BERT instead of erf."""
    if approximate == "none":
        return x * 0.5 * (1 + erf(x * (1 / math.sqrt(2))))
    if approximate == "tanh":   # the kernel takes float32 and float64 (None: the reference)
        fast = x.dtype in (np.float32, np.float64)
        return GeluTanh.apply(x, impl=kernels.select("gelu", x.device) if fast else None)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softmax(x: Tensor, dim: int = -1, dtype=None, *, axis: int | None = None) -> Tensor:
    """e^x / Σ e^x along ``dim`` (``axis`` is an alias): positive values that sum to 1."""
    return x.softmax(dim if axis is None else axis, dtype)


def log_softmax(x: Tensor, dim: int = -1, dtype=None, *, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim``: the logarithm of softmax, without its underflow."""
    return x.log_softmax(dim if axis is None else axis, dtype)


# ----------------------------------------------------------------------------- modules

class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class Softplus(Module):
    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return softplus(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class GELU(Module):
    """x·Φ(x); ``approximate="tanh"`` for the tanh approximation (GPT-2)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
