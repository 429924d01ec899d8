# %% [markdown]
# # Lesson 16: attention from scratch
#
# Attention lets every position of a sequence gather information from the others, with weights
# it computes from the data. Each position emits a query q, a key k and a value v (three linear
# maps of its features); a query compares itself with every key, and returns the values mixed
# by how well they match:
#
#     weights = softmax(q kᵀ / √d)   (each row sums to 1),      out = weights · v.
#
# - **Why 1/√d.** With unit-variance entries, a dot product of two d-dimensional vectors has
#   variance d. Unscaled, the scores spread so far that the softmax becomes a hard arg-max and
#   its gradient vanishes; dividing by √d keeps their variance at 1.
# - **The causal mask.** A language model predicts token t + 1 from tokens ≤ t, so query t may
#   not look at keys > t: those scores are set to -inf, their weights to exactly 0.
# - **Positions.** Attention treats its input as a *set*: permute the tokens and the outputs
#   permute the same way. Position information has to be added to the features, as a fixed
#   sinusoidal pattern or as a learned table.
# - **Multi-head.** Split the E features into H heads of D = E/H and attend in each head
#   independently: only a reshape (B, T, E) -> (B, T, H, D) and a transpose to (B, H, T, D).
#
# Run it:  python lessons/16_attention_from_scratch.py
# Check the exercises at the end:  python lessons/16_attention_from_scratch.py --check
#
# Read along: `tinygrad_edu/ops/attention.py::scaled_dot_product_attention`,
# `tinygrad_edu/nn/attention.py::MultiHeadAttention.forward`,
# `tinygrad_edu/nn/attention.py::SinusoidalPositionalEncoding` and
# `tinygrad_edu/nn/attention.py::LearnedPositionalEmbedding`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import functional as F

rng = np.random.default_rng(0)


def softmax(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# %% [markdown]
# ## 1. Dot-product attention in three lines

# %%
T, D = 6, 8
q, k, v = (rng.standard_normal((T, D)) for _ in range(3))           # (T, D) each
weights = softmax(q @ k.T / math.sqrt(D))                           # (T, T)
out = weights @ v                                                   # (T, D)
library = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).numpy()
assert np.allclose(weights.sum(axis=1), 1) and np.allclose(out, library, rtol=1e-12)
print("softmax(q kᵀ/√d) v by hand equals F.scaled_dot_product_attention")

# %% [markdown]
# ## 2. What the 1/√d scale is for

# %%
d_big, t_big = 512, 32
qb, kb = rng.standard_normal((t_big, d_big)), rng.standard_normal((t_big, d_big))
values = Tensor(rng.standard_normal((t_big, 4)))                    # (T, 4)
upstream = Tensor(rng.standard_normal((t_big, 4)))                  # some dL/d(out)
measured = {}
for scale, label in [(1.0, "unscaled"), (1 / math.sqrt(d_big), "scaled by 1/√d")]:
    scores = Tensor(qb @ kb.T * scale, requires_grad=True)          # (T, T)
    weights = scores.softmax(axis=-1)                               # (T, T)
    (weights @ values * upstream).sum().backward()
    row_gradients = np.linalg.norm(scores.grad.numpy(), axis=1)    # (T,) one per query
    measured[label] = (scores.numpy().var(), weights.numpy().max(axis=1).mean(),
                       np.median(row_gradients))
    print(f"  {label:15s} score variance {measured[label][0]:6.1f}, mean largest weight "
          f"{measured[label][1]:.3f}, median ‖dL/dscores‖ of a query {measured[label][2]:.1e}")
unscaled, scaled = measured["unscaled"], measured["scaled by 1/√d"]
assert 0.8 * d_big < unscaled[0] < 1.2 * d_big and 0.8 < scaled[0] < 1.2
assert unscaled[1] > 0.85 and scaled[1] < 0.5         # nearly an arg-max vs a real mixture
assert unscaled[2] < 0.1 * scaled[2]                  # a saturated softmax passes little back
print("unscaled, most queries' softmax saturates: its Jacobian diag(p) - p pᵀ is nearly zero")

