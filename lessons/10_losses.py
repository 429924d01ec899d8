# %% [markdown]
# # Lesson 10: losses for classification, and computing them without overflow
#
# A classifier outputs logits z (one score per class); softmax turns them into probabilities
# p_c = e^(z_c) / Σ_k e^(z_k). Which loss should grade p against the true class t?
#
# - **Cross-entropy** L = -log p_t. Its gradient with respect to the logits is the whole story:
#
#       dL/dz_c = p_c - [c = t]          (softmax minus one-hot)
#
#   large when the model is confidently wrong, zero when it is right.
# - **Mean squared error** on the probabilities, L = Σ_c (p_c - [c = t])², seems as natural but
#   its gradient passes through the softmax's slope p(1 - p), which is tiny exactly when the model
#   is confidently wrong: the worst mistakes are the slowest to correct.
#
# Computing -log p_t = logsumexp(z) - z_t naively overflows: e^z is inf in float32 once z > 88.7.
# The log-sum-exp trick subtracts the maximum first,
#
#     log Σ_k e^(z_k) = m + log Σ_k e^(z_k - m),    m = max_k z_k,
#
# so every exponent is ≤ 0. Finally **label smoothing** grades against (1 - ε)·one-hot + ε/K, so
# the loss stops rewarding ever larger logits.
#
# Run it:  python lessons/10_losses.py
# Check the exercises at the end:  python lessons/10_losses.py --check
#
# Read along: `tinygrad_edu/nn/losses.py::cross_entropy` (with `label_smoothing`),
# `tinygrad_edu/ops/reduce.py::logsumexp` and `tinygrad_edu/ops/reduce.py::LogSoftmax`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Cross-entropy's gradient is softmax minus one-hot

# %%
logits = Tensor(rng.standard_normal((5, 4)), requires_grad=True)   # (N=5, K=4), float64
labels = np.array([0, 3, 1, 1, 2])                                  # (5,)
F.cross_entropy(logits, Tensor(labels)).backward()                  # the mean over 5 samples
probabilities = F.softmax(logits.detach(), axis=1).numpy()          # (5, 4)
one_hot = np.eye(4)[labels]                                         # (5, 4)
print("dL/dz of the first sample:", np.round(logits.grad.numpy()[0], 4))
print("(p - one-hot) / N:        ", np.round((probabilities - one_hot)[0] / 5, 4))
assert np.allclose(logits.grad.numpy(), (probabilities - one_hot) / 5, atol=1e-12)

# %% [markdown]
# ## 2. MSE on probabilities learns slowly from confident mistakes

# %%
def logit_gradient(loss_name: str, z_values) -> float:
    """‖dL/dz‖ for one sample of true class 0 with logits z_values."""
    z = Tensor(np.array([z_values]), requires_grad=True)             # (1, K)
    if loss_name == "cross-entropy":
        loss = F.cross_entropy(z, Tensor(np.array([0])))
    else:
        target = Tensor(np.eye(len(z_values))[[0]])                 # (1, K)
        loss = ((F.softmax(z, axis=1) - target) ** 2).sum()
    loss.backward()
    return float(np.linalg.norm(z.grad.numpy()))


print("\n‖dL/dz‖ when the true class is 0:")
for z_values in ([0.0, 0.0, 0.0], [-2.0, 2.0, 0.0], [-8.0, 8.0, 0.0]):
    ce, mse = logit_gradient("cross-entropy", z_values), logit_gradient("mse", z_values)
    print(f"  logits {z_values}:  cross-entropy {ce:.2e}   MSE on softmax {mse:.2e}")
confident_ce = logit_gradient("cross-entropy", [-8.0, 8.0, 0.0])
confident_mse = logit_gradient("mse", [-8.0, 8.0, 0.0])
assert confident_ce > 1.0 and confident_mse < 1e-3 * confident_ce, (confident_ce, confident_mse)
print("confidently wrong: cross-entropy pushes with full force, MSE barely moves")

# %% [markdown]
# ## 3. Naive softmax overflows; log-sum-exp does not

# %%
big = np.array([[100.0, 101.0, 99.0]], dtype=np.float32)            # (1, 3)
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(big) / np.exp(big).sum(axis=1, keepdims=True)    # e^100 = inf in float32
    naive_log = np.log(np.exp(big).sum())
stable = F.softmax(Tensor(big), axis=1).numpy()
shifted = np.exp(big - big.max()) / np.exp(big - big.max()).sum()   # the same after the shift
print(f"\nnaive softmax of {big[0]}: {naive[0]};  log Σ e^z: {naive_log}")
print(f"F.softmax:                         {stable[0]};  logsumexp: "
      f"{Tensor(big).logsumexp(axis=1).item():.4f}")
