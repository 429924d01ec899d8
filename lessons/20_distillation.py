# %% [markdown]
# # Lesson 20: knowledge distillation, a small student taught by a large teacher
#
# A label says "this is a 7". A trained network says more: "a 7, a bit like a 1, nothing like
# a 0". Hinton, Vinyals and Dean (2015) train a small *student* to match those full
# predictions of a large *teacher*. The small probabilities are nearly zero at temperature 1,
# so both logits are divided by a temperature T > 1 first, which spreads the distribution:
#
#     loss = α · T² · KL(softmax(z_teacher / T) ‖ softmax(z_student / T))
#            + (1 - α) · CE(z_student, label)
#
# The gradient of the KL term with respect to a student logit is (p_student - p_teacher) / T,
# and the difference of the softened probabilities itself shrinks like 1/T, so the term's
# gradients shrink like 1/T²: the factor T² puts them back on the scale of the label term.
#
# Run it:  python lessons/20_distillation.py
# Check the exercises at the end:  python lessons/20_distillation.py --check
#
# Read along: `tinygrad_edu/nn/distillation.py::distillation_loss` and
# `tinygrad_edu/train/distill.py::train_student`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor
from tinygrad_edu.data import load_digits
from tinygrad_edu.models import MLP
from tinygrad_edu.train.distill import accuracy, logits_of, train_student, train_teacher

(train_x, train_y), (test_x, test_y) = load_digits()

# %% [markdown]
# ## A teacher, and what its predictions say
#
# A LeNet-5 (`tg.models.CNN`) trained on the 1,442 training digits for a few epochs.

# %%
teacher = train_teacher(train_x, train_y, epochs=15, seed=0)
print(f"teacher: {accuracy(teacher, test_x, test_y):.2%} test accuracy")
z = logits_of(teacher, test_x[:1])[0]                    # logits of one test image (10,)


def entropy(p):
    return float(-(p * np.log(p + 1e-30)).sum())


for temperature in (1.0, 4.0):
    p = Tensor(z / temperature).softmax(axis=-1).numpy()
    print(f"T = {temperature}: p = {np.round(p, 3)}  entropy {entropy(p):.2f} nats")
soft, sharp = (Tensor(z / t).softmax(axis=-1).numpy() for t in (4.0, 1.0))
assert entropy(soft) > entropy(sharp) and soft.argmax() == sharp.argmax()

# %% [markdown]
# ## The loss, by hand and by `F.distillation_loss`

# %%
rng = np.random.default_rng(0)
student_z, teacher_z = rng.standard_normal((2, 5, 10))
labels = rng.integers(0, 10, size=5)
T, alpha = 4.0, 0.9


def softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


p_t, p_s = softmax(teacher_z / T), softmax(student_z / T)
kl = (p_t * np.log(p_t / p_s)).sum() / len(labels)
ce = -np.log(softmax(student_z)[np.arange(5), labels]).mean()
by_hand = alpha * T ** 2 * kl + (1 - alpha) * ce
ours = F.distillation_loss(Tensor(student_z), Tensor(teacher_z), Tensor(labels), T, alpha).item()
print(f"by hand {by_hand:.6f}, F.distillation_loss {ours:.6f}")
assert np.isclose(by_hand, ours)

# %% [markdown]
# ## Why T²: the soft term's gradient with and without it

# %%
for temperature in (2.0, 8.0):
    s = Tensor(student_z, requires_grad=True)
    F.distillation_loss(s, Tensor(teacher_z), Tensor(labels), temperature, alpha=1.0).backward()
    with_t2 = np.linalg.norm(s.grad.numpy())
    print(f"T = {temperature}: gradient norm with T² {with_t2:.3f}, "
          f"without {with_t2 / temperature ** 2:.4f}")
    if temperature == 2.0:
        first = with_t2
assert 0.7 < with_t2 / first < 1.3   # with T² the scale hardly moves; without, it falls 16x

