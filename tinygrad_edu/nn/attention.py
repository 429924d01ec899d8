"""Attention layers: ``MultiHeadAttention``, positional encodings and the ``TransformerBlock``.

**Multi-head attention.** One attention (``ops/attention.py``) compares every query with every
key through a single dot product. H heads let the layer compare them in H different ways at
once: the E features are projected to queries, keys and values, split into H heads of
D = E / H features, each head attends on its own, and the heads' outputs are concatenated and
mixed by an output projection:

    q, k, v = x W_qᵀ + b_q,  x W_kᵀ + b_k,  x W_vᵀ + b_v          (B, T, E) each
    head_h  = softmax(q_h k_hᵀ / √D + masks) v_h                  (B, T, D), h = 1..H
    out     = concat(head_1 .. head_H) W_oᵀ + b_o                 (B, T, E)

W_q, W_k, W_v are stored stacked as ``in_proj_weight`` (3E, E) with ``in_proj_bias`` (3E,), and
W_o is ``out_proj`` (a Linear), PyTorch's ``nn.MultiheadAttention`` layout, so its state_dict
loads unchanged. For self-attention (key and value omitted) one matrix product makes q, k and v
together. Inputs are (B, T, E) (``batch_first=True``, the default here) or (T, B, E).
``forward`` returns only the output, not PyTorch's (output, attention weights) pair.
``dropout`` drops attention weights in training mode, as PyTorch's does. The attention itself is
``nn.functional.scaled_dot_product_attention``, looked up at call time, so a fast kernel
selected there serves this layer too.

Masks use *PyTorch's nn.MultiheadAttention conventions* (note: the opposite of
``F.scaled_dot_product_attention``, where True means keep):

- ``key_padding_mask`` (B, Tk), boolean: **True means IGNORE** that key (a padding token);
- ``attn_mask`` (Tq, Tk) or (B·H, Tq, Tk), boolean: **True means the query may NOT attend**
  there; a float ``attn_mask`` is added to the scores instead;
- ``is_causal=True``: query i attends to keys j <= i only (here it needs no ``attn_mask``).

A query that may attend to no key at all gets a zero head output (PyTorch gives NaN there).

**Positional information.** Attention treats its input as a *set*: permute the tokens and the
outputs permute along. Order enters by adding a position-dependent vector to each token:
``SinusoidalPositionalEncoding`` (fixed sines and cosines of geometrically spaced frequencies,
"Attention Is All You Need") or ``LearnedPositionalEmbedding`` (a learned table, GPT-2).

**Transformer block** (pre-LayerNorm, as GPT-2 and nanoGPT):

    x = x + dropout(attn(ln_1(x)))                 mix information across positions
    x = x + mlp(ln_2(x))                           think about each position alone
    mlp(x) = dropout(c_proj(gelu(c_fc(x))))        E -> mlp_ratio·E -> E

Normalising *before* each sublayer keeps the residual path x -> x an identity, so gradients
reach the first layers undamped even in deep stacks. The submodule names ``ln_1``, ``attn``,
``ln_2``, ``mlp.c_fc``, ``mlp.c_proj`` are nanoGPT's; ``attn`` itself uses PyTorch's names.
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..autograd import ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .dropout import Dropout
from .linear import Linear, linear
from .module import Module, Parameter
from .normalization import LayerNorm


def _mask_array(mask, like: Tensor):
    """A mask given as a Tensor, list or array, as an array on ``like``'s device."""
    return mask.data if isinstance(mask, Tensor) else like.xp.asarray(mask)


def _as_additive(mask, xp):
    """A float mask to add to the scores: a boolean keep-mask becomes 0 (keep) / -inf (block)."""
    if mask.dtype != bool:
        return mask
    return xp.where(mask, 0.0, -math.inf)


