"""Datasets, collation and the DataLoader: batch sizes, order, dtypes, the fast path, devices."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import (DataLoader, Dataset, Subset, TensorDataset, default_collate,
                               random_split, transforms)


def make_dataset(n=10, rng=None):
    rng = rng or np.random.default_rng(0)
    images = rng.random((n, 1, 4, 4))                  # float64 on purpose: becomes float32
    labels = rng.integers(0, 3, size=n).astype(np.int32)   # int32 on purpose: becomes int64
    return images, labels


class ListDataset(Dataset):
    """A plain per-sample dataset: no fast path."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])


# --- datasets and collation ------------------------------------------------------------------
def test_tensor_dataset_indexing_and_errors():
    images, labels = make_dataset(5)
    dataset = TensorDataset(images, labels)
    assert len(dataset) == 5
    x, y = dataset[-1]
    np.testing.assert_array_equal(x, images[4])
    assert y == labels[4]
    with pytest.raises(ValueError, match=r"same number of samples.*\[5, 4\]"):
        TensorDataset(images, labels[:4])
    with pytest.raises(IndexError, match="index 5 is out of range for 5 samples"):
        dataset[5]
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(1.0))


def test_tensor_dataset_accepts_tensors():
    images, labels = make_dataset(4)
    dataset = TensorDataset(tg.Tensor(images), labels.tolist())
    np.testing.assert_array_equal(dataset.arrays[0], images)
    np.testing.assert_array_equal(dataset.arrays[1], labels)


def test_default_collate_structures():
    samples = [(np.full((2, 3), k, dtype=np.float64), k, float(k), {"id": k, "name": f"s{k}"})
               for k in range(4)]
    arrays, ints, floats, records = default_collate(samples)
    assert arrays.shape == (4, 2, 3)
    np.testing.assert_array_equal(arrays[:, 0, 0], np.arange(4))
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2, 3]
    assert floats.dtype == np.float32
    assert records["id"].tolist() == [0, 1, 2, 3] and records["name"] == ["s0", "s1", "s2", "s3"]
    with pytest.raises(ValueError, match="one shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object()])


def test_subset_and_random_split():
    images, labels = make_dataset(10)
    dataset = TensorDataset(images, labels)
    parts = random_split(dataset, [7, 3], generator=0)
    assert [len(p) for p in parts] == [7, 3]
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(10))       # a partition: no overlap, nothing lost
    again = random_split(dataset, [7, 3], generator=0)
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)
    x, y = parts[1][0]
    np.testing.assert_array_equal(x, images[parts[1].indices[0]])
    fractions = random_split(dataset, [0.55, 0.45], generator=1)
    assert [len(p) for p in fractions] == [6, 4]
    with pytest.raises(ValueError, match="add up"):
        random_split(dataset, [5, 4])
    with pytest.raises(IndexError, match="Subset"):
        Subset(dataset, [0, 10])


# --- the loader ---------------------------------------------------------------------------
@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True),
                                                        (9, 3, False), (2, 5, False), (2, 5, True)])
def test_batch_sizes_and_len(n, batch_size, drop_last):
    loader = DataLoader(TensorDataset(*make_dataset(n)), batch_size=batch_size, drop_last=drop_last)
    sizes = [len(x) for x, _ in loader]
    expected = n // batch_size if drop_last else math.ceil(n / batch_size)
    assert len(loader) == len(sizes) == expected
    assert all(size == batch_size for size in sizes[:-1] if sizes)
    assert sum(sizes) == (expected * batch_size if drop_last else n)


def test_unshuffled_batches_in_order_with_dtypes():
    images, labels = make_dataset(7)
    x, y = next(iter(DataLoader(TensorDataset(images, labels), batch_size=4)))
    assert isinstance(x, tg.Tensor) and x.dtype == np.float32 and x.shape == (4, 1, 4, 4)
    assert y.dtype == np.int64 and y.shape == (4,)
    np.testing.assert_allclose(x.numpy(), images[:4].astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), labels[:4])
    assert not x.requires_grad


