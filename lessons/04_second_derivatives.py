# %% [markdown]
# # Lesson 04: second derivatives with ``create_graph=True`` and ``tg.grad``
#
# Every backward rule in tinygrad_edu is written with Tensor operations (``grad * 3 * a * a``,
# not raw array math). Normally backward runs with recording switched off, and the gradient is a
# plain constant. With ``create_graph=True`` the backward pass is recorded like any forward
# computation, so the gradient is itself a function in the graph and can be differentiated again.
#
# ``tg.grad(outputs, inputs, create_graph=...)`` returns the gradients instead of adding them to
# ``.grad`` (like ``torch.autograd.grad``), which is the convenient form for derivatives of
# derivatives. Two classic uses:
#
# 1. Newton's method for a minimum of f: R -> R uses the curvature f'' to choose the step,
#
#        x  <-  x - f'(x) / f''(x),
#
#    and converges quadratically (the number of correct digits roughly doubles each step).
#
# 2. A Hessian-vector product Hv for f: R^n -> R, without ever forming the n x n Hessian H:
#    since ∇f(w)·v is a scalar, its gradient is  ∇(∇f(w)·v) = H v  (two backward passes).
#
# Run it:  python lessons/04_second_derivatives.py
# Check the exercises at the end:  python lessons/04_second_derivatives.py --check
#
# Read along: `tinygrad_edu/backprop.py::grad` (gradients returned, optionally with their graph) and
# `tinygrad_edu/gradcheck.py::gradgradcheck`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor

# %% [markdown]
# ## 1. A gradient with and without a graph

# %%
x = Tensor(np.array(3.0), requires_grad=True)
(slope,) = tg.grad(x ** 3, x)                       # plain: a constant, no graph
(slope_graph,) = tg.grad(x ** 3, x, create_graph=True)
print("d(x³)/dx = 3x² at 3:", slope.item(), " grad_fn without create_graph:", slope.grad_fn,
      " with it:", slope_graph.grad_fn)
assert slope.item() == 27.0 and slope.grad_fn is None and slope_graph.grad_fn is not None
(curvature,) = tg.grad(slope_graph, x)               # differentiate the derivative: 6x
assert curvature.item() == 18.0
print("d²(x³)/dx² = 6x at 3:", curvature.item())

# %% [markdown]
# ## 2. Newton's method on f(x) = x⁴ - 3x² + x

# %%
def f(x):
    return x ** 4 - 3 * x ** 2 + x


def first_and_second_derivative(x_value):
    """f'(x) and f''(x), both by autograd."""
    x = Tensor(np.array(x_value), requires_grad=True)
    (df,) = tg.grad(f(x), x, create_graph=True)      # keep the graph of f' ...
    (d2f,) = tg.grad(df, x)                          # ... so it can be differentiated again
    return df.item(), d2f.item()


# by hand: f'(x) = 4x³ - 6x + 1 and f''(x) = 12x² - 6
for point in (-1.3, 0.2, 2.0):
    df, d2f = first_and_second_derivative(point)
    assert np.isclose(df, 4 * point ** 3 - 6 * point + 1, rtol=1e-12)
    assert np.isclose(d2f, 12 * point ** 2 - 6, rtol=1e-12)
print("\nautograd's f' and f'' match the hand-derived 4x³ - 6x + 1 and 12x² - 6")

print("Newton's method from x = 2:")
x_value = 2.0
for step in range(8):
    df, d2f = first_and_second_derivative(x_value)
    print(f"  step {step}: x = {x_value:.15f}   f'(x) = {df: .3e}")
    if abs(df) < 1e-12:
        break
    x_value -= df / d2f
df, d2f = first_and_second_derivative(x_value)
assert abs(df) < 1e-12, "Newton's method did not converge"
assert d2f > 0, "a minimum has positive curvature"
print(f"a local minimum of f at x = {x_value:.12f} (f'' = {d2f:.3f} > 0)")

