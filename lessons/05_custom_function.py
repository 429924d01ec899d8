# %% [markdown]
# # Lesson 05: writing your own differentiable operation, and checking it
#
# Every operation in tinygrad_edu is a ``Function`` subclass with two methods:
#
# - ``forward(self, *arrays, **params)`` computes the output from plain arrays. It uses
#   ``self.xp``, which is NumPy on the CPU and CuPy on a GPU, so one definition serves both.
# - ``backward(self, grad)`` receives dL/d(output) as a Tensor and returns dL/d(input), one per
#   input, written with *Tensor* operations so that second derivatives keep working (lesson 04).
#
# Our example is softplus, a smooth version of ReLU, with a sharpness parameter β > 0:
#
#     softplus(x) = log(1 + e^(βx)) / β,        d softplus / dx = e^(βx) / (1 + e^(βx)) = σ(βx).
#
# Written naively, e^(βx) overflows for large x (float32 already at βx ≈ 89) and the result is
# inf, its gradient nan. A dedicated forward can use the stable identity
#
#     log(1 + e^t) = max(t, 0) + log(1 + e^-|t|)    (NumPy's ``logaddexp(0, t)``),
#
# which is one of the reasons to write an operation as its own Function instead of composing it.
#
# Run it:  python lessons/05_custom_function.py
# Check the exercises at the end:  python lessons/05_custom_function.py --check
#
# Read along: `tinygrad_edu/autograd.py::Function` (the base class you subclass) and
# `tinygrad_edu/nn/activation.py::softplus` (the library's own softplus).

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor


class Softplus(Function):
    """z = log(1 + e^(βa)) / β;   dz/da = σ(βa)."""

    def forward(self, a, beta):
        self.beta = beta                                   # a plain setting, kept for backward
        return self.xp.logaddexp(0, beta * a) / beta       # stable for any size of beta * a

    def backward(self, grad):
        (a,) = self.inputs   # the engine keeps the inputs; ops whose derivative is simplest in
        #                      terms of their output (exp, tanh) set saves_output = True instead
        return grad * (a * self.beta).sigmoid()


def softplus(x, beta=1.0):
    """The friendly entry point: check the settings, then run the Function."""
    if not beta > 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return Softplus.apply(x, beta=float(beta))


rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Forward: the values match an independent NumPy formula

# %%
values = np.linspace(-4.0, 4.0, 9)                        # (9,)
for beta in (0.5, 1.0, 3.0):
    ours = softplus(Tensor(values), beta).numpy()
    reference = np.log1p(np.exp(beta * values)) / beta    # fine for these moderate values
    assert np.allclose(ours, reference, rtol=1e-12), beta
print("softplus forward matches log1p(exp(βx))/β for β = 0.5, 1, 3")

# %% [markdown]
# ## 2. Backward: the gradient is the sigmoid, as derived above

# %%
x = Tensor(values, requires_grad=True)
softplus(x).sum().backward()
assert np.allclose(x.grad.numpy(), 1 / (1 + np.exp(-values)), rtol=1e-12)
print("its gradient matches σ(x) = 1 / (1 + e^-x)")

# %% [markdown]
# ## 3. Why a dedicated forward: large inputs

# %%
big = Tensor([1.0, 100.0], requires_grad=True)            # float32, as by default
with np.errstate(over="ignore", invalid="ignore"):        # the overflow we are demonstrating
    naive = (1 + big.exp()).log()                         # composed from existing operations
    naive.sum().backward()
print(f"\nnaive  log(1 + e^x) at x = 1, 100: {naive.tolist()}, gradient {big.grad.tolist()}")
assert np.isinf(naive.numpy()[1]) and np.isnan(big.grad.numpy()[1])

big.zero_grad()
stable = softplus(big)
stable.sum().backward()
print(f"stable softplus     at x = 1, 100: {stable.tolist()}, gradient {big.grad.tolist()}")
assert np.allclose(stable.numpy(), [np.log1p(np.e), 100.0])   # softplus(x) -> x for large x
assert np.allclose(big.grad.numpy(), [1 / (1 + np.exp(-1.0)), 1.0])

# %% [markdown]
# ## 4. Prove it with finite differences

# %%
a = Tensor(rng.standard_normal((3, 4)) * 2, requires_grad=True)   # (3, 4) float64
for beta in (0.5, 2.0):
    assert tg.gradcheck(lambda a: softplus(a, beta), [a])
    # backward was written with Tensor operations, so the second derivative is right too:
    # d²/dx² softplus = β σ(βx)(1 - σ(βx)), which we never wrote down anywhere
    assert tg.gradgradcheck(lambda a: softplus(a, beta), [a])
# a larger input: one random direction instead of the full Jacobian
assert tg.gradcheck(softplus, [Tensor(rng.standard_normal((64, 64)), requires_grad=True)],
                    fast=True)
print("\ngradcheck and gradgradcheck of softplus passed")

# %% [markdown]
# ## 5. Clear errors

# %%
try:
    softplus(a, beta=0)
    raise AssertionError("softplus accepted beta = 0")
except ValueError as error:
    print("a bad setting is reported by name:", error)

print("\nLesson 05 done: forward on arrays, backward in Tensor ops, then gradcheck it.")

# %% [markdown]
# ## Exercises
#
# 1. **Swish as a Function.** swish(x) = x·σ(x), with σ(x) = 1 / (1 + e^-x). Write a `Function`
#    subclass inside `exercise_swish(x)` and return its `apply(x)`: forward on arrays (use
#    `self.xp`), backward in Tensor operations. By the product rule
#    d swish/dx = σ(x) + x·σ(x)(1 - σ(x)). The check runs `gradcheck` and `gradgradcheck`.
#
# Check your answer: `python lessons/05_custom_function.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor


def exercise_swish(x):
    """swish(x) = x·sigmoid(x) through your own Function subclass."""
    raise NotImplementedError("exercise swish: class Swish(Function) with forward and backward")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    values = np.linspace(-5.0, 5.0, 11) + 0.05               # (11,)
    out = solution.exercise_swish(Tensor(values))
    assert np.allclose(out.numpy(), values / (1 + np.exp(-values)), rtol=1e-12), \
        "swish forward: x / (1 + e^-x)"
    x = Tensor(values, requires_grad=True)
    made_by = type(solution.exercise_swish(x).grad_fn)
    assert issubclass(made_by, Function) and made_by.__module__ != "tinygrad_edu.ops.elementwise", \
        "swish: the output should come from your own Function's apply, not from composed ops"
    try:
        tg.gradcheck(solution.exercise_swish, [x])
        tg.gradgradcheck(solution.exercise_swish, [x])
    except tg.GradcheckError as error:
        raise AssertionError(f"swish backward disagrees with finite differences: {error}\n"
                             f"hint: the product rule has two terms") from None
    print("all exercises pass")
