# %% [markdown]
# # Lesson 13: normalisation, BatchNorm and LayerNorm
#
# Lesson 09 chose the initial weights so that activations keep their scale through depth. That
# holds only at the start: as the weights learn, the scale drifts again. A normalisation layer
# restores it at every step, by construction:
#
#     x̂ = (x - μ) / √(σ² + ε),      y = γ·x̂ + β      (γ, β learned: `weight` and `bias`)
#
# - **BatchNorm** averages μ and σ² over the batch (and the image positions), per feature or
#   channel. In training it uses the current batch's statistics and keeps running averages of
#   them; in evaluation it uses the running averages, so a sample's output no longer depends on
#   which other samples share its batch.
# - **LayerNorm** averages over the features of each sample on its own: the same in training
#   and evaluation, for any batch size (the normalisation of Transformers).
#
# The backward pass has three paths to x: directly, through μ and through σ. With g = dL/dx̂ and
# the means taken over the n normalised values,
#
#     dL/dx = (g - mean(g) - x̂ · mean(g·x̂)) / √(σ² + ε).
#
# Derivation: x̂_i = (x_i - μ)/s with s = √(σ² + ε); dμ/dx_j = 1/n and ds/dx_j = (x_j - μ)/(n s)
# = x̂_j/n; so dx̂_i/dx_j = ([i = j] - 1/n)/s - x̂_i·x̂_j/(n s), and Σ_i g_i dx̂_i/dx_j gives the
# formula. The mean(g) term removes any change that would shift all values together (μ absorbs
# it); the x̂·mean(g·x̂) term removes any change that would only rescale them (σ absorbs it).
#
# Run it:  python lessons/13_normalisation.py
# Check the exercises at the end:  python lessons/13_normalisation.py --check
#
# Read along: `tinygrad_edu/nn/normalization.py::batch_norm`,
# `tinygrad_edu/nn/normalization.py::layer_norm` and `tinygrad_edu/nn/normalization.py::BatchNorm1d`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data import load_digits
from tinygrad_edu.nn import functional as F

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. BatchNorm: batch statistics in training, running statistics in evaluation

# %%
norm = nn.BatchNorm1d(3)                                            # momentum 0.1, as PyTorch
batch = Tensor((rng.standard_normal((8, 3)) * [1.0, 5.0, 0.2] + [2.0, -1.0, 7.0]).astype(np.float32))
out = norm(batch).numpy()                                           # (8, 3), training mode
print("training mode, per-feature mean", np.round(out.mean(axis=0), 6), "std",
      np.round(out.std(axis=0), 4))
assert np.allclose(out.mean(axis=0), 0, atol=1e-5) and np.allclose(out.std(axis=0), 1, atol=1e-3)
x = batch.numpy()
assert np.allclose(norm.running_mean.numpy(), 0.9 * 0 + 0.1 * x.mean(axis=0), rtol=1e-5)
assert np.allclose(norm.running_var.numpy(), 0.9 * 1 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-5)
print("running_mean and running_var moved 10% of the way to the batch's (unbiased) statistics")

# In training, one sample's output depends on its batch-mates; in evaluation it must not.
alone_train = norm(batch[:4]).numpy()[0]
norm.eval()
alone_eval, together_eval = norm(batch[:4]).numpy()[0], norm(batch).numpy()[0]
running = (x[0] - norm.running_mean.numpy()) / np.sqrt(norm.running_var.numpy() + norm.eps)
print("sample 0 in training, batch of 8 vs batch of 4:", np.round(out[0], 3), np.round(alone_train, 3))
print("sample 0 in evaluation, batch of 8 vs batch of 4:", np.round(together_eval, 3),
      np.round(alone_eval, 3))
assert not np.allclose(out[0], alone_train, atol=1e-3)
assert np.allclose(alone_eval, together_eval) and np.allclose(alone_eval, running, rtol=1e-5)
norm.train()

# BatchNorm2d: one mean and variance per channel, over the batch *and* every pixel.
images = Tensor(rng.standard_normal((4, 2, 5, 5)).astype(np.float32) * 3 + 1)   # (N, C, H, W)
normalized = nn.BatchNorm2d(2)(images).numpy()
assert np.allclose(normalized.mean(axis=(0, 2, 3)), 0, atol=1e-5)
assert np.allclose(normalized.var(axis=(0, 2, 3)), 1, atol=1e-3)

# %% [markdown]
# ## 2. LayerNorm: each sample on its own

# %%
layer_norm = nn.LayerNorm(3)
normalized = layer_norm(batch).numpy()                              # (8, 3)
assert np.allclose(normalized.mean(axis=1), 0, atol=1e-5)
assert np.allclose(normalized.var(axis=1), 1, atol=1e-3)
layer_norm.eval()
assert np.allclose(layer_norm(batch[:1]).numpy(), normalized[:1], atol=1e-6)
print("LayerNorm: every row has mean 0 and variance 1, in training and evaluation alike")

# %% [markdown]
# ## 3. A deep network that trains with BatchNorm and stalls without
#
# Twenty Linear + ReLU layers of width 64 with the default initialisation, U(±1/√fan_in),
# whose variance 1/(3·fan_in) is six times smaller than ReLU needs (lesson 09): the signal and
# the gradient fade layer after layer. The same network with a BatchNorm1d before every ReLU.

# %%
(train_images, train_labels), (test_images, test_labels) = load_digits()
x_train, y_train = Tensor(train_images.reshape(-1, 64)), Tensor(train_labels)
x_test = Tensor(test_images.reshape(-1, 64))


