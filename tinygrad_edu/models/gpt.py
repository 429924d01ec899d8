"""``GPT``: a decoder-only Transformer language model, in one file, with nanoGPT's names.

Given token ids idx (B, T), GPT predicts, at every position t, the next token from tokens 0..t:

    x = wte[idx] + wpe[0..T-1]            token + learned position embeddings    (B, T, C)
    x = drop(x)
    x = block_i(x)   for i = 1..n_layer   pre-LayerNorm transformer blocks        (B, T, C)
          x = x + attn(ln_1(x))           causal multi-head self-attention
          x = x + mlp(ln_2(x))            C -> 4C -> C with GELU
    x = ln_f(x)                           a final LayerNorm                        (B, T, C)
    logits = x wteᵀ                       lm_head, sharing the token embedding      (B, T, V)

**Causal self-attention** (``CausalSelfAttention``): one Linear ``c_attn`` makes queries, keys
and values for all H heads of D = C / H features at once; each head mixes the values of the
positions it may see,

    q, k, v = split(x W_attnᵀ + b_attn)                          (B, H, T, D) each
    head    = softmax(q kᵀ / √D, keys j <= query i) v            (B, H, T, D)
    out     = concat(heads) W_projᵀ + b_proj                     (B, T, C)

and "causal" lets position t look only at positions <= t, so one forward pass over a training
sequence gives T next-token predictions at once, none of them able to peek ahead. The softmax
step is ``F.scaled_dot_product_attention``, which asks the kernel switch
(``tinygrad_edu.kernels``) whether to run the fused Numba kernel or the NumPy reference.

**The KV cache.** When generating, the keys and values of the positions already seen never
change (position t sees only positions <= t). ``forward(idx, cache=KVCache(...))`` stores each
layer's keys and values, and the next call feeds only the new token: its query attends to the
stored keys plus its own, so a new token costs one position's work instead of the whole
context's. ``generate(use_cache=True)`` does this and gives the same tokens as recomputing
everything (``use_cache=False``).

**Weight tying.** ``lm_head.weight`` *is* ``wte.weight`` (the same Parameter object): reading a
token in and writing a token out use the same V x C table, which saves V·C parameters and helps
small models. Autograd needs nothing special: the parameter is used twice in the graph, so its
gradient is the sum of the two uses. ``parameters()`` lists it once (an optimizer updates it
once); ``state_dict()`` lists it under both names, as PyTorch does, and loading writes the same
values into the one shared tensor, so the tie survives a save and load.

**Initialisation** (GPT-2, as in nanoGPT): every matrix (embeddings, projections) from
N(0, 0.02²), biases zero, LayerNorms at weight 1 and bias 0. The two projections that write into
the residual stream in each block (``attn.c_proj`` and ``mlp.c_proj``) get std
0.02 / √(2·n_layer) instead: the stream is a sum of 2·n_layer such contributions, so this keeps
its variance from growing with depth.

Backward: attention, LayerNorm, GELU and the embeddings bring their own gradients; the residual
additions pass the gradient straight through to every block, which is what lets deep stacks
train.

**Parameter names** are nanoGPT's: ``h.0.attn.c_attn.weight`` (3C, C) holds W_q, W_k, W_v
stacked in that order, ``h.0.attn.c_proj``, ``h.0.mlp.c_fc``, ``h.0.mlp.c_proj``. Checkpoints
written when the blocks were ``nn.TransformerBlock`` (names ``attn.in_proj_weight``,
``attn.in_proj_bias``, ``attn.out_proj.*``, the same layout) still load: ``load_state_dict``
renames them.

Parameters (tied head not counted twice): V·C + block_size·C + n_layer·(12·C² + 13·C) + 2·C.
"""
from __future__ import annotations

import math

from ..autograd import ShapeError, no_grad
from ..creation import arange
from ..ops.movement import cat
from ..tensor import Tensor
from .. import nn
from ..nn import functional as F
from ..nn import init
from .sampling import KVCache, sample_next

RESIDUAL_PROJECTIONS = ("attn.c_proj.weight", "mlp.c_proj.weight")
# old name (nn.MultiHeadAttention's, inside nn.TransformerBlock) -> name in this file
RENAMED = {"attn.in_proj_weight": "attn.c_attn.weight", "attn.in_proj_bias": "attn.c_attn.bias",
           "attn.out_proj.weight": "attn.c_proj.weight", "attn.out_proj.bias": "attn.c_proj.bias"}


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention on (B, T, C); ``forward(x, cache=None, layer=0)``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)    # queries, keys, values of every head
        self.c_proj = nn.Linear(n_embd, n_embd)        # mixes the heads' outputs
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        batch, steps, channels = x.shape
        head_dim = channels // self.n_head
        qkv = self.c_attn(x)                                                 # (B, T, 3C)
        qkv = qkv.reshape(batch, steps, 3, self.n_head, head_dim)            # (B, T, 3, H, D)
        qkv = qkv.permute(2, 0, 3, 1, 4)                                     # (3, B, H, T, D)
        q, k, v = qkv[0], qkv[1], qkv[2]                                     # (B, H, T, D) each
        past = 0
        if cache is not None:
            past = cache.length(layer)
            k, v = cache.append(layer, k, v)                                 # (B, H, past + T, D)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=_future_mask(steps, past, x.xp), is_causal=past == 0,
            dropout_p=self.dropout if self.training else 0.0)                # (B, H, T, D)
        y = y.transpose(1, 2).reshape(batch, steps, channels)                # (B, T, C)
        return self.resid_drop(self.c_proj(y))                               # (B, T, C)

    def extra_repr(self) -> str:
        return f"n_embd={self.n_embd}, n_head={self.n_head}"


