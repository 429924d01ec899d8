"""More activation functions, as functions and Modules: the ELU family, SiLU and Mish,
hardtanh and logsigmoid. Each is composed from operations with backward rules already:

    elu(x)        = x if x > 0 else α(e^x - 1)           d/dx = 1 if x > 0 else α e^x
    selu(x)       = λ · elu(x, α),  λ ≈ 1.0507, α ≈ 1.6733  (self-normalising constants)
    silu(x)       = x · σ(x)                              d/dx = σ(x)(1 + x(1 - σ(x)))
    mish(x)       = x · tanh(softplus(x))
    hardtanh(x)   = clip(x, min_val, max_val)             d/dx = 1 inside, 0 outside
    logsigmoid(x) = log σ(x) = -softplus(-x)              d/dx = 1 - σ(x) = σ(-x)

ELU's negative branch is computed from min(x, 0), so e^x of a large positive x (unused by
``where``) never overflows into an inf·0 = NaN gradient.
"""
from __future__ import annotations

from ..ops.elementwise import where
from ..ops.unary import expm1
from ..tensor import Tensor
from .activation import softplus
from .module import Module

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return where(x > 0, x, alpha * expm1(x.clip(None, 0.0)))


def selu(x: Tensor) -> Tensor:
    return SELU_SCALE * elu(x, SELU_ALPHA)


def silu(x: Tensor) -> Tensor:
    return x * x.sigmoid()


def mish(x: Tensor) -> Tensor:
    return x * softplus(x).tanh()


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return x.clip(min_val, max_val)


def logsigmoid(x: Tensor) -> Tensor:
    return -softplus(-x)


class ELU(Module):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return selu(x)


class SiLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return silu(x)


class Mish(Module):
    def forward(self, x: Tensor) -> Tensor:
        return mish(x)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class LogSigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return logsigmoid(x)
