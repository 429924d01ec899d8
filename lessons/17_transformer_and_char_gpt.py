# %% [markdown]
# # Lesson 17: a Transformer block, and a character-level GPT
#
# A GPT is a stack of identical blocks between an embedding and a classifier. Each block is
# **pre-LayerNorm** and **residual**:
#
#     x = x + attention(LayerNorm(x))      tokens exchange information (causal, lesson 16)
#     x = x + mlp(LayerNorm(x))            each token thinks on its own: C -> 4C -> C, GELU
#
# The additions form a "residual stream" that runs from the embedding to the output untouched;
# each block only adds a correction. Backward, the gradient flows along that stream through
# every addition unchanged, which is why deep stacks of blocks train (compare lesson 09).
# Normalising the *input* of each branch (pre-LN) rather than the sum keeps the stream itself
# free of rescaling.
#
# The model reads tokens through an embedding table wte (V x C) and writes logits with a
# matrix of the same shape; **weight tying** uses one table for both, saving V·C parameters.
#
# Generation samples one token at a time from softmax(logits / temperature), optionally only
# among the top_k most likely: low temperature is cautious and repetitive, high is adventurous.
#
# Run it:  python lessons/17_transformer_and_char_gpt.py
# Check the exercises at the end:  python lessons/17_transformer_and_char_gpt.py --check
#
# Read along: `tinygrad_edu/nn/attention.py::TransformerBlock.forward`,
# `tinygrad_edu/nn/attention.py::FeedForward`, `tinygrad_edu/models/gpt.py::GPT.forward` (whose
# own `tinygrad_edu/models/gpt.py::Block.forward` is the same block, written out in the model
# file as nanoGPT does) and `tinygrad_edu/models/sampling.py::sample_next`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data.text import CharVocab, load_text, random_text_batches, split_train_val
from tinygrad_edu.models import GPT
from tinygrad_edu.models.sampling import sample_next
from tinygrad_edu.nn import functional as F

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The block, written out with its own parts

# %%
tg.manual_seed(0)
block = nn.TransformerBlock(embed_dim=16, num_heads=2)
x = Tensor(rng.standard_normal((2, 5, 16)).astype(np.float32))     # (B, T, C)
h = x + block.attn(block.ln_1(x), is_causal=True)                   # (B, T, C)
by_hand = h + block.mlp(block.ln_2(h))                              # (B, T, C)
assert np.allclose(by_hand.numpy(), block(x).numpy(), atol=1e-6)
print("x + attn(ln_1(x)), then + mlp(ln_2(·)): equal to nn.TransformerBlock")

# %% [markdown]
# ## 2. A GPT: causal end to end, and weight-tied

# %%
vocab = CharVocab.ascii()                                           # 96 symbols
tg.manual_seed(0)
model = GPT(vocab_size=len(vocab), block_size=32, n_layer=2, n_head=2, n_embd=48)
V, C = len(vocab), 48
print(f"\nGPT: {model.num_parameters():,} parameters; an untied output layer would add V·C = {V * C:,}")
assert model.lm_head.weight is model.wte.weight

idx = rng.integers(0, V, (1, 12))
changed = idx.copy()
changed[0, 8:] = rng.integers(0, V, 4)                              # rewrite the future
with tg.no_grad():
    before, after = model(Tensor(idx)).numpy(), model(Tensor(changed)).numpy()
assert np.array_equal(before[0, :8], after[0, :8]) and not np.allclose(before[0, 8:], after[0, 8:])
print("rewriting tokens 8..11 leaves the logits at positions 0..7 exactly as they were")

# The tied table gets the sum of the gradients of its two uses: check against an untied copy.
x_ids, y_ids = random_text_batches(vocab.encode("def f(x):\n    return x * 2\n" * 4), 32, 2,
                                   np.random.default_rng(0))
_, loss = model(Tensor(x_ids), Tensor(y_ids))
loss.backward()
tied_grad = model.wte.weight.grad.numpy()
untied = GPT(vocab_size=V, block_size=32, n_layer=2, n_head=2, n_embd=48)
untied.load_state_dict(model.state_dict())
untied.lm_head.weight = nn.Parameter(Tensor(model.wte.weight.numpy().copy()))
_, loss_untied = untied(Tensor(x_ids), Tensor(y_ids))
loss_untied.backward()
assert np.isclose(loss.item(), loss_untied.item(), rtol=1e-6)
summed = untied.wte.weight.grad.numpy() + untied.lm_head.weight.grad.numpy()
assert np.allclose(tied_grad, summed, atol=1e-6)
print("the tied table's gradient = the embedding's gradient + the output layer's gradient")
model.zero_grad()

# %% [markdown]
# ## 3. Training on Python's standard library
#
# 200 steps of AdamW on 16 windows of 32 characters of the standard library's source.

