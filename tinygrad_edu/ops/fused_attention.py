"""Fused attention: softmax(q kᵀ · scale) v as one operation with its own backward rule.

The reference (``ops/attention.py``) builds attention out of matmul, softmax and ``where``, and
lets the engine chain their backward rules. That is the clearest way to write it, but every
intermediate, above all the (..., Tq, Tk) score matrix, stays in memory until backward.

``FusedAttention`` treats the whole formula as a single ``Function`` and hands it to a kernel
module (``impl``, see ``tinygrad_edu.kernels``) that never forms that matrix:

    forward:   out, lse = impl.attention_forward(q, k, v, causal, scale)
               out = softmax(S) v with S = scale · q kᵀ,  lse_i = log Σ_j e^(S_ij)
    backward:  dq, dk, dv = impl.attention_backward(dout, q, k, v, out, lse, causal, scale)
               (P = e^(S - lse) is recomputed from q, k and the saved lse)

The kernels take (..., T, D) arrays with the same leading axes (batch, heads) in any memory
layout, so the leading axes are broadcast against each other on the way in, as views, not
copies (the heads a transformer splits off its projection go in as they are), and the
gradients come back with the broadcast shape (the engine sums them back to each input's
shape).

The kernels' backward returns arrays, not Tensor operations, so it is first-order: it is this
Function's ``backward_arrays`` (see ``Function`` in ``autograd.py``). When a second derivative
is asked for (backward with ``create_graph=True``), the engine differentiates ``composed``, the
reference's Tensor operations, instead: slower, but the gradient is itself differentiable.
Masks other than ``causal`` and attention dropout are not supported here; the reference does them.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, ShapeError
from ..tensor import Tensor


class FusedAttention(Function):
    """out = softmax(scale · q kᵀ [causal]) v;   (dq, dk, dv) from the kernel's backward, or
    from the reference (``composed``) when the gradient's graph is recorded."""

    def forward(self, q, k, v, causal, scale, impl):
        self.causal, self.scale, self.impl = causal, scale, impl
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        self.q, self.k, self.v = (self.xp.broadcast_to(a, lead + a.shape[-2:])
                                  for a in (q, k, v))                          # (..., T, D)
        self.out, self.lse = impl.attention_forward(self.q, self.k, self.v, causal, scale)
        return self.out                                                        # (..., Tq, Dv)

    def backward_arrays(self, grad_out):
        return self.impl.attention_backward(grad_out, self.q, self.k, self.v, self.out,
                                            self.lse, self.causal, self.scale)

    def composed(self, q, k, v):
        from .attention import scaled_dot_product_attention
        return scaled_dot_product_attention(q, k, v, causal=self.causal, scale=self.scale)


def can_fuse(q: Tensor, k: Tensor, v: Tensor) -> bool:
    """True when the fused path applies: float tensors on one device with attention's shapes
    and at least one key. Anything else goes to the reference, which explains what is wrong."""
    return (min(q.ndim, k.ndim, v.ndim) >= 2 and q.shape[-1] == k.shape[-1]
            and k.shape[-2] == v.shape[-2] > 0 and q.device == k.device == v.device
            and all(t.dtype.kind == "f" for t in (q, k, v)))


def fused_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False,
                    scale: float | None = None, impl=None) -> Tensor:
    """softmax(q kᵀ · scale) v through a fused kernel: q (..., Tq, D), k (..., Tk, D),
    v (..., Tk, Dv) -> (..., Tq, Dv); the leading axes broadcast. ``causal``: query i sees keys
    j <= i; ``scale``: 1/√D by default. ``impl``: a kernel module with ``attention_forward`` and
    ``attention_backward``; None takes the Numba kernels of q's device."""
    if min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[-1] != k.shape[-1] \
            or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"fused_attention: expected q (..., Tq, D), k (..., Tk, D), "
                         f"v (..., Tk, Dv), got {q.shape}, {k.shape}, {v.shape}")
    if impl is None:
        from ..kernels import kernel_module
        impl = kernel_module("attention", q.device)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return FusedAttention.apply(q, k, v, causal=bool(causal), scale=scale, impl=impl)
