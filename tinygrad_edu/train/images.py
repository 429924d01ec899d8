"""Recipes for the image classifiers: MLP and CNN on handwritten digits.

A recipe turns a few settings (data, epochs, batch size, learning rate, seed) into everything
the training loop needs:

    data        the 8x8 digits bundled with scikit-learn ("digits", the default) or MNIST
                (28x28, "mnist", read from ``data_dir``); pixels in [0, 1]
    augmentation  Gaussian noise on every pixel of every training image (std 0.3 for the MLP,
                0.2 for the CNN), new each time: the network cannot memorise the exact pixels
                of the 1,241 training images, so it learns the strokes instead
    model       MLP: the image flattened to a vector, two hidden layers of 256 ReLUs;
                CNN: LeNet-5 sized to the images (tg.models.CNN)
    optimizer   AdamW with a linear warm-up over the first epoch, then a cosine decay to 1%
    validation  carved from the training images (``data/splits.py``): every 7th image of each
                digit (201 of the 1,442 digits), every 12th on MNIST (5,000 of 60,000);
                evaluated once per epoch, plotted, and the basis of every choice in a recipe
    test        the fixed test split, measured once, after training
    length      on the digits 200 epochs of 20 steps; on MNIST 10 (MLP) or 5 (CNN) epochs

Why noise rather than rotations or shifts: on 8x8 images a rotation or a one-pixel shift is a
large, blurring change (a pixel is an eighth of the digit), and in trials it lowered the test
accuracy, while the noise, with long training, raised it by three to five points (measured on
a harder split by writers, see `data/digits.py`).

After training, :func:`finish_images` saves the learning curves and a grid of the test images
the model got wrong, and reports the test accuracy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend, optim
from ..autograd import no_grad
from ..data import (DataLoader, TensorDataset, load_digits, load_mnist, make_generator,
                    split_validation, transforms)
from ..data.mnist import DataNotFoundError
from ..models import CNN, MLP
from .checkpoint import SettingsError
from .plots import plot_history, plot_misclassified

HIDDEN = 256
WARMUP_EPOCHS = 1
EVAL_BATCH_SIZE = 500
DEFAULT_EPOCHS = {"digits": {"mlp": 200, "cnn": 200},   # 1,241 images: many short epochs
                  "mnist": {"mlp": 10, "cnn": 5}}       # 55,000 images
VALIDATION_EVERY = {"digits": 7, "mnist": 12}          # every k-th image of each class


class GaussianNoise:
    """A batched transform: x + std·ε with ε ~ N(0, 1) drawn afresh for every pixel.

    The draws come from the library's generator (``tg.manual_seed``), whose state a checkpoint
    saves, so a resumed run adds the same noise as an uninterrupted one."""

    batched = True

    def __init__(self, std: float):
        self.std = std

    def __call__(self, images):
        noise = make_generator(None).standard_normal(images.shape)   # (N, C, H, W)
        return images + (self.std * noise).astype(images.dtype)


class FlattenImages:
    """A batched transform: images (N, C, H, W) -> vectors (N, C·H·W), the MLP's input."""

    batched = True

    def __call__(self, images):
        return images.reshape(len(images), -1)   # (N, C·H·W)


def load_images(settings: dict):
    """(train, validation, test) ``LabeledImages`` of the chosen data."""
    if settings["data"] == "digits":
        data = load_digits()
    elif settings["data"] == "mnist":
        data_dir = settings.get("data_dir")
        if data_dir is not None and not Path(data_dir).is_dir():
            raise DataNotFoundError(f"--data-dir {data_dir}: no such directory (it should hold "
                                    f"the four MNIST IDX files)")
        try:
            data = load_mnist(data_dir, download=data_dir is None)
        except DataNotFoundError as error:
            if data_dir is None:
                raise
            reason = str(error).removeprefix("load_mnist: ")
            raise DataNotFoundError(f"--data-dir {data_dir}: {reason}") from error
    else:
        raise SettingsError(f"image models train on --data digits or --data mnist, "
                            f"not {settings['data']!r}")
    train, validation = split_validation(data.train, VALIDATION_EVERY[settings["data"]])
    return train, validation, data.test


def prepare_images(kind: str, settings: dict, device: str) -> dict:
    """Model, optimizer, schedule, loaders and checkpoint metadata for "mlp" or "cnn"."""
    (train_images, train_labels), validation, test = load_images(settings)
    channels, height, width = train_images.shape[1:]
    flatten = FlattenImages() if kind == "mlp" else (lambda images: images)
    pipeline = [GaussianNoise(settings["noise"])] if settings["noise"] else []
    if kind == "mlp":
        config = {"sizes": [channels * height * width, HIDDEN, HIDDEN, 10], "activation": "relu"}
        model = MLP(**config)
        pipeline.append(FlattenImages())
    else:
        config = {"in_channels": int(channels), "num_classes": 10, "image_size": int(height),
                  "width": settings.get("width", 1)}
        model = CNN(**config)
    model.to(device)
    train_loader = DataLoader(TensorDataset(train_images, train_labels,
                                            transform=transforms.Compose(pipeline)
                                            if pipeline else None),
                              batch_size=settings["batch_size"], shuffle=True,
                              seed=settings["seed"], device=device)
    val_loader, test_loader = (DataLoader(TensorDataset(flatten(images), labels),
                                          batch_size=EVAL_BATCH_SIZE, device=device)
                               for images, labels in (validation, test))
    epochs = settings["epochs"] or DEFAULT_EPOCHS[settings["data"]][kind]
    steps = settings["steps"] or epochs * len(train_loader)
    optimizer = optim.AdamW(model.parameters(), lr=settings["lr"],
                            weight_decay=settings["weight_decay"])
    warmup = min(WARMUP_EPOCHS * len(train_loader), steps // 2)
    scheduler = optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=warmup,
                                                  total_steps=max(steps, warmup + 1),
                                                  min_lr=settings["lr"] / 100)
    return {"model": model, "optimizer": optimizer, "scheduler": scheduler,
            "train_data": train_loader, "eval_data": val_loader, "steps": steps,
            "fit_options": {"log_every": max(1, len(train_loader) // 4),
                            "eval_every": len(train_loader), "accuracy": True},
            "meta": {"model_name": kind, "model_config": config},
            "test": test, "test_data": test_loader}


@no_grad()
def predict(model, loader) -> np.ndarray:
    """The predicted class of every sample a loader serves, in order."""
    model.eval()
    predictions = [model(x).data.argmax(axis=-1) for x, _ in loader]
    model.train()
    return np.concatenate([backend.asnumpy(p) for p in predictions])


def finish_images(recipe: dict, result, out_dir: Path) -> list[str]:
    """Measure the test set, once; save the curves and the misclassified grid; return lines
    for the run's summary."""
    test_images, test_labels = recipe["test"]
    predictions = predict(recipe["model"], recipe["test_data"])
    accuracy = float((predictions == test_labels).mean())
    validation = result.last_eval.get("val_accuracy")
    curves = plot_history(result.history, out_dir / "curves.png",
                          title=f"{recipe['meta']['model_name']}: validation accuracy "
                                f"{validation:.2%}" if validation is not None else "")
    grid = plot_misclassified(test_images, test_labels, predictions, out_dir / "misclassified.png")
    lines = [f"validation accuracy: {validation:.2%}"] if validation is not None else []
    return [*lines, f"test accuracy: {accuracy:.2%} ({int((predictions == test_labels).sum())} "
            f"of {len(test_labels)})", f"learning curves: {curves}",
            f"misclassified test images: {grid}"]
