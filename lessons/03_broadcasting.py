# %% [markdown]
# # Lesson 03: broadcasting, and why its gradients are *sums*
#
# Start with a tensor used twice. In y = x·x the value x reaches y along two paths, and the total
# derivative adds the contribution of each path:  dy/dx = x + x = 2x.  The engine does this by
# adding up every gradient that arrives at a tensor.
#
# Broadcasting is the same thing in disguise. Adding a bias b of shape (3,) to a batch X of shape
# (4, 3),
#
#     Y[i, j] = X[i, j] + b[j],
#
# silently *reuses* each b[j] in all 4 rows. So, by the rule for a value used many times,
#
#     dL/db[j] = Σ_i dL/dY[i, j] · dY[i, j]/db[j] = Σ_i dL/dY[i, j],
#
# the incoming gradient summed over the axis along which b was stretched. In general a gradient
# is summed over every axis that broadcasting *added* (leading axes) or *stretched* (axes of
# length 1), then reshaped to the input's shape. tinygrad_edu does this in one place,
# ``tinygrad_edu.autograd.sum_to``, for the gradient of every input of every operation, so no
# single operation has to think about broadcasting in its backward rule.
#
# Run it:  python lessons/03_broadcasting.py
# Check the exercises at the end:  python lessons/03_broadcasting.py --check
#
# Read along: `tinygrad_edu/backprop.py::sum_to` (the one place broadcasting is undone).

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.autograd import sum_to

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A tensor used twice receives the sum of both paths

# %%
x = Tensor(np.array(3.0), requires_grad=True)
(x * x).backward()
print("y = x*x at x = 3:  dy/dx =", x.grad.item(), "(= x + x, one term per path)")
assert x.grad.item() == 6.0

# %% [markdown]
# ## 2. A bias broadcast over a batch

# %%
X = Tensor(rng.standard_normal((4, 3)), requires_grad=True)     # (4, 3) a batch of 4 rows
bias = Tensor(rng.standard_normal(3), requires_grad=True)        # (3,)  one value per column
Y = X + bias                                                     # (4, 3) bias reused in each row

# A loss whose gradient we know exactly: L = Σ Y·G, so dL/dY = G.
G = rng.standard_normal((4, 3))                                  # (4, 3)
(Y * Tensor(G)).sum().backward()

print("\nY = X + bias with X (4, 3) and bias (3,)")
print("  dL/dY = G has shape", G.shape, "but bias.grad has the shape of bias:", bias.grad.shape)
assert bias.grad.shape == bias.shape and X.grad.shape == X.shape
assert np.allclose(X.grad.numpy(), G)               # X was not broadcast: gradient passes as is
assert np.allclose(bias.grad.numpy(), G.sum(axis=0))   # bias was reused in 4 rows: summed
print("  bias.grad == G.sum(axis=0):", np.round(bias.grad.numpy(), 4))

# %% [markdown]
# ## 3. Stretched axes of length 1

# %%
column = Tensor(rng.standard_normal((3, 1)), requires_grad=True)   # (3, 1)
row = Tensor(rng.standard_normal((1, 4)), requires_grad=True)      # (1, 4)
table = column * row                                               # (3, 4) an outer product
H = rng.standard_normal((3, 4))                                    # (3, 4) dL/dtable
(table * Tensor(H)).sum().backward()

# d table[i, j] / d column[i] = row[j], summed over j, the axis column was stretched along
expected_column = (H * row.numpy()).sum(axis=1, keepdims=True)     # (3, 1)
expected_row = (H * column.numpy()).sum(axis=0, keepdims=True)     # (1, 4)
print("\ncolumn (3, 1) * row (1, 4) -> (3, 4)")
print("  column.grad shape", column.grad.shape, " row.grad shape", row.grad.shape)
assert np.allclose(column.grad.numpy(), expected_column)
assert np.allclose(row.grad.numpy(), expected_row)

# %% [markdown]
# ## 4. The one helper that does it

# %%
# sum_to(gradient, shape): sum over the added leading axes and the stretched length-1 axes.
gradient = Tensor(np.ones((2, 3, 4)))                              # (2, 3, 4)
print("\nthe helper autograd.sum_to:")
for shape in [(3, 4), (3, 1), (1, 4), (2, 1, 1), ()]:
    reduced = sum_to(gradient, shape)
    # each entry counts how many output elements one input element was copied to
    copies = 2 * 3 * 4 // max(int(np.prod(shape)), 1)
    print(f"  sum_to of a (2, 3, 4) gradient of ones to {str(shape):9} -> every entry {copies}")
    assert reduced.shape == shape and np.all(reduced.numpy() == copies)

# An operation's backward just returns gradients of the *output's* shape. Addition's rule is
# literally `return grad, grad`; the engine calls sum_to on each before passing it on.
# A gradient that cannot have come from broadcasting is a bug, and sum_to says so:
try:
    sum_to(gradient, (5,))
    raise AssertionError("sum_to accepted a shape that cannot broadcast to (2, 3, 4)")
except tg.ShapeError as error:
    print("  a shape that does not fit is an error:", error)

# %% [markdown]
# ## 5. gradcheck agrees

# %%
# finite differences know nothing about broadcasting, so they check the summing independently
scale = Tensor(rng.uniform(0.5, 1.5, size=(1, 3)), requires_grad=True)   # (1, 3)
assert tg.gradcheck(lambda X, bias, scale: ((X + bias) * scale).tanh().sum(dim=1),
                    [X, bias, scale])
print("\ngradcheck of tanh((X + bias) * scale) with three broadcast shapes passed")

print("\nLesson 03 done: a value used n times gets n gradient contributions, added up.")

# %% [markdown]
# ## Exercises
#
# 1. **Undo broadcasting yourself.** `exercise_sum_to(grad, shape)` takes a NumPy gradient of a
#    broadcast result and returns the gradient for an input of `shape`: sum the leading axes
#    broadcasting added, then the axes it stretched from length 1 (keeping them, as length 1).
#
# Check your answer: `python lessons/03_broadcasting.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_sum_to(grad, shape):
    """Sum the NumPy array grad down to shape (the inverse of broadcasting shape to grad.shape)."""
    raise NotImplementedError("exercise sum_to: sum the added axes, then the stretched ones")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    grad = rng.standard_normal((2, 4, 3))
    cases = {(2, 4, 3): grad, (3,): grad.sum(axis=(0, 1)), (4, 1): grad.sum(axis=(0, 2))[:, None],
             (1, 3): grad.sum(axis=(0, 1))[None], (2, 1, 3): grad.sum(axis=1, keepdims=True),
             (): grad.sum()}
    for shape, expected in cases.items():
        got = np.asarray(solution.exercise_sum_to(grad, shape))
        assert got.shape == shape and np.allclose(got, expected), (
            f"sum_to(grad of shape {grad.shape}, {shape}) gave shape {got.shape}: sum every axis "
            f"broadcasting added or stretched, keeping stretched ones as length 1")
    print("all exercises pass")
