"""Explainability: which inputs a prediction depends on, and where a Transformer looks.

**Saliency** (Simonyan et al., 2014). For a classifier with logits F(x) and a class c, the
gradient of the class score with respect to the input,

    S(x) = ∂F_c(x) / ∂x,

says how much each pixel would change the score if nudged. Shown as |S|, it is a first picture
of what the model looks at. It is *local*: where the model is saturated (a ReLU off, a score
that no longer moves) the gradient is near zero even for pixels that matter.

**Integrated gradients** (Sundararajan et al., 2017) fix that by walking from a baseline x'
(a black image by default) to x and adding up the gradients on the way:

    IG_i(x) = (x_i - x'_i) · ∫₀¹ ∂F_c(x' + α (x - x')) / ∂x_i  dα.

By the fundamental theorem of calculus along that path, the attributions are **complete**:

    Σ_i IG_i(x) = F_c(x) - F_c(x'),

the whole change in the score is shared out among the inputs. The integral is computed with
``steps`` Gauss-Legendre points (exact for polynomials of degree 2·steps - 1 in α), all in one
batched forward and backward; ``return_convergence_delta=True`` also returns the gap
Σ IG - (F_c(x) - F_c(x')), which shows whether ``steps`` is enough.

**Attention maps.** Each head of each layer of a GPT mixes the values of earlier positions with
weights softmax(q kᵀ/√d) (a row per query position, summing to 1). :func:`attention_maps`
recomputes them from the model's own weights, layer by layer, as the forward pass does.

The models are run in evaluation mode (no dropout, BatchNorm's running statistics); their mode
is restored afterwards.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from .autograd import ShapeError, grad, no_grad
from .tensor import Tensor


@contextlib.contextmanager
def _evaluating(model):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _as_input(x) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 0 or x.dtype.kind != "f":
        raise ShapeError(f"explain: expected a floating batch of inputs (N, ...), got shape "
                         f"{x.shape} and dtype {x.dtype}")
    return x.detach()


def _targets(target, n: int) -> np.ndarray:
    targets = np.broadcast_to(np.asarray(target.numpy() if isinstance(target, Tensor) else target),
                              (n,))
    if targets.dtype.kind not in "iu":
        raise ValueError(f"explain: target must be an int or N ints, got dtype {targets.dtype}")
    return targets


def class_scores(model, x: Tensor, target: np.ndarray) -> Tensor:
    """F_c(x) for each sample: the logit of its target class, (N,)."""
    logits = model(x)                                               # (N, C)
    if logits.ndim != 2 or len(logits) != len(x):
        raise ShapeError(f"explain: the model must map (N, ...) inputs to (N, C) logits, got "
                         f"{logits.shape} for input {x.shape}")
    if target.min() < 0 or target.max() >= logits.shape[1]:
        raise ValueError(f"explain: target classes {target.tolist()} out of range for "
                         f"{logits.shape[1]} classes")
    pick = np.zeros(logits.shape, dtype=logits.dtype)
    pick[np.arange(len(target)), target] = 1
    return (logits * Tensor._make(logits.xp.asarray(pick), logits.device)).sum(axis=1)   # (N,)


def saliency(model, x, target) -> Tensor:
    """∂F_c/∂x for every sample of the batch ``x`` (N, ...), c = ``target`` (an int or N ints);
    a Tensor of x's shape. Plot its absolute value."""
    x = _as_input(x).requires_grad_()
    with _evaluating(model):
        scores = class_scores(model, x, _targets(target, len(x)))   # (N,)
        (gradient,) = grad(scores.sum(), x)                         # samples are independent
    return gradient


def integrated_gradients(model, x, target, baseline=None, steps: int = 50,
                         return_convergence_delta: bool = False):
    """Integrated gradients of the class score for every sample of ``x`` (N, ...), a Tensor of
    x's shape; with ``return_convergence_delta`` also the (N,) completeness gaps.

    ``baseline``: an input of x's shape (or one sample's shape), zeros by default."""
    if steps < 1:
        raise ValueError(f"integrated_gradients: steps must be >= 1, got {steps}")
    x = _as_input(x)
    baseline = Tensor(np.zeros(x.shape, dtype=x.dtype)) if baseline is None else _as_input(baseline)
    xp, n = x.xp, len(x)
    targets = _targets(target, n)
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas, weights = (nodes + 1) / 2, weights / 2                  # on [0, 1]
    delta = (x - baseline).data                                     # (N, ...)
    base = xp.broadcast_to(baseline.data, x.shape)
    shape = (steps,) + (1,) * x.ndim
    path = base[None] + xp.asarray(alphas.reshape(shape), dtype=x.dtype) * delta[None]
    path = Tensor._make(path.reshape((steps * n,) + x.shape[1:]), x.device).requires_grad_()
    with _evaluating(model):
        scores = class_scores(model, path, np.tile(targets, steps))   # (steps·N,)
        (gradients,) = grad(scores.sum(), path)                       # (steps·N, ...)
        average = (gradients.data.reshape((steps,) + x.shape) *
                   xp.asarray(weights.reshape(shape), dtype=x.dtype)).sum(axis=0)   # (N, ...)
        attributions = Tensor._make(delta * average, x.device)
        if not return_convergence_delta:
            return attributions
        with no_grad():
            change = (class_scores(model, x, targets) -
                      class_scores(model, Tensor._make(xp.ascontiguousarray(base), x.device),
                                   targets))                          # (N,)
    gap = attributions.data.reshape(n, -1).sum(axis=1) - change.data
    return attributions, Tensor._make(gap, x.device)


@no_grad()
def attention_maps(gpt, idx) -> Tensor:
    """Every layer's and head's attention weights for token ids ``idx`` (B, T):
    a Tensor (n_layer, B, n_head, T, T) whose entry [l, b, h, i, j] is how much position i
    attends to position j (0 for j > i; each row sums to 1)."""
    idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
    if idx.ndim == 1:
        idx = idx.unsqueeze(0)
    batch, steps = idx.shape
    if steps > gpt.block_size:
        raise ShapeError(f"attention_maps: {steps} tokens, but the GPT's block_size is "
                         f"{gpt.block_size}")
    maps = []
    with _evaluating(gpt):
        x = gpt.wte(idx) + gpt.wpe(Tensor(np.arange(steps), device=idx.device))   # (B, T, C)
        future = np.triu(np.ones((steps, steps), dtype=bool), k=1)                # (T, T)
        for block in gpt.h:
            attn = block.attn
            heads, embed = attn.n_head, attn.n_embd
            head_dim = embed // heads
            weight, bias = attn.c_attn.weight, attn.c_attn.bias                    # (3C, C), (3C,)
            h = block.ln_1(x)                                                       # (B, T, C)
            q = h @ weight[:embed].T + bias[:embed]                                 # (B, T, C)
            k = h @ weight[embed:2 * embed].T + bias[embed:2 * embed]               # (B, T, C)
            q = q.reshape(batch, steps, heads, head_dim).transpose(1, 2)            # (B, H, T, D)
            k = k.reshape(batch, steps, heads, head_dim).transpose(1, 2)            # (B, H, T, D)
            scores = (q @ k.transpose(-2, -1)).data / math.sqrt(head_dim)           # (B, H, T, T)
            scores = x.xp.where(x.xp.asarray(future), -np.inf, scores)
            maps.append(Tensor._make(scores, x.device).softmax(-1))                 # (B, H, T, T)
            x = block(x)                                                            # (B, T, C)
    return Tensor._make(x.xp.stack([m.data for m in maps]), idx.device)   # (L, B, H, T, T)
