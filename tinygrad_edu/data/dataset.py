"""Datasets: training data seen one sample at a time, and how samples become a batch.

A *dataset* is anything with a length and an index: ``dataset[i]`` is the i-th sample, usually a
tuple ``(input, label)``. That is the whole contract (``__len__`` and ``__getitem__``), the same
as PyTorch's map-style datasets, so a learner can wrap any data source in a few lines.

Training wants *batches*: B samples stacked along a new first axis. The general way is
**collation**: fetch the B samples one by one and stack each field (:func:`default_collate`):

    samples  [(x_0, y_0), (x_1, y_1), ...]         x_i: (C, H, W), y_i: an int
    batch    (stack(x_0, x_1, ...), array(y_0, y_1, ...))      shapes (B, C, H, W) and (B,)

That costs B Python calls per batch. When the whole dataset already sits in memory as arrays
whose first axis is the sample axis (:class:`TensorDataset`), the same batch is one
fancy-indexing operation per array, ``images[indices]``, with no Python loop at all. Every
dataset here answers ``get_batch(indices)``; the base class collates, ``TensorDataset`` indexes.
The ``DataLoader`` (loader.py) only ever calls ``get_batch``, so it is fast where it can be
without knowing which kind of dataset it holds.

Random choices (shuffles, splits, augmentation) take a ``generator``: ``None`` uses the library's
CPU generator (reseeded by ``tg.manual_seed``), an int seeds a fresh NumPy generator, and a
``numpy.random.Generator`` is used as given (see :func:`make_generator`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..tensor import Tensor


def make_generator(generator=None) -> np.random.Generator:
    """A NumPy generator from ``None`` (the library's CPU generator), an int seed or a Generator."""
    if generator is None:
        return backend.generator("cpu")
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator: expected None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def host_array(data) -> np.ndarray:
    """``data`` (a Tensor, a NumPy/CuPy array or a nested list) as a NumPy array."""
    if isinstance(data, Tensor):
        data = data.data
    return backend.asnumpy(data) if backend.is_array(data) else np.asarray(data)


def default_collate(samples: list):
    """Stack a list of samples into one batch of NumPy arrays, field by field.

    Arrays and Tensors are stacked along a new first axis; Python/NumPy ints become one int64
    array, floats one float32 array, bools one bool array; tuples and lists are collated
    element-wise and dicts key by key; strings stay a list.
    """
    if len(samples) == 0:
        raise ValueError("default_collate: cannot make a batch out of zero samples")
    first = samples[0]
    if isinstance(first, Tensor) or backend.is_array(first):
        arrays = [host_array(sample) for sample in samples]
        shapes = {array.shape for array in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples must all have one shape to be stacked, "
                             f"got shapes {sorted(shapes)}")
        return np.stack(arrays)
    if isinstance(first, (bool, np.bool_)):
        return np.array(samples, dtype=np.bool_)
    if isinstance(first, (int, np.integer)):
        return np.array(samples, dtype=np.int64)
    if isinstance(first, (float, np.floating)):
        return np.array(samples, dtype=np.float32)
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        lengths = {len(sample) for sample in samples}
        if len(lengths) > 1:
            raise ValueError(f"default_collate: samples are tuples of different lengths "
                             f"{sorted(lengths)}; every sample needs the same fields")
        return tuple(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(f"default_collate: don't know how to batch samples of type "
                    f"{type(first).__name__}; pass a collate_fn to the DataLoader")


class Dataset:
    """Base class: a subclass defines ``__len__`` and ``__getitem__(index) -> sample``."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def get_batch(self, indices: np.ndarray):
        """The samples at ``indices``, collated into one batch (one ``__getitem__`` each)."""
        return default_collate([self[int(i)] for i in indices])


def _check_index(index, length: int, name: str) -> int:
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise TypeError(f"{name}: an index must be an int, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{name}: index {index} is out of range for {length} samples")
    return int(index) % length


class TensorDataset(Dataset):
    """Arrays held in memory that share their first axis, the sample axis.

    ``TensorDataset(images, labels)[i] == (images[i], labels[i])``. ``transform``, if given,
    is applied to the first array only (the inputs), never to the labels. A transform marked
    ``batched = True`` (all of ``transforms.py``) is applied to a whole batch at once;
    any other callable is applied image by image.
    """

    def __init__(self, *arrays, transform=None):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = tuple(host_array(array) for array in arrays)
        for k, array in enumerate(self.arrays):
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} is a scalar; each array needs a "
                                 f"first axis that counts the samples")
        lengths = [len(array) for array in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all arrays need the same number of samples "
                             f"(first axis), got lengths {lengths}")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        index = _check_index(index, len(self), "TensorDataset")
        inputs, *rest = (array[index] for array in self.arrays)
        if self.transform is not None:
            inputs = self.transform(inputs)
        return (inputs, *rest)

    def get_batch(self, indices: np.ndarray):
        """The batch at ``indices`` by fancy indexing: one array operation, no Python loop."""
        inputs, *rest = (array[indices] for array in self.arrays)   # each (B, ...)
        if self.transform is not None:
            if getattr(self.transform, "batched", False):
                inputs = self.transform(inputs)
            else:
                inputs = np.stack([self.transform(sample) for sample in inputs])
        return (inputs, *rest)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.array(indices, dtype=np.int64).reshape(-1)   # a copy we may wrap
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [{-n}, {n}) for a dataset of {n} "
                             f"samples, got values from {self.indices.min()} to "
                             f"{self.indices.max()}")
        self.indices %= max(n, 1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    def get_batch(self, indices: np.ndarray):
        parent_indices = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(parent_indices)
        return default_collate([self.dataset[int(i)] for i in parent_indices])


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are counts that add up to ``len(dataset)``, or fractions that add up to 1
    (each gets ``floor(fraction * n)`` samples; the few left over go one each to the first
    subsets, as in PyTorch).
    """
    n = len(dataset)
    if all(isinstance(length, float) for length in lengths):
        if abs(sum(lengths) - 1.0) > 1e-6 or min(lengths) < 0:
            raise ValueError(f"random_split: fractions must be >= 0 and add up to 1, got {lengths}")
        counts = [int(np.floor(fraction * n)) for fraction in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
    else:
        counts = [int(length) for length in lengths]
        if sum(counts) != n or min(counts) < 0:
            raise ValueError(f"random_split: lengths {counts} must be >= 0 and add up to the "
                             f"dataset's {n} samples")
    order = make_generator(generator).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


class LabeledImages(NamedTuple):
    """Images ``(N, C, H, W)`` float32 in [0, 1] and their int64 labels ``(N,)``."""
    images: np.ndarray
    labels: np.ndarray


class TrainTest(NamedTuple):
    """A dataset's fixed training and test parts: ``(x, y), (x_test, y_test) = load_digits()``."""
    train: LabeledImages
    test: LabeledImages
