"""Image transforms: values on small hand-made images, shapes, labels and reproducibility."""
import numpy as np
import pytest

from tinygrad_edu.data import DataLoader, TensorDataset, transforms as T


def grid_image(channels=2, height=5, width=5):
    """Every pixel a different number, so any move of a pixel shows."""
    return np.arange(channels * height * width, dtype=np.float64).reshape(channels, height, width)


RANDOM_TRANSFORMS = [
    lambda g: T.RandomHorizontalFlip(0.5, generator=g),
    lambda g: T.RandomCrop(4, padding=1, generator=g),
    lambda g: T.RandomRotation(20, generator=g),
    lambda g: T.Compose([T.RandomCrop(5, padding=2, generator=g),
                         T.RandomHorizontalFlip(generator=g), T.Normalize(1.0, 2.0)]),
]


def test_to_float_and_normalize():
    pixels = np.array([[[0, 51], [255, 102]]], dtype=np.uint8)          # (1, 2, 2)
    scaled = T.ToFloat()(pixels)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, pixels / 255.0, rtol=1e-6)
    np.testing.assert_allclose(T.ToFloat(scale=2.0)(pixels), pixels * 2.0)
    images = np.random.default_rng(0).random((3, 2, 4, 4)).astype(np.float32)
    out = T.Normalize([0.1, 0.2], [0.5, 2.0])(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], (images[:, 0] - 0.1) / 0.5, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], (images[:, 1] - 0.2) / 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="3 mean values for images with 2 channels"):
        T.Normalize([0, 0, 0], 1.0)(images)
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize(0.0, 0.0)


def test_horizontal_flip_always_and_never():
    image = grid_image()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(image), image[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(image), image)


def test_horizontal_flip_per_image_in_a_batch():
    batch = np.stack([grid_image() + 100 * k for k in range(40)])       # (40, 2, 5, 5)
    out = T.RandomHorizontalFlip(generator=1)(batch)
    flipped = [np.array_equal(o, b[:, :, ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f != k for f, k in zip(flipped, kept))                    # one or the other
    assert 5 < sum(flipped) < 35                                         # some of each


def test_random_crop_is_a_window_of_the_padded_image():
    image = grid_image(channels=1, height=4, width=5) + 1.0              # no zeros inside
    padded = np.pad(image, ((0, 0), (2, 2), (2, 2)))
    crop = T.RandomCrop((3, 4), padding=2, generator=0)
    found = set()
    for _ in range(200):
        out = crop(image)
        assert out.shape == (1, 3, 4)
        matches = [(top, left) for top in range(padded.shape[1] - 2)
                   for left in range(padded.shape[2] - 3)
                   if np.array_equal(out, padded[:, top:top + 3, left:left + 4])]
        assert len(matches) >= 1
        found.update(matches)
    assert len(found) == 6 * 6                                           # every offset reachable


def test_random_crop_without_padding_at_full_size_is_identity_and_checks_size():
    image = grid_image()
    np.testing.assert_array_equal(T.RandomCrop(5)(image), image)
    with pytest.raises(ValueError, match="a 7x7 crop does not fit in images of 5x5 padded by 0"):
        T.RandomCrop(7)(image)


@pytest.mark.parametrize("angle, turns", [(90.0, 1), (180.0, 2), (-90.0, 3), (360.0, 0)])
def test_rotation_by_right_angles_matches_rot90(angle, turns):
    image = grid_image(channels=2, height=6, width=6)
    expected = np.rot90(image, k=turns, axes=(1, 2))                     # counter-clockwise
    np.testing.assert_allclose(T.rotate(image, angle), expected, atol=1e-9)


def test_rotation_matches_scipy_bilinear():
    ndimage = pytest.importorskip("scipy.ndimage")
    images = np.random.default_rng(0).random((3, 2, 9, 7))
    angles = np.array([12.5, -33.0, 47.0])
    out = T.rotate(images, angles)
    for image, angle, rotated in zip(images, angles, out):
        for channel in range(2):
            expected = ndimage.rotate(image[channel], angle, reshape=False, order=1,
                                      mode="grid-constant", cval=0.0)
            np.testing.assert_allclose(rotated[channel], expected, atol=1e-9)


def test_rotation_by_zero_is_identity_and_fill_fills_corners():
    image = np.ones((1, 8, 8))
    np.testing.assert_allclose(T.rotate(image, 0.0), image)
    rotated = T.rotate(image, 45.0, fill=-1.0)
    assert rotated[0, 0, 0] < 0 and rotated[0, 4, 4] == pytest.approx(1.0)


def test_random_rotation_angles_within_range():
    image = np.zeros((1, 15, 15))
    image[0, 7, 10:13] = 1.0                                             # a bar right of centre
    out = T.RandomRotation((10, 30), generator=0)(np.stack([image] * 30))
    y, x = np.mgrid[0:15, 0:15]
    angles = [np.degrees(np.arctan2((r[0] * (7 - y)).sum(), (r[0] * (x - 7)).sum()))
              for r in out]                                              # of the bar's centroid
    assert min(angles) > 10 - 1 and max(angles) < 30 + 1
    assert max(angles) - min(angles) > 10                                # the angles vary


@pytest.mark.parametrize("make", RANDOM_TRANSFORMS)
def test_random_transforms_reproducible_and_keep_shapes(make):
    batch = np.random.default_rng(2).random((6, 2, 5, 5)).astype(np.float32)
    first, again = make(np.random.default_rng(5))(batch), make(np.random.default_rng(5))(batch)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float32
    if not isinstance(make(None), T.RandomCrop):
        assert first.shape == batch.shape
    single = make(5)(batch[0])
    assert single.shape == first[0].shape                                # (C, H, W) works too


@pytest.mark.parametrize("make", RANDOM_TRANSFORMS)
def test_transforms_keep_labels_in_the_loader(make):
    images = np.random.default_rng(0).random((10, 2, 5, 5)).astype(np.float32)
    labels = np.arange(10)
    dataset = TensorDataset(images, labels, transform=make(3))
    seen = np.concatenate([y.numpy() for _, y in DataLoader(dataset, batch_size=4,
                                                              shuffle=True, seed=0)])
    assert sorted(seen.tolist()) == list(range(10))
    x, y = next(iter(DataLoader(dataset, batch_size=10)))
    np.testing.assert_array_equal(y.numpy(), labels)
    assert x.shape[:2] == (10, 2)


def test_transforms_reject_non_images():
    with pytest.raises(ValueError, match=r"RandomCrop: expected an image \(C, H, W\).*\(5, 5\)"):
        T.RandomCrop(3)(np.zeros((5, 5)))
