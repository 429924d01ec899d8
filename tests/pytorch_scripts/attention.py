"""Causal self-attention by hand (tril and masked_fill, as in nanoGPT's explanations), checked
against F.scaled_dot_product_attention(..., is_causal=True), and nn.MultiheadAttention."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
B, H, T, D = 2, 3, 5, 4
q = torch.randn(B, H, T, D, requires_grad=True)
k = torch.randn(B, H, T, D, requires_grad=True)
v = torch.randn(B, H, T, D, requires_grad=True)

scores = q @ k.transpose(-2, -1) / math.sqrt(D)            # (B, H, T, T)
mask = torch.tril(torch.ones(T, T))
scores = scores.masked_fill(mask == 0, float("-inf"))
weights = F.softmax(scores, dim=-1)
by_hand = weights @ v                                       # (B, H, T, D)
assert torch.allclose(weights.sum(dim=-1), torch.ones(B, H, T))
assert weights[0, 0, 0, 1:].abs().sum().item() == 0        # the first query sees only itself

fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
assert torch.allclose(by_hand, fused, atol=1e-5)
(grad_q,) = torch.autograd.grad(by_hand.sum(), q)
(grad_q_fused,) = torch.autograd.grad(fused.sum(), q)
assert torch.allclose(grad_q, grad_q_fused, atol=1e-5)

embed_dim, num_heads = 8, 2
mha = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
x = torch.randn(B, T, embed_dim)
causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)   # True: not allowed
out, attn = mha(x, x, x, attn_mask=causal)
assert out.shape == (B, T, embed_dim) and attn.shape == (B, T, T)
changed = x.clone()
changed[:, 1:] = torch.randn(B, T - 1, embed_dim)
out_changed, _ = mha(changed, changed, changed, attn_mask=causal)
assert torch.allclose(out[:, 0], out_changed[:, 0], atol=1e-6)   # causal: the future is unseen
assert not torch.allclose(out[:, 1:], out_changed[:, 1:])
print("attention: ok")
