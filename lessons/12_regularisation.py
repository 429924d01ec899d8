# %% [markdown]
# # Lesson 12: regularisation, or how not to learn the training set by heart
#
# A network with far more weights than training examples can fit them perfectly, noise and all,
# and then do worse on new data than it could. Regularisation is everything that trades a little
# training fit for better generalisation:
#
# - **L2 / weight decay**: add (λ/2)·Σ w² to the loss, i.e. λ·w to the gradient, which pulls every
#   weight towards 0 in proportion to its size. With plain SGD that is the same as shrinking
#   w ← (1 - lr·λ)·w each step. With Adam it is not: the λ·w added to the gradient gets divided
#   by Adam's running scale √v̂ like everything else, so it stops being a proportional decay.
#   AdamW decouples it: w ← w - lr·λ·w, outside the adaptive step.
# - **L1**: add λ·Σ |w|. Its pull is λ·sign(w), the same for small weights as for large ones, so it
#   drives unneeded weights to exactly zero: sparsity.
# - **Dropout**: in training, zero each activation with probability p and scale the survivors by
#   1/(1 - p) ("inverted" dropout), so the expected value is unchanged and evaluation uses the
#   network as it is. No unit can rely on any particular other unit.
# - **Early stopping**: watch the loss on held-out data and keep the weights from its best step.
# - **Data augmentation**: train on transformed copies that keep the label (a slightly rotated 3
#   is still a 3).
#
# Held-out data here means a *validation* set carved from the training images; the test images
# are only looked at for the final report.
#
# Run it:  python lessons/12_regularisation.py
# Check the exercises at the end:  python lessons/12_regularisation.py --check
#
# Read along: `tinygrad_edu/optim/adam.py::Adam._update` (where weight decay goes),
# `tinygrad_edu/nn/dropout.py::dropout`, `tinygrad_edu/nn/dropout.py::Dropout` and
# `tinygrad_edu/data/transforms.py::RandomRotation`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data import load_digits
from tinygrad_edu.data.transforms import RandomRotation
from tinygrad_edu.nn import functional as F

(train_images, train_labels), (test_images, test_labels) = load_digits()
few = np.concatenate([np.flatnonzero(train_labels == d)[:10] for d in range(10)])    # 100 images
validation = np.setdiff1d(np.arange(len(train_labels)), few)[:400]                  # 400 others
x_few, y_few = Tensor(train_images[few]), Tensor(train_labels[few])
x_val, y_val = Tensor(train_images[validation]), Tensor(train_labels[validation])
x_test, y_test = Tensor(test_images), Tensor(test_labels)
print(f"training on {len(few)} images (10 per digit), validating on {len(validation)}, "
      f"testing on {len(test_labels)}")


def big_mlp(p_drop=0.0, seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(256, 256), nn.ReLU(), nn.Dropout(p_drop), nn.Linear(256, 10))


def evaluate(model, x, y):
    """(accuracy, loss) in eval mode, without a graph."""
    model.eval()
    with tg.no_grad():
        logits = model(x)                                            # (N, 10)
        loss = F.cross_entropy(logits, y).item()
    model.train()
    return float((logits.numpy().argmax(axis=1) == y.numpy()).mean()), loss


# %% [markdown]
# ## 1. Overfitting on purpose, and early stopping

# %%
model = big_mlp()
print(f"{sum(p.numel() for p in model.parameters()):,} weights for 100 images")
optimizer = optim.Adam(model.parameters(), lr=1e-3)
history, best = [], None
for step in range(401):
    loss = F.cross_entropy(model(x_few), y_few)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        val_accuracy, val_loss = evaluate(model, x_val, y_val)
        history.append((step, loss.item(), val_loss))
        if best is None or val_loss < best[1]:       # early stopping's bookkeeping
            best = (step, val_loss, {k: v.numpy().copy() for k, v in model.state_dict().items()})
    if step == 300:
        norm_plain = np.sqrt(sum((p.numpy() ** 2).sum() for p in model.parameters()))
for step, train_loss, val_loss in history[::5]:
    print(f"  step {step:3d}: training loss {train_loss:.4f}   validation loss {val_loss:.3f}")
train_accuracy, train_loss = evaluate(model, x_few, y_few)
_, last_val_loss = evaluate(model, x_val, y_val)
last_test_accuracy, _ = evaluate(model, x_test, y_test)
model.load_state_dict(best[2])                        # early stopping: back to the best step
best_test_accuracy, _ = evaluate(model, x_test, y_test)
print(f"after 400 steps: training accuracy {train_accuracy:.0%} (loss {train_loss:.5f}), "
      f"validation loss {last_val_loss:.3f}, test accuracy {last_test_accuracy:.1%}")
