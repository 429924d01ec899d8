"""More elementwise functions of one tensor: trigonometry, logarithms and exponentials in other
bases, and the step functions (rounding, sign) whose gradient is zero.

Most are composed from operations whose backward rules already exist, so there is nothing new
to trust:

    cos a   = sin(a + π/2)                 tan a   = sin a / cos a
    acos a  = π/2 - asin a                 sinh a  = (e^a - e^-a) / 2,   cosh a = (e^a + e^-a) / 2
    log2 a  = ln a / ln 2,  log10 a = ln a / ln 10,   exp2 a = e^(a · ln 2),   rsqrt a = 1 / √a

Six get their own ``Function``. ``Sin``, ``Asin`` and ``Atan`` are primitives: NumPy computes
them and nothing cheaper composes them (``Erf``, in ``ops/activation.py``, is another).
``Log1p`` and ``Expm1`` exist for precision: near a = 0 the composed ``(1 + a).log()`` and
``a.exp() - 1`` lose every digit below 1e-7 in float32, which is why these functions exist at
all. ``StepFunction`` is below. Each backward is written in Tensor operations, so all of them
are twice differentiable. (Composing cos from sin costs one rounding of a + π/2: about one
float32 ulp of a, 1e-6 at |a| = 10.)

``floor``, ``ceil``, ``round``, ``trunc`` and ``sign`` are piecewise constant: their derivative
is 0 wherever it exists, which is what PyTorch returns (``StepFunction``).
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from .activation import Erf


class Sin(Function):
    """z = sin a;   dz/da = cos a."""

    def forward(self, a):
        return self.xp.sin(a)

    def backward(self, grad):
        return grad * cos(self.inputs[0])


class Asin(Function):
    """z = arcsin a;   dz/da = 1 / √(1 - a²)   (|a| < 1)."""

    def forward(self, a):
        return self.xp.arcsin(a)

    def backward(self, grad):
        (a,) = self.inputs
        return grad / (1 - a * a).sqrt()


class Atan(Function):
    """z = arctan a;   dz/da = 1 / (1 + a²)."""

    def forward(self, a):
        return self.xp.arctan(a)

    def backward(self, grad):
        (a,) = self.inputs
        return grad / (1 + a * a)


class Log1p(Function):
    """z = ln(1 + a), accurate for tiny a;   dz/da = 1 / (1 + a)."""

    def forward(self, a):
        return self.xp.log1p(a)

    def backward(self, grad):
        return grad / (1 + self.inputs[0])


class Expm1(Function):
    """z = e^a - 1, accurate for tiny a;   dz/da = e^a = z + 1."""

    saves_output = True

    def forward(self, a):
        return self.xp.expm1(a)

    def backward(self, grad):
        return grad * (self.output + 1)


class StepFunction(Function):
    """z = floor, ceil, round, trunc or sign of a;   dz/da = 0 (PyTorch's choice at the jumps too).

    ``round`` rounds halves to even, as ``torch.round`` and ``np.round`` do."""

    def forward(self, a, name):
        return getattr(self.xp, name)(a)

    def backward(self, grad):
        return grad * 0


def sin(x: Tensor) -> Tensor:
    return Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    return Sin.apply(x + math.pi / 2)


def tan(x: Tensor) -> Tensor:
    return sin(x) / cos(x)


def asin(x: Tensor) -> Tensor:
    return Asin.apply(x)


def acos(x: Tensor) -> Tensor:
    return math.pi / 2 - Asin.apply(x)


def atan(x: Tensor) -> Tensor:
    return Atan.apply(x)


def sinh(x: Tensor) -> Tensor:
    return (x.exp() - (-x).exp()) * 0.5


def cosh(x: Tensor) -> Tensor:
    return (x.exp() + (-x).exp()) * 0.5


def log2(x: Tensor) -> Tensor:
    return x.log() * (1 / math.log(2))


def log10(x: Tensor) -> Tensor:
    return x.log() * (1 / math.log(10))


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(x)


def exp2(x: Tensor) -> Tensor:
    return (x * math.log(2)).exp()


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(x)


def rsqrt(x: Tensor) -> Tensor:
    return 1 / x.sqrt()


def step(x: Tensor, name: str) -> Tensor:
    """``name`` is one of floor, ceil, round, trunc, sign; an integer tensor is returned as is
    by the rounding functions (it has nothing to round)."""
    if name != "sign" and x.dtype.kind in "iub":
        return x
    return StepFunction.apply(x, name=name)



def floor(x: Tensor) -> Tensor:
    return step(x, "floor")


def ceil(x: Tensor) -> Tensor:
    return step(x, "ceil")


def round(x: Tensor) -> Tensor:
    return step(x, "round")


def trunc(x: Tensor) -> Tensor:
    return step(x, "trunc")


def sign(x: Tensor) -> Tensor:
    return step(x, "sign")


def erf(x: Tensor) -> Tensor:
    """erf(x) = 2/√π ∫₀ˣ e^(-t²) dt (its ``Function`` lives with the activations that use it)."""
    return Erf.apply(x)
