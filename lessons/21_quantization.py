# %% [markdown]
# # Lesson 21: int8 quantization, and training with the rounding in view
#
# A float32 weight takes 4 bytes. Most trained weights of a layer sit in a narrow range, so 256
# evenly spaced values serve nearly as well: store each weight as an int8 q with one float
# scale per output channel,
#
#     scale_o = max_i |W_oi| / 127,    q_oi = round(W_oi / scale_o),    W_oi ≈ q_oi · scale_o
#
# (symmetric: zero stays zero). Rounding moves each weight by at most scale/2. The input is
# quantized the same way, with one scale measured on the fly, and then the whole matrix
# product runs in integers:
#
#     y_no = Σ_k x_nk W_ok ≈ s_x s_o Σ_k q_x,nk q_W,ok        int8 × int8, summed in int32
#
# A model shrinks to about a quarter of its size and (with integer hardware) runs faster, for a
# small loss of accuracy, which quantization-aware training can win back.
#
# Run it:  python lessons/21_quantization.py
# Check the exercises at the end:  python lessons/21_quantization.py --check
#
# Read along: `tinygrad_edu/quantization/int8.py::quantize_per_channel`,
# `tinygrad_edu/quantization/int8.py::int8_matmul`,
# `tinygrad_edu/quantization/dynamic.py::QuantizedLinear.forward`,
# `tinygrad_edu/quantization/dynamic.py::quantize_dynamic` and
# `tinygrad_edu/quantization/fake.py::fake_quantize`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import os
import tempfile

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor
from tinygrad_edu.data import load_digits
from tinygrad_edu.models import MLP
from tinygrad_edu.quantization import (dequantize, fake_quantize, fake_quantize_per_channel,
                                       int8_matmul, quantize_dynamic, quantize_per_channel)

rng = np.random.default_rng(0)

# %% [markdown]
# ## One weight matrix, by hand

# %%
w = (rng.standard_normal((4, 6)) * [[0.01], [0.1], [1.0], [3.0]]).astype(np.float32)
q, scales = quantize_per_channel(w, np)
error = np.abs(dequantize(q, scales, axis=0) - w)
print("scales per output channel:", scales)
print("largest error per channel:", error.max(axis=1), " half a scale:", scales / 2)
assert q.dtype == np.int8 and np.all(error <= scales[:, None] / 2 * (1 + 1e-6))

# %% [markdown]
# One scale for the whole matrix would have to cover the channel of weights near ±3, and the
# channel of weights near ±0.01 would round to almost nothing: that is why the scale is per
# output channel.

# %%
one_scale = np.abs(w).max() / 127
small_channel = np.round(w[0] / one_scale)
print("the small channel with one shared scale:", small_channel)
assert np.count_nonzero(small_channel) <= 1

# %% [markdown]
# ## Why the sum is kept in int32
#
# 127 · 127 = 16,129 does not fit in int8 (nor int16 after three products); a sum of 784 of
# them (an MNIST layer) reaches 12.6 million. int32 holds 2.1 billion, enough for 133,000
# products of the worst case.

# %%
a = np.full((1, 784), 127, np.int8)
print("int8 arithmetic:", (a[0, :3] * a[0, :3]), "   int32 sum:", int8_matmul(a, a)[0, 0])
assert int8_matmul(a, a)[0, 0] == 784 * 127 * 127

# %% [markdown]
# ## A trained MLP, before and after
#
# The int8 checkpoint is saved deflated, `tg.save(state, path, compress=True)`, as
# `tinygrad-edu quantize` writes it. Each saved array carries about 250 bytes of `.npy` and zip
# headers; next to a quarter-size payload that fixed cost would keep a small model above 30% of
# its float32 file (the digits CNN: 34%). Deflate squeezes the headers' padding away, and the
# int8 weights a little too: they crowd around zero, so few of the 256 values are common.

