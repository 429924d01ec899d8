"""Dropout: randomly silence activations while training, so no unit can rely on another.

In training mode each element is kept with probability 1 - p and set to 0 otherwise. The kept
ones are scaled by 1/(1 - p) ("inverted dropout"), so the expected value of every element is
unchanged:

    y = x · m / (1 - p),   m ~ Bernoulli(1 - p) elementwise,   E[y] = x

and at evaluation time dropout is simply the identity, with no rescaling to remember. The mask
is a constant, so the backward pass is dL/dx = dL/dy · m / (1 - p): the gradient flows only
through the elements that were kept. The mask comes from the device's generator, so
``tg.manual_seed`` makes a run repeatable.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from .module import Module


def _check_probability(name: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: the drop probability p must be in [0, 1], got {p}")


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    _check_probability("dropout", p)
    if not training or p == 0:
        return x
    if p == 1:   # everything dropped; multiplying by 0 keeps the (zero) gradient path
        return x * 0
    uniform = backend.generator(x.device).random(x.shape, dtype=x.dtype)   # (x.shape) in [0, 1)
    scaled_mask = (uniform >= p).astype(x.dtype) * (1 / (1 - p))           # 0 or 1/(1-p)
    return x * Tensor._make(scaled_mask, x.device)


class Dropout(Module):
    """Dropout with probability ``p`` in training mode; the identity after ``.eval()``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        _check_probability("Dropout", p)
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
