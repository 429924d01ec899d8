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
    itself differentiable."""

    saves_output = True

    def forward(self, x, axes, eps):
        self.axes, self.eps = axes, eps
        centered = x - x.mean(axis=axes, keepdims=True)
        variance = (centered * centered).mean(axis=axes, keepdims=True)
        self.inv_std = 1 / self.xp.sqrt(variance + eps)          # 1/σ (kept shape)
        centered *= self.inv_std                                 # x̂, in place: no new array
        return centered

    def backward_arrays(self, g):
        x_hat = self.output.data
        grad_x = g - g.mean(axis=self.axes, keepdims=True)
        grad_x -= x_hat * (g * x_hat).mean(axis=self.axes, keepdims=True)
        grad_x *= self.inv_std
        return grad_x

    def composed(self, x):
        _, centered, variance = statistics(x, self.axes)
        return centered / (variance + self.eps).sqrt()