def _future_mask(steps: int, past: int, xp):
    """Which keys the ``steps`` new queries may see after ``past`` cached positions: query i
    (at position past + i) sees keys j <= past + i. None where no mask is needed: without a
    past the ``causal`` flag says it all, and a single new query sees every key."""
    if past == 0 or steps == 1:
        return None
    return xp.tril(xp.ones((steps, past + steps), dtype=bool), k=past)      # (T, past + T)


class MLP(nn.Module):
    """The per-position feed-forward network: dropout(c_proj(gelu(c_fc(x)))), C -> 4C -> C."""

    def __init__(self, n_embd: int, dropout: float = 0.0):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU(approximate="tanh")        # GPT-2's approximation
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))           # (B, T, C)


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)                        # (B, T, C)
        return x + self.mlp(self.ln_2(x))                                    # (B, T, C)


class GPT(nn.Module):
    """``GPT(vocab_size=96, block_size=64, n_layer=4, n_head=4, n_embd=128)``.

    Submodules: ``wte``, ``wpe`` (Embeddings), ``drop``, ``h`` (a ModuleList of ``Block``),
    ``ln_f`` (LayerNorm) and ``lm_head`` (Linear without bias, tied to ``wte``).
    ``forward(idx)`` gives logits; ``forward(idx, targets)`` gives (logits, loss).
    """

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int,
                 dropout: float = 0.0):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd={n_embd} must be divisible by n_head={n_head}")
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(n_embd, n_head, dropout) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight   # weight tying: one Parameter, two uses
        self._init_weights()

    def _init_weights(self) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.n_layer)
        for name, p in self.named_parameters():
            if p.ndim >= 2:   # every matrix: embeddings and projections
                init.normal_(p, 0.0, residual_std if name.endswith(RESIDUAL_PROJECTIONS) else 0.02)
            elif name.endswith("bias"):
                init.zeros_(p)

    def forward(self, idx, targets=None, cache: KVCache | None = None):
        """Logits (B, T, vocab_size) for token ids ``idx`` (B, T); with ``targets`` (B, T) also
        the mean cross-entropy loss: returns (logits, loss). With a ``cache``, idx continues
        the sequence whose keys and values it holds (positions past .. past + T - 1), and the
        cache is extended; past + T must not exceed block_size."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        if idx.ndim != 2 or idx.data.dtype.kind not in "iu":
            raise ShapeError(f"GPT: expected integer token ids of shape (B, T), got shape "
                             f"{idx.shape} and dtype {idx.dtype}")
        batch, steps = idx.shape
        past = cache.length() if cache is not None else 0
        if past + steps > self.block_size:
            raise ShapeError(f"GPT: cannot forward a sequence of length T={past + steps}"
                             f"{f' ({past} cached)' if past else ''}, the block size (longest "
                             f"context) is block_size={self.block_size}")
        positions = arange(past, past + steps, device=idx.device)   # (T,)
        tok_emb = self.wte(idx)                                     # (B, T, C)
        pos_emb = self.wpe(positions)                               # (T, C), broadcast over B
        x = self.drop(tok_emb + pos_emb)                            # (B, T, C)
        for layer, block in enumerate(self.h):
            x = block(x, cache, layer)                              # (B, T, C)
        x = self.ln_f(x)                                            # (B, T, C)
        logits = self.lm_head(x)                                    # (B, T, V)
        if targets is None:
            return logits
        targets = targets if isinstance(targets, Tensor) else Tensor(targets, device=idx.device)
        if targets.shape != idx.shape:
            raise ShapeError(f"GPT: targets must have the shape of idx {idx.shape}, got "
                             f"{targets.shape}")
        loss = F.cross_entropy(logits.reshape(batch * steps, self.vocab_size),   # (B·T, V)
                               targets.reshape(batch * steps))                   # (B·T,)
        return logits, loss

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None, use_cache: bool = True) -> Tensor:
        """Continue each row of ``idx`` (B, T) by ``max_new_tokens`` sampled ids -> (B, T + n).

        Each step samples from the logits of the last position given the last ``block_size``
        tokens (the longest context the position table covers). Without the cache every step
        runs the whole context; with it, the first step fills a ``KVCache`` and each later
        step feeds one token, until the context is full: then the window moves on by one
        token, its positions change, and the cache is filled afresh from the window, exactly
        what the uncached step computes. Runs in evaluation mode (no dropout) and restores the
        mode afterwards."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        was_training = self.training
        self.eval()
        cache = None
        try:
            for _ in range(max_new_tokens):
                if cache is not None and cache.length() < self.block_size:
                    logits = self(idx[:, -1:], cache=cache)             # (B, 1, V)
                else:
                    cache = KVCache(self.n_layer) if use_cache else None
                    logits = self(idx[:, -self.block_size:], cache=cache)   # (B, T', V)
                next_id = sample_next(logits[:, -1, :], temperature, top_k, generator,
                                      "GPT")                            # (B, 1)
                idx = cat([idx, next_id], axis=1)                       # (B, T + 1)
        finally:
            self.train(was_training)
        return idx

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """``Module.load_state_dict``, also accepting the older attention names (``RENAMED``)."""
        renamed = {}
        for name, value in state_dict.items():
            for old, new in RENAMED.items():
                if name.endswith("." + old):
                    name = name[:-len(old)] + new
            renamed[name] = value
        super().load_state_dict(renamed, strict)

    def num_parameters(self) -> int:
        """The number of learned scalars, the tied embedding counted once."""
        return sum(p.size for p in self.parameters())

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
                f"n_layer={self.n_layer}, n_head={self.n_head}, n_embd={self.n_embd}")
