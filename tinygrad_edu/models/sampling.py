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

The ``KVCache`` at the end keeps keys and values between the steps of ``GPT.generate``.

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


class KVCache:
    """The keys and values that each attention layer has computed so far, (B, H, T, D) each.

    A language model that generates one token at a time would otherwise recompute, at every
    step, the keys and values of the whole context, although position t's key and value depend
    only on tokens 0..t and so never change. ``append(layer, k, v)`` adds the new positions'
    keys and values along the time axis and returns everything stored for that layer, which
    is what the new queries attend to. The arrays are kept without a graph: the cache serves
    generation, under ``no_grad``.
    """

    def __init__(self, n_layer: int):
        self.keys: list[Tensor | None] = [None] * n_layer
        self.values: list[Tensor | None] = [None] * n_layer

    def length(self, layer: int = 0) -> int:
        """The number of positions stored for ``layer``."""
        keys = self.keys[layer]
        return 0 if keys is None else keys.shape[-2]

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store ``k``, ``v`` (B, H, T_new, D) after what ``layer`` holds; return all of it,
        (B, H, T_past + T_new, D) each."""
        if self.keys[layer] is not None:
            xp = k.xp
            k = Tensor._make(xp.concatenate([self.keys[layer].data, k.data], axis=-2), k.device)
            v = Tensor._make(xp.concatenate([self.values[layer].data, v.data], axis=-2),
                             v.device)
        self.keys[layer], self.values[layer] = k.detach(), v.detach()
        return self.keys[layer], self.values[layer]
