# %% [markdown]
# # Lesson 02: the chain rule by hand, the same with autograd, and how to check a gradient
#
# A model is a chain of simple steps. For a logistic neuron with a squared-error loss,
#
#     z = Σ_i w_i x_i + b,     p = σ(z) = 1 / (1 + e^-z),     L = (p - t)²,
#
# the chain rule multiplies the local derivative of every step, from the loss backwards:
#
#     dL/dp = 2 (p - t),     dp/dz = p (1 - p),     dz/dw_i = x_i,     dz/db = 1,
#     dL/dw_i = dL/dp · dp/dz · dz/dw_i.
#
# That product, one local derivative per operation, is exactly what ``backward()`` computes.
#
# How do we know a backward rule is right? With a definition that needs no calculus at all, the
# central finite difference
#
#     dL/dθ ≈ (L(θ + ε) - L(θ - ε)) / (2ε),      error O(ε²).
#
# ``tg.gradcheck`` compares the two for every input element (in float64, where the rounding error
# of the forward pass stays far below the comparison's tolerance) and raises ``GradcheckError``
# naming the input and element where they disagree. We finish by planting a wrong backward rule
# in a hand-written ``Function`` and watching gradcheck catch it, even when it is off by only 1%.
#
# Run it:  python lessons/02_chain_rule_and_gradcheck.py
# Check the exercises at the end:  python lessons/02_chain_rule_and_gradcheck.py --check
#
# Read along: `tinygrad_edu/gradcheck.py::gradcheck` (finite differences against backward) and
# `tinygrad_edu/ops/elementwise.py::Tanh` (one local derivative beside its forward).

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor

rng = np.random.default_rng(0)
x_values = rng.standard_normal(3)          # (3,) one input example
w_values = rng.standard_normal(3) * 0.5    # (3,) weights
b_value, target = 0.1, 1.0

# %% [markdown]
# ## 1. The chain rule, one step at a time, in plain NumPy

# %%
z = w_values @ x_values + b_value
p = 1 / (1 + np.exp(-z))
loss = (p - target) ** 2

dloss_dp = 2 * (p - target)
dp_dz = p * (1 - p)
grad_w_by_hand = dloss_dp * dp_dz * x_values     # (3,)  dz/dw_i = x_i
grad_b_by_hand = dloss_dp * dp_dz * 1.0          #       dz/db = 1
print(f"loss = {loss:.6f}")
print("by hand:      dL/dw =", np.round(grad_w_by_hand, 6), " dL/db =", round(grad_b_by_hand, 6))

# %% [markdown]
# ## 2. The same computation with tensors; backward() does the multiplying

# %%
# float64 arrays stay float64, so both results agree to ~15 digits.
x = Tensor(x_values)
w = Tensor(w_values, requires_grad=True)
b = Tensor(np.array(b_value), requires_grad=True)


def neuron_loss(w, b):
    """The loss as a function of the parameters, written with tensor operations."""
    probability = ((w * x).sum() + b).sigmoid()
    return (probability - target) ** 2


neuron_loss(w, b).backward()
print("by autograd:  dL/dw =", np.round(w.grad.numpy(), 6), " dL/db =", round(b.grad.item(), 6))
assert np.allclose(w.grad.numpy(), grad_w_by_hand, rtol=1e-12, atol=1e-15)
assert np.isclose(b.grad.item(), grad_b_by_hand, rtol=1e-12)

# %% [markdown]
# ## 3. Finite differences: the definition of a derivative, no calculus needed

# %%
def loss_at_b(value):
    """The loss as a plain number, for a given value of b."""
    return neuron_loss(w, Tensor(np.array(value))).item()


print("\ncentral differences for dL/db, and their error against backward():")
errors = []
for eps in (1e-1, 1e-2, 1e-3):
    numeric = (loss_at_b(b_value + eps) - loss_at_b(b_value - eps)) / (2 * eps)
    errors.append(abs(numeric - grad_b_by_hand))
    print(f"  eps = {eps:g}:  {numeric:.10f}   error {errors[-1]:.2e}")