# %% [markdown]
# ## Where the teacher's knowledge pays: images without labels
#
# Suppose only 100 of the training images are labelled. A small MLP (64-32-10, 2,410
# parameters, 9x fewer than the teacher's 21,386) trained on those 100 alone, against the same
# MLP trained on all 1,442 images with the teacher's softened predictions as targets
# (α = 1: no labels needed), at T = 2: this teacher, trained briefly, has small margins between
# its top classes, which T = 4 would flatten almost away. Each student gets about 600 steps,
# at the learning rate 1e-2 that suits such a small network. The teacher passes on what it
# learnt from the labels it saw.

# %%
few = np.random.default_rng(1).choice(len(train_x), 100, replace=False)
results = {}
for name in ("labels alone (100 images)", "distilled (1,442 images)"):
    tg.manual_seed(0)
    student = MLP([64, 32, 10])
    if name.startswith("labels"):
        train_student(student, train_x[few], train_y[few], epochs=300, seed=0, lr=1e-2)
    else:
        pseudo = logits_of(teacher, train_x).argmax(axis=1)   # unused at alpha = 1
        train_student(student, train_x, pseudo, epochs=26, seed=0, teacher=teacher,
                      temperature=2.0, alpha=1.0, lr=1e-2)
    results[name] = accuracy(student, test_x, test_y)
    print(f"student, {name}: {results[name]:.2%}")
alone, distilled = results.values()
assert distilled > alone + 0.02
print("\nLesson 20 done: soften the teacher's logits with T, scale by T², and let a small student learn.")

# %% [markdown]
# With the same labelled images for both, the gain needs a student with capacity to spare.
# Taught by a LeNet-5 twice as wide (`CNN(width=2)`), the MLP 64-110-10, 10x smaller, reached
# 97.46% on these digits from the labels alone and 98.50% distilled (T = 2, α = 0.9, 150
# epochs, three seeds, each one a win); on MNIST the 784-30-10 student gained half a point on
# every seed, while alone it began to memorise its labels. 10x smaller than LeNet-5 itself is,
# on MNIST, an MLP 784-7-10, too narrow to fit even the labels, and distillation did not help
# it (README; `python -m benchmarks.techniques distill`).
# Distillation is a tool to try and measure, not a free lunch.

# %% [markdown]
# ## Exercises
#
# 1. `exercise_soft_targets(logits, temperature)`: softmax(logits / T) of a batch (N, C).
# 2. `exercise_distillation_loss(student, teacher, labels, temperature, alpha)`: the loss
#    above in NumPy, for logits (N, C) and labels (N,).

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor


def exercise_soft_targets(logits, temperature):
    """softmax(logits / temperature) along the classes."""
    raise NotImplementedError("exercise soft_targets: divide by T, then a stable softmax")


def exercise_distillation_loss(student, teacher, labels, temperature, alpha):
    """alpha·T²·KL(p_teacher ‖ p_student) (batch mean) + (1 - alpha)·CE(student, labels)."""
    raise NotImplementedError("exercise distillation_loss: soften both, KL, T², plus CE")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 6)) * 3
    for temperature in (1.0, 3.0):
        got = np.asarray(solution.exercise_soft_targets(logits, temperature))
        expected = Tensor(logits / temperature).softmax(axis=-1).numpy()
        assert np.allclose(got, expected), (
            f"soft_targets(T={temperature}) rows {np.round(got[0], 3)}, expected "
            f"{np.round(expected[0], 3)}: divide the logits by T before the softmax")
    student, teacher = rng.standard_normal((2, 5, 6))
    labels = rng.integers(0, 6, size=5)
    for temperature, alpha in [(4.0, 0.9), (2.0, 0.3)]:
        expected = F.distillation_loss(Tensor(student), Tensor(teacher), Tensor(labels),
                                       temperature, alpha).item()
        got = float(solution.exercise_distillation_loss(student, teacher, labels, temperature,
                                                        alpha))
        assert np.isclose(got, expected), (
            f"distillation_loss(T={temperature}, alpha={alpha}) = {got:.5f}, expected "
            f"{expected:.5f}: KL(teacher ‖ student) summed over classes, averaged over the "
            f"batch, times alpha·T²; the cross-entropy uses the unsoftened student logits")
    print("all exercises pass")
