# %% [markdown]
# # Lesson 11: optimizers, from gradient descent to AdamW
#
# All optimizers take the gradient g of the loss and move the parameters p against it; they
# differ in what they remember between steps.
#
# - **GD / SGD**: p ← p - lr·g, with the full gradient (GD) or a noisy mini-batch estimate (SGD).
#   In a narrow valley the step size is capped by the steepest direction (lr < 2/λ_max), so the
#   flat direction crawls.
# - **Momentum**: b ← μ b + g,  p ← p - lr·b. The velocity b averages the gradients: the
#   zig-zag across the valley cancels and the steady push along it adds up.
#   **Nesterov** uses g + μ b, a look-ahead at where the velocity is taking p.
# - **Adagrad**: divides the step by √(Σ g²) per weight, so steep directions get small steps.
#   The sum only grows, so the steps shrink for ever. **RMSprop** uses a moving average of g²
#   instead, v ← α v + (1 - α) g², and p ← p - lr·g / (√v + ε).
# - **Adam**: RMSprop's scale with momentum's direction, both moving averages corrected for
#   starting at zero (m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t)); p ← p - lr·m̂ / (√v̂ + ε).
#   **AdamW** adds weight decay as p ← p - lr·λ·p, outside the adaptive scale (lesson 12).
#
# We race them on two classic surfaces: an ill-conditioned quadratic ½(x² + 100 y²) (condition
# number 100) and Rosenbrock's banana (1 - x)² + 100 (y - x²)², minimum at (1, 1), and then
# write Adam ourselves and compare it with `optim.Adam` to the last bit.
#
# Run it:  python lessons/11_optimizers.py
# Check the exercises at the end:  python lessons/11_optimizers.py --check
#
# Read along: `tinygrad_edu/optim/sgd.py::SGD._update`, `tinygrad_edu/optim/adagrad.py::Adagrad`,
# `tinygrad_edu/optim/rmsprop.py::RMSprop._update`, `tinygrad_edu/optim/adam.py::Adam._update` and
# `tinygrad_edu/optim/optimizer.py::Optimizer.step`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Tensor, optim


def quadratic(p):
    return 0.5 * (p[0] ** 2 + 100 * p[1] ** 2)


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


# name: (how to build it, learning rate on the quadratic, on Rosenbrock); each rate was chosen
# from 1e-3 ... 1 as about the best for that optimizer on that surface
OPTIMIZERS = {
    "GD": (lambda ps, lr: optim.SGD(ps, lr=lr), 0.019, 1e-3),
    "SGD (noisy g)": (lambda ps, lr: optim.SGD(ps, lr=lr), 0.019, 1e-3),
    "momentum": (lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9), 0.01, 1e-3),
    "Nesterov": (lambda ps, lr: optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True), 0.01, 1e-3),
    "Adagrad": (lambda ps, lr: optim.Adagrad(ps, lr=lr), 1.0, 1.0),
    "RMSprop": (lambda ps, lr: optim.RMSprop(ps, lr=lr), 0.03, 0.01),
    "Adam": (lambda ps, lr: optim.Adam(ps, lr=lr), 0.1, 0.1),
    "AdamW": (lambda ps, lr: optim.AdamW(ps, lr=lr, weight_decay=0.01), 0.1, 0.1),
}


def descend(f, name, start, steps):
    """The path of one optimizer on f: an array (steps + 1, 2), and the final loss."""
    build, lr_quadratic, lr_rosenbrock = OPTIMIZERS[name]
    p = Tensor(np.array(start), requires_grad=True)                  # (2,) float64
    optimizer = build([p], lr_quadratic if f is quadratic else lr_rosenbrock)
    noise = np.random.default_rng(0)
    path = [p.numpy().copy()]
    for _ in range(steps):
        loss = f(p)
        optimizer.zero_grad()
        loss.backward()
        if name.startswith("SGD"):       # a mini-batch gradient: the true one plus noise
            p.grad = p.grad + Tensor(noise.normal(0.0, 1.0, 2))
        optimizer.step()
        path.append(p.numpy().copy())
    return np.array(path), f(p).item()


# %% [markdown]
# ## 1. The race

# %%
results = {}
for surface, start, steps in [(quadratic, [-4.0, 1.0], 100), (rosenbrock, [-1.5, 2.0], 1000)]:
    print(f"{surface.__name__}, {steps} steps from {start}:")
    for name in OPTIMIZERS:
        path, final = descend(surface, name, start, steps)
        results[surface.__name__, name] = (path, final)
        print(f"  {name:14s} final loss {final:9.2e}   at ({path[-1][0]: .3f}, {path[-1][1]: .3f})")

final = {key: value[1] for key, value in results.items()}
# the narrow valley: GD crawls along x, momentum gets there 100x closer
assert final["quadratic", "momentum"] < final["quadratic", "GD"] / 100
assert final["quadratic", "Nesterov"] < final["quadratic", "momentum"]
# a per-weight scale makes the valley round: Adagrad's first steps move x and y equally
assert final["quadratic", "Adagrad"] < 1e-8
# the banana: plain GD is still in the valley's bend, momentum and Adam reach (1, 1)
assert final["rosenbrock", "GD"] > 1.0
for name in ("momentum", "Nesterov", "Adam"):
    assert np.allclose(results["rosenbrock", name][0][-1], [1.0, 1.0], atol=0.02), name

