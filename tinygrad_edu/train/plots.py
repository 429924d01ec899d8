"""Pictures of a training run: the learning curves, and the test images the model got wrong.

Both are drawn with matplotlib's object-oriented API: a ``Figure`` is made directly and saved
with ``Figure.savefig``, which renders it with the Agg backend (a pure raster renderer that
needs no display). ``matplotlib.pyplot`` is never imported, so nothing here changes the backend
of a notebook or a script that imports this library, and nothing opens a window.

The learning curves
    Left: the training loss (the running mean over each logging window) and the validation
    loss, against the step. A validation curve that turns upward while the training curve keeps
    falling is the picture of overfitting. Right, for classifiers: the accuracies.

The misclassified grid
    Test images the model got wrong, each titled "true -> predicted": the quickest way to see
    whether its mistakes are understandable (a sloppy 4 read as a 9) or a sign of a bug.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure   # imported here: only a run that draws pays for it
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _series(history: list, key: str):
    """(steps, values) of every record in ``history`` that has ``key``."""
    points = [(record["step"], record[key]) for record in history if key in record]
    return [step for step, _ in points], [value for _, value in points]


def plot_history(history: list, path, title: str = "") -> Path:
    """Save the loss curves (and the accuracy curves, when recorded) as a PNG at ``path``."""
    has_accuracy = any("train_accuracy" in record or "val_accuracy" in record
                       for record in history)
    figure = _new_figure(11 if has_accuracy else 6, 4)
    axes = figure.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
    panels = [("loss", axes[0])] + ([("accuracy", axes[1])] if has_accuracy else [])
    for metric, ax in panels:
        for split in ("train", "val"):
            steps, values = _series(history, f"{split}_{metric}")
            sparse = split == "val" and len(steps) <= 50   # few evaluations: mark each one
            if steps:
                ax.plot(steps, values, "o-" if sparse else "-", markersize=3, label=split)
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    path = Path(path)
    figure.savefig(path)
    return path


def plot_misclassified(images, labels, predictions, path, max_images: int = 36,
                       class_names=None) -> Path:
    """Save a grid of the images (N, C, H, W) whose prediction differs from the label."""
    images, labels, predictions = np.asarray(images), np.asarray(labels), np.asarray(predictions)
    wrong = np.flatnonzero(labels != predictions)[:max_images]
    columns = max(1, min(6, len(wrong)))
    rows = max(1, -(-len(wrong) // columns))
    figure = _new_figure(1.6 * columns, 1.8 * rows)
    figure.suptitle(f"{int((labels != predictions).sum())} of {len(labels)} test images "
                    f"misclassified (true -> predicted)")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    name = (lambda k: str(class_names[k])) if class_names is not None else str
    for ax in axes:
        ax.axis("off")
    for ax, index in zip(axes, wrong):
        picture = images[index]                                 # (C, H, W)
        picture = picture[0] if picture.shape[0] == 1 else picture.transpose(1, 2, 0)
        ax.imshow(picture, cmap="gray_r" if picture.ndim == 2 else None)
        ax.set_title(f"{name(labels[index])} -> {name(predictions[index])}", fontsize=9)
    path = Path(path)
    figure.savefig(path)
    return path