def test_shuffle_reproducible_by_seed_and_new_each_epoch():
    dataset = TensorDataset(np.arange(50)[:, None], np.arange(50))

    def epochs(loader, count):
        return [np.concatenate([y.numpy() for _, y in loader]) for _ in range(count)]

    first = epochs(DataLoader(dataset, batch_size=8, shuffle=True, seed=3), 3)
    second = epochs(DataLoader(dataset, batch_size=8, shuffle=True, seed=3), 3)
    other_seed = epochs(DataLoader(dataset, batch_size=8, shuffle=True, seed=4), 1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    for order in first:
        assert sorted(order.tolist()) == list(range(50))   # every sample exactly once
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert not np.array_equal(first[0], other_seed[0])
    assert not np.array_equal(first[0], np.arange(50))


def test_set_epoch_resumes_the_same_order():
    dataset = TensorDataset(np.arange(20), np.arange(20))
    loader = DataLoader(dataset, batch_size=20, shuffle=True, seed=0)
    orders = [next(iter(loader))[1].numpy() for _ in range(3)]
    resumed = DataLoader(dataset, batch_size=20, shuffle=True, seed=0)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(next(iter(resumed))[1].numpy(), orders[2])


def test_unseeded_shuffle_follows_manual_seed():
    dataset = TensorDataset(np.arange(30), np.arange(30))
    tg.manual_seed(11)
    a = next(iter(DataLoader(dataset, batch_size=30, shuffle=True)))[1].numpy()
    tg.manual_seed(11)
    b = next(iter(DataLoader(dataset, batch_size=30, shuffle=True)))[1].numpy()
    np.testing.assert_array_equal(a, b)


def test_fast_path_equals_per_sample_path():
    images, labels = make_dataset(23)
    fast = DataLoader(TensorDataset(images, labels), batch_size=5, shuffle=True, seed=7)
    per_sample = DataLoader(TensorDataset(images, labels), batch_size=5, shuffle=True, seed=7,
                            collate_fn=default_collate)
    plain = DataLoader(ListDataset(images, labels), batch_size=5, shuffle=True, seed=7)
    for (xf, yf), (xs, ys), (xp, yp) in zip(fast, per_sample, plain):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(xf.numpy(), xp.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        np.testing.assert_array_equal(yf.numpy(), yp.numpy())
        assert yp.dtype == yf.dtype == np.int64


def test_subset_uses_the_fast_path_of_its_parent():
    images, labels = make_dataset(12)
    subset = Subset(TensorDataset(images, labels), [11, 3, 5])
    x, y = next(iter(DataLoader(subset, batch_size=3)))
    np.testing.assert_allclose(x.numpy(), images[[11, 3, 5]].astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), labels[[11, 3, 5]])


def test_custom_collate_fn():
    images, labels = make_dataset(6)
    loader = DataLoader(TensorDataset(images, labels), batch_size=3,
                        collate_fn=lambda samples: np.stack([s[0].sum() for s in samples]))
    sums = [batch.numpy() for batch in loader]
    np.testing.assert_allclose(np.concatenate(sums), images.sum(axis=(1, 2, 3)), rtol=1e-6)


def test_transform_applies_to_inputs_only_and_keeps_labels():
    images, labels = make_dataset(8)
    dataset = TensorDataset(images, labels, transform=transforms.Normalize(0.5, 0.25))
    x, y = next(iter(DataLoader(dataset, batch_size=8)))
    np.testing.assert_allclose(x.numpy(), (images - 0.5) / 0.25, rtol=1e-5)
    np.testing.assert_array_equal(y.numpy(), labels)
    one_x, one_y = dataset[2]
    np.testing.assert_allclose(one_x, (images[2] - 0.5) / 0.25)
    assert one_y == labels[2]


def test_unbatched_transform_is_applied_sample_by_sample():
    images, labels = make_dataset(6)
    dataset = TensorDataset(images, labels, transform=lambda image: image[:, ::2, ::2])
    x, _ = next(iter(DataLoader(dataset, batch_size=6)))
    np.testing.assert_allclose(x.numpy(), images[:, :, ::2, ::2].astype(np.float32))


def test_loader_argument_errors():
    dataset = TensorDataset(*make_dataset(4))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(dataset, batch_size=0)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        DataLoader(dataset, device="tpu")


def test_batches_arrive_on_the_device(device):
    images, labels = make_dataset(6)
    loader = DataLoader(TensorDataset(images, labels), batch_size=4, shuffle=True, seed=0,
                        device=device)
    for x, y in loader:
        assert x.device == device and y.device == device
        assert x.dtype == np.float32 and y.dtype == np.int64
    reference = DataLoader(TensorDataset(images, labels), batch_size=4, shuffle=True, seed=0)
    loader.set_epoch(0)
    for (x, y), (x_cpu, y_cpu) in zip(loader, reference):
        np.testing.assert_array_equal(x.numpy(), x_cpu.numpy())
        np.testing.assert_array_equal(y.numpy(), y_cpu.numpy())
