"""``Linear``, ``Identity`` and ``Flatten``: the simplest layers.

Linear computes y = x Wᵀ + b with W of shape (out_features, in_features), PyTorch's layout, so
a PyTorch state_dict loads unchanged. The product and the bias are one operation,
``ops/linear.py``, with its gradients written out: dL/dW = (dL/dy)ᵀ x, dL/db = Σ_batch dL/dy,
dL/dx = dL/dy W. ``linear`` here (``F.linear``) runs its products by the kernel switch's
choice: MKL's where it is installed (``kernels/mkl_gemm.py``), else NumPy's.
"""
from __future__ import annotations

import math

from ..tensor import Tensor
from .. import creation, kernels
from ..autograd import ShapeError
from ..ops import linear as _linear
from . import init
from .module import Module, Parameter


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """PyTorch's ``F.linear``: y = x Wᵀ + b for x (..., in), W (out, in), b (out,)."""
    return _linear.linear(x, weight, bias, impl=kernels.select("linear", x.device))


class Linear(Module):
    """y = x Wᵀ + b. Initialised as in PyTorch: W and b uniform in ±1/√in_features."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.zeros(out_features, in_features))
        self.bias = Parameter(creation.zeros(out_features)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))   # = U(±1/√in_features)
        if self.bias is not None:
            bound = 1 / math.sqrt(in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"Linear: expected input of shape (..., {self.in_features}), "
                             f"got {x.shape}")
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge dims ``start_dim`` .. ``end_dim``; by default everything but the batch dim."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