def deep_network(batch_norm: bool, depth=20, width=64) -> nn.Sequential:
    tg.manual_seed(0)
    layers = [nn.Linear(64, width)]
    for _ in range(depth - 1):
        layers += [nn.BatchNorm1d(width)] if batch_norm else []
        layers += [nn.ReLU(), nn.Linear(width, width)]
    return nn.Sequential(*layers, nn.ReLU(), nn.Linear(width, 10))


results = {}
for batch_norm in (False, True):
    model = deep_network(batch_norm)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batches = np.random.default_rng(0)
    losses = []
    for step in range(150):
        picked = batches.integers(0, len(train_labels), 128)
        loss = F.cross_entropy(model(x_train[picked]), y_train[picked])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with tg.no_grad():
        accuracy = float((model(x_test).numpy().argmax(axis=1) == test_labels).mean())
    results[batch_norm] = (np.mean(losses[-20:]), accuracy)
    print(f"  {'with' if batch_norm else 'without'} BatchNorm: loss of the last 20 steps "
          f"{results[batch_norm][0]:.3f}, test accuracy {accuracy:.1%}")
assert results[False][0] > 2.2 and results[False][1] < 0.3       # stuck at chance (ln 10 = 2.30)
# far above chance; the exact accuracy of this 20-layer network moves with the BLAS's rounding
# (92.4% with two threads, 83.7% with one, on the same machine)
assert results[True][0] < 1.0 and results[True][1] > 0.7

# %% [markdown]
# ## 4. The backward pass, by the formula and by the engine

# %%
def normalize_backward(g, x, eps=1e-5, axis=0):
    """dL/dx of x̂ = (x - μ)/√(σ² + ε) over axis, for the incoming gradient g = dL/dx̂."""
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return (g - g.mean(axis=axis, keepdims=True)
            - x_hat * (g * x_hat).mean(axis=axis, keepdims=True)) / np.sqrt(var + eps)


x = Tensor(rng.standard_normal((6, 4)), requires_grad=True)          # (6, 4) float64
g = rng.standard_normal((6, 4))                                      # dL/dx̂
F.batch_norm(x, None, None, training=True).backward(Tensor(g))       # BatchNorm: over the batch
assert np.allclose(x.grad.numpy(), normalize_backward(g, x.numpy(), axis=0), rtol=1e-10)
x.zero_grad()
F.layer_norm(x, (4,)).backward(Tensor(g))                            # LayerNorm: over features
assert np.allclose(x.grad.numpy(), normalize_backward(g, x.numpy(), axis=1), rtol=1e-10)
print("\nthe three-path formula equals the engine's gradient of batch_norm and layer_norm")


def batch_norm_training(x, weight, bias):
    return F.batch_norm(x, None, None, weight, bias, training=True)


def layer_norm_affine(x, weight, bias):
    return F.layer_norm(x, (4,), weight, bias)


weight = Tensor(rng.standard_normal(4) + 1, requires_grad=True)     # (4,) γ
bias = Tensor(rng.standard_normal(4), requires_grad=True)           # (4,) β
assert tg.gradcheck(batch_norm_training, [x, weight, bias])
assert tg.gradcheck(layer_norm_affine, [x, weight, bias])
assert tg.gradgradcheck(layer_norm_affine, [x, weight, bias])
print("gradcheck passes for batch_norm (training) and layer_norm; gradgradcheck for layer_norm")

print("\nLesson 13 done: normalise every layer's input, and depth stops being a problem.")

# %% [markdown]
# ## Exercises
#
# 1. **BatchNorm's forward in training.** `exercise_batch_norm_forward(x, eps)` normalises the
#    (N, C) NumPy array over the batch axis with the batch's statistics (as BatchNorm does in
#    training, with the *biased* variance).
# 2. **The backward.** `exercise_normalize_backward(g, x, eps)` returns dL/dx for the same
#    normalisation, given g = dL/dx̂, using the three-path formula above.
#
# Check your answers: `python lessons/13_normalisation.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F


def exercise_batch_norm_forward(x, eps=1e-5):
    """(x - μ) / √(σ² + ε), μ and σ² over axis 0."""
    raise NotImplementedError("exercise batch_norm_forward: mean and variance over the batch")


def exercise_normalize_backward(g, x, eps=1e-5):
    """dL/dx of the normalisation over axis 0, for g = dL/dx̂."""
    raise NotImplementedError("exercise normalize_backward: the direct path, minus two means")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)) * 2 + 1                          # (5, 3)
    expected = F.batch_norm(Tensor(x), None, None, training=True).numpy()
    got = np.asarray(solution.exercise_batch_norm_forward(x))
    assert np.allclose(got, expected, rtol=1e-8), (
        f"batch_norm_forward differs from F.batch_norm by {np.abs(got - expected).max():.2e}: "
        f"BatchNorm normalises with the biased variance (divide by N)")
    leaf = Tensor(x, requires_grad=True)
    g = rng.standard_normal((5, 3))
    F.batch_norm(leaf, None, None, training=True).backward(Tensor(g))
    got = np.asarray(solution.exercise_normalize_backward(g, x))
    assert np.allclose(got, leaf.grad.numpy(), rtol=1e-8), (
        f"normalize_backward is off by up to {np.abs(got - leaf.grad.numpy()).max():.3f}: "
        f"remember the paths through μ and through σ")
    print("all exercises pass")
