# %% [markdown]
# # Lesson 07: a convolutional network on real handwriting, with the library's training loop
#
# Lesson 06 wrote the loop by hand. A real run needs more around the same five lines, and
# ``tinygrad_edu.train.fit`` provides it:
#
# - mini-batches: a ``DataLoader`` serves 64 images at a time in a new random order every epoch,
#   so each step is cheap and the gradient is a noisy but fair estimate of the full one;
# - a learning-rate schedule: a short linear warm-up, then a cosine decay;
# - evaluation on the test images after every epoch, in ``model.eval()`` mode and without a graph;
# - a history of the metrics, and a checkpoint that holds everything needed to continue.
#
# The data are scikit-learn's 8x8 handwritten digits: 1,442 training images and 355 test images
# (every fifth image of each digit) that the model never trains on. The model is LeNet-5 (``tg.models.CNN``), sized for 8x8 inputs:
#
#     (N, 1, 8, 8) -> conv 5x5 (6 maps), relu, pool 2 -> (N, 6, 4, 4)
#                  -> conv 5x5 (16 maps), relu, pool 2 -> (N, 16, 2, 2) -> flatten (N, 64)
#                  -> 120 -> 84 -> 10 logits
#
# A convolution applies the same small filter at every position, so a stroke detector learnt in
# one corner works everywhere, with far fewer weights than a Linear layer on all 64 pixels.
#
# Run it:  python lessons/07_training_a_cnn.py
# Check the exercises at the end:  python lessons/07_training_a_cnn.py --check
#
# Read along: `tinygrad_edu/train/loop.py::fit` (the loop around the five lines) and
# `tinygrad_edu/models/cnn.py::CNN`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import tempfile
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.data import DataLoader, TensorDataset, load_digits
from tinygrad_edu.models import CNN
from tinygrad_edu.train import (FitSettings, build_model, evaluate, fit, load_checkpoint,
                                plot_history)

EPOCHS = 8
# Images of 8x8 are so small that the readable NumPy convolution is faster here than the
# compiled Numba kernels (which also pay seconds of compilation on their first run); lesson 18
# measures both. The choice changes results only by rounding.
tg.kernels.set_default("numpy")
tg.manual_seed(0)
(train_images, train_labels), (test_images, test_labels) = load_digits()
print(f"training images {train_images.shape}, test images {test_images.shape}")

train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=64,
                          shuffle=True, seed=0)
test_loader = DataLoader(TensorDataset(test_images, test_labels), batch_size=360)
print(f"{len(train_loader)} steps per epoch")

model = CNN(in_channels=1, num_classes=10, image_size=8)
print(f"LeNet-5 for 8x8 images: {model.num_parameters():,} parameters")
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
steps = EPOCHS * len(train_loader)
scheduler = optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=len(train_loader),
                                              total_steps=steps, min_lr=3e-5)
before = evaluate(model, test_loader)
print(f"before training: test loss {before['loss']:.3f} (log 10 = {np.log(10):.3f}), "
      f"accuracy {before['accuracy']:.1%}")

# %% [markdown]
# ## Training with `fit`
#
# `fit` evaluates on whatever ``eval_data`` it is given and records the result under the names
# ``val_loss`` and ``val_accuracy``, the slot a validation split would fill. Here we hand it the
# *test* split, so those numbers are test numbers, and the lesson calls them that. (Choosing
# settings by the test score would make it optimistic; that is what a separate validation split
# is for.)

# %%
with tempfile.TemporaryDirectory() as folder:
    checkpoint_path = Path(folder) / "checkpoint.npz"
    settings = FitSettings(epochs=EPOCHS, checkpoint_path=checkpoint_path, progress=False,
                           checkpoint_meta={"model_name": "cnn", "model_config": {"image_size": 8}})
    result = fit(model, optimizer, train_loader, settings, scheduler=scheduler,
                 eval_data=test_loader)
    after = evaluate(model, test_loader)
    assert after["loss"] == result.last_eval["val_loss"]   # fit's "val_" record is the test split
    print(f"after {EPOCHS} epochs: test loss {after['loss']:.3f}, "
          f"accuracy {after['accuracy']:.1%}")

    # The history is a list of dicts; the first one is the first logged step.
    print("first record of the history:", {key: round(value, 4) for key, value in
                                            result.history[0].items()})
    curves = plot_history(result.history, "lesson07_curves.png")
    print(f"training curves saved to {curves.name} (its val_ curves are the test split)")

    # The checkpoint rebuilds the same model: same weights, same test metrics.
    checkpoint = load_checkpoint(checkpoint_path, expected_model="cnn")
    rebuilt = build_model(checkpoint)
    again = evaluate(rebuilt, test_loader)
    print(f"rebuilt from the checkpoint (step {checkpoint['progress']['step']}): "
          f"accuracy {again['accuracy']:.1%}")

assert result.step == steps and not result.interrupted
assert after["loss"] < before["loss"] / 3
assert after["accuracy"] > 0.8, after
assert again["accuracy"] == after["accuracy"]
print("\nLesson 07 done: mini-batches, a schedule, evaluation and a checkpoint around the same loop.")

# %% [markdown]
# ## Exercises
#
# 1. **Output size.** `exercise_conv_output_size(size, kernel_size, stride, padding)` returns the
#    side of a convolution's (or pooling's) output: ⌊(size + 2·padding - kernel_size) / stride⌋ + 1.
# 2. **Parameters of a convolution.** `exercise_conv_parameters(in_channels, out_channels,
#    kernel_size)` returns how many numbers an `nn.Conv2d` with a bias learns.
#
# Check your answers: `python lessons/07_training_a_cnn.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor, nn
from tinygrad_edu.nn import functional as F


def exercise_conv_output_size(size, kernel_size, stride=1, padding=0):
    """The side of the output of a kernel_size window slid over size (+ padding) by stride."""
    raise NotImplementedError("exercise conv_output_size: count the window positions")


def exercise_conv_parameters(in_channels, out_channels, kernel_size):
    """The number of weights and biases of nn.Conv2d(in_channels, out_channels, kernel_size)."""
    raise NotImplementedError("exercise conv_parameters: one filter per output channel, plus bias")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for size, kernel, stride, padding in [(8, 5, 1, 2), (28, 5, 1, 0), (7, 3, 2, 1), (10, 2, 2, 0),
                                          (9, 4, 3, 0)]:
        x = Tensor(np.zeros((1, 1, size, size)))
        expected = F.conv2d(x, Tensor(np.zeros((1, 1, kernel, kernel))), stride=stride,
                            padding=padding).shape[-1]
        got = solution.exercise_conv_output_size(size, kernel, stride, padding)
        assert got == expected, (f"conv_output_size{(size, kernel, stride, padding)} = {got}, "
                                 f"F.conv2d gives {expected}: a whole number of positions")
    for shape in [(1, 6, 5), (6, 16, 5), (3, 8, 3)]:
        expected = sum(p.numel() for p in nn.Conv2d(*shape).parameters())
        got = solution.exercise_conv_parameters(*shape)
        assert got == expected, f"conv_parameters{shape} = {got}, nn.Conv2d has {expected}"
    print("all exercises pass")
