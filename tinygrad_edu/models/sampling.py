"""Sampling the next token from a language model's logits (shared by CharRNN and GPT).

A language model gives, for the last position, one logit z_v per vocabulary entry v. We turn
them into a distribution and draw from it:

    p_v = softmax(z / temperature)_v

- ``temperature`` < 1 sharpens the distribution (more predictable text), > 1 flattens it.
- ``top_k`` keeps only the k largest logits (the rest get probability 0); ``top_k=1`` is greedy
  decoding, always the most likely token.

Drawing uses inverse-CDF sampling: with the cumulative sums c_v = p_0 + ... + p_v and one
uniform number u in [0, 1), the chosen token is the number of c_v that are <= u. Token v is
chosen when c_(v-1) <= u < c_v, which happens with probability c_v - c_(v-1) = p_v. The
cumulative sums are divided by their last entry, so rounding can never leave u beyond the end.

Randomness comes from ``generator`` (a NumPy generator) or else the device's generator
(``backend.generator``), which ``tg.manual_seed`` resets, so a seeded run samples the same text.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator=None, model: str = "sample") -> Tensor:
    """One token id per row of ``logits`` (B, V), as an int64 Tensor (B, 1)."""
    if temperature <= 0:
        raise ValueError(f"{model}.generate: temperature must be positive, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"{model}.generate: top_k must be at least 1, got {top_k}")
    xp = logits.xp
    scaled = logits.data.astype("float64") / temperature            # (B, V)
    if top_k is not None and top_k < scaled.shape[-1]:
        kth_largest = xp.sort(scaled, axis=-1)[:, -top_k][:, None]  # (B, 1)
        scaled = xp.where(scaled < kth_largest, -xp.inf, scaled)    # (B, V)
    probs = Tensor._make(scaled, logits.device).softmax(axis=-1).data   # (B, V)
    cdf = xp.cumsum(probs, axis=-1)                                  # (B, V)
    cdf = cdf / cdf[:, -1:]                                          # (B, V), last column exactly 1
    rng = generator if generator is not None else backend.generator(logits.device)
    u = backend.to_device(rng.random((scaled.shape[0], 1)), logits.device)   # (B, 1)
    next_ids = (cdf <= u).sum(axis=-1, keepdims=True).astype("int64")       # (B, 1)
    return Tensor._make(next_ids, logits.device)