print(f"early stopping keeps step {best[0]} (validation loss {best[1]:.3f}): "
      f"test accuracy {best_test_accuracy:.1%}")
assert train_accuracy == 1.0 and train_loss < 1e-2          # learnt by heart
assert best[0] < 200 and last_val_loss > 1.1 * best[1]      # while the held-out loss rose again
# The validation *loss* grows because the network grows ever more confident, also on the images
# it gets wrong; the accuracy moves much less. Early stopping guards against the former.

# %% [markdown]
# ## 2. L2 in Adam is not weight decay; AdamW's is
#
# Take a weight whose loss gradient is zero, so only the regulariser acts on it. Adam with
# `weight_decay=λ` sees the gradient λ·w and divides it by its own scale √v̂ ≈ |λ·w|: the step is
# about lr whatever λ is. AdamW shrinks w by lr·λ·w, in proportion to λ.

# %%
def decay_step(optimizer_class, weight_decay, lr=0.01):
    """How far one weight w = 1 moves in its first step when only weight decay pulls on it."""
    w = Tensor(np.array([1.0]), requires_grad=True)
    optimizer = optimizer_class([w], lr=lr, weight_decay=weight_decay)
    w.grad = Tensor(np.array([0.0]))                       # the loss does not care about w
    optimizer.step()
    return 1.0 - w.item()


for weight_decay in (1e-3, 1e-1):
    adam, adamw = decay_step(optim.Adam, weight_decay), decay_step(optim.AdamW, weight_decay)
    print(f"  λ = {weight_decay:g}:  Adam (L2) moves w by {adam:.5f},  AdamW by {adamw:.5f}")
    assert np.isclose(adam, 0.01, rtol=1e-3)               # lr, whatever λ is
    assert np.isclose(adamw, 0.01 * weight_decay)          # lr·λ·w

decayed = big_mlp()
optimizer = optim.AdamW(decayed.parameters(), lr=1e-3, weight_decay=1.0)
for step in range(300):
    loss = F.cross_entropy(decayed(x_few), y_few)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
norm_decayed = np.sqrt(sum((p.numpy() ** 2).sum() for p in decayed.parameters()))
print(f"weight norm after 300 steps: without decay {norm_plain:.1f}, AdamW with λ = 1 "
      f"{norm_decayed:.1f}; test accuracy with decay {evaluate(decayed, x_test, y_test)[0]:.1%}")
assert norm_decayed < 0.9 * norm_plain

# %% [markdown]
# ## 3. L1 makes weights exactly zero, L2 only small
#
# A linear classifier, 64 pixels -> 10 digits, trained with a proximal step for L1: after the
# gradient step, w ← sign(w)·max(|w| - lr·λ, 0) ("soft thresholding"), the exact minimiser of
# the L1 term around the new point. A plain gradient step on λ·|w| would jump across zero and
# back, never landing on it.

# %%
def linear_classifier(penalty: str, lam: float, steps=300, lr=0.5):
    tg.manual_seed(0)
    layer = nn.Linear(64, 10)
    optimizer = optim.SGD(layer.parameters(), lr=lr, weight_decay=lam if penalty == "l2" else 0)
    for _ in range(steps):
        loss = F.cross_entropy(layer(x_few.reshape(100, 64)), y_few)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if penalty == "l1":
            w = layer.weight.data
            layer.weight.data = np.sign(w) * np.maximum(np.abs(w) - lr * lam, 0)
    return layer


for penalty in ("l2", "l1"):
    layer = linear_classifier(penalty, 0.01)
    zeros = float((layer.weight.numpy() == 0).mean())
    accuracy = float((layer(x_test.reshape(-1, 64)).numpy().argmax(axis=1) == test_labels).mean())
    print(f"  {penalty}: {zeros:.0%} of the weights exactly zero, test accuracy {accuracy:.1%}")
    if penalty == "l1":
        assert zeros > 0.4, zeros
    else:
        assert zeros == 0.0

# %% [markdown]
# ## 4. Dropout: inverted scaling in training, the identity in evaluation

