# %% [markdown]
# # Lesson 08: a tiny GPT learns to reverse a sequence, and writes the answer token by token
#
# A language model only ever does one thing: given the tokens so far, predict the next one. To
# teach it a task, write the task as text. Reversing 6 symbols from {0, ..., 7} becomes
#
#     3 1 4 1 5 2 | 2 5 1 4 1 3          ("|" is a separator, token 8)
#
# and the model is trained to predict each token from the ones before it. Only the answer part
# can be predicted (the input is random), so the loss is computed on those 6 positions alone:
# the other targets are set to -100, the ``ignore_index`` of ``F.cross_entropy``.
#
# Why this needs attention: to write answer token k the model must find input token 7 - k,
# whose *position*, not value, is what matters. A GPT block lets every position look back at all
# earlier ones (causal self-attention); the learned position embeddings tell it where each token
# sits. Two layers and width 32 are plenty.
#
# Training uses ``fit`` with a batch *function*, step -> (x, y), the way the text models train:
# the batch of step s is drawn from a generator seeded by s, so any step can be redrawn.
#
# At the end the model answers sequences it has never seen, greedily and autoregressively:
# ``generate`` appends its own most likely token (``top_k=1``) six times.
#
# Run it:  python lessons/08_gpt_learns_to_reverse.py
# Check the exercises at the end:  python lessons/08_gpt_learns_to_reverse.py --check
#
# Read along: `tinygrad_edu/models/gpt.py::GPT.generate` (writing token by token) and
# `tinygrad_edu/nn/losses.py::cross_entropy` (its `ignore_index`).

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, optim
from tinygrad_edu.data import reverse_task
from tinygrad_edu.models import GPT
from tinygrad_edu.train import FitSettings, fit

LENGTH, SYMBOLS = 6, 8
SEPARATOR = SYMBOLS                      # token 8
IGNORE = -100                            # targets F.cross_entropy skips
STEPS = 120

tg.manual_seed(0)


# %% [markdown]
# ## 1. The task written as text

# %%
def as_training_text(inputs, answers):
    """(x, y): x = input | answer[:-1], y = x shifted by one, graded only on the answer."""
    n = len(inputs)
    sequence = np.concatenate([inputs, np.full((n, 1), SEPARATOR), answers], axis=1)   # (n, 13)
    x, y = sequence[:, :-1], sequence[:, 1:].copy()                                    # (n, 12)
    y[:, :LENGTH] = IGNORE               # the random input cannot be predicted, and the
    return x, y                          # separator always comes at the same place: skip both


def batch_at(step):
    x, y = as_training_text(*reverse_task(64, LENGTH, SYMBOLS, seed=step))
    return Tensor(x), Tensor(y)


x, y = as_training_text(*reverse_task(1, LENGTH, SYMBOLS, seed=0))
print("one training example:\n  x", x[0], "\n  y", y[0])

# %% [markdown]
# ## 2. Training on the answer tokens

# %%
model = GPT(vocab_size=SYMBOLS + 1, block_size=2 * LENGTH, n_layer=2, n_head=2, n_embd=32)
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)   # a constant rate
result = fit(model, optimizer, batch_at,
             FitSettings(steps=STEPS, log_every=20, accuracy=False, progress=False))
losses = [record["train_loss"] for record in result.history]
print("training loss every 20 steps:", " ".join(f"{loss:.3f}" for loss in losses))

# %% [markdown]
# ## 3. Answering unseen sequences
#
# The prompt is "input |"; the model writes the rest, one token at a time.

# %%
inputs, answers = reverse_task(200, LENGTH, SYMBOLS, seed=10**6)
prompts = Tensor(np.concatenate([inputs, np.full((200, 1), SEPARATOR)], axis=1))   # (200, 7)
written = model.generate(prompts, max_new_tokens=LENGTH, top_k=1).numpy()[:, LENGTH + 1:]
solved = (written == answers).all(axis=1).mean()
for row in range(3):
    print(f"  {inputs[row]} -> {written[row]}")
print(f"reversed {solved:.1%} of 200 unseen sequences exactly")

assert losses[0] > 1.5 and losses[-1] < 0.1, losses   # from guessing (ln 8 ≈ 2.08) to knowing
assert solved >= 0.95, solved
assert (y[0] != IGNORE).sum() == LENGTH   # graded on the 6 answer tokens alone
print("\nLesson 08 done: a task written as text, learnt from its answers, answered token by token.")

# %% [markdown]
# ## Exercises
#
# 1. **Targets for a task.** `exercise_sort_task_text(inputs, separator, ignore)` writes *sorting*
#    as text: for each row of `inputs` (N, L) the sequence is `input | sorted(input)`; return
#    `(x, y)` with x the sequence without its last token and y the sequence shifted by one,
#    where every target except the L answer tokens is `ignore`.
#
# Check your answer: `python lessons/08_gpt_learns_to_reverse.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_sort_task_text(inputs, separator, ignore=-100):
    """(x, y) of shape (N, 2L) each: x = input | sorted[:-1], y = x shifted, graded on the answer."""
    raise NotImplementedError("exercise sort_task_text: concatenate, shift by one, mask the targets")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    inputs = np.array([[3, 1, 2, 0], [2, 2, 0, 1]])
    x, y = map(np.asarray, solution.exercise_sort_task_text(inputs, separator=4, ignore=-100))
    assert x.shape == y.shape == (2, 8), f"x and y should be (2, 8), got {x.shape}, {y.shape}"
    assert (x[0] == [3, 1, 2, 0, 4, 0, 1, 2]).all(), f"x[0] = {x[0]}: input, separator, answer[:-1]"
    graded = y != -100
    assert graded.sum(axis=1).tolist() == [4, 4], (
        f"{graded.sum(axis=1).tolist()} targets graded per row, expected the 4 answer tokens: the "
        f"input is random and the separator's place is fixed, neither teaches anything")
    assert (y[graded].reshape(2, 4) == np.sort(inputs, axis=1)).all(), "y's graded part is the answer"
    print("all exercises pass")
