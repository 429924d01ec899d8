# %% [markdown]
# # Lesson 24: mixed precision — float16, underflow, and loss scaling
#
# Large models train in **16-bit floats**: half the memory, and on a GPU's tensor cores many
# times the speed of float32. But float16 has only 5 exponent bits. Its range is tiny:
#
#     largest finite 65504,   smallest normal 2⁻¹⁴ ≈ 6.1e-5,   smallest subnormal 2⁻²⁴ ≈ 6.0e-8
#
# *Mixed* precision keeps the parts that need it in float32 and runs the big products in
# float16. Two tools, with PyTorch's names:
#
# - `tg.autocast("cpu")` — inside the block, matmul (and `Linear`) and conv2d cast their inputs
#   to float16 and give float16 results; the parameters stay float32 and get float32 gradients.
# - `tg.amp.GradScaler` — multiplies the loss by a large S before backward so that small
#   gradients do not **underflow** to zero in float16, divides them by S afterwards, skips any
#   step whose gradients overflowed, and adapts S.
#
# On the CPU float16 is only *storage*: NumPy has no fast float16 product, so the products run
# in float32 on float16-rounded numbers, the numerics of a GPU without its speed. This lesson is
# about the numerics.
#
# Run it:  python lessons/24_mixed_precision.py
# Check the exercises at the end:  python lessons/24_mixed_precision.py --check
#
# Read along: `tinygrad_edu/amp/autocast.py::autocast`,
# `tinygrad_edu/amp/autocast.py::low_precision` (float16 storage, float32 accumulation),
# `tinygrad_edu/amp/grad_scaler.py::GradScaler`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import optim
from tinygrad_edu.data import load_digits

# %% [markdown]
# ## 1. What float16 can and cannot hold

# %%
info = np.finfo(np.float16)
print(f"float16: max {info.max}, smallest normal {info.tiny}, "
      f"smallest subnormal {info.smallest_subnormal}, precision {info.eps}")
with np.errstate(over="ignore"):   # 70000 overflowing is the point
    for value in (1e-8, 1e-7, 1e-4, 70000.0):
        print(f"  {value:>8g} -> float16 {np.float16(value)!r}")
    assert np.float16(1e-8) == 0 and np.float16(70000.0) == np.inf
# a float16 running sum cannot count past 2048: the next integer is 2 away
assert np.float16(2048) + np.float16(1) == 2048

# %% [markdown]
# ## 2. What autocast changes
#
# Only the products change dtype. A float32 bias added afterwards brings the result back to
# float32 (NumPy's promotion), and the gradient of every parameter is float32 because the cast
# is part of the graph: its backward casts the gradient back.

# %%
tg.manual_seed(0)
layer = tg.nn.Linear(4, 3)
x = tg.randn(2, 4)
with tg.autocast("cpu"):
    product = x @ layer.weight.T                    # (2, 3) float16
    out = layer(x)                                  # (2, 3) float32: + float32 bias
    activated = out.relu()                          # float32: elementwise ops are untouched
print("x @ W.T:", product.dtype, "| Linear:", out.dtype, "| relu:", activated.dtype)
activated.sum().backward()
print("weight gradient:", layer.weight.grad.dtype)
assert product.dtype == np.float16 and out.dtype == np.float32
assert layer.weight.grad.dtype == np.float32

# Products accumulate in float32: 4096 ones sum to 4096, which a float16 sum could not reach.
ones = tg.ones(1, 4096)
with tg.autocast("cpu"):
    assert (ones @ ones.T).item() == 4096

# %% [markdown]
# ## 3. Small gradients underflow — and survive with loss scaling
#
# A trained classifier is confident: for most examples the softmax is almost exactly the
# right answer, so the gradient of the mean loss with respect to the logits, (p − y)/B, is tiny.
# Under autocast the last layer's product is float16, so that gradient is stored in float16 too,
# and everything below 6e-8 becomes exactly 0. We train a small MLP on the digits, then look at
# the gradient at that float16 product.