# %%
train_ids, val_ids = split_train_val(vocab.encode(load_text(max_chars=300_000)))
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
batches = np.random.default_rng(0)
losses = []
for step in range(200):
    x_ids, y_ids = random_text_batches(train_ids, 32, 16, batches)   # (16, 32) each
    _, loss = model(Tensor(x_ids), Tensor(y_ids))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
with tg.no_grad():
    x_ids, y_ids = random_text_batches(val_ids, 32, 64, np.random.default_rng(1))
    val_loss = model(Tensor(x_ids), Tensor(y_ids))[1].item()
print(f"\nloss: start {losses[0]:.2f} (ln 96 = {np.log(96):.2f}), last 20 steps "
      f"{np.mean(losses[-20:]):.2f}, validation {val_loss:.2f} nats per character")
assert losses[0] > 4.0 and np.mean(losses[-20:]) < 2.6 and val_loss < 2.7

# %% [markdown]
# ## 4. Temperature and top-k
#
# `sample_next` draws from softmax(logits / T) restricted to the top_k largest logits. We draw
# 20,000 tokens from fixed logits and compare the frequencies with that formula.

# %%
logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0])
for temperature, top_k in [(1.0, None), (0.5, None), (2.0, 3)]:
    draws = sample_next(Tensor(np.tile(logits, (20_000, 1))), temperature, top_k,
                        np.random.default_rng(0)).numpy()[:, 0]
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    scaled = np.exp(logits / temperature)
    if top_k is not None:
        scaled[np.argsort(logits)[:-top_k]] = 0
    expected = scaled / scaled.sum()
    print(f"  T = {temperature}, top_k = {top_k}: frequencies {np.round(frequencies, 3)}, "
          f"softmax(z/T) {np.round(expected, 3)}")
    assert np.allclose(frequencies, expected, atol=0.01)

prompt = Tensor(vocab.encode("def ")[None])
for temperature in (0.5, 1.0):
    text = vocab.decode(model.generate(prompt, 120, temperature=temperature, top_k=10,
                                       generator=np.random.default_rng(0)).numpy()[0])
    print(f"\nsampled at temperature {temperature}, top_k = 10:\n{text}")

print("\nLesson 17 done: residual blocks of attention and MLP, one tied table, and a GPT writes Python-ish.")

# %% [markdown]
# ## Exercises
#
# 1. **Sampling probabilities.** `exercise_sampling_probs(logits, temperature, top_k)` returns
#    the probabilities `sample_next` draws from, for a NumPy vector of logits (top_k None = all).
# 2. **Counting a GPT.** `exercise_gpt_parameters(vocab_size, block_size, n_layer, n_embd)`
#    returns the number of parameters of `GPT(...)` with tied weights: the two embeddings, per
#    block two LayerNorms (2C each), attention (3C² + 3C in, C² + C out) and the MLP
#    (4C² + 4C, 4C² + C), and the final LayerNorm.
#
# Check your answers: `python lessons/17_transformer_and_char_gpt.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.models import GPT
from tinygrad_edu.models.sampling import sample_next


def exercise_sampling_probs(logits, temperature=1.0, top_k=None):
    """The distribution over tokens: softmax(logits / temperature) over the top_k largest."""
    raise NotImplementedError("exercise sampling_probs: scale, keep the top k, normalise")


def exercise_gpt_parameters(vocab_size, block_size, n_layer, n_embd):
    """The parameter count of a weight-tied GPT."""
    raise NotImplementedError("exercise gpt_parameters: embeddings + n_layer blocks + ln_f")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    logits = np.array([1.5, -0.5, 0.3, 2.2, 0.0, -2.0])
    for temperature, top_k in [(1.0, None), (0.7, 2), (1.5, 4)]:
        probs = np.asarray(solution.exercise_sampling_probs(logits, temperature, top_k))
        draws = sample_next(Tensor(np.tile(logits, (40_000, 1))), temperature, top_k,
                            np.random.default_rng(0)).numpy()[:, 0]
        frequencies = np.bincount(draws, minlength=6) / len(draws)
        assert np.isclose(probs.sum(), 1) and np.allclose(probs, frequencies, atol=0.01), (
            f"sampling_probs(T={temperature}, top_k={top_k}) = {np.round(probs, 3)}, but "
            f"sample_next draws {np.round(frequencies, 3)}: renormalise over the kept tokens")
    for config in [(96, 32, 2, 48), (10, 8, 1, 16)]:
        vocab_size, block_size, n_layer, n_embd = config
        expected = GPT(vocab_size, block_size, n_layer, 2, n_embd).num_parameters()
        got = solution.exercise_gpt_parameters(*config)
        assert got == expected, (f"gpt_parameters{config} = {got}, GPT has {expected}: the tied "
                                 f"output layer is the embedding, not a second table")
    print("all exercises pass")
