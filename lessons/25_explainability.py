# %% [markdown]
# # Lesson 25: explainability — what does the model look at?
#
# A trained network is a long formula nobody wrote. Three tools open it up a little:
#
# - **Saliency**: the gradient of the class score with respect to the input pixels,
#   S = ∂F_c/∂x. Large |S| where nudging a pixel would change the verdict most.
# - **Integrated gradients**: the gradient averaged along the straight path from a baseline
#   x' (a black image) to x, times (x − x'). Unlike saliency, the attributions add up exactly
#   to the change of the score, Σ_i IG_i = F_c(x) − F_c(x') (*completeness*), which we check.
# - **Attention maps**: in a Transformer the attention weights say, for every position, how much
#   of every earlier position it reads. We train a tiny GPT on a task with a known answer and
#   see the rule in its weights.
#
# And one tool for the training itself: a **gradient-flow** plot, the gradient norm of every
# layer over the steps, where vanishing gradients are plain to see.
#
# Run it:  python lessons/25_explainability.py
# Check the exercises at the end:  python lessons/25_explainability.py --check
#
# Read along: `tinygrad_edu/explain.py::saliency`, `tinygrad_edu/explain.py::integrated_gradients`,
# `tinygrad_edu/explain.py::attention_maps`, `tinygrad_edu/train/gradient_flow.py::GradientFlow`;
# the pictures of `tinygrad-edu explain CHECKPOINT` come from
# `tinygrad_edu/explain_command.py::plot_attributions`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import matplotlib
matplotlib.use("Agg")
import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import explain, optim
from tinygrad_edu.data import load_digits
from tinygrad_edu.explain_command import plot_attention, plot_attributions
from tinygrad_edu.train import GradientFlow

# %% [markdown]
# ## 1. A digit classifier to look into

