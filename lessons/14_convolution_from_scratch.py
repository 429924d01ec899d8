# %% [markdown]
# # Lesson 14: convolution from scratch, forward and backward
#
# A convolution layer slides F filters of shape (C, K, K) over an input (N, C, H, W) and takes a
# dot product at each position (deep learning's "convolution" is cross-correlation: the filter
# is not flipped). With stride s and zero padding p,
#
#     y[n, f, i, j] = b[f] + Σ_c Σ_u Σ_v  w[f, c, u, v] · x_pad[n, c, i·s + u, j·s + v],
#     OH = (H + 2p - K) // s + 1.
#
# Written as loops that is six nested loops. **im2col** reorganises it into one matrix
# product: for every output position, copy the C·K·K input values its window covers into one
# column; then y = W_flat · cols with W_flat of shape (F, C·K·K). The backward follows from
# y being linear in W and in cols:
#
#     dL/dW = Σ_n dL/dy · colsᵀ,       dL/dcols = W_flatᵀ · dL/dy,       dL/dx = col2im(dL/dcols)
#
# where **col2im** adds every column entry back onto the input pixel it was copied from, so a
# pixel in several windows gets the sum of their gradients. Max-pooling's backward is simpler
# still: each window's gradient goes to the one input that won the max.
#
# Run it:  python lessons/14_convolution_from_scratch.py
# Check the exercises at the end:  python lessons/14_convolution_from_scratch.py --check
#
# Read along: `tinygrad_edu/ops/conv.py::im2col`, `tinygrad_edu/ops/conv.py::col2im`,
# `tinygrad_edu/ops/conv.py::conv2d_backward`, `tinygrad_edu/ops/conv.py::Conv2d.backward_arrays`
# and `tinygrad_edu/ops/pool.py::max_pool2d_backward`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F

# F.conv2d and F.max_pool2d can run compiled Numba kernels (lesson 18); this lesson is about the
# readable NumPy reference that defines them, so it asks for that one everywhere.
tg.kernels.set_default("numpy")
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 7, 7))                               # (N, C, H, W) float64
w = rng.standard_normal((4, 3, 3, 3))                               # (F, C, K, K)
b = rng.standard_normal(4)                                          # (F,)
STRIDE, PADDING = 2, 1


def padded(x, p):
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))


# %% [markdown]
# ## 1. Six loops

# %%
def conv2d_loops(x, w, b, stride, padding):
    n_count, channels, height, width = x.shape
    filters, _, k, _ = w.shape
    out_h, out_w = (height + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    xp = padded(x, padding)
    y = np.zeros((n_count, filters, out_h, out_w))
    for n in range(n_count):
        for f in range(filters):
            for i in range(out_h):
                for j in range(out_w):
                    total = b[f]
                    for c in range(channels):
                        for u in range(k):
                            for v in range(k):
                                total += w[f, c, u, v] * xp[n, c, i * stride + u, j * stride + v]
                    y[n, f, i, j] = total
    return y


by_loops = conv2d_loops(x, w, b, STRIDE, PADDING)
by_library = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride=STRIDE, padding=PADDING).numpy()
print("output shape", by_loops.shape, "- loops and F.conv2d agree to",
      f"{np.abs(by_loops - by_library).max():.1e}")
assert by_loops.shape == (2, 4, 4, 4) and np.allclose(by_loops, by_library, rtol=1e-12)

# %% [markdown]
# ## 2. im2col and one matrix product
#
# Instead of looping over output positions, loop over the K·K offsets (u, v) of the window: for
# each, the input values it touches at all output positions form one strided slice.

# %%
def im2col(x, k, stride, padding):
    """(N, C, H, W) -> cols (N, C·K·K, OH·OW), rows ordered (c, u, v) like w.reshape(F, -1)."""
    n, c, height, width = x.shape
    out_h, out_w = (height + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    xp = padded(x, padding)
    cols = np.empty((n, c, k, k, out_h, out_w))
    for u in range(k):
        for v in range(k):
            cols[:, :, u, v] = xp[:, :, u:u + stride * out_h:stride, v:v + stride * out_w:stride]
    return cols.reshape(n, c * k * k, out_h * out_w), (out_h, out_w)


def col2im(cols, x_shape, k, stride, padding):
    """The adjoint of im2col: add every entry back onto the pixel it was copied from."""
    n, c, height, width = x_shape
    out_h, out_w = (height + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    cols = cols.reshape(n, c, k, k, out_h, out_w)
    xp = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
    for u in range(k):
        for v in range(k):
            xp[:, :, u:u + stride * out_h:stride, v:v + stride * out_w:stride] += cols[:, :, u, v]
    return xp[:, :, padding:padding + height, padding:padding + width]


cols, (out_h, out_w) = im2col(x, 3, STRIDE, PADDING)                # (2, 27, 16)
w_flat = w.reshape(4, -1)                                           # (4, 27)
by_im2col = (w_flat @ cols + b[:, None]).reshape(2, 4, out_h, out_w)  # (2, 4, 4, 4)
print(f"im2col: {cols.shape[1]} x {cols.shape[2]} columns per image, one product (4, 27) @ (27, 16)")
assert np.allclose(by_im2col, by_loops, rtol=1e-12)

# %% [markdown]
# ## 3. The backward pass by hand, against the engine

# %%
grad_y = rng.standard_normal(by_loops.shape)                        # dL/dy (2, 4, 4, 4)
grad_y_flat = grad_y.reshape(2, 4, -1)                              # (2, 4, 16)
grad_w = np.einsum("nfp,nkp->fk", grad_y_flat, cols).reshape(w.shape)   # Σ_n dL/dy · colsᵀ
grad_b = grad_y.sum(axis=(0, 2, 3))
grad_x = col2im(w_flat.T @ grad_y_flat, x.shape, 3, STRIDE, PADDING)    # col2im(Wᵀ · dL/dy)

xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
F.conv2d(xt, wt, bt, stride=STRIDE, padding=PADDING).backward(Tensor(grad_y))
for name, ours, engine in [("x", grad_x, xt.grad), ("w", grad_w, wt.grad), ("b", grad_b, bt.grad)]:
    print(f"  dL/d{name}: by hand and by F.conv2d's backward agree to "
          f"{np.abs(ours - engine.numpy()).max():.1e}")
    assert np.allclose(ours, engine.numpy(), rtol=1e-10, atol=1e-12), name
small = [Tensor(rng.standard_normal(shape), requires_grad=True)
         for shape in [(1, 2, 5, 5), (3, 2, 3, 3), (3,)]]
assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), small)
print("and tg.gradcheck confirms F.conv2d's backward with finite differences")