class MultiHeadAttention(Module):
    """Multi-head attention with PyTorch's parameters and mask conventions (see the module
    docstring): forward(query, key=None, value=None, attn_mask=None, key_padding_mask=None,
    is_causal=False) -> output of the query's shape."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention: embed_dim={embed_dim} must be divisible by "
                             f"num_heads={num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        # PyTorch's initialisation: xavier for the stacked projections, zero biases.
        self.in_proj_weight = Parameter(init.xavier_uniform_(creation.zeros(3 * embed_dim,
                                                                            embed_dim)))
        self.in_proj_bias = Parameter(creation.zeros(3 * embed_dim)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        """(B, T, E) -> (B, H, T, D)."""
        batch, steps, _ = x.shape
        return x.reshape(batch, steps, self.num_heads, self.head_dim).transpose(1, 2)

    def _project(self, query: Tensor, key: Tensor, value: Tensor, self_attention: bool):
        """q, k, v, each (B, H, T, D)."""
        if self_attention:   # one product for all three: (B, T, E) @ (E, 3E)
            batch, steps, _ = query.shape
            qkv = linear(query, self.in_proj_weight, self.in_proj_bias)       # (B, T, 3E)
            qkv = qkv.reshape(batch, steps, 3, self.num_heads, self.head_dim)
            qkv = qkv.permute(2, 0, 3, 1, 4)                                  # (3, B, H, T, D)
            return qkv[0], qkv[1], qkv[2]
        e = self.embed_dim
        biases = ([self.in_proj_bias[i * e:(i + 1) * e] for i in range(3)]
                  if self.in_proj_bias is not None else [None] * 3)
        return tuple(self._split_heads(linear(x, self.in_proj_weight[i * e:(i + 1) * e], b))
                     for i, (x, b) in enumerate(zip((query, key, value), biases)))

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        layout = "(B, T, E)" if self.batch_first else "(T, B, E)"
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.embed_dim:
                raise ShapeError(f"MultiHeadAttention: expected {name} of shape {layout} with "
                                 f"E={self.embed_dim}, got {x.shape}")
        batch_axis, time_axis = (0, 1) if self.batch_first else (1, 0)
        if (key.shape[time_axis] != value.shape[time_axis]
                or not query.shape[batch_axis] == key.shape[batch_axis] == value.shape[batch_axis]):
            raise ShapeError(f"MultiHeadAttention: query {query.shape}, key {key.shape} and "
                             f"value {value.shape} must share the batch size, and key and value "
                             f"the length")

    def _sdpa_mask(self, attn_mask, key_padding_mask, batch: int, tq: int, tk: int, like: Tensor):
        """The masks translated to the SDPA convention: boolean True = keep (or float = added),
        broadcastable to (B, H, Tq, Tk); None when nothing is masked."""
        xp, mask = like.xp, None
        if attn_mask is not None:
            mask = _mask_array(attn_mask, like)
            if mask.shape not in ((tq, tk), (batch * self.num_heads, tq, tk)):
                raise ShapeError(f"MultiHeadAttention: attn_mask must have shape {(tq, tk)} or "
                                 f"{(batch * self.num_heads, tq, tk)}, got {mask.shape}")
            mask = mask.reshape(-1, self.num_heads, tq, tk) if mask.ndim == 3 else mask
            mask = ~mask if mask.dtype == bool else mask                 # True = keep
        if key_padding_mask is not None:
            padding = _mask_array(key_padding_mask, like)
            if padding.shape != (batch, tk):
                raise ShapeError(f"MultiHeadAttention: key_padding_mask must have shape "
                                 f"{(batch, tk)}, got {padding.shape}")
            padding = padding[:, None, None, :]                             # (B, 1, 1, Tk)
            padding = ~padding if padding.dtype == bool else padding         # True = keep
            if mask is None:
                mask = padding
            elif mask.dtype == bool and padding.dtype == bool:
                mask = mask & padding
            else:
                mask = _as_additive(mask, xp) + _as_additive(padding, xp)
        return mask

    def _heads(self, query: Tensor, key: Tensor | None, value: Tensor | None):
        """Checked, batch-first inputs projected to per-head queries, keys and values:
        (q, k, v), each (B, H, T, D)."""
        self_attention = (key is None or key is query) and (value is None or value is query)
        key = query if key is None else key
        value = key if value is None else value
        self._check_shapes(query, key, value)
        if not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        return self._project(query, key, value, self_attention)             # (B, H, T, D)

    def _merge_heads(self, heads: Tensor) -> Tensor:
        """(B, H, Tq, D) -> concatenated heads through ``out_proj``, in the input's layout."""
        batch, _, tq, _ = heads.shape
        out = self.out_proj(heads.transpose(1, 2).reshape(batch, tq, self.embed_dim))  # (B, Tq, E)
        return out if self.batch_first else out.transpose(0, 1)

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None,
                attn_mask=None, key_padding_mask=None, is_causal: bool = False) -> Tensor:
        q, k, v = self._heads(query, key, value)                             # (B, H, T, D)
        batch, _, tq, _ = q.shape
        mask = self._sdpa_mask(attn_mask, key_padding_mask, batch, tq, k.shape[2], q)
        heads = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal,
            dropout_p=self.dropout if self.training else 0.0)                # (B, H, Tq, D)
        return self._merge_heads(heads)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