# %% [markdown]
# ## 3. A Hessian-vector product

# %%
# g(w) = ½ wᵀAw + Σ w_i³/3 has gradient  ½(A + Aᵀ)w + w²  and Hessian  ½(A + Aᵀ) + diag(2w).
rng = np.random.default_rng(0)
n = 5
A = rng.standard_normal((n, n))                      # (5, 5)
w = Tensor(rng.standard_normal(n), requires_grad=True)   # (5,)
v = Tensor(rng.standard_normal(n))                   # (5,) the direction


def g(w):
    Aw = Tensor(A) @ w                               # (5,)
    return 0.5 * (w * Aw).sum() + (w ** 3).sum() / 3


(gradient,) = tg.grad(g(w), w, create_graph=True)    # (5,) ∇g(w), still in the graph
(hessian_times_v,) = tg.grad((gradient * v).sum(), w)  # (5,) ∇(∇g·v) = H v

hessian = 0.5 * (A + A.T) + np.diag(2 * w.numpy())   # (5, 5) by hand
print("\nHessian-vector product by autograd:", np.round(hessian_times_v.numpy(), 6))
print("H @ v with H written out by hand:  ", np.round(hessian @ v.numpy(), 6))
assert np.allclose(gradient.numpy(), 0.5 * (A + A.T) @ w.numpy() + w.numpy() ** 2, rtol=1e-12)
assert np.allclose(hessian_times_v.numpy(), hessian @ v.numpy(), rtol=1e-12)

# %% [markdown]
# ## 4. Checking second derivatives

# %%
# tg.gradgradcheck runs gradcheck on the gradient itself: finite differences of backward().
assert tg.gradgradcheck(g, [w])
assert tg.gradgradcheck(f, [Tensor(np.array([-1.3, 0.2, 2.0]), requires_grad=True)])
print("tg.gradgradcheck passed for g and f")

print("\nLesson 04 done: record the backward pass, and derivatives of derivatives come for free.")

# %% [markdown]
# ## Exercises
#
# 1. **A second derivative.** `exercise_second_derivative(f, x)` returns f''(x) as a float for a
#    function f of one Tensor, using `tg.grad` twice (the first with `create_graph=True`).
# 2. **The whole Hessian.** `exercise_hessian(f, w)` returns the n x n Hessian of a scalar f of a
#    vector w (a NumPy array) as a NumPy array: one Hessian-vector product per unit vector eᵢ
#    gives column i.
#
# Check your answers: `python lessons/04_second_derivatives.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def exercise_second_derivative(f, x):
    """f''(x) for a float x, by differentiating the gradient."""
    raise NotImplementedError("exercise second_derivative: tg.grad(..., create_graph=True), twice")


def exercise_hessian(f, w):
    """The Hessian of f at the vector w (NumPy), column by column from Hessian-vector products."""
    raise NotImplementedError("exercise hessian: H e_i for each unit vector e_i")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for x in (-0.7, 0.4, 1.5):
        got = solution.exercise_second_derivative(lambda t: t.exp() * t ** 2, x)
        expected = np.exp(x) * (x * x + 4 * x + 2)          # (e^x x²)'' by hand
        assert np.isclose(got, expected, rtol=1e-10), (
            f"second_derivative of e^x x² at {x} gave {got}, expected {expected}")
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    w = rng.standard_normal(4)

    def f(v):
        return 0.5 * (v * (Tensor(A) @ v)).sum() + (v ** 3).sum() / 3

    expected = 0.5 * (A + A.T) + np.diag(2 * w)
    got = np.asarray(solution.exercise_hessian(f, w))
    assert got.shape == (4, 4) and np.allclose(got, expected, rtol=1e-10), (
        f"hessian gave\n{np.round(got, 3)}\nexpected ½(A + Aᵀ) + diag(2w) =\n{np.round(expected, 3)}")
    print("all exercises pass")
