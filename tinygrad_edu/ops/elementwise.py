"""Elementwise operations: z = f(a) or z = f(a, b), applied to each element.

Binary operations broadcast like NumPy. Their ``backward`` returns gradients of the broadcast
output shape; the engine sums them back to each input's shape (``autograd.sum_to``), so no
operation here deals with broadcasting in reverse.

The operations every network runs at every step (-, *, negation, e^a, tanh, the sigmoid, ReLU)
also write their rule as ``backward_arrays``: the same formula on the arrays, which the backward
walk takes when the gradient's graph is not recorded. Written with Tensors, one backward would
be up to four more recorded-or-not operations, each paying the engine's per-operation cost,
which dominates for small tensors (the W5 benchmark). The formula shared by both versions is
written once, as a function of arrays or Tensors alike.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, promote_types


class Add(Function):
    """z = a + b;   dz/da = 1,  dz/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """z = a - b;   dz/da = 1,  dz/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad

    def backward_arrays(self, grad):
        return grad, -grad


class Mul(Function):
    """z = a * b;   dz/da = b,  dz/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        a, b = self.inputs   # skip the gradient of a constant factor, as in x * 1.01
        return (grad * b if a.requires_grad else None), (grad * a if b.requires_grad else None)

    def backward_arrays(self, grad):
        a, b = self.inputs
        return (grad * b.data if a.requires_grad else None), \
            (grad * a.data if b.requires_grad else None)


class Div(Function):
    """z = a / b;   dz/da = 1/b,  dz/db = -a/b²."""

    def forward(self, a, b):
        return a / b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad / b
        return grad_a, (-grad_a * a / b if b.requires_grad else None)


