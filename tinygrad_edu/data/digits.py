"""``load_digits()``: a small real image dataset that is always there, no download needed.

scikit-learn ships the UCI "optical recognition of handwritten digits" test set inside the
package: 1,797 grey images of 8x8 pixels, each pixel a count 0..16 (how many of 16 dots in a
4x4 block of the 32x32 scan were black), labelled with the digit 0..9. It trains in seconds on
a CPU, which makes it the default image data of the lessons.

The split is fixed and uses no random numbers, so it can never change between library versions:
the **first 1,437 images** (in scikit-learn's order) are the training set and the **last 360**
the test set. The images were written by different people in sequence, so the test digits come
largely from writers the model never saw: an honest test. Both parts hold every digit about
equally often (33 to 37 of each in the test set).

Pixels are scaled to [0, 1] (divided by 16) and stored as float32 images ``(N, 1, 8, 8)``;
labels are int64.

Importing scikit-learn takes seconds, so the bundled file (``sklearn/datasets/data/digits.csv.gz``:
one row per image, 64 pixel counts then the label) is read directly when it is where scikit-learn
keeps it; otherwise ``sklearn.datasets.load_digits`` is asked for the same numbers.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from .dataset import LabeledImages, TrainTest

NUM_TRAIN = 1437
NUM_TEST = 360


def load_digits() -> TrainTest:
    """The 8x8 digits as ``TrainTest(train=(images, labels), test=(images, labels))``.

    >>> (x_train, y_train), (x_test, y_test) = load_digits()
    >>> x_train.shape, y_test.shape
    ((1437, 1, 8, 8), (360,))
    """
    counts, labels = _bundled_digits()                           # (1797, 64), (1797,)
    images = (counts / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)   # (1797, 1, 8, 8)
    labels = labels.astype(np.int64)
    if len(images) != NUM_TRAIN + NUM_TEST:
        raise RuntimeError(f"load_digits: expected {NUM_TRAIN + NUM_TEST} images from "
                           f"scikit-learn, got {len(images)}")
    return TrainTest(train=LabeledImages(images[:NUM_TRAIN], labels[:NUM_TRAIN]),
                     test=LabeledImages(images[NUM_TRAIN:], labels[NUM_TRAIN:]))


def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: pixel counts ``(1797, 64)`` and labels ``(1797,)``."""
    spec = importlib.util.find_spec("sklearn")
    for location in (spec.submodule_search_locations or []) if spec else []:
        csv = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if csv.is_file():
            table = np.loadtxt(csv, delimiter=",", dtype=np.float64)   # (1797, 65)
            return table[:, :64], table[:, 64]
    from sklearn.datasets import load_digits as load_sklearn_digits
    bunch = load_sklearn_digits()
    return bunch.data, bunch.target
