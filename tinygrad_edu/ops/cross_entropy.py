"""Cross-entropy of logits against class indices as one operation, the loss of every classifier.

For logits z (N, C) and class indices t (N,), with p_n = softmax(z_n):

    L = (1/N) Σ_n (logsumexp(z_n) - z_n[t_n])
    dL/dz_n = (p_n - onehot(t_n)) / N

``nn.functional.cross_entropy`` builds the general loss (class weights, ``ignore_index``, label
smoothing, extra axes, other reductions) from log_softmax, a gather and a mean: about eight
graph nodes, and the famous gradient p - onehot(t) appears only at the end of the chain rule
through them. In the everyday case (a mean over (N, C) logits, every target a valid class) it
hands the work to ``CrossEntropy`` instead: one node, whose backward is that formula, one
expression on arrays. With ``create_graph=True`` the engine differentiates ``composed``, the
same loss from Tensor operations, so the gradient stays differentiable.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


class CrossEntropy(Function):
    """L = mean_n (logsumexp(z_n) - z_n[t_n]) for logits z (N, C) and ``target`` t (N,), an
    integer array of valid classes; dL/dz = (softmax(z) - onehot(t)) / N."""

    fresh_gradients = True   # dL/dlogits is a new array

    def forward(self, logits, target):
        xp = self.xp
        self.target, self.rows = target, xp.arange(len(target))
        shifted = logits - logits.max(axis=1, keepdims=True)                # (N, C), max 0
        exp = xp.exp(shifted)                                               # (N, C)
        sums = exp.sum(axis=1, keepdims=True)                               # (N, 1)
        self.probabilities = exp / sums                                     # softmax (N, C)
        picked = shifted[self.rows, target]                                 # (N,) z[t] - max
        return (xp.log(sums[:, 0]) - picked).mean()                         # () the mean loss

    def backward_arrays(self, grad):
        grad_logits = self.probabilities.copy()                             # (N, C)
        grad_logits[self.rows, self.target] -= 1                            # p - onehot(t)
        grad_logits *= grad / len(self.target)
        return grad_logits

    def composed(self, logits):
        log_probs = logits.log_softmax(axis=1)                              # (N, C)
        return -log_probs[Tensor._make(self.rows, logits.device),
                          Tensor._make(self.target, logits.device)].mean()


def fits(logits: Tensor, target: Tensor, ignore_index: int) -> bool:
    """True for float32/float64 logits (N, C) and integer targets (N,) that are all valid
    classes, none of them ``ignore_index``: the case ``CrossEntropy`` computes."""
    if logits.ndim != 2 or logits.dtype not in (np.float32, np.float64) or \
            target.shape != logits.shape[:1] or target.dtype.kind not in "iu":
        return False
    indices, classes = target.data, logits.shape[1]
    return bool(((indices >= 0) & (indices < classes) & (indices != ignore_index)).all())


def cross_entropy_of_indices(logits: Tensor, target: Tensor) -> Tensor:
    """The mean cross-entropy of logits (N, C) against valid class indices (N,)."""
    return CrossEntropy.apply(logits, target=target.data)