# %% [markdown]
# ## 3. The causal mask

# %%
causal = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), is_causal=True).numpy()
by_hand = softmax(np.where(np.tril(np.ones((T, T), dtype=bool)), q @ k.T / math.sqrt(D), -np.inf)) @ v
assert np.allclose(causal, by_hand, rtol=1e-12)
# Change the future (keys and values after position 2): outputs 0..2 must not move.
k_changed, v_changed = k.copy(), v.copy()
k_changed[3:], v_changed[3:] = rng.standard_normal((2, T - 3, D))
moved = F.scaled_dot_product_attention(Tensor(q), Tensor(k_changed), Tensor(v_changed),
                                       is_causal=True).numpy()
unmasked = F.scaled_dot_product_attention(Tensor(q), Tensor(k_changed), Tensor(v_changed)).numpy()
print(f"changing tokens 3..5 moves outputs 0..2 by {np.abs(moved[:3] - causal[:3]).max():.1e} "
      f"with the causal mask, by {np.abs(unmasked[:3] - library[:3]).max():.2f} without")
assert np.array_equal(moved[:3], causal[:3]) and not np.allclose(unmasked[:3], library[:3])

figure, axes = plt.subplots(1, 3, figsize=(12, 4))
maps = [("unscaled, d = 512", softmax(qb[:12] @ kb[:12].T)),
        ("scaled by 1/√d", softmax(qb[:12] @ kb[:12].T / math.sqrt(d_big))),
        ("scaled and causal", softmax(np.where(np.tril(np.ones((12, 12), dtype=bool)),
                                               qb[:12] @ kb[:12].T / math.sqrt(d_big), -np.inf)))]
for axis, (title, attention_map) in zip(axes, maps):
    axis.imshow(attention_map, cmap="viridis", vmin=0, vmax=1)
    axis.set_title(title)
    axis.set_xlabel("key position")
axes[0].set_ylabel("query position")
figure.tight_layout()
figure.savefig("lesson16_attention_maps.png", dpi=80)
print("attention maps saved to lesson16_attention_maps.png")

# %% [markdown]
# ## 4. Positions: attention alone cannot tell order

# %%
x = rng.standard_normal((1, T, D))                                  # (B, T, E)
tg.manual_seed(0)
attention = nn.MultiHeadAttention(D, num_heads=2)
order = rng.permutation(T)
shuffled_out = attention(Tensor(x[:, order])).numpy()
assert np.allclose(shuffled_out, attention(Tensor(x)).numpy()[:, order], atol=1e-6)
print("\nwithout positions, shuffling the tokens only shuffles the outputs")

encoding = nn.SinusoidalPositionalEncoding(max_len=64, dim=16)
table = encoding.pe.numpy()                                         # (64, 16)
# PE[p + k] is a rotation of PE[p], so the similarity of two positions depends only on k.
for offset in (1, 5):
    similarities = [table[p] @ table[p + offset] for p in range(0, 40, 7)]
    print(f"  PE[p]·PE[p + {offset}] for p = 0, 7, ..., 35:", np.round(similarities, 4))
    assert np.allclose(similarities, similarities[0], atol=1e-4)
learned = nn.LearnedPositionalEmbedding(max_len=8, dim=D)
print(f"learned positions: a parameter {learned.weight.shape}, trained like any weight, "
      f"but it knows no position beyond max_len = 8")
try:
    learned(Tensor(rng.standard_normal((1, 9, D))))
    raise AssertionError("a learned table cannot have an entry for position 9")
except tg.ShapeError as error:
    print("  ", error)

# %% [markdown]
# ## 5. Multi-head attention is reshapes around the same function
#
# `nn.MultiHeadAttention` keeps PyTorch's parameters: `in_proj_weight` (3E, E) stacks the
# query, key and value maps, `out_proj` mixes the heads back together.

