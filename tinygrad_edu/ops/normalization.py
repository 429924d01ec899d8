"""Normalization as one operation: x̂ = (x - μ) / √(σ² + ε) over some axes.

LayerNorm runs twice in every transformer block. Composed from mean, subtraction, square root
and division, its backward pass is about twenty elementwise steps; ``Normalize`` replaces them
by the closed form of that same chain of gradients (derived in its docstring), five steps.
BatchNorm (``nn/normalization.py``) stays composed: it runs once per layer of a CNN, where the
convolutions dominate.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor


def statistics(x: Tensor, axes: tuple) -> tuple:
    """μ, x - μ and the biased variance σ² over ``axes`` (kept as length-1 axes)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    return mean, centered, (centered * centered).mean(axis=axes, keepdims=True)


class Normalize(Function):
    """x̂ = (x - μ) / σ over ``axes``: μ the mean, σ = √(σ² + ε) with the biased variance σ².

    Backward. With g = dL/dx̂ and mean(·) over the n normalized elements, the chain rule
    through x - μ, through μ and through σ gives

        dL/dx = (g - mean(g) - x̂ · mean(g · x̂)) / σ

    (the first term is the direct path, the second the path through μ, the third the path
    through σ). It is computed on arrays (``backward_arrays``); with ``create_graph=True`` the
    engine differentiates the composed form (``composed``) instead, so that the gradient is
    itself differentiable.

    **With LayerNorm's scale and shift.** Given w and b (the normalized axes' shape) it returns
    y = x̂ · w + b as the same one operation, with g = dL/dy and the sums over the other axes:

        dL/dw = Σ g · x̂,    dL/db = Σ g,    and dL/dx as above with dL/dx̂ = g · w.

    ``impl``: None for the array code below, or, for that affine case over the last axes, a
    kernel module (``kernels/layer_norm_cpu.py``) with the same rules in one pass per row.
    """

    fresh_gradients = True   # every gradient is a new array, in both implementations

    def forward(self, x, *affine, axes, eps, impl=None):
        self.axes, self.eps, self.impl = axes, eps, impl
        if impl is not None:
            y, self.saved = impl.layer_norm_forward(x, *affine, eps)      # saved: μ, 1/σ
            return y
        centered = x - x.mean(axis=axes, keepdims=True)
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        self.inv_std = 1 / self.xp.sqrt(variance + eps)          # 1/σ (kept shape)
        centered *= self.inv_std                                 # x̂, in place: no new array
        self.x_hat = centered
        if not affine:
            return centered
        weight, bias = affine
        y = centered * weight                                    # (..., *normalized_shape)
        y += bias
        return y

    def backward_arrays(self, g):
        if self.impl is not None:
            x, weight = self.inputs[0].data, self.inputs[1].data
            return self.impl.layer_norm_backward(g, x, weight, self.saved)
        x_hat, affine_grads = self.x_hat, ()
        if len(self.inputs) == 3:
            weight = self.inputs[1].data
            others = tuple(range(g.ndim - weight.ndim))          # the axes w is broadcast over
            affine_grads = ((g * x_hat).sum(axis=others), g.sum(axis=others))
            g = g * weight                                       # dL/dx̂
        grad_x = g - g.mean(axis=self.axes, keepdims=True)
        grad_x -= x_hat * (g * x_hat).mean(axis=self.axes, keepdims=True)
        grad_x *= self.inv_std
        return (grad_x,) + affine_grads

    def composed(self, x, *affine):
        _, centered, variance = statistics(x, self.axes)
        x_hat = centered / (variance + self.eps).sqrt()
        return x_hat * affine[0] + affine[1] if affine else x_hat
