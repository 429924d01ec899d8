"""Matrix multiplication, ``a @ b``, with NumPy's rules for 1-D and batched operands.

For 2-D operands z = a b, with a (n, k) and b (k, m):

    dL/da = dL/dz · bᵀ   (n, m)(m, k) -> (n, k)
    dL/db = aᵀ · dL/dz   (k, n)(n, m) -> (k, m)

Batched operands (..., n, k) @ (..., k, m) multiply matrix by matrix over the leading axes, which
broadcast like any elementwise operation; the engine sums the gradient back over broadcast
batch axes. A 1-D operand is treated as a row (on the left) or a column (on the right) and that
axis is removed from the result, exactly as ``np.matmul`` does.
"""
from __future__ import annotations

from ..amp.autocast import cast_inputs, low_precision
from ..autograd import Function, ShapeError
from ..tensor import Tensor


class MatMul(Function):
    """z = a @ b for operands with at least two axes;   da = grad @ bᵀ,  db = aᵀ @ grad."""

    def forward(self, a, b):
        return low_precision(self.xp.matmul, a, b)   # float16 on the CPU: float32 accumulation

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad @ b.mT if a.requires_grad else None
        if not b.requires_grad:
            grad_b = None
        elif b.ndim == 2 and a.ndim > 2:
            # one matrix (a Linear weight) shared by a whole batch: a single product
            # (k, B·n) @ (B·n, m) instead of B small ones followed by a sum over the batch
            grad_b = a.reshape(-1, a.shape[-1]).mT @ grad.reshape(-1, grad.shape[-1])
        else:
            grad_b = a.mT @ grad
        return grad_a, grad_b


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for 1-D, 2-D and batched N-D operands."""
    Function.check_devices("matmul", (a, b))
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least one axis, got shapes "
                         f"{a.shape} and {b.shape}")
    inner_a, inner_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ShapeError(f"matmul: inner dimensions differ, {a.shape} @ {b.shape} "
                         f"({inner_a} != {inner_b})")
    a, b = cast_inputs(a, b)   # to float16 inside tg.autocast
    out = MatMul.apply(a.unsqueeze(0) if a.ndim == 1 else a,
                       b.unsqueeze(-1) if b.ndim == 1 else b)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-2 if b.ndim > 1 else -1)
    return out
