"""``load_digits()``: a small real image dataset that is always there, no download needed.

scikit-learn ships the UCI "optical recognition of handwritten digits" test set inside the
package: 1,797 grey images of 8x8 pixels, each pixel a count 0..16 (how many of 16 dots in a
4x4 block of the 32x32 scan were black), labelled with the digit 0..9. It trains in seconds on
a CPU, which makes it the default image data of the lessons.

The split is fixed and uses no random numbers, so it can never change between library versions:
counting the images of each digit in scikit-learn's order, **every fifth one** (the 5th, 10th,
15th, ...) is a test image. That gives 1,442 training and 355 test images, with every digit
20% in the test set (34 to 36 of each) and the test images spread over the whole collection.

Why not simply the last 20%? The images come from 13 writers (they are the test part of the UCI
collection) and are stored largely writer by writer, so a contiguous tail holds mostly writers
the model never saw. That is a different, harder question (how well a model copes with new
handwriting): on such a split scikit-learn's SVC(gamma=0.001) reaches 95.8% and these models
96-97%, against about 98-99% here. Spreading the test set over all
writers measures what the lessons are about, learning the digits, the way a shuffled split
would, and stays the same on every machine.

The 1,442 training images are split again by the same rule for validation (``data/splits.py``;
the training recipes hold out every seventh of each digit): choices are made on those, and the
test images are looked at once, at the end.

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
from .splits import every_kth_of_each_class

NUM_IMAGES = 1797
TEST_EVERY = 5          # of each digit's images, every fifth is a test image


def load_digits() -> TrainTest:
    """The 8x8 digits as ``TrainTest(train=(images, labels), test=(images, labels))``.

    >>> (x_train, y_train), (x_test, y_test) = load_digits()
    >>> x_train.shape, y_test.shape
    ((1442, 1, 8, 8), (355,))
    """
    counts, labels = _bundled_digits()                           # (1797, 64), (1797,)
    images = (counts / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)   # (1797, 1, 8, 8)
    labels = labels.astype(np.int64)
    if len(images) != NUM_IMAGES:
        raise RuntimeError(f"load_digits: expected {NUM_IMAGES} images from scikit-learn, "
                           f"got {len(images)}")
    is_test = every_kth_of_each_class(labels, TEST_EVERY)        # (1797,) bool
    return TrainTest(train=LabeledImages(images[~is_test], labels[~is_test]),
                     test=LabeledImages(images[is_test], labels[is_test]))


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
