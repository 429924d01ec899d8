# %% [markdown]
# # Lesson 09: activations, initialisation and vanishing gradients
#
# Backpropagation through a deep network multiplies one local derivative per layer. For a stack
# of layers h_l = φ(W_l h_(l-1)), the gradient reaching layer 1 is, roughly,
#
#     dL/dh_1 = W_2ᵀ D_2 · W_3ᵀ D_3 · ... · W_Lᵀ D_L · dL/dh_L,     D_l = diag(φ'(W_l h_(l-1))),
#
# a product of L factors. If each factor shrinks a vector by 4x, twenty layers shrink it by
# 4²⁰ ≈ 10¹²: the first layers receive no gradient and do not learn. Two things set the size of
# each factor:
#
# - the **activation**: the sigmoid's slope is at most 1/4 (at 0), tanh's at most 1, ReLU's is
#   exactly 1 where it is active, GELU's close to that;
# - the **initial weights**: W h adds fan_in products, so Var(W h) = fan_in · Var(w) · Var(h).
#   Var(w) = 1/fan_in keeps the scale for a linear or tanh layer (Xavier/Glorot uses
#   2/(fan_in + fan_out), the same for a square layer); ReLU zeroes half of its inputs, so it
#   needs Var(w) = 2/fan_in (Kaiming/He).
#
# We build a 20-layer network, width 64, for every pairing of four activations and three
# initialisations, run one backward pass, and measure the gradient norm ‖dL/dW_l‖ of every layer.
#
# Run it:  python lessons/09_activations_and_initialisation.py
# Check the exercises at the end:  python lessons/09_activations_and_initialisation.py --check
#
# Read along: `tinygrad_edu/nn/init.py::xavier_normal_`, `tinygrad_edu/nn/init.py::kaiming_normal_`,
# `tinygrad_edu/nn/init.py::calculate_gain` and `tinygrad_edu/ops/elementwise.py::Sigmoid`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import functional as F

DEPTH, WIDTH = 20, 64
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
INITS = ("naive", "xavier", "kaiming")

# %% [markdown]
# ## 1. The slope of each activation
#
# The largest local derivative each activation can pass back, measured with `backward()`.

# %%
grid = Tensor(np.linspace(-6, 6, 1201, dtype=np.float32), requires_grad=True)   # (1201,)
max_slope = {}
for name, layer in ACTIVATIONS.items():
    grid.zero_grad()
    layer()(grid).sum().backward()             # d(Σ φ(x_i))/dx_i = φ'(x_i)
    max_slope[name] = float(grid.grad.numpy().max())
    print(f"  max φ'(x) of {name:8s} {max_slope[name]:.3f}")
assert abs(max_slope["sigmoid"] - 0.25) < 1e-3 and abs(max_slope["tanh"] - 1) < 1e-3
assert max_slope["relu"] == 1.0

# %% [markdown]
# ## 2. The gradient norm of every layer
#
# "naive" draws every weight from N(0, 0.01²), a common first guess that ignores the fan-in;
# "xavier" and "kaiming" use `nn.init.xavier_normal_` and `nn.init.kaiming_normal_`.

# %%
def deep_network(activation: str, init: str) -> nn.Sequential:
    tg.manual_seed(0)
    layers = []
    for _ in range(DEPTH):
        linear = nn.Linear(WIDTH, WIDTH)
        if init == "naive":
            nn.init.normal_(linear.weight, 0.0, 0.01)
        elif init == "xavier":
            nn.init.xavier_normal_(linear.weight)
        else:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Sequential, x: Tensor, y: Tensor) -> np.ndarray:
    """‖dL/dW_l‖ for every Linear layer l, first to last, after one backward pass."""
    loss = F.cross_entropy(model(x)[:, :10], y)   # the first 10 outputs as class scores
    loss.backward()
    return np.array([float(np.linalg.norm(layer.weight.grad.numpy()))
                     for layer in model if isinstance(layer, nn.Linear)])


rng = np.random.default_rng(0)
x = Tensor(rng.standard_normal((256, WIDTH)).astype(np.float32))   # (256, 64)
y = Tensor(rng.integers(0, 10, 256))                                # (256,)
norms = {(a, i): gradient_norms(deep_network(a, i), x, y) for a in ACTIVATIONS for i in INITS}

