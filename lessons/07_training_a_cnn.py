"""Lesson 07: a convolutional network on real handwriting, with the library's training loop.

Lesson 06 wrote the loop by hand. A real run needs more around the same five lines, and
``tinygrad_edu.train.fit`` provides it:

- mini-batches: a ``DataLoader`` serves 64 images at a time in a new random order every epoch,
  so each step is cheap and the gradient is a noisy but fair estimate of the full one;
- a learning-rate schedule: a short linear warm-up, then a cosine decay;
- evaluation on the test images after every epoch, in ``model.eval()`` mode and without a graph;
- a history of the metrics, and a checkpoint that holds everything needed to continue.

The data are scikit-learn's 8x8 handwritten digits: 1,442 training images and 355 test images
(every fifth image of each digit) that the model never trains on. The model is LeNet-5 (``tg.models.CNN``), sized for 8x8 inputs:

    (N, 1, 8, 8) -> conv 5x5 (6 maps), relu, pool 2 -> (N, 6, 4, 4)
                 -> conv 5x5 (16 maps), relu, pool 2 -> (N, 16, 2, 2) -> flatten (N, 64)
                 -> 120 -> 84 -> 10 logits

A convolution applies the same small filter at every position, so a stroke detector learnt in
one corner works everywhere, with far fewer weights than a Linear layer on all 64 pixels.

Run it:  python lessons/07_training_a_cnn.py
"""
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

with tempfile.TemporaryDirectory() as folder:
    checkpoint_path = Path(folder) / "checkpoint.npz"
    settings = FitSettings(epochs=EPOCHS, checkpoint_path=checkpoint_path, progress=False,
                           checkpoint_meta={"model_name": "cnn", "model_config": {"image_size": 8}})
    result = fit(model, optimizer, train_loader, settings, scheduler=scheduler,
                 eval_data=test_loader)
    after = result.last_eval
    print(f"after {EPOCHS} epochs: test loss {after['val_loss']:.3f}, "
          f"accuracy {after['val_accuracy']:.1%}")

    # The history is a list of dicts; the first one is the first logged step.
    print("first record of the history:", {key: round(value, 4) for key, value in
                                            result.history[0].items()})
    curves = plot_history(result.history, Path(folder) / "curves.png")
    assert curves.read_bytes()[:4] == b"\x89PNG"

    # The checkpoint rebuilds the same model: same weights, same test metrics.
    checkpoint = load_checkpoint(checkpoint_path, expected_model="cnn")
    rebuilt = build_model(checkpoint)
    again = evaluate(rebuilt, test_loader)
    print(f"rebuilt from the checkpoint (step {checkpoint['progress']['step']}): "
          f"accuracy {again['accuracy']:.1%}")

assert result.step == steps and not result.interrupted
assert after["val_loss"] < before["loss"] / 3
assert after["val_accuracy"] > 0.8, after
assert again["accuracy"] == after["val_accuracy"]
print("lesson 07 ok")