# %%
(train_images, train_labels), (test_images, test_labels) = load_digits()
flat_train = train_images.reshape(len(train_images), -1)          # (N, 64)
flat_test = test_images.reshape(len(test_images), -1)             # (M, 64)
tg.manual_seed(0)
model = tg.models.MLP([64, 128, 128, 10])
optimizer = optim.Adam(model.parameters(), lr=3e-3)
rng = np.random.default_rng(0)
for step in range(400):
    batch = rng.integers(0, len(flat_train), 64)
    loss = F.cross_entropy(model(tg.Tensor(flat_train[batch])), tg.Tensor(train_labels[batch]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
with tg.no_grad():
    predicted = model(tg.Tensor(flat_test)).numpy().argmax(axis=1)
accuracy = float((predicted == test_labels).mean())
print(f"test accuracy {accuracy:.1%}")
assert accuracy > 0.85

# %% [markdown]
# ## 2. Saliency and integrated gradients, and completeness
#
# We explain the *predicted* class of four correctly classified and four misclassified test
# digits. For a ReLU network the path integral has kinks (a unit switching on or off along the
# path), so a few dozen integration points give completeness to within a fraction of a percent,
# not to the last digit.

# %%
right = np.flatnonzero(predicted == test_labels)[:4]
wrong = np.flatnonzero(predicted != test_labels)[:4]
chosen = np.concatenate([right, wrong])
x, c = flat_test[chosen], predicted[chosen]
saliency = explain.saliency(model, x, c).numpy()                  # (8, 64)
attributions, gap = explain.integrated_gradients(model, x, c, steps=50,
                                                 return_convergence_delta=True)
with tg.no_grad():
    logits, black = model(tg.Tensor(x)).numpy(), model(tg.zeros(8, 64)).numpy()
change = logits[np.arange(8), c] - black[np.arange(8), c]          # F_c(x) - F_c(black)
total = attributions.numpy().sum(axis=1)
for k in range(8):
    print(f"digit {test_labels[chosen[k]]} -> {c[k]}: Σ IG = {total[k]:8.4f}, "
          f"F(x) - F(0) = {change[k]:8.4f}")
relative = np.abs(total - change) / np.abs(change)
print(f"completeness: largest relative gap {relative.max():.2%}")
assert relative.max() < 0.01

titles = [f"{test_labels[i]} -> {p}" for i, p in zip(chosen, c)]
path = plot_attributions(test_images[chosen], (np.abs(saliency), attributions.numpy()), titles,
                         "explain_digits.png", "4 right, then 4 wrong (true -> predicted)")
print(f"saved {path}")

# %% [markdown]
# Saliency is a *local* view: it answers "what if this pixel changed a little?". Integrated
# gradients answer "how much did this pixel contribute, all told?", and their red and blue
# show the strokes that argued for the predicted digit and those that argued against it. For a
# misclassified digit, look for the stroke that pulled the verdict the wrong way.

# %% [markdown]
# ## 3. Attention maps: a GPT that looks two tokens back
#
# The task: at every position t, output the token at t − 2. One attention layer can solve it
# exactly by reading position t − 2, and nothing in the model says which position to read:
# the attention weights must find it. (Positions 0 and 1 have no answer; the best the model can
# do there is guess, a loss of ln 8 ≈ 2.08 on 2 of the 8 positions, 0.52 on average.)

# %%
VOCAB, T = 8, 8
tg.manual_seed(0)
gpt = tg.models.GPT(vocab_size=VOCAB, block_size=T, n_layer=1, n_head=2, n_embd=32)
adamw = optim.AdamW(gpt.parameters(), lr=1e-2, weight_decay=0.0)
tokens = np.random.default_rng(0)
for step in range(150):
    idx = tokens.integers(0, VOCAB, (32, T))                       # (B, T)
    _, loss = gpt(tg.Tensor(idx), tg.Tensor(np.roll(idx, 2, axis=1)))   # target: two back
    adamw.zero_grad()
    loss.backward()
    adamw.step()
print(f"GPT loss {loss.item():.3f} (the floor is 0.52)")
assert loss.item() < 0.6

maps = explain.attention_maps(gpt, tokens.integers(0, VOCAB, (64, T))).numpy()   # (L, B, H, T, T)
average = maps[0].mean(axis=0)                                     # (H, T, T)
two_back = average[:, np.arange(2, T), np.arange(0, T - 2)]        # (H, T-2)
print("mean weight on position t-2, per head:", np.round(two_back.mean(axis=1), 3))
assert two_back.mean(axis=1).max() > 0.9
path = plot_attention(average[None], "".join(str(k) for k in range(T)), "attention_two_back.png")
print(f"saved {path}: a diagonal two below the main one")

# %% [markdown]
# ## 4. Gradient flow: where sigmoid networks stop learning
#
# The same deep MLP (six hidden layers of 64) with sigmoid and with ReLU units, a few steps
# each, recording the gradient norm of every weight matrix. σ'(z) ≤ 1/4, so each sigmoid layer
# shrinks the backward signal by four or more: the first layer hears almost nothing.

# %%
ratios = {}
for activation in ("sigmoid", "relu"):
    tg.manual_seed(0)
    deep = tg.models.MLP([64] + [64] * 6 + [10], activation=activation)
    sgd = optim.SGD(deep.parameters(), lr=0.1)
    flow = GradientFlow(deep)
    for step in range(20):
        batch = rng.integers(0, len(flat_train), 64)
        loss = F.cross_entropy(deep(tg.Tensor(flat_train[batch])), tg.Tensor(train_labels[batch]))
        sgd.zero_grad()
        loss.backward()
        norms = flow.record(step)
        sgd.step()
    first, last = flow.norms["layers.0.weight"], flow.norms[list(flow.norms)[-1]]
    ratios[activation] = float(np.mean(first) / np.mean(last))
    print(f"{activation:>7}: first layer / last layer gradient norm = {ratios[activation]:.2e}; "
          f"saved {flow.plot(f'gradient_flow_{activation}.png', title=activation)}")
assert ratios["sigmoid"] < 0.01 * ratios["relu"]
print("\nLesson 25 done: gradients with respect to the input say what the model looked at; integrated gradients add up to the output.")

# %% [markdown]
# ## Exercises
#
# 1. **Integrated gradients by hand.** `exercise_integrated_gradients(gradient, x, baseline,
#    steps)` takes a function `gradient(points)` that returns ∂F/∂x at each row of `points`
#    (K, D), and returns the (D,) attributions of x, with the midpoint rule α_k = (k + ½)/K.
# 2. **Causal attention weights.** `exercise_attention_weights(q, k)` for q, k of shape (T, D)
#    returns the (T, T) weights softmax(q kᵀ/√D) with position i allowed to see only j ≤ i.
#
# Check your answers: `python lessons/25_explainability.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_integrated_gradients(gradient, x, baseline, steps):
    """(D,) integrated gradients of x from baseline, midpoint rule with ``steps`` points."""
    raise NotImplementedError("exercise integrated_gradients: average the gradient along the path")


def exercise_attention_weights(q, k):
    """(T, T) causal softmax(q kᵀ / √D)."""
    raise NotImplementedError("exercise attention_weights: scores, mask the future, softmax")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(5)

    def f(points):                                   # F(x) = Σ w_i sin(x_i) + (Σ x)²
        return np.sin(points) @ weights + points.sum(axis=-1) ** 2

    def gradient(points):
        return np.cos(points) * weights + 2 * points.sum(axis=-1, keepdims=True)

    x, baseline = rng.standard_normal(5), rng.standard_normal(5)
    attributions = np.asarray(solution.exercise_integrated_gradients(gradient, x, baseline, 100))
    assert attributions.shape == (5,), f"integrated_gradients: shape {attributions.shape}, not (5,)"
    assert abs(attributions.sum() - (f(x) - f(baseline))) < 1e-3 * abs(f(x) - f(baseline)), (
        f"integrated_gradients: they sum to {attributions.sum():.5f}, but F(x) - F(x') = "
        f"{f(x) - f(baseline):.5f}: multiply the average gradient by (x - x')")

    q, k = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    got = np.asarray(solution.exercise_attention_weights(q, k))
    scores = q @ k.T / 2.0
    scores[np.triu_indices(6, 1)] = -np.inf
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert got.shape == (6, 6) and np.allclose(got, expected, atol=1e-10), (
        "attention_weights: each row i should be a softmax over j <= i of q_i·k_j/√D, and 0 for "
        "j > i")
    print("all exercises pass")
