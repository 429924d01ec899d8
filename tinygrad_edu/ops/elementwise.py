"""Elementwise operations: z = f(a) or z = f(a, b), applied to each element.

Binary operations broadcast like NumPy. Their ``backward`` returns gradients of the broadcast
output shape; the engine sums them back to each input's shape (``autograd.sum_to``), so no
operation here deals with broadcasting in reverse.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor


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


class Mul(Function):
    """z = a * b;   dz/da = b,  dz/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        a, b = self.inputs   # skip the gradient of a constant factor, as in x * 1.01
        return (grad * b if a.requires_grad else None), (grad * a if b.requires_grad else None)


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


class PowScalar(Function):
    """z = a ** p for a fixed number p;   dz/da = p · a^(p-1)  (and 0 for p = 0, where z = 1:
    the formula would give 0 · a^-1, which is NaN at a = 0)."""

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
    """z = a ** b for tensors;   dz/da = b · a^(b-1),  dz/db = a^b · ln a  (needs a > 0)."""

    saves_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad * b * a ** (b - 1) if a.requires_grad else None
        grad_b = grad * self.output * a.log() if b.requires_grad else None
        return grad_a, grad_b


class Exp(Function):
    """z = e^a;   dz/da = e^a = z."""

    saves_output = True

    def forward(self, a):
        return self.xp.exp(a)

    def backward(self, grad):
        return grad * self.output


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


class Tanh(Function):
    """z = tanh a;   dz/da = 1 - z²."""

    saves_output = True

    def forward(self, a):
        return self.xp.tanh(a)

    def backward(self, grad):
        z = self.output
        return grad * (1 - z * z)


class Sigmoid(Function):
    """z = 1 / (1 + e^-a);   dz/da = z (1 - z).

    Computed as (1 + tanh(a/2)) / 2, the same function without overflow in e^-a for large |a|.
    """

    saves_output = True

    def forward(self, a):
        return (1 + self.xp.tanh(a * 0.5)) * 0.5

    def backward(self, grad):
        z = self.output
        return grad * z * (1 - z)


class ReLU(Function):
    """z = max(a, 0);   dz/da = 1 where a > 0, else 0 (0 at the kink a = 0, as in PyTorch)."""

    def forward(self, a):
        return self.xp.maximum(a, 0)

    def backward(self, grad):
        return grad * (self.inputs[0] > 0)


class Abs(Function):
    """z = |a|;   dz/da = sign(a) (0 at a = 0)."""

    def forward(self, a):
        return self.xp.abs(a)

    def backward(self, grad):
        return grad * self.inputs[0].sign()


class Clip(Function):
    """z = min(max(a, low), high);   dz/da = 1 where low <= a <= high, else 0."""

    def forward(self, a, low, high):
        self.low, self.high = low, high
        return self.xp.clip(a, low, high)

    def backward(self, grad):
        (a,) = self.inputs
        if self.low is not None:
            grad = grad * (a >= self.low)
        if self.high is not None:
            grad = grad * (a <= self.high)
        return grad


class Maximum(Function):
    """z = max(a, b) elementwise;   dz/da = 1 where a > b, dz/db = 1 where b > a.
    At a tie both inputs get half the gradient (as torch.maximum does)."""

    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, grad):
        a, b = self.inputs
        share_a = (a > b).astype(grad.dtype) + (a == b).astype(grad.dtype) * 0.5
        return grad * share_a, grad * (1 - share_a)


class Minimum(Function):
    """z = min(a, b) elementwise;   the mirror image of Maximum, ties split in half."""

    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, grad):
        a, b = self.inputs
        share_a = (a < b).astype(grad.dtype) + (a == b).astype(grad.dtype) * 0.5
        return grad * share_a, grad * (1 - share_a)


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
    a, b = _pair(a, b)
    return Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    a, b = _pair(a, b)
    return Minimum.apply(a, b)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (like ``np.where``); differentiable in a and b."""
    a, b = _pair(a, b)
    condition = condition.data if isinstance(condition, Tensor) else a.xp.asarray(condition)
    return Where.apply(a, b, condition=condition)


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