# %%
(train_x, train_y), (test_x, test_y) = load_digits()
train_x, test_x = train_x.reshape(len(train_x), -1), test_x.reshape(len(test_x), -1)
tg.manual_seed(0)
model = MLP([64, 256, 256, 10])
optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
for step in range(400):
    batch = np.random.default_rng(step).integers(0, len(train_x), 64)
    loss = F.cross_entropy(model(Tensor(train_x[batch])), Tensor(train_y[batch]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def accuracy(m):
    with tg.no_grad():
        return float((m(Tensor(test_x)).numpy().argmax(axis=1) == test_y).mean())


quantized = quantize_dynamic(model)
with tempfile.TemporaryDirectory() as folder:
    sizes = []
    for m in (model, quantized):
        tg.save(m.state_dict(), os.path.join(folder, "m.npz"), compress=m is quantized)
        sizes.append(os.path.getsize(os.path.join(folder, "m.npz")))
before, after = accuracy(model), accuracy(quantized)
print(f"test accuracy: float32 {before:.2%}, int8 {after:.2%}; checkpoint {sizes[0]:,} -> "
      f"{sizes[1]:,} bytes ({sizes[1] / sizes[0]:.0%})")
print(quantized)
assert abs(before - after) <= 0.005 and sizes[1] <= 0.3 * sizes[0]

# %% [markdown]
# ## Quantization-aware training: round forward, pass the gradient straight through
#
# To let training see the rounding, the forward pass uses fake-quantized weights, rounded to
# the int8 grid but kept in float. Rounding has zero derivative almost everywhere, so backward
# pretends it is the identity (the *straight-through estimator*): gradient 1 inside the
# representable range, 0 outside it where clamping really holds the value fixed.

# %%
x = Tensor(np.array([-2.0, -0.5, 0.123, 0.9, 2.0]), requires_grad=True)
y = fake_quantize(x, scale=0.01)                   # the grid: -1.27, -1.26, ..., 1.27
y.sum().backward()
print("fake-quantized:", y.numpy(), "  gradient:", x.grad.numpy())
assert np.allclose(y.numpy(), [-1.27, -0.5, 0.12, 0.9, 1.27])
assert np.array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])

# %% [markdown]
# A few fine-tuning steps with every weight fake-quantized in the forward pass: the loss the
# optimizer sees is the loss of the rounded model, and the gradient still reaches every weight.
# (This MLP loses almost nothing to int8 anyway, so there is little to win back here; QAT pays
# off for smaller models and for lower precisions, such as 4 bits.)

# %%
optimizer = tg.optim.Adam(model.parameters(), lr=5e-4)
for step in range(100):
    batch = np.random.default_rng(1000 + step).integers(0, len(train_x), 64)
    h = Tensor(train_x[batch])
    for layer in model.layers:                     # Linear, ReLU, Linear, ReLU, Linear
        is_linear = isinstance(layer, tg.nn.Linear)
        h = F.linear(h, fake_quantize_per_channel(layer.weight), layer.bias) if is_linear \
            else layer(h)
    loss = F.cross_entropy(h, Tensor(train_y[batch]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
after_qat = accuracy(quantize_dynamic(model))
print(f"after 100 quantization-aware steps: int8 accuracy {after_qat:.2%} (before: {after:.2%})")
assert after_qat >= after - 0.01   # training through the rounding keeps the int8 model good
print("\nLesson 21 done: int8 weights with one scale per channel, int32 sums, and a straight-through gradient.")

# %% [markdown]
# ## Exercises
#
# 1. `exercise_quantize_row(row)`: symmetric int8 codes and the scale of one row of weights,
#    as (codes as an int8 array, scale as a float).
# 2. `exercise_ste_gradient(x, scale)`: the straight-through gradient of fake quantization
#    for each entry of x (1.0 or 0.0), as a NumPy array.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_quantize_row(row):
    """(int8 codes, scale) with scale = max|row| / 127."""
    raise NotImplementedError("exercise quantize_row: scale from the largest magnitude, round")


def exercise_ste_gradient(x, scale):
    """1.0 where round(x / scale) lies in [-127, 127], else 0.0."""
    raise NotImplementedError("exercise ste_gradient: which entries are inside the range?")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    for row in [rng.standard_normal(9), -np.abs(rng.standard_normal(5)) * 4,
                np.array([0.3, -1.0, 0.5])]:
        codes, scale = solution.exercise_quantize_row(row)
        codes = np.asarray(codes)
        assert np.isclose(scale, np.abs(row).max() / 127), (
            f"quantize_row: scale {scale}, expected max|row| / 127 = "
            f"{np.abs(row).max() / 127} (symmetric: the largest magnitude, not max - min)")
        assert codes.dtype == np.int8 and np.array_equal(codes, np.rint(row / scale)), (
            f"quantize_row: codes {codes}, expected {np.rint(row / scale).astype(np.int8)} "
            f"(round to nearest, as int8)")
    x = np.array([-3.0, -1.27, -0.4, 0.0, 0.8, 1.2749, 1.2751, 5.0])
    expected = (np.abs(np.rint(x / 0.01)) <= 127).astype(float)
    got = np.asarray(solution.exercise_ste_gradient(x, 0.01), dtype=float)
    assert np.array_equal(got, expected), (
        f"ste_gradient gave {got}, expected {expected}: 1 inside the int8 range, 0 outside")
    print("all exercises pass")