# %%
tg.manual_seed(0)
ones = tg.ones(100_000)
dropped = F.dropout(ones, p=0.3, training=True).numpy()
print(f"dropout p = 0.3 in training: {np.mean(dropped == 0):.3f} zeroed, survivors "
      f"{dropped[dropped > 0][0]:.4f} = 1/0.7, mean {dropped.mean():.4f}")
assert abs(np.mean(dropped == 0) - 0.3) < 0.01
assert np.allclose(dropped[dropped > 0], 1 / 0.7) and abs(dropped.mean() - 1) < 0.01
layer = nn.Dropout(0.3)
layer.eval()
assert np.array_equal(layer(ones).numpy(), ones.numpy())     # evaluation: no noise, no scaling
with_dropout = big_mlp(p_drop=0.5)
outputs = [with_dropout(x_val[:4]).numpy() for _ in range(2)]
assert not np.allclose(*outputs)                            # training mode: a new mask each call
with_dropout.eval()
assert np.array_equal(with_dropout(x_val[:4]).numpy(), with_dropout(x_val[:4]).numpy())
print("nn.Dropout in a model: random in train(), deterministic in eval()")

# %% [markdown]
# ## 5. Augmentation, measured
#
# Five images per digit, a smaller network, 200 steps; with and without rotating every training
# batch by a random angle in ±15°, for three different draws of the five images.

# %%
def augmented_run(seed: int, augment) -> float:
    picked = np.concatenate([np.flatnonzero(train_labels == d)[5 * seed:5 * seed + 5]
                             for d in range(10)])
    tg.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        images = train_images[picked] if augment is None else augment(train_images[picked])
        loss = F.cross_entropy(net(Tensor(images)), Tensor(train_labels[picked]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return evaluate(net, x_test, y_test)[0]


plain = [augmented_run(seed, None) for seed in range(3)]
rotated = [augmented_run(seed, RandomRotation(15, generator=seed)) for seed in range(3)]
print(f"test accuracy, 50 training images: plain {np.round(plain, 3)} (mean {np.mean(plain):.3f}), "
      f"with rotations {np.round(rotated, 3)} (mean {np.mean(rotated):.3f})")
assert np.mean(rotated) > np.mean(plain)

print("\nLesson 12 done: penalise size, drop units, stop early, augment: fit less, generalise more.")

# %% [markdown]
# ## Exercises
#
# 1. **Inverted dropout.** `exercise_dropout(x, p, training, rng)` returns NumPy dropout of `x`:
#    in training, each entry zeroed with probability p (draw with `rng.random`) and the others
#    scaled so the expected value is unchanged; in evaluation `x` itself.
# 2. **Soft thresholding.** `exercise_l1_proximal_step(w, grad, lr, lam)` returns the weights
#    after a gradient step on the loss followed by the L1 proximal step of section 3.
#
# Check your answers: `python lessons/12_regularisation.py --check`.

# %% tags=["exercises"]
import types

import numpy as np


def exercise_dropout(x, p, training, rng):
    """Inverted dropout of the NumPy array x."""
    raise NotImplementedError("exercise dropout: a random mask, and scale the survivors")


def exercise_l1_proximal_step(w, grad, lr, lam):
    """w - lr·grad, then shrunk towards 0 by lr·lam and clipped at 0 (soft thresholding)."""
    raise NotImplementedError("exercise l1_proximal_step: sign(w)·max(|w| - lr·lam, 0)")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    x = np.full(200_000, 2.0)
    out = np.asarray(solution.exercise_dropout(x, 0.25, True, np.random.default_rng(0)))
    assert abs((out == 0).mean() - 0.25) < 0.01, f"dropout zeroed {(out == 0).mean():.3f}, not p"
    assert abs(out.mean() - 2.0) < 0.02, (
        f"dropout in training changed the mean from 2.0 to {out.mean():.3f}: scale the "
        f"survivors by 1/(1 - p)")
    same = solution.exercise_dropout(x, 0.25, False, np.random.default_rng(0))
    assert np.array_equal(same, x), "dropout in evaluation must return the input unchanged"
    w, grad = np.array([0.5, -0.02, 0.01, -0.3, 0.0]), np.array([0.1, 0.0, 0.0, -0.1, 0.0])
    got = np.asarray(solution.exercise_l1_proximal_step(w, grad, 0.1, 0.5))
    expected = np.array([0.44, 0.0, 0.0, -0.24, 0.0])
    assert np.allclose(got, expected), (
        f"l1_proximal_step gave {got}, expected {expected}: weights within lr·lam of zero must "
        f"land on exactly zero, not jump across it")
    print("all exercises pass")
