"""Training, validation and test: the split rule of data/splits.py on the digits and MNIST."""
import numpy as np
import pytest

from tinygrad_edu.data import LabeledImages, every_kth_of_each_class, load_digits, split_validation


def test_every_kth_of_each_class_by_hand():
    labels = np.array([0, 1, 0, 0, 1, 1, 0, 1, 2])
    #                  0  0  1  2  1  2  3  3  0    each sample's number within its class
    mask = every_kth_of_each_class(labels, 2)
    np.testing.assert_array_equal(mask, [0, 0, 1, 0, 1, 0, 1, 1, 0])
    with pytest.raises(ValueError, match="every must be at least 2, got 1"):
        every_kth_of_each_class(labels, 1)


def test_validation_is_carved_from_training_and_never_touches_test():
    data = load_digits()
    training, validation = split_validation(data.train, every=7)
    assert len(training.labels) + len(validation.labels) == len(data.train.labels) == 1442
    assert len(validation.labels) == 201
    rows = lambda part: {row.tobytes() for row in part.images.reshape(len(part.images), -1)}
    assert not rows(training) & rows(validation)
    assert not rows(validation) & rows(data.test)
    shares = np.bincount(validation.labels) / np.bincount(data.train.labels)
    assert np.all(np.abs(shares - 1 / 7) < 0.02)               # every digit, the same share
    again = split_validation(data.train, every=7)[1]
    np.testing.assert_array_equal(again.labels, validation.labels)   # no randomness


def test_split_keeps_images_and_labels_together(rng):
    images = rng.random((30, 1, 2, 2)).astype(np.float32)
    labels = np.arange(30) % 3
    images[:, 0, 0, 0] = labels                               # each image carries its label
    training, validation = split_validation(LabeledImages(images, labels), every=5)
    for part in (training, validation):
        np.testing.assert_array_equal(part.images[:, 0, 0, 0], part.labels)
    assert len(validation.labels) == 6
