"""The data that ships with the library: the 8x8 digits and the toy 2-D point sets."""
import numpy as np
import pytest

from tinygrad_edu.data import load_digits, make_circles, make_moons, make_spirals


# --- digits ------------------------------------------------------------------------------------
def test_digits_split_sizes_types_and_range():
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1442, 1, 8, 8) and x_test.shape == (355, 1, 8, 8)
    assert y_train.shape == (1442,) and y_test.shape == (355,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_test).tolist()) == set(range(10))
    assert np.bincount(y_test).min() >= 30                   # every digit well represented


def test_digits_match_scikit_learn_and_the_documented_split():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    bunch = sklearn_datasets.load_digits()
    data = load_digits()
    scaled = (bunch.images / 16).astype(np.float32)
    within_digit = np.zeros(len(bunch.target), dtype=int)   # the 0th, 1st, .. image of its digit
    for digit in range(10):
        within_digit[bunch.target == digit] = np.arange(np.sum(bunch.target == digit))
    is_test = within_digit % 5 == 4                          # every fifth image of each digit
    np.testing.assert_array_equal(data.train.images[:, 0], scaled[~is_test])
    np.testing.assert_array_equal(data.test.images[:, 0], scaled[is_test])
    np.testing.assert_array_equal(data.train.labels, bunch.target[~is_test])
    np.testing.assert_array_equal(data.test.labels, bunch.target[is_test])
    assert np.all(np.abs(np.bincount(data.test.labels) / np.bincount(bunch.target) - 0.2) < 0.01)


def test_digits_deterministic_and_disjoint():
    first, second = load_digits(), load_digits()
    np.testing.assert_array_equal(first.train.images, second.train.images)
    np.testing.assert_array_equal(first.test.labels, second.test.labels)
    train_rows = {row.tobytes() for row in first.train.images.reshape(1442, -1)}
    test_rows = [row.tobytes() for row in first.test.images.reshape(355, -1)]
    assert not any(row in train_rows for row in test_rows)   # no test image is also a train image


# --- toy sets ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, classes", [(make_moons, 2), (make_circles, 2), (make_spirals, 3)])
def test_toy_shapes_labels_and_seed(make, classes):
    points, labels = make(n=101, seed=0)
    assert points.shape == (101, 2) and points.dtype == np.float32
    assert labels.shape == (101,) and labels.dtype == np.int64
    counts = np.bincount(labels)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    again_points, again_labels = make(n=101, seed=0)
    np.testing.assert_array_equal(points, again_points)
    np.testing.assert_array_equal(labels, again_labels)
    other, _ = make(n=101, seed=1)
    assert not np.array_equal(points, other)
    assert not np.array_equal(labels, np.sort(labels))      # shuffled, not sorted by class


def test_moons_geometry_without_noise():
    points, labels = make_moons(n=200, noise=0.0, seed=0)
    upper, lower = points[labels == 0], points[labels == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6


def test_circles_geometry_without_noise():
    points, labels = make_circles(n=100, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(points[:, 0], points[:, 1])
    np.testing.assert_allclose(radius[labels == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[labels == 1], 0.3, atol=1e-6)


def test_spirals_geometry_without_noise():
    points, labels = make_spirals(n=90, classes=3, noise=0.0, seed=0)
    radius = np.hypot(points[:, 0], points[:, 1])
    angle = np.arctan2(points[:, 1], points[:, 0])
    expected = 2 * np.pi * labels / 3 + 4 * radius         # the documented formula
    away = radius > 1e-3                                   # the centre has no angle
    np.testing.assert_allclose(np.cos(angle[away]), np.cos(expected[away]), atol=1e-5)
    np.testing.assert_allclose(np.sin(angle[away]), np.sin(expected[away]), atol=1e-5)
    assert radius.max() == pytest.approx(1.0, abs=1e-6)


def test_noise_moves_points():
    clean, _ = make_moons(n=50, noise=0.0, seed=0)
    noisy, _ = make_moons(n=50, noise=0.2, seed=0)
    assert 0.05 < np.abs(noisy - clean).mean() < 0.5


def test_toy_argument_errors():
    with pytest.raises(ValueError, match="at least one point per class"):
        make_spirals(n=2, classes=3)
    with pytest.raises(ValueError, match="factor must be in"):
        make_circles(factor=1.5)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_moons(noise=-1.0)