# %%
E, H = 8, 2
tg.manual_seed(1)
mha = nn.MultiHeadAttention(E, num_heads=H)
x = rng.standard_normal((2, T, E)).astype(np.float32)              # (B, T, E)
w_in, b_in = mha.in_proj_weight.numpy(), mha.in_proj_bias.numpy()  # (3E, E), (3E,)
q, k, v = np.split(x @ w_in.T + b_in, 3, axis=-1)                   # 3 × (B, T, E)


def split_heads(t):
    return t.reshape(2, T, H, E // H).transpose(0, 2, 1, 3)         # (B, T, E) -> (B, H, T, D)


scores = split_heads(q) @ split_heads(k).transpose(0, 1, 3, 2) / math.sqrt(E // H)   # (B, H, T, T)
scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
heads = softmax(scores) @ split_heads(v)                            # (B, H, T, D)
merged = heads.transpose(0, 2, 1, 3).reshape(2, T, E)               # (B, T, E)
by_hand = merged @ mha.out_proj.weight.numpy().T + mha.out_proj.bias.numpy()
library = mha(Tensor(x), is_causal=True).numpy()
print(f"\n{H} heads by hand (reshape, transpose, attend, merge) vs nn.MultiHeadAttention: "
      f"{np.abs(by_hand - library).max():.1e}")
assert np.allclose(by_hand, library, atol=1e-5)

print("\nLesson 16 done: queries meet keys, 1/√d keeps the softmax soft, the mask hides the future.")

# %% [markdown]
# ## Exercises
#
# 1. **Attention.** `exercise_attention(q, k, v)` returns softmax(q kᵀ/√d) v for NumPy arrays
#    q (T, d), k (T, d), v (T, dv).
# 2. **The causal mask.** `exercise_causal_mask(T)` returns the (T, T) boolean array with True
#    where query i may see key j (PyTorch's convention: True = keep).
# 3. **Splitting heads.** `exercise_split_heads(x, num_heads)` turns (B, T, E) into
#    (B, H, T, E/H), head h holding features h·D ... (h + 1)·D - 1 of every position.
#
# Check your answers: `python lessons/16_attention_from_scratch.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F


def exercise_attention(q, k, v):
    """softmax(q kᵀ / √d) v."""
    raise NotImplementedError("exercise attention: scores, a stable softmax over the keys, mix")


def exercise_causal_mask(T):
    """(T, T) bool, True where key j <= query i."""
    raise NotImplementedError("exercise causal_mask: a lower triangle, diagonal included")


def exercise_split_heads(x, num_heads):
    """(B, T, E) -> (B, H, T, E // H)."""
    raise NotImplementedError("exercise split_heads: reshape, then move the head axis")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((5, 16)), rng.standard_normal((5, 16)), rng.standard_normal((5, 3))
    expected = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).numpy()
    got = np.asarray(solution.exercise_attention(q, k, v))
    assert np.allclose(got, expected), (
        f"attention differs from F.scaled_dot_product_attention by {np.abs(got - expected).max():.3f}:"
        f" scale the scores by 1/√d")
    mask = np.asarray(solution.exercise_causal_mask(5))
    assert mask.shape == (5, 5) and mask.dtype == bool, f"causal_mask: (5, 5) bool, got {mask.shape}"
    masked = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), attn_mask=mask).numpy()
    causal = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), is_causal=True).numpy()
    assert np.allclose(masked, causal), ("causal_mask: attention with your mask differs from "
                                         "is_causal=True; may a token see itself?")
    x = rng.standard_normal((2, 3, 12))
    got = np.asarray(solution.exercise_split_heads(x, 4))
    assert got.shape == (2, 4, 3, 3), f"split_heads: expected (2, 4, 3, 3), got {got.shape}"
    for h in range(4):
        assert np.array_equal(got[:, h], x[:, :, 3 * h:3 * h + 3]), (
            f"split_heads: head {h} should hold features {3 * h}..{3 * h + 2} of every position")
    print("all exercises pass")