class Neg(Function):
    """z = -a;   dz/da = -1."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad

    def backward_arrays(self, grad):
        return -grad


class PowScalar(Function):
    """z = a ** p for a fixed number p;   dz/da = p · a^(p-1), and 0 for p = 0 (where z = 1:
    the formula would give 0 · a^-1, which is NaN at a = 0; PyTorch gives 0 too)."""

    def forward(self, a, exponent):
        self.exponent = exponent
        return a ** exponent

    def backward(self, grad):
        (a,) = self.inputs
        p = self.exponent
        if p == 0:
            return grad * 0
        return grad * p * a ** (p - 1) if p != 2 else grad * 2 * a


class Pow(Function):
    """z = a ** b for tensors;   dz/da = b · a^(b-1),  dz/db = a^b · ln a.

    At the points where those formulas give 0 · inf = NaN, the limits are used, as PyTorch does:
    dz/da = 0 where b = 0 (z is the constant 1), and dz/db = 0 where a = 0 and b >= 0
    (z = 0^b stays 0, or 1 for b = 0). The selection is a ``where``, so the NaN of the branch
    not taken never reaches the gradient."""

    saves_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):   # in the branches not taken
            if a.requires_grad:
                grad_a = where(b == 0, 0.0, grad * b * a ** (b - 1))
            if b.requires_grad:
                grad_b = where((a == 0) & (b >= 0), 0.0, grad * self.output * a.log())
        return grad_a, grad_b


class Exp(Function):
    """z = e^a;   dz/da = e^a = z."""

    saves_output = True

    def forward(self, a):
        return self.xp.exp(a)

    def backward(self, grad):
        return grad * self.output

    def backward_arrays(self, grad):
        return grad * self.output.data


class Log(Function):
    """z = ln a;   dz/da = 1/a."""

    def forward(self, a):
        return self.xp.log(a)

    def backward(self, grad):
        return grad / self.inputs[0]


class Sqrt(Function):
    """z = √a;   dz/da = 1 / (2√a) = 1 / (2z)."""

    saves_output = True

    def forward(self, a):
        return self.xp.sqrt(a)

    def backward(self, grad):
        return grad / (2 * self.output)


def tanh_slope_times(grad, z):
    """grad · (1 - z²), the chain rule through z = tanh a (arrays or Tensors alike)."""
    return grad * (1 - z * z)


def sigmoid_slope_times(grad, z):
    """grad · z (1 - z), the chain rule through z = σ(a) (arrays or Tensors alike)."""
    return grad * z * (1 - z)


class Tanh(Function):
    """z = tanh a;   dz/da = 1 - z²."""

    saves_output = True

    def forward(self, a):
        return self.xp.tanh(a)

    def backward(self, grad):
        return tanh_slope_times(grad, self.output)

    def backward_arrays(self, grad):
        return tanh_slope_times(grad, self.output.data)


class Sigmoid(Function):
    """z = 1 / (1 + e^-a);   dz/da = z (1 - z).

    Computed as (1 + tanh(a/2)) / 2, the same function without overflow in e^-a for large |a|.
    """

    saves_output = True

    def forward(self, a):
        return (1 + self.xp.tanh(a * 0.5)) * 0.5

    def backward(self, grad):
        return sigmoid_slope_times(grad, self.output)

    def backward_arrays(self, grad):
        return sigmoid_slope_times(grad, self.output.data)


class ReLU(Function):
    """z = max(a, 0);   dz/da = 1 where a > 0, else 0 (0 at the kink a = 0, as in PyTorch)."""

    def forward(self, a):
        return self.xp.maximum(a, 0)

    def backward(self, grad):
        return grad * (self.inputs[0] > 0)

    def backward_arrays(self, grad):
        return grad * (self.inputs[0].data > 0)


class Abs(Function):
    """z = |a|;   dz/da = sign(a) (0 at a = 0)."""

    def forward(self, a):
        return self.xp.abs(a)

    def backward(self, grad):
        return grad * self.inputs[0].sign()


class Clip(Function):
    """z = min(max(a, low), high);   dz/da = 1 where low < a < high, else 0.

    At the bounds themselves the gradient is 0, as in PyTorch's ``clamp`` with number bounds.
    The mask selects with ``where`` rather than multiplying, so an infinite or NaN gradient
    outside the range gives 0 there, not 0 · inf = NaN."""

    def forward(self, a, low, high):
        self.low, self.high = low, high
        return self.xp.clip(a, low, high)

    def backward(self, grad):
        (a,) = self.inputs
        inside = None
        if self.low is not None:
            inside = a > self.low
        if self.high is not None:
            inside = (a < self.high) if inside is None else inside & (a < self.high)
        return where(inside, grad, 0.0)


class Maximum(Function):
    """z = max(a, b) elementwise;   dz/da = 1 where a > b, dz/db = 1 where b > a.
    At a tie both inputs get half the gradient (as torch.maximum does). The shares are chosen
    with ``where``, so an infinite gradient is never multiplied by 0."""

    takes_larger = True

    def forward(self, a, b):
        return self.xp.maximum(a, b) if self.takes_larger else self.xp.minimum(a, b)

    def backward(self, grad):
        a, b = self.inputs
        a_wins, b_wins = (a > b, b > a) if self.takes_larger else (a < b, b < a)
        half = grad * 0.5
        grad_a = where(a_wins, grad, where(b_wins, 0.0, half)) if a.requires_grad else None
        grad_b = where(b_wins, grad, where(a_wins, 0.0, half)) if b.requires_grad else None
        return grad_a, grad_b


class Minimum(Maximum):
    """z = min(a, b) elementwise;   the mirror image of Maximum, ties split in half."""

    takes_larger = False


class Where(Function):
    """z = a where cond else b;   dz/da = cond,  dz/db = not cond. ``cond`` gets no gradient."""

    def forward(self, a, b, condition):
        self.condition = condition
        return self.xp.where(condition, a, b)

    def backward(self, grad):
        a, b = self.inputs
        zero = Tensor._make(grad.xp.zeros((), dtype=grad.dtype), grad.device)
        grad_a = Where.apply(grad, zero, condition=self.condition) if a.requires_grad else None
        grad_b = Where.apply(zero, grad, condition=self.condition) if b.requires_grad else None
        return grad_a, grad_b


class Cast(Function):
    """z = a converted to another dtype;   the gradient is converted back."""

    def forward(self, a, dtype):
        return a.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.inputs[0].dtype)


def maximum(a, b) -> Tensor:
    return Maximum.apply(*promoted(*_pair(a, b)))


def minimum(a, b) -> Tensor:
    return Minimum.apply(*promoted(*_pair(a, b)))


def promoted(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` cast to their common dtype by PyTorch's rules (``tensor.promote_types``);
    the same tensors when they already agree, which is the common case and costs nothing."""
    if a.data.dtype == b.data.dtype:
        return a, b
    dtype = promote_types(a, b)
    return a.astype(dtype), b.astype(dtype)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (like ``torch.where``); differentiable in a
    and b. The result has the promoted dtype of a and b (a Python number is weak, as always)."""
    a, b = _pair(a, b)
    a, b = promoted(a, b)
    condition = condition.data if isinstance(condition, Tensor) else a.xp.asarray(condition)
    return Where.apply(a, b, condition=condition.astype(bool, copy=False))


def _pair(a, b) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a Python scalar takes the dtype and device of the other one."""
    if isinstance(a, Tensor):
        return a, a._lift(b)
    b = b if isinstance(b, Tensor) else Tensor(b)
    return b._lift(a), b


def compare(name: str, *tensors: Tensor) -> Tensor:
    """A non-differentiable elementwise function (``equal``, ``less``, ``sign``...) of tensors."""
    device = Function.check_devices(name, tensors)
    data = getattr(tensors[0].xp, name)(*[t.data for t in tensors])
    return Tensor._make(data, device)