assert np.isnan(naive).all() and np.isinf(naive_log)
assert np.allclose(stable, shifted, rtol=1e-6) and np.isclose(stable.sum(), 1.0)
assert np.isclose(Tensor(big).logsumexp(axis=1).item(), 101 + np.log(1 + np.exp(-1) + np.exp(-2)))
huge = Tensor(np.array([[1000.0, 0.0]]), requires_grad=True)        # (1, 2)
loss = F.cross_entropy(huge, Tensor(np.array([1])))
loss.backward()
print(f"cross-entropy for logits [1000, 0] and class 1: {loss.item():.1f} (exactly 1000), "
      f"gradient {huge.grad.numpy()[0]}")
assert loss.item() == 1000.0 and np.allclose(huge.grad.numpy(), [[1.0, -1.0]])

# %% [markdown]
# ## 4. Label smoothing

# %%
epsilon, classes = 0.1, 4
z = Tensor(rng.standard_normal((6, classes)))                        # (6, 4)
t = rng.integers(0, classes, 6)                                      # (6,)
smoothed = F.cross_entropy(z, Tensor(t), label_smoothing=epsilon).item()
log_p = F.log_softmax(z, axis=1).numpy()                             # (6, 4)
target = (1 - epsilon) * np.eye(classes)[t] + epsilon / classes      # (6, 4) the soft target
by_hand = float(-(target * log_p).sum(axis=1).mean())
print(f"\nlabel smoothing ε = {epsilon}: F.cross_entropy {smoothed:.6f}, by hand {by_hand:.6f}")
assert np.isclose(smoothed, by_hand, rtol=1e-10)


def smoothed_loss_of_margin(margin: float, eps: float) -> float:
    """The loss of logits (margin, 0, 0, 0) for class 0."""
    z = Tensor(np.array([[margin, 0.0, 0.0, 0.0]]))
    return F.cross_entropy(z, Tensor(np.array([0])), label_smoothing=eps).item()


margins = np.linspace(0, 20, 201)
plain = [smoothed_loss_of_margin(m, 0.0) for m in margins]
smooth = [smoothed_loss_of_margin(m, epsilon) for m in margins]
best = margins[int(np.argmin(smooth))]
# With smoothing the best margin is finite: the optimum has p_0 = 1 - ε + ε/K and every other
# p = ε/K, so e^margin = p_0 / (ε/K).
expected_best = np.log((1 - epsilon + epsilon / classes) / (epsilon / classes))
print(f"without smoothing the loss keeps falling as the margin grows ({plain[-1]:.2e} at 20); "
      f"with it the best margin is {best:.1f} (theory {expected_best:.2f})")
assert np.all(np.diff(plain) < 0) and abs(best - expected_best) < 0.1

print("\nLesson 10 done: cross-entropy on log-sum-exp, stable and with the gradient p - one-hot.")

# %% [markdown]
# ## Exercises
#
# 1. **A stable log-sum-exp.** `exercise_logsumexp(z)` returns log Σ e^z over the last axis of a
#    NumPy array, without overflow for any finite input.
# 2. **Cross-entropy's gradient.** `exercise_cross_entropy_grad(logits, labels)` returns the
#    gradient of the *mean* cross-entropy over the batch with respect to the (N, K) logits, in
#    NumPy, without autograd.
#
# Check your answers: `python lessons/10_losses.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.nn import functional as F


def exercise_logsumexp(z):
    """log Σ_k exp(z[..., k]), stable for large z."""
    raise NotImplementedError("exercise logsumexp: subtract the maximum first")


def exercise_cross_entropy_grad(logits, labels):
    """dL/dlogits of L = mean_i -log softmax(logits_i)[labels_i]."""
    raise NotImplementedError("exercise cross_entropy_grad: softmax minus one-hot, averaged")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    for offset in (0.0, 800.0, -800.0):
        z = rng.standard_normal((3, 5)) + offset                       # (3, 5)
        expected = Tensor(z).logsumexp(axis=1).numpy()
        with np.errstate(over="ignore", divide="ignore"):
            got = np.asarray(solution.exercise_logsumexp(z))
        assert got.shape == (3,) and np.allclose(got, expected, rtol=1e-12), (
            f"logsumexp of logits near {offset} gave {got}, expected {expected}: in "
            f"float64 exp overflows past 709 and underflows to 0 below -745")
    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    z = Tensor(logits, requires_grad=True)
    F.cross_entropy(z, Tensor(labels)).backward()
    got = np.asarray(solution.exercise_cross_entropy_grad(logits, labels))
    assert np.allclose(got, z.grad.numpy(), atol=1e-12), (
        f"cross_entropy_grad differs from backward() by up to "
        f"{np.abs(got - z.grad.numpy()).max():.3f}: the loss is a mean over the batch")
    print("all exercises pass")