print("\n‖dL/dW‖ of layer 1 and layer 20, and their ratio (1 = the gradient survives):")
for (activation, init), norm in norms.items():
    ratio = norm[0] / norm[-1] if norm[-1] > 0 else float("nan")
    print(f"  {activation:8s} {init:8s} layer 1 {norm[0]:9.2e}  layer 20 {norm[-1]:9.2e}  "
          f"ratio {ratio:9.2e}")

# %% [markdown]
# ## 3. What the numbers say

# %%
# Tiny weights shrink the signal 100x per layer on the way in and the gradient 100x per layer
# on the way back: float32 runs out of range and the first layer's gradient is zero or nearly.
assert all(norms[(a, "naive")][0] < 1e-12 for a in ACTIVATIONS)
# The sigmoid's slope of at most 1/4 defeats even a good initialisation.
assert norms[("sigmoid", "xavier")][0] / norms[("sigmoid", "xavier")][-1] < 1e-6
# Matched pairs keep the gradient within a factor of 10 from the last layer to the first.
for pair in [("tanh", "xavier"), ("relu", "kaiming"), ("gelu", "kaiming")]:
    ratio = norms[pair][0] / norms[pair][-1]
    assert 0.1 < ratio < 10 and norms[pair][0] > 1e-2, (pair, norms[pair])
# ReLU with Xavier's variance loses half the signal's variance at every layer: the gradients
# do not vanish relative to each other, but all of them are a thousand times too small.
assert norms[("relu", "xavier")].max() < 1e-2 * norms[("relu", "kaiming")].max()
print("\nnaive init and the sigmoid kill the gradient; tanh+Xavier, ReLU/GELU+Kaiming keep it")

# %%
figure, axes = plt.subplots(1, 4, figsize=(16, 3.6), sharey=True)
for axis, activation in zip(axes, ACTIVATIONS):
    for init in INITS:
        axis.semilogy(range(1, DEPTH + 1), np.maximum(norms[(activation, init)], 1e-30),
                      marker="o", markersize=3, label=init)
    axis.set_title(activation)
    axis.set_xlabel("layer")
axes[0].set_ylabel("‖dL/dW‖")
axes[0].legend()
figure.tight_layout()
figure.savefig("lesson09_gradient_flow.png", dpi=80)
print("gradient norm per layer saved to lesson09_gradient_flow.png")

print("\nLesson 09 done: choose the initial scale for the activation, and the gradient survives depth.")

# %% [markdown]
# ## Exercises
#
# 1. **Kaiming's standard deviation.** `exercise_kaiming_std(fan_in)` returns the std of the
#    normal distribution that keeps the signal's scale through a ReLU layer with `fan_in` inputs.
# 2. **Xavier's uniform bound.** `exercise_xavier_bound(fan_in, fan_out)` returns b such that
#    U(-b, b) has Xavier's variance 2 / (fan_in + fan_out). (U(-b, b) has variance b²/3.)
#
# Check your answers: `python lessons/09_activations_and_initialisation.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn


def exercise_kaiming_std(fan_in):
    """The std of w that keeps Var(relu(W h)) steady through a layer with fan_in inputs."""
    raise NotImplementedError("exercise kaiming_std: ReLU keeps half of the variance")


def exercise_xavier_bound(fan_in, fan_out):
    """b with Var(U(-b, b)) = 2 / (fan_in + fan_out)."""
    raise NotImplementedError("exercise xavier_bound: solve b²/3 = 2 / (fan_in + fan_out)")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    h = rng.standard_normal((512, 100))                       # (512, 100)
    for _ in range(30):                                       # 30 ReLU layers, your std
        h = np.maximum(h @ rng.standard_normal((100, 100)) * solution.exercise_kaiming_std(100), 0)
    mean_square = float((h ** 2).mean())
    assert 0.2 < mean_square < 5, (
        f"after 30 ReLU layers with kaiming_std(100) the mean square is {mean_square:.2e}, not ~1: "
        f"a ReLU zeroes half of its inputs, so the weights must double the variance")
    for fan_in, fan_out in [(300, 100), (64, 64)]:
        weight = nn.init.xavier_uniform_(tg.zeros(fan_out, fan_in))
        bound = solution.exercise_xavier_bound(fan_in, fan_out)
        assert np.isclose(bound, np.abs(weight.numpy()).max(), rtol=0.01), (
            f"xavier_bound({fan_in}, {fan_out}) = {bound}, but nn.init.xavier_uniform_ draws up "
            f"to {np.abs(weight.numpy()).max():.4f}")
    print("all exercises pass")