# %%
figure, axes = plt.subplots(1, 2, figsize=(13, 5))
for axis, (surface, box) in zip(axes, [(quadratic, (-4.5, 1, -1.5, 1.5)),
                                       (rosenbrock, (-2, 2, -1, 3))]):
    xs, ys = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
    heights = surface(np.stack([xs, ys]))
    axis.contour(xs, ys, np.log1p(heights), levels=25, cmap="Greys", linewidths=0.6)
    for name in OPTIMIZERS:
        path = results[surface.__name__, name][0]
        axis.plot(path[:, 0], path[:, 1], linewidth=1.2, label=name)
    axis.set_xlim(box[0], box[1])
    axis.set_ylim(box[2], box[3])
    axis.set_title(surface.__name__)
axes[1].legend(fontsize=8)
figure.tight_layout()
figure.savefig("lesson11_trajectories.png", dpi=80)
print("trajectories saved to lesson11_trajectories.png")

# %% [markdown]
# ## 2. Adam in ten lines, equal to `optim.Adam` to the last bit
#
# Floating-point arithmetic is not associative, so "equal to the last bit" needs the same
# operations in the same order as `Adam._update`: (1 - β2)·(g·g), not ((1 - β2)·g)·g; then √v,
# divided by √(1 - β2^t), plus ε; m divided by that, times lr / (1 - β1^t). The textbook order, lr·m̂ / (√v̂ + ε), is the same
# number up to rounding.

# %%
def my_adam(p, grads, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
    """Yield p after each Adam step, for the gradients grads(p)."""
    beta1, beta2 = betas
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, 101):
        g = grads(p)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g)
        p = p - m / (np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps) * (lr / (1 - beta1 ** t))
        yield p


def textbook_adam(p, grads, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, 101):
        g = grads(p)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        yield p


rng = np.random.default_rng(0)
A = rng.standard_normal((6, 6))                                      # (6, 6)
start = rng.standard_normal(6)                                       # (6,)


def grads(p):
    """The gradient of ‖A p‖² / 2 + Σ p⁴ / 4, written out."""
    return A.T @ (A @ p) + p ** 3


weights = Tensor(start.copy(), requires_grad=True)
library_adam = optim.Adam([weights], lr=0.01)
for step, (mine, textbook) in enumerate(zip(my_adam(start, grads), textbook_adam(start, grads))):
    weights.grad = Tensor(grads(weights.numpy()))
    library_adam.step()
    assert np.array_equal(mine, weights.numpy()), f"step {step + 1}: {mine} != {weights.numpy()}"
    assert np.allclose(textbook, weights.numpy(), rtol=1e-12, atol=0)
print("\n100 steps of my_adam equal optim.Adam bit for bit; the textbook order agrees to 1e-12")

print("\nLesson 11 done: momentum crosses valleys, adaptive scales round them, Adam does both.")

# %% [markdown]
# ## Exercises
#
# Both work on NumPy arrays and return the new parameter and the new state.
#
# 1. **Nesterov momentum.** `exercise_nesterov_step(p, g, buffer, lr, momentum)` returns
#    `(p, buffer)` after one step of `optim.SGD(..., momentum=μ, nesterov=True)`: the buffer is
#    b ← μ b + g (b = g on the first step, when `buffer` is None), the step uses g + μ b.
# 2. **AdamW.** `exercise_adamw_step(p, g, m, v, t, lr, weight_decay, betas, eps)` returns
#    `(p, m, v)` after AdamW's step t: the weight decay shrinks p directly, p ← p - lr·λ·p, it is
#    never added to the gradient.
#
# Check your answers: `python lessons/11_optimizers.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor, optim


def exercise_nesterov_step(p, g, buffer, lr, momentum):
    """One SGD step with Nesterov momentum; buffer is None on the first step."""
    raise NotImplementedError("exercise nesterov_step: update the buffer, step along g + μ b")


def exercise_adamw_step(p, g, m, v, t, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    """One AdamW step (t = 1, 2, ...): returns (p, m, v)."""
    raise NotImplementedError("exercise adamw_step: decay p, then Adam's update")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    gradients = rng.standard_normal((20, 4))                         # (steps, 4)
    start = rng.standard_normal(4)

    weights = Tensor(start.copy(), requires_grad=True)
    reference = optim.SGD([weights], lr=0.05, momentum=0.9, nesterov=True)
    p, buffer = start.copy(), None
    for g in gradients:
        weights.grad = Tensor(g)
        reference.step()
        p, buffer = solution.exercise_nesterov_step(p, g, buffer, 0.05, 0.9)
    assert np.allclose(p, weights.numpy(), rtol=1e-10), (
        f"nesterov_step: after 20 steps p = {p}, optim.SGD(nesterov=True) has {weights.numpy()}: "
        f"the step is along g + μ·b, not b")

    weights = Tensor(start.copy(), requires_grad=True)
    reference = optim.AdamW([weights], lr=0.01, weight_decay=0.5)
    p, m, v = start.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(gradients, start=1):
        weights.grad = Tensor(g)
        reference.step()
        p, m, v = solution.exercise_adamw_step(p, g, m, v, t, 0.01, 0.5)
    assert np.allclose(p, weights.numpy(), rtol=1e-10), (
        f"adamw_step: after 20 steps p = {p}, optim.AdamW has {weights.numpy()}: decoupled "
        f"decay shrinks p by lr·λ·p and leaves the gradient alone")
    print("all exercises pass")
