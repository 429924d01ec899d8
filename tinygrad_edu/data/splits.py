"""Training, validation and test: three parts of a dataset, each with its own job.

- **training** images are what the optimizer learns from;
- **validation** images are held back from training and used to *choose*: the learning rate,
  the number of epochs, the recipe; the learning curves show them;
- **test** images are looked at **once**, at the very end, to report how well the chosen model
  does on images that took no part in any choice.

Choosing on the test set makes its number optimistic: every choice that helped on those
particular images is a little fitted to them. So the validation part is carved from the
training images, never from the test images.

The rule here uses no random numbers, so a split is the same on every machine and in every
version: counting the images of each class in the order given, every ``every``-th one (the
``every``-th, ``2·every``-th, ...) is held out. Each class keeps the same share in both parts,
and the held-out images are spread over the whole collection (which matters when it is stored,
say, writer by writer, as the 8x8 digits are).
"""
from __future__ import annotations

import numpy as np

from .dataset import LabeledImages


def every_kth_of_each_class(labels: np.ndarray, every: int) -> np.ndarray:
    """A boolean mask (N,): True for every ``every``-th sample of each class, in order."""
    if every < 2:
        raise ValueError(f"every_kth_of_each_class: every must be at least 2, got {every}")
    labels = np.asarray(labels)
    rank = np.zeros(len(labels), dtype=np.int64)   # each sample's number within its class
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        rank[where] = np.arange(len(where))
    return rank % every == every - 1


def split_validation(train: LabeledImages, every: int) -> tuple[LabeledImages, LabeledImages]:
    """``(training, validation)``: every ``every``-th image of each class goes to validation.

    >>> from tinygrad_edu.data import load_digits
    >>> training, validation = split_validation(load_digits().train, every=7)
    >>> len(training.labels), len(validation.labels)
    (1241, 201)
    """
    held_out = every_kth_of_each_class(train.labels, every)            # (N,) bool
    return (LabeledImages(train.images[~held_out], train.labels[~held_out]),
            LabeledImages(train.images[held_out], train.labels[held_out]))