# %%
(train_images, train_labels), _ = load_digits()
images = train_images.reshape(len(train_images), -1)              # (N, 64)
tg.manual_seed(0)
model = tg.models.MLP([64, 128, 128, 10])
optimizer = optim.Adam(model.parameters(), lr=3e-3)
rng = np.random.default_rng(0)
for step in range(400):
    batch = rng.integers(0, len(images), 64)
    loss = F.cross_entropy(model(tg.Tensor(images[batch])), tg.Tensor(train_labels[batch]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"trained: loss {loss.item():.4f}")

x, y = tg.Tensor(images[:256]), tg.Tensor(train_labels[:256])
*hidden_layers, last = list(model.layers)
with tg.no_grad():
    hidden = x
    for hidden_layer in hidden_layers:
        hidden = hidden_layer(hidden)                             # (256, 128)


def logit_gradient(scale, half):
    """dL/d(hidden @ Wᵀ) of the last layer, divided by the loss scale, as float64."""
    with tg.autocast("cpu", enabled=half):
        product = hidden @ last.weight.T                          # (256, 10)
    loss = F.cross_entropy(product + last.bias, y) * scale
    (gradient,) = tg.grad(loss, product)
    return gradient.numpy().astype(np.float64) / scale


exact = logit_gradient(1.0, half=False)                           # float32, the reference
alive = exact != 0
lost = {}
for scale in (1.0, 2.0 ** 16):
    zero = (logit_gradient(scale, half=True) == 0) & alive
    lost[scale] = (float(zero.sum() / alive.sum()), float(np.abs(exact[zero]).sum() /
                                                          np.abs(exact).sum()))
    print(f"loss scale {scale:>7g}: {lost[scale][0]:6.1%} of the nonzero gradients are 0 in "
          f"float16, {lost[scale][1]:.1e} of the gradient's total size")
(count_unscaled, mass_unscaled), (count_scaled, mass_scaled) = lost[1.0], lost[2.0 ** 16]
assert count_unscaled > 0.3 and count_scaled < count_unscaled / 3
assert mass_scaled < 1e-3 * mass_unscaled

# %% [markdown]
# The scale S = 2¹⁶ lifts the gradients by 16 binary orders of magnitude, above the underflow
# line, and dividing by S in float32 afterwards gives them back unharmed. What still underflows
# is below 6e-8 / 2¹⁶ ≈ 1e-12: a vanishing share of the gradient. Too large an S would
# overflow (65504); that is why `GradScaler` adapts it: a step with an inf or NaN gradient is
# skipped and S halves; after `growth_interval` clean steps S doubles. Below, a gradient of
# exactly S reaches a float16 product: S = 65536 is just too large, so the scaler keeps probing
# the edge (PyTorch's default `growth_interval` is 2000 steps; 2 here, to see it happen).

# %%
scaler = tg.amp.GradScaler(growth_interval=2)          # starts at S = 2**16 = 65536
w = tg.nn.Parameter(tg.ones(3))
sgd = optim.SGD([w], lr=0.1)
scales, skipped = [], []
for step in range(6):
    with tg.autocast("cpu"):
        product = w.reshape(1, 3) @ tg.ones(3, 1)        # (1, 1) float16
    sgd.zero_grad()
    with np.errstate(over="ignore"):                     # the overflow to inf is expected
        scaler.scale(product.float().sum()).backward()  # dL/d(product) = S, stored in float16
    before = w.numpy().copy()
    scales.append(scaler.get_scale())
    scaler.step(sgd)
    scaler.update()
    skipped.append(bool(np.array_equal(before, w.numpy())))
print("scale at each step:", scales)
print("step skipped:      ", skipped)
# 65536 > 65504 overflows: skip and halve; two clean steps at 32768: grow; overflow again...
assert scales == [65536.0, 32768.0, 32768.0, 65536.0, 32768.0, 32768.0]
assert skipped == [True, False, False, True, False, False]

# %% [markdown]
# ## 4. Training with autocast and a GradScaler tracks float32
#
# The same MLP, trained from the same start on the same batches, once in float32 and once with
# autocast + GradScaler. The loop differs in three lines: the forward in `with tg.autocast`,
# `scaler.scale(loss).backward()`, and `scaler.step(optimizer); scaler.update()`.

# %%
def train(mixed: bool, steps: int = 300) -> list:
    tg.manual_seed(1)
    net = tg.models.MLP([64, 128, 128, 10])
    adam = optim.Adam(net.parameters(), lr=3e-3)
    scale = tg.amp.GradScaler(enabled=mixed)
    order = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        batch = order.integers(0, len(images), 64)
        with tg.autocast("cpu", enabled=mixed):
            loss = F.cross_entropy(net(tg.Tensor(images[batch])), tg.Tensor(train_labels[batch]))
        adam.zero_grad()
        scale.scale(loss).backward()
        scale.step(adam)
        scale.update()
        losses.append(loss.item())
    return losses


full, mixed = np.array(train(False)), np.array(train(True))
smooth = lambda v: np.convolve(v, np.ones(20) / 20, mode="valid")
gap = np.abs(smooth(full) - smooth(mixed)).max()
print(f"final loss float32 {smooth(full)[-1]:.4f}, mixed {smooth(mixed)[-1]:.4f}; "
      f"largest gap between the smoothed curves {gap:.4f}")
assert smooth(mixed)[-1] < 0.2 and gap < 0.1

figure, axes = plt.subplots(figsize=(6, 3.5))
axes.plot(smooth(full), label="float32")
axes.plot(smooth(mixed), label="autocast float16 + GradScaler", linestyle="--")
axes.set_xlabel("step")
axes.set_ylabel("training loss (mean of 20 steps)")
axes.set_yscale("log")
axes.legend()
figure.tight_layout()
figure.savefig("mixed_precision_curves.png")
print("saved mixed_precision_curves.png")
print("\nLesson 24 done: compute in float16, keep the weights and sums in float32, and scale the loss so small gradients survive.")

# %% [markdown]
# ## Exercises
#
# 1. **The scale's update rule.** `exercise_update_scale(scale, tracker, found_inf,
#    growth_interval)` returns `(scale, tracker)` after one `GradScaler.update()` with the default
#    factors (halve on inf/NaN, double after `growth_interval` clean steps in a row).
# 2. **How much scale is enough?** `exercise_smallest_scale(gradient)` returns the smallest power
#    of two S (S >= 1) for which `gradient * S` is a *normal* float16 number (at least 2⁻¹⁴), so
#    that it keeps all of float16's precision.
#
# Check your answers: `python lessons/24_mixed_precision.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_update_scale(scale, tracker, found_inf, growth_interval):
    """(scale, tracker) after one GradScaler.update()."""
    raise NotImplementedError("exercise update_scale: halve and reset on inf, else count and grow")


def exercise_smallest_scale(gradient):
    """The smallest power of two S >= 1 with |gradient| * S >= 2**-14."""
    raise NotImplementedError("exercise smallest_scale: compare with float16's smallest normal")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    scale, tracker, seen = 1024.0, 0, []
    for found_inf in (False, False, True, False, False, False, True, False):
        scale, tracker = solution.exercise_update_scale(scale, tracker, found_inf, 3)
        seen.append(scale)
    expected = [1024.0, 1024.0, 512.0, 512.0, 512.0, 1024.0, 512.0, 512.0]
    assert seen == expected, (f"update_scale: scales {seen}, expected {expected}: a skipped step "
                              f"halves the scale and starts the count of clean steps again")
    tiny = float(np.finfo(np.float16).tiny)
    for gradient in (1e-9, 3e-7, 6.1e-5, 1e-3, -2e-8):
        s = solution.exercise_smallest_scale(gradient)
        assert s >= 1 and np.log2(s) == int(np.log2(s)), \
            f"smallest_scale({gradient}) = {s} is not a power of two"
        assert abs(gradient) * s >= tiny and (s == 1 or abs(gradient) * s / 2 < tiny), (
            f"smallest_scale({gradient}) = {s}: the scaled gradient must reach float16's smallest "
            f"normal number 2**-14 = {tiny}, with the smallest such power of two")
    print("all exercises pass")