# %% [markdown]
# ## 4. Max-pooling routes the gradient to the winner

# %%
image = Tensor(rng.permutation(16).reshape(1, 1, 4, 4).astype(np.float64), requires_grad=True)
F.max_pool2d(image, 2).sum().backward()
values = image.numpy()[0, 0]
winners = np.zeros((4, 4))
for i in range(0, 4, 2):
    for j in range(0, 4, 2):
        window = values[i:i + 2, j:j + 2]
        u, v = np.unravel_index(window.argmax(), (2, 2))
        winners[i + u, j + v] = 1
print("input:\n", values.astype(int), "\ngradient of the sum of the 2x2 maxima:\n",
      image.grad.numpy()[0, 0].astype(int))
assert np.array_equal(image.grad.numpy()[0, 0], winners)

# %% [markdown]
# ## 5. Receptive fields
#
# One output pixel sees a window of the input, its receptive field. For a stack of layers with
# kernels k_l and strides s_l, the field grows by (k_l - 1) times the product of the strides
# before layer l: r = 1 + Σ_l (k_l - 1)·Π_(m<l) s_m. We measure it as the set of input pixels
# whose gradient is non-zero for one output pixel (with positive weights and average pooling,
# so that no path cancels and the gradient is not routed to a single winner).

# %%
def measured_field(layers, size=32):
    x = Tensor(np.ones((1, 1, size, size)), requires_grad=True)
    h = x
    for kind, k, s in layers:
        h = (F.conv2d(h, Tensor(np.ones((1, 1, k, k))), stride=s) if kind == "conv"
             else F.avg_pool2d(h, k, stride=s))
    h[0, 0, h.shape[2] // 2, h.shape[3] // 2].backward()
    rows = np.flatnonzero(x.grad.numpy()[0, 0].any(axis=1))
    return rows[-1] - rows[0] + 1


def formula_field(layers):
    field, jump = 1, 1
    for _, k, s in layers:
        field, jump = field + (k - 1) * jump, jump * s
    return field


stacks = {"three 3x3 convs": [("conv", 3, 1)] * 3,
          "conv 3, pool 2, conv 3": [("conv", 3, 1), ("pool", 2, 2), ("conv", 3, 1)],
          "LeNet-like: conv 5, pool 2, conv 5, pool 2": [("conv", 5, 1), ("pool", 2, 2),
                                                        ("conv", 5, 1), ("pool", 2, 2)]}
for name, layers in stacks.items():
    measured, predicted = measured_field(layers), formula_field(layers)
    print(f"  {name:44s} receptive field {measured} x {measured} (formula {predicted})")
    assert measured == predicted, (name, measured, predicted)

print("\nLesson 14 done: a convolution is one matrix product on copied windows, and so is its backward.")

# %% [markdown]
# ## Exercises
#
# 1. **im2col.** `exercise_im2col(x, k)` returns the columns (N, C·K·K, OH·OW) of a stride-1,
#    unpadded convolution of the NumPy array x (N, C, H, W), with rows in the order (c, u, v), so
#    that `w.reshape(F, -1) @ cols` is the convolution.
# 2. **Receptive field.** `exercise_receptive_field(layers)` returns the receptive field side
#    of a stack of `(kernel_size, stride)` layers.
#
# Check your answers: `python lessons/14_convolution_from_scratch.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F


def exercise_im2col(x, k):
    """(N, C, H, W) -> (N, C·k·k, OH·OW) for a stride-1 convolution without padding."""
    raise NotImplementedError("exercise im2col: one strided slice per kernel offset (u, v)")


def exercise_receptive_field(layers):
    """The receptive field side of layers [(kernel_size, stride), ...], first layer first."""
    raise NotImplementedError("exercise receptive_field: each layer adds (k - 1) · jump")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    cols = np.asarray(solution.exercise_im2col(x, 3))
    assert cols.shape == (2, 27, 12), f"im2col gave shape {cols.shape}, expected (2, 27, 4·3)"
    product = (w.reshape(4, -1) @ cols).reshape(2, 4, 4, 3)
    assert np.allclose(product, F.conv2d(Tensor(x), Tensor(w)).numpy()), (
        "w.reshape(F, -1) @ im2col(x) differs from F.conv2d: the rows must be ordered (c, u, v), "
        "channel first, like the flattened weight")
    cases = {((3, 1), (3, 1)): 5, ((3, 1), (2, 2), (3, 1)): 8, ((5, 1), (2, 2), (5, 1), (2, 2)): 16,
             ((7, 2), (3, 2), (3, 1)): 19}
    for layers, expected in cases.items():
        got = solution.exercise_receptive_field(list(layers))
        assert got == expected, (f"receptive_field({list(layers)}) = {got}, expected {expected}: "
                                 f"a stride spreads every later layer's window")
    print("all exercises pass")
