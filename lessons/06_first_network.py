# %% [markdown]
# # Lesson 06: a first neural network, trained one visible step at a time
#
# The data: two interleaved half-moons of points in the plane, class 0 and class 1. No straight
# line separates them, so a linear classifier must get part of them wrong; a network with a
# hidden layer bends the boundary around them.
#
# The model: a multi-layer perceptron, Linear(2 -> 32), tanh, Linear(32 -> 32), tanh,
# Linear(32 -> 2). Its two outputs per point are *logits*, one score per class; softmax turns
# them into probabilities, and the loss is the cross-entropy
#
#     L = -(1/N) Σ_i log softmax(logits_i)[y_i],
#
# the average surprise at the correct class. It starts near log 2 ≈ 0.693 (a coin toss) and
# falls towards 0 as the network grows confident and right.
#
# Training is five lines repeated: forward, loss, zero the old gradients, backward, step. Here
# each step uses the whole training set (full-batch gradient descent) and SGD with momentum:
#
#     v <- μ v + g,        p <- p - lr · v
#
# Everything that ``tinygrad-edu train`` adds on top (batches, schedules, checkpoints, progress)
# is lesson 07.
#
# Run it:  python lessons/06_first_network.py
# Check the exercises at the end:  python lessons/06_first_network.py --check
#
# Read along: `tinygrad_edu/nn/linear.py::Linear`, `tinygrad_edu/nn/losses.py::cross_entropy` and
# `tinygrad_edu/optim/sgd.py::SGD`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import functional as F

tg.manual_seed(0)
points, labels = make_moons(400, noise=0.1, seed=0)        # (400, 2) float, (400,) int
train_x, train_y = Tensor(points[:300]), Tensor(labels[:300])
test_x, test_y = Tensor(points[300:]), Tensor(labels[300:])


def accuracy(model, x, y) -> float:
    with tg.no_grad():
        return float((model(x).numpy().argmax(axis=1) == y.numpy()).mean())


def train(model, steps, lr, momentum=0.9, report_every=None):
    """The training loop, written out: returns the loss of every step."""
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for step in range(steps):
        logits = model(train_x)                     # (300, 2): forward
        loss = F.cross_entropy(logits, train_y)     # a scalar: how wrong, on average
        optimizer.zero_grad()                       # drop the previous step's gradients
        loss.backward()                             # dL/dp for every parameter p
        optimizer.step()                            # p <- p - lr · v
        losses.append(loss.item())
        if report_every and step % report_every == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}  "
                  f"train accuracy {accuracy(model, train_x, train_y):.1%}")
    return losses


# %% [markdown]
# ## 1. A linear model, logits = x Wᵀ + b: the best it can do is a straight boundary.

# %%
linear = nn.Linear(2, 2)
train(linear, steps=200, lr=0.5)
linear_accuracy = accuracy(linear, test_x, test_y)
print(f"linear model: test accuracy {linear_accuracy:.1%} (a straight line cannot follow the "
      f"moons)\n")

# %% [markdown]
# ## 2. One optimizer step by hand: plain SGD (no momentum) is exactly p <- p - lr · grad.

# %%
mlp = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
first_weight = mlp[0].weight
before = first_weight.numpy().copy()
loss = F.cross_entropy(mlp(train_x), train_y)
print(f"initial loss {loss.item():.4f}, close to log 2 = {np.log(2):.4f}: a coin toss")
assert abs(loss.item() - np.log(2)) < 0.1
loss.backward()
optim.SGD(mlp.parameters(), lr=0.1).step()
assert np.allclose(first_weight.numpy(), before - 0.1 * first_weight.grad.numpy())
print("one SGD step moved the first weight matrix by exactly -lr · grad\n")

# %% [markdown]
# ## 3. The full training loop, with momentum.

# %%
losses = train(mlp, steps=301, lr=0.2, report_every=50)
mlp_accuracy = accuracy(mlp, test_x, test_y)
print(f"\nMLP: test accuracy {mlp_accuracy:.1%} on 100 points it never trained on")

assert losses[-1] < 0.1 < losses[0], "training should take the loss from ~0.69 to below 0.1"
assert linear_accuracy < 0.92 and mlp_accuracy >= 0.97, (linear_accuracy, mlp_accuracy)
print("\nLesson 06 done: forward, loss, zero_grad, backward, step, and the moons are learnt.")

# %% [markdown]
# ## Exercises
#
# 1. **The five lines.** `exercise_train_step(model, optimizer, x, y)` does one training step
#    with cross-entropy and returns the loss as a float.
# 2. **Accuracy.** `exercise_accuracy(logits, labels)` returns the fraction of rows of the
#    (N, classes) NumPy array `logits` whose largest entry is at the label's position.
#
# Check your answers: `python lessons/06_first_network.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.nn import functional as F


def exercise_train_step(model, optimizer, x, y):
    """Forward, loss, zero_grad, backward, step; return the loss as a float."""
    raise NotImplementedError("exercise train_step: the five lines of lesson 06")


def exercise_accuracy(logits, labels):
    """The fraction of rows whose arg-max is the label."""
    raise NotImplementedError("exercise accuracy: compare each row's arg-max with its label")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.standard_normal((32, 3))), Tensor(rng.integers(0, 2, 32))

    def fresh():
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    theirs, their_optimizer = fresh()
    losses = [solution.exercise_train_step(theirs, their_optimizer, x, y) for _ in range(20)]
    ours, our_optimizer = fresh()
    for _ in range(20):
        loss = F.cross_entropy(ours(x), y)
        our_optimizer.zero_grad()
        loss.backward()
        our_optimizer.step()
    assert isinstance(losses[-1], float) and losses[-1] < losses[0], \
        f"train_step: the loss should fall and be a float, got {losses[0]} ... {losses[-1]}"
    for (name, p), q in zip(theirs.named_parameters(), ours.parameters()):
        assert np.allclose(p.numpy(), q.numpy(), atol=1e-6), (
            f"train_step: after 20 steps {name} differs from the five-line loop; did you reset "
            f"the gradients before backward()?")
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.0, 0.2], [0.0, 0.1, 0.9]])
    got = solution.exercise_accuracy(logits, np.array([0, 1, 2, 2]))
    assert np.isclose(got, 0.75), f"accuracy gave {got}, expected 3 of 4 rows right = 0.75"
    print("all exercises pass")
