"""``DataLoader``: one pass over a dataset in batches, as Tensors on the device you train on.

One *epoch* is one pass over every sample. The loader cuts the sample indices ``0 .. N-1`` into
consecutive runs of ``batch_size``, asks the dataset for each run (``dataset.get_batch``; see
dataset.py for why that is a single fancy-indexing operation for in-memory arrays) and hands the
batch over as Tensors:

    indices   [0, 1, ..., N-1]   (shuffled when shuffle=True)
    batches   [0 .. B-1], [B .. 2B-1], ...        the last one shorter, unless drop_last=True
    len(loader) = ceil(N / B), or floor(N / B) with drop_last

Why shuffle: stochastic gradient descent assumes each batch is a fair random draw from the data;
walking the samples in a fixed order (say, all the zeros first) would pull the weights back and
forth between classes. A *new* order every epoch keeps the batches from repeating.

Reproducibility: with ``seed`` given, the order of epoch ``e`` is the permutation drawn from
``numpy.random.default_rng([seed, e])``. Each ``iter(loader)`` advances the epoch counter, so the
orders differ from epoch to epoch yet are the same on every run, and a run resumed from a
checkpoint can call ``set_epoch(e)`` to continue with exactly the order it would have had. With
``seed=None`` the order comes from the library's CPU generator (``tg.manual_seed`` seeds it).

Types: floating arrays arrive as float32 Tensors (the engine's default dtype), integer arrays
(labels, token ids) as int64 Tensors, bools as bool. They are converted on the host, then moved
to ``device`` in one transfer per array, so a ``"cuda"`` loader delivers batches already on the GPU.

PyTorch's ``num_workers`` and ``pin_memory`` are accepted, so a PyTorch script runs unchanged,
but batches are always assembled in this process (an in-memory batch is one fancy-indexing
operation, with nothing for worker processes to speed up) and nothing is pinned.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from .dataset import default_collate, make_generator


def to_tensors(batch, device: str = "cpu"):
    """Every array in a (nested) batch as a Tensor on ``device``; other leaves stay as they are."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if backend.is_array(batch):
        if batch.dtype.kind == "f":
            batch = batch.astype(np.float32, copy=False)
        elif batch.dtype.kind in "iu":
            batch = batch.astype(np.int64, copy=False)
        return Tensor._make(backend.to_device(batch, device), device)
    if isinstance(batch, tuple):
        return tuple(to_tensors(item, device) for item in batch)
    if isinstance(batch, list) and not all(isinstance(item, str) for item in batch):
        return [to_tensors(item, device) for item in batch]
    if isinstance(batch, dict):
        return {key: to_tensors(value, device) for key, value in batch.items()}
    return batch


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors.

    >>> loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True, seed=0)
    >>> for x, y in loader:      # x: (64, C, H, W) float32, y: (64,) int64
    ...     ...

    ``collate_fn(samples) -> batch``, when given, replaces the batching: the loader then fetches
    the samples one by one with ``dataset[i]`` and passes the list to it.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, collate_fn=None,
                 device: str = "cpu", num_workers: int = 0, pin_memory: bool = False):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be None or an int >= 0, got {seed!r}")
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        backend.array_module(device)   # fail now, naming the device, if it cannot be used
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.collate_fn = collate_fn
        self.device = device
        self.num_workers, self.pin_memory = int(num_workers), pin_memory   # accepted, unused
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` use the order of epoch ``epoch`` (to resume a run)."""
        self.epoch = int(epoch)

    def order(self) -> np.ndarray:
        """The sample indices of the coming epoch, in the order they will be served."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self.seed is None:
            return make_generator(None).permutation(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def _fetch(self, indices: np.ndarray):
        """The batch at ``indices``: the dataset's own ``get_batch``, or sample by sample."""
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return get_batch(indices)
        return default_collate([self.dataset[int(i)] for i in indices])

    def __iter__(self):
        order = self.order()   # drawn now, so each iter() is one epoch even before its first batch
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: np.ndarray):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start:start + self.batch_size]
            yield to_tensors(self._fetch(indices), self.device)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)} samples, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, device='{self.device}')")
