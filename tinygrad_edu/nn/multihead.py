"""``nn.MultiheadAttention``: PyTorch's multi-head attention layer, signature and all.

``MultiHeadAttention`` (``nn/attention.py``) is this project's layer: batch-first by default,
returning only the output. ``MultiheadAttention`` is the same layer with PyTorch's spelling and
contract, so a PyTorch script runs unchanged:

- ``batch_first=False`` by default: inputs are (T, B, E);
- ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
  average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``: the attention
  weights (B, Tq, Tk), averaged over the heads (or (B, H, Tq, Tk) with
  ``average_attn_weights=False``), or None with ``need_weights=False``.

The parameters are the same (``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj``), so a
PyTorch state_dict loads as it is, and so are the masks (True = may NOT attend). To return the
weights, the scores are formed explicitly,

    weights = dropout(softmax(q kᵀ / √D + masks))      (B, H, Tq, Tk)
    heads   = weights v                                (B, H, Tq, D)

while ``need_weights=False`` hands the attention to ``F.scaled_dot_product_attention`` and
its fused kernel when one is selected.
"""
from __future__ import annotations

import math

from ..ops.elementwise import where
from ..tensor import Tensor
from . import functional as F
from .attention import MultiHeadAttention


class MultiheadAttention(MultiHeadAttention):
    """PyTorch's ``nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    batch_first=False)``: forward returns (output, attention weights or None)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False):
        super().__init__(embed_dim, num_heads, dropout, bias, batch_first)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        if not need_weights:
            out = super().forward(query, key, value, attn_mask, key_padding_mask, is_causal)
            return out, None
        q, k, v = self._heads(query, key, value)                             # (B, H, T, D)
        scores = (q @ k.mT) * (1 / math.sqrt(self.head_dim))                 # (B, H, Tq, Tk)
        weights = self._masked_softmax(scores, attn_mask, key_padding_mask, is_causal)
        weights = F.dropout(weights, self.dropout, self.training)
        out = self._merge_heads(weights @ v)                                 # (B, Tq, E)
        return out, (weights.mean(1) if average_attn_weights else weights)

    def _masked_softmax(self, scores: Tensor, attn_mask, key_padding_mask, is_causal: bool):
        """softmax over the keys, with the masks (the SDPA convention from ``_sdpa_mask``) and
        the causal rule applied: blocked scores become -inf."""
        batch, _, tq, tk = scores.shape
        xp = scores.xp
        mask = self._sdpa_mask(attn_mask, key_padding_mask, batch, tq, tk, scores)
        if mask is not None and mask.dtype != bool:
            scores = scores + Tensor._make(mask.astype(scores.dtype), scores.device)
            mask = None
        if is_causal:
            causal = xp.tril(xp.ones((tq, tk), dtype=bool))
            mask = causal if mask is None else mask & causal
        if mask is not None:
            scores = where(Tensor._make(xp.broadcast_to(mask, scores.shape), scores.device),
                           scores, -math.inf)
        return scores.softmax(-1)                                            # (B, H, Tq, Tk)
