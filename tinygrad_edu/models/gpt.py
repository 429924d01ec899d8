"""``GPT``: a decoder-only Transformer language model, with nanoGPT's names and initialisation.

Given token ids idx (B, T), GPT predicts, at every position t, the next token from tokens 0..t:

    x = wte[idx] + wpe[0..T-1]            token + learned position embeddings    (B, T, C)
    x = drop(x)
    x = block_i(x)   for i = 1..n_layer   pre-LayerNorm transformer blocks        (B, T, C)
          x = x + attn(ln_1(x))           causal multi-head self-attention
          x = x + mlp(ln_2(x))            C -> 4C -> C with GELU
    x = ln_f(x)                           a final LayerNorm                        (B, T, C)
    logits = x wteᵀ                       lm_head, sharing the token embedding      (B, T, V)

**Causal** attention lets position t look only at positions <= t, so one forward pass over a
training sequence gives T next-token predictions at once, none of them able to peek ahead.

**Weight tying.** ``lm_head.weight`` *is* ``wte.weight`` (the same Parameter object): reading a
token in and writing a token out use the same V x C table, which saves V·C parameters and helps
small models. Autograd needs nothing special: the parameter is used twice in the graph, so its
gradient is the sum of the two uses. ``parameters()`` lists it once (an optimizer updates it
once); ``state_dict()`` lists it under both names, as PyTorch does, and loading writes the same
values into the one shared tensor, so the tie survives a save and load.

**Initialisation** (GPT-2, as in nanoGPT): every matrix (embeddings, projections) from
N(0, 0.02²), biases zero, LayerNorms at weight 1 and bias 0. The two projections that write into
the residual stream in each block (``attn.out_proj`` and ``mlp.c_proj``) get std
0.02 / √(2·n_layer) instead: the stream is a sum of 2·n_layer such contributions, so this keeps
its variance from growing with depth.

Backward: attention, LayerNorm, GELU and the embeddings bring their own gradients
(nn/attention.py, nn/normalization.py); the residual additions pass the gradient straight
through to every block, which is what lets deep stacks train.

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
from .sampling import sample_next

RESIDUAL_PROJECTIONS = ("attn.out_proj.weight", "mlp.c_proj.weight")


class GPT(nn.Module):
    """``GPT(vocab_size=96, block_size=64, n_layer=4, n_head=4, n_embd=128)``.

    Submodules: ``wte``, ``wpe`` (Embeddings), ``drop``, ``h`` (a ModuleList of
    ``nn.TransformerBlock``), ``ln_f`` (LayerNorm) and ``lm_head`` (Linear without bias, tied to
    ``wte``). ``forward(idx)`` gives logits; ``forward(idx, targets)`` gives (logits, loss).
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
        self.h = nn.ModuleList(nn.TransformerBlock(n_embd, n_head, dropout=dropout)
                               for _ in range(n_layer))
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

    def forward(self, idx, targets=None):
        """Logits (B, T, vocab_size) for token ids ``idx`` (B, T) with T <= block_size; with
        ``targets`` (B, T) also the mean cross-entropy loss: returns (logits, loss)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        if idx.ndim != 2 or idx.data.dtype.kind not in "iu":
            raise ShapeError(f"GPT: expected integer token ids of shape (B, T), got shape "
                             f"{idx.shape} and dtype {idx.dtype}")
        batch, steps = idx.shape
        if steps > self.block_size:
            raise ShapeError(f"GPT: cannot forward a sequence of length T={steps}, the block "
                             f"size (longest context) is block_size={self.block_size}")
        positions = arange(steps, device=idx.device)       # (T,)
        tok_emb = self.wte(idx)                            # (B, T, C)
        pos_emb = self.wpe(positions)                      # (T, C), broadcast over the batch
        x = self.drop(tok_emb + pos_emb)                   # (B, T, C)
        for block in self.h:
            x = block(x)                                   # (B, T, C)
        x = self.ln_f(x)                                   # (B, T, C)
        logits = self.lm_head(x)                           # (B, T, V)
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
                 top_k: int | None = None, generator=None) -> Tensor:
        """Continue each row of ``idx`` (B, T) by ``max_new_tokens`` sampled ids -> (B, T + n).

        Each step feeds the last ``block_size`` tokens (the longest context the position table
        covers) and samples from the logits of the last position. Runs in evaluation mode (no
        dropout) and restores the mode afterwards."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        was_training = self.training
        self.eval()
        try:
            for _ in range(max_new_tokens):
                context = idx[:, -self.block_size:]                   # (B, min(T, block_size))
                logits = self(context)                                 # (B, T', V)
                next_id = sample_next(logits[:, -1, :], temperature, top_k, generator,
                                      "GPT")                           # (B, 1)
                idx = cat([idx, next_id], axis=1)                      # (B, T + 1)
        finally:
            self.train(was_training)
        return idx

    def num_parameters(self) -> int:
        """The number of learned scalars, the tied embedding counted once."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
                f"n_layer={self.n_layer}, n_head={self.n_head}, n_embd={self.n_embd}")
