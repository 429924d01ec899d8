# %% [markdown]
# # Lesson 22: the KV cache, or why generating a token need not cost the whole context
#
# A language model generates one token at a time: run the model on the context, sample the
# next token from the last position's logits, append it, repeat. Run naively, step t feeds all
# t tokens through every layer again, although only the last position's output is used.
#
# In causal attention, position i's key and value depend only on tokens 0..i. So once computed
# they never change: a **KV cache** keeps every layer's keys and values, and each new step
# feeds only the new token. Its query attends to the cached keys plus its own:
#
#     q_t = x_t W_q,   K = [K_cache; x_t W_k],   V = [V_cache; x_t W_v]
#     out_t = softmax(q_t Kᵀ / √D) V                      one row instead of t rows
#
# Per new token the work drops from t positions to 1 (the attention over the t cached keys
# stays, and is cheap next to the projections and the MLP).
#
# Run it:  python lessons/22_kv_cache.py
# Check the exercises at the end:  python lessons/22_kv_cache.py --check
#
# Read along: `tinygrad_edu/models/sampling.py::KVCache`,
# `tinygrad_edu/models/gpt.py::CausalSelfAttention.forward` and
# `tinygrad_edu/models/gpt.py::GPT.generate`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import time

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.models import GPT
from tinygrad_edu.models.sampling import KVCache

tg.manual_seed(0)
model = GPT(vocab_size=50, block_size=128, n_layer=2, n_head=4, n_embd=64).eval()
rng = np.random.default_rng(0)

# %% [markdown]
# ## Keys and values of the past do not change
#
# Run the model on 10 tokens, then on the same 10 tokens plus one: the logits at the first 10
# positions are the same, because no position looks ahead. That is what makes caching exact.

# %%
tokens = rng.integers(0, 50, size=(1, 11))
with tg.no_grad():
    short = model(Tensor(tokens[:, :10])).numpy()         # (1, 10, V)
    longer = model(Tensor(tokens)).numpy()                 # (1, 11, V)
print("largest change at the first 10 positions:", np.abs(longer[:, :10] - short).max())
assert np.allclose(longer[:, :10], short, atol=1e-5)

# %% [markdown]
# ## The cache, one token at a time
#
# Feed the prompt once (filling the cache), then one token per call: each call's logits equal
# those of the full forward pass at that position.

# %%
cache = KVCache(model.n_layer)
with tg.no_grad():
    pieces = [model(Tensor(tokens[:, :8]), cache=cache)]  # (1, 8, V), the cache holds 8
    for t in range(8, 11):
        pieces.append(model(Tensor(tokens[:, t:t + 1]), cache=cache))   # (1, 1, V)
cached_logits = np.concatenate([p.numpy() for p in pieces], axis=1)
print("cache now holds", cache.length(), "positions; keys of layer 0:", cache.keys[0].shape)
print("largest difference from the full pass:", np.abs(cached_logits - longer).max())
assert cache.length() == 11 and np.allclose(cached_logits, longer, atol=1e-5)

# %% [markdown]
# ## Same tokens, far less work
#
# `generate(use_cache=True)` (the default) and `use_cache=False` draw the same random numbers
# from the same seed and compute the same logits (to float rounding), so they produce the same
# tokens. Without the cache, generating n tokens after a prompt of p feeds
# p + (p+1) + ... + (p+n-1) positions through the model; with it, p + (n - 1).

# %%
prompt, new = Tensor(tokens[:, :1]), 100
seconds = {}
for use_cache in (False, True):
    start = time.perf_counter()
    out = model.generate(prompt, new, generator=np.random.default_rng(1), use_cache=use_cache)
    seconds[use_cache] = time.perf_counter() - start
    print(f"use_cache={use_cache!s:5}: {new / seconds[use_cache]:7.1f} tokens/s")
    if use_cache:
        assert np.array_equal(out.numpy(), uncached)
    uncached = out.numpy()
positions_uncached = sum(range(1, 1 + new))
positions_cached = 1 + (new - 1)
print(f"positions fed: {positions_uncached} without the cache, {positions_cached} with it "
      f"({positions_uncached / positions_cached:.0f}x fewer); measured speed-up "
      f"{seconds[False] / seconds[True]:.1f}x (the rest: per-step overhead and attention)")
assert positions_uncached > 40 * positions_cached
print("\nLesson 22 done: keep the keys and values, feed one token per step, get the same tokens.")

# %% [markdown]
# When the context reaches `block_size`, the window slides: every position shifts, so their
# keys change, and `generate` refills the cache from the new window, exactly what the uncached
# step computes. `python -m benchmarks.generation` measures the W3 model at context 256.

# %% [markdown]
# ## Exercises
#
# 1. `exercise_positions_fed(prompt_len, new_tokens, use_cache)`: how many positions pass
#    through the model while generating (no window sliding: the context never fills).
# 2. `exercise_cached_attention(q, k_cache, v_cache, k_new, v_new)`: the attention output of
#    ONE new query (D,) over the cached keys/values (T, D) plus its own, as a NumPy array (D,).

# %% tags=["exercises"]
import types

import numpy as np


def exercise_positions_fed(prompt_len, new_tokens, use_cache):
    """Positions run through the model to generate ``new_tokens`` after ``prompt_len``."""
    raise NotImplementedError("exercise positions_fed: sum the context lengths of each step")


def exercise_cached_attention(q, k_cache, v_cache, k_new, v_new):
    """softmax(q Kᵀ / √D) V with K, V the cache plus the new row."""
    raise NotImplementedError("exercise cached_attention: append, score, softmax, mix")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for prompt_len, new in [(1, 5), (7, 3), (4, 1)]:
        uncached = sum(prompt_len + i for i in range(new))
        cached = prompt_len + new - 1
        got = (solution.exercise_positions_fed(prompt_len, new, False),
               solution.exercise_positions_fed(prompt_len, new, True))
        assert got == (uncached, cached), (
            f"positions_fed({prompt_len}, {new}) = {got}, expected {(uncached, cached)}: the "
            f"first step feeds the whole prompt, each later step one token (cached) or the "
            f"whole context so far (uncached)")
    rng = np.random.default_rng(0)
    q, k_new, v_new = rng.standard_normal((3, 4))
    k_cache, v_cache = rng.standard_normal((2, 5, 4))
    keys, values = np.vstack([k_cache, k_new]), np.vstack([v_cache, v_new])
    scores = keys @ q / 2.0
    weights = np.exp(scores - scores.max())
    expected = (weights / weights.sum()) @ values
    got = np.asarray(solution.exercise_cached_attention(q, k_cache, v_cache, k_new, v_new))
    assert got.shape == (4,) and np.allclose(got, expected), (
        f"cached_attention gave {np.round(got, 3)}, expected {np.round(expected, 3)}: the new "
        f"query attends to the cached keys AND its own, scaled by 1/sqrt(D)")
    print("all exercises pass")