def _check_positions(name: str, x: Tensor, max_len: int, dim: int) -> int:
    """The sequence length T of x (..., T, dim), checked against the table's size."""
    if x.ndim < 2 or x.shape[-1] != dim or x.shape[-2] > max_len:
        raise ShapeError(f"{name}: expected input of shape (..., T, {dim}) with "
                         f"T <= max_len={max_len}, got {x.shape}")
    return x.shape[-2]


class SinusoidalPositionalEncoding(Module):
    """x + PE[:T] for x (..., T, dim), with the fixed table (a buffer, not learned)

        PE[pos, 2i] = sin(pos / 10000^(2i/dim)),   PE[pos, 2i+1] = cos(pos / 10000^(2i/dim)).

    Each pair of features turns at its own frequency, so every position gets a distinct
    pattern, and PE[pos + k] is a fixed rotation of PE[pos] for every pos."""

    def __init__(self, max_len: int, dim: int):
        super().__init__()
        self.max_len, self.dim = max_len, dim
        position = np.arange(max_len)[:, None]                               # (max_len, 1)
        frequency = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim)  # (F,), F = ⌈dim/2⌉
        angle = position * frequency                                         # (max_len, F)
        table = np.zeros((max_len, dim), dtype=np.float32)
        table[:, 0::2] = np.sin(angle)
        table[:, 1::2] = np.cos(angle[:, :dim // 2])
        self.register_buffer("pe", Tensor(table))

    def forward(self, x: Tensor) -> Tensor:
        steps = _check_positions("SinusoidalPositionalEncoding", x, self.max_len, self.dim)
        return x + self.pe[:steps]                                           # (..., T, dim)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


class LearnedPositionalEmbedding(Module):
    """x + weight[:T] for x (..., T, dim), with ``weight`` (max_len, dim) learned, initialised
    N(0, 0.02²) as in GPT-2."""

    def __init__(self, max_len: int, dim: int):
        super().__init__()
        self.max_len, self.dim = max_len, dim
        self.weight = Parameter(init.normal_(creation.zeros(max_len, dim), 0.0, 0.02))

    def forward(self, x: Tensor) -> Tensor:
        steps = _check_positions("LearnedPositionalEmbedding", x, self.max_len, self.dim)
        return x + self.weight[:steps]                                       # (..., T, dim)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


class FeedForward(Module):
    """The transformer's per-position MLP: dropout(c_proj(act(c_fc(x)))), E -> hidden -> E.
    ``activation`` "gelu" is the tanh approximation (GPT-2); "relu" is the original one."""

    def __init__(self, embed_dim: int, hidden_dim: int, dropout: float = 0.0,
                 activation: str = "gelu"):
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"FeedForward: activation must be 'gelu' or 'relu', "
                             f"got {activation!r}")
        self.c_fc = Linear(embed_dim, hidden_dim)
        self.act = GELU(approximate="tanh") if activation == "gelu" else ReLU()
        self.c_proj = Linear(hidden_dim, embed_dim)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))            # (..., E)


class TransformerBlock(Module):
    """A pre-LayerNorm transformer block on (B, T, E): x + attn(ln_1(x)), then x + mlp(ln_2(x)).
    ``causal=True`` (the default, for language models) lets position t see positions <= t only;
    ``dropout`` applies to the attention weights and to both residual branches."""

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4, dropout: float = 0.0,
                 activation: str = "gelu", causal: bool = True):
        super().__init__()
        self.embed_dim, self.causal = embed_dim, causal
        self.ln_1 = LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout, batch_first=True)
        self.dropout = Dropout(dropout)
        self.ln_2 = LayerNorm(embed_dim)
        self.mlp = FeedForward(embed_dim, mlp_ratio * embed_dim, dropout, activation)

    def forward(self, x: Tensor, key_padding_mask=None) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ShapeError(f"TransformerBlock: expected input of shape (B, T, "
                             f"{self.embed_dim}), got {x.shape}")
        attended = self.attn(self.ln_1(x), key_padding_mask=key_padding_mask,
                             is_causal=self.causal)                          # (B, T, E)
        x = x + self.dropout(attended)                                       # (B, T, E)
        return x + self.mlp(self.ln_2(x))                                    # (B, T, E)

    def extra_repr(self) -> str:
        return f"causal={self.causal}"
