"""``linear``: y = x Wᵀ + b as one operation, the layer every network is built from.

Written with Tensor operations, ``x @ W.T + b`` is three graph nodes (a transpose, the product,
a broadcast add), and its backward is as many again plus a reduction that ``sum_to`` finds by
comparing shapes. As one ``Function`` (PyTorch's ``addmm``) it is one node, with the rules
written out, N being all the leading axes of x taken together:

    forward    y = x Wᵀ + b              x (N, in), W (out, in), b (out,)  ->  y (N, out)
    backward   dL/dx = dL/dy · W          (N, out)(out, in)  ->  (N, in)
               dL/dW = (dL/dy)ᵀ · x       (out, N)(N, in)    ->  (out, in)
               dL/db = Σ_N dL/dy          (out,), as 1ᵀ · dL/dy (``sum_over_rows``)

The bias is added in place to the fresh product, so the forward pass makes one array, not
two. ``backward_arrays`` is the first-order path; with ``create_graph=True`` the engine
differentiates ``composed`` (the three-node version) instead, so the gradient stays
differentiable. Inside ``tg.autocast``, for float16 inputs or mixed dtypes, ``linear`` is that
composed version, whose product and add already know the casting and promotion rules.

``impl`` runs the three products: None for NumPy's (or CuPy's) ``@``, the reference; the layers
pass what the kernel switch chose (``kernels/mkl_gemm.py``: MKL's products where installed).
"""
from __future__ import annotations

import operator
from types import SimpleNamespace

import numpy as np

from ..amp.autocast import is_autocast_enabled
from ..autograd import Function
from ..tensor import Tensor

_ONE_OPERATION_DTYPES = (np.float32, np.float64)
REFERENCE = SimpleNamespace(matmul=operator.matmul)   # the names a kernel module provides


def sum_over_rows(xp, rows):
    """Σ over the rows of a 2-D array: (N, k) -> (k,), as the product 1ᵀ · rows. BLAS runs it
    on every core, 2.7x faster than ``rows.sum(axis=0)`` on one (a (1024, 384) float32
    gradient: 24 us against 64 on 2 cores)."""
    return xp.ones(rows.shape[0], rows.dtype) @ rows


def composed_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x Wᵀ + b from Tensor operations: (..., in) -> (..., out)."""
    y = x @ weight.T
    return y if bias is None else y + bias


class Linear(Function):
    """y = x Wᵀ (+ b) for x (..., in), W (out, in), b (out,); the rules are above."""

    fresh_gradients = True   # three new products and sums: the walk may keep them

    def forward(self, x, weight, *bias, impl=None):
        self.matmul = (impl or REFERENCE).matmul
        rows = x.reshape(-1, x.shape[-1])                               # (N, in)
        y = self.matmul(rows, weight.T)                                 # (N, out)
        if bias:
            y += bias[0]
        return y.reshape(x.shape[:-1] + (weight.shape[0],))             # (..., out)

    def backward_arrays(self, grad):
        x, weight = self.inputs[0].data, self.inputs[1].data
        wanted = [tensor.requires_grad for tensor in self.inputs]
        flat, matmul = grad.reshape(-1, grad.shape[-1]), self.matmul    # (N, out)
        grads = [matmul(flat, weight).reshape(x.shape) if wanted[0] else None,      # (..., in)
                 matmul(flat.T, x.reshape(-1, x.shape[-1])) if wanted[1] else None]  # (out, in)
        if len(self.inputs) == 3:
            grads.append(sum_over_rows(self.xp, flat) if wanted[2] else None)       # (out,)
        return tuple(grads)

    def composed(self, x, weight, *bias):
        return composed_linear(x, weight, *bias)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, impl=None) -> Tensor:
    """y = x Wᵀ + b  for x (..., in), W (out, in), b (out,)  ->  y (..., out); ``impl``: the
    module whose ``matmul`` runs the products, or None for the reference."""
    dtypes = {x.dtype, weight.dtype} | (set() if bias is None else {bias.dtype})
    one_operation = (len(dtypes) == 1 and x.dtype in _ONE_OPERATION_DTYPES and x.ndim > 0
                     and weight.ndim == 2 and x.shape[-1] == weight.shape[1]
                     and (bias is None or bias.shape == weight.shape[:1])
                     and not is_autocast_enabled(x.device))
    if not one_operation:   # autocast, float16, mixed dtypes, or shapes matmul will refuse
        return composed_linear(x, weight, bias)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear.apply(*inputs, impl=impl)
