"""``MLP``: the multi-layer perceptron, a stack of Linear layers with a nonlinearity between them.

For layer sizes [d0, d1, ..., dL] the network computes

    h0 = x                                  (..., d0)
    hi = act(h(i-1) Wiᵀ + bi)   i < L       (..., di)
    y  = h(L-1) WLᵀ + bL                    (..., dL)   the last layer has no activation

The last layer stays linear because its outputs are logits (or regression values): a loss such as
cross-entropy applies its own softmax, and a ReLU there would throw away every negative logit.
Without the activations the whole stack would collapse into one linear map; with them it can
approximate any continuous function given enough width.

Backward needs nothing special: each Linear and each activation is built from differentiable
Tensor operations, so dL/dWi = (dL/dhi ⊙ act'(zi))ᵀ h(i-1) falls out of the autograd engine.

Parameters: Σ over layers of (d_in + 1) · d_out (the weight matrix and the bias vector).
"""
from __future__ import annotations

from ..autograd import ShapeError
from ..tensor import Tensor
from .. import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Module):
    """``MLP([784, 256, 256, 10])``: Linear(784, 256), act, Linear(256, 256), act, Linear(256, 10).

    ``activation`` is one of "relu", "gelu", "tanh", "sigmoid". The layers live in a Sequential
    called ``layers``, so parameter names are ``layers.0.weight``, ``layers.2.weight``, ...
    (the activations take the odd indices), as in the equivalent ``torch.nn.Sequential``.
    """

    def __init__(self, sizes, activation: str = "relu"):
        super().__init__()
        sizes = [int(size) for size in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, all "
                             f"positive, got {sizes}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; expected one of "
                             f"{sorted(ACTIVATIONS)}")
        self.sizes, self.activation = sizes, activation
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:   # no activation after the output layer: it gives logits
                layers.append(ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.sizes[0]:
            raise ShapeError(f"MLP: expected input of shape (N, {self.sizes[0]}) (any leading "
                             f"axes), got {x.shape}")
        return self.layers(x)   # (N, d0) -> (N, dL)

    def num_parameters(self) -> int:
        """The number of learned scalars: Σ (d_in + 1) · d_out."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"