# the error is O(eps²): each 10x smaller step makes it about 100x smaller
assert errors[1] < errors[0] / 50 and errors[2] < errors[1] / 50

# %% [markdown]
# ## 4. tg.gradcheck does this for every element of every input

# %%
# It returns True, or raises GradcheckError with a report of the worst element.
assert tg.gradcheck(neuron_loss, [w, b])
print("\ntg.gradcheck(neuron_loss, [w, b]) passed")

# It insists on float64: in float32 the rounding error of the loss (~1e-7 · |L|), divided by a
# small eps, would be larger than the mistakes we are trying to catch.
try:
    tg.gradcheck(lambda a: (a * a).sum(), [Tensor([1.0, 2.0], requires_grad=True)])
    raise AssertionError("gradcheck accepted float32 inputs")
except TypeError as error:
    print("float32 is refused:", error)

# %% [markdown]
# ## 5. Catching a wrong backward rule

# %%
class Cube(Function):
    """z = a³;   dz/da = 3a²."""

    def forward(self, a):
        return a ** 3

    def backward(self, grad):
        (a,) = self.inputs
        return grad * 3 * a * a


class CubeForgotSquare(Cube):
    """A classic slip: dz/da written as 3a instead of 3a²."""

    def backward(self, grad):
        (a,) = self.inputs
        return grad * 3 * a


class CubeOffByOnePercent(Cube):
    """A subtle slip: a constant 1% too large (3.03 instead of 3)."""

    def backward(self, grad):
        (a,) = self.inputs
        return grad * 3.03 * a * a


# inputs away from 0 and 1, where the wrong rules would accidentally agree with the right one
a = Tensor(rng.uniform(1.5, 2.5, size=(2, 3)), requires_grad=True)   # (2, 3) float64
assert tg.gradcheck(Cube.apply, [a])
print("\nCube passes gradcheck")
for wrong in (CubeForgotSquare, CubeOffByOnePercent):
    try:
        tg.gradcheck(wrong.apply, [a])
        raise AssertionError(f"gradcheck missed the mistake in {wrong.__name__}")
    except tg.GradcheckError as error:
        print(f"{wrong.__name__} is caught:\n   {error}")

print("\nLesson 02 done: backward() multiplies local derivatives; gradcheck proves them right.")

# %% [markdown]
# ## Exercises
#
# 1. **Central differences.** `exercise_central_difference(f, x, eps)` returns the derivative
#    of a float function f at x as (f(x + ε) - f(x - ε)) / 2ε. Its error shrinks like ε²; the
#    one-sided (f(x + ε) - f(x)) / ε only like ε, which is why gradcheck uses the central form.
# 2. **A chain rule by hand.** `exercise_chain_rule(x)` returns d/dx of exp(sin(x²)) at x, as a
#    float, derived by hand with NumPy (multiply the three local derivatives).
#
# Check your answers: `python lessons/02_chain_rule_and_gradcheck.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_central_difference(f, x, eps=1e-4):
    """(f(x + eps) - f(x - eps)) / (2 eps)."""
    raise NotImplementedError("exercise central_difference: one line, two evaluations of f")


def exercise_chain_rule(x):
    """d/dx exp(sin(x²)), from the three local derivatives."""
    raise NotImplementedError("exercise chain_rule: outer' · middle' · inner'")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for x in (0.3, 1.7):
        got = solution.exercise_central_difference(np.exp, x, 1e-4)
        # the central error is about eps²/6 · e^x ≈ 1e-8 here; a one-sided one ~ eps/2 · e^x
        assert abs(got - np.exp(x)) < 1e-7 * np.exp(x), (
            f"central_difference(exp, {x}) = {got!r}, exact {np.exp(x)!r}: too far off for "
            f"eps = 1e-4; step to both sides, x + eps and x - eps")
    for x in (0.5, -1.2, 2.0):
        expected = np.exp(np.sin(x * x)) * np.cos(x * x) * 2 * x
        got = solution.exercise_chain_rule(x)
        assert np.isclose(got, expected, rtol=1e-10), (
            f"chain_rule({x}) = {got}, expected {expected}: every layer contributes a factor")
    print("all exercises pass")
