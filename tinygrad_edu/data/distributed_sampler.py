"""``DistributedSampler``: each process of a data-parallel job gets its own share of a dataset.

With N processes (replicas), every epoch's order of the sample indices is drawn once, the same on
every rank (the generator is seeded by ``seed`` and the epoch, never by the rank), and rank r
takes every N-th index starting at r:

    order   = permutation(len(dataset))        identical on all ranks
    order   = order + order[:padding]          padded so that N divides it (drop_last=False)
    rank r  : order[r], order[r + N], order[r + 2N], ...

So the shares are disjoint and together cover the epoch; with padding, a few samples appear
twice so that every rank has the same number of batches (a rank that ran out early would leave
the others waiting in their all-reduce forever). With ``drop_last=True`` the tail is cut instead.

As in PyTorch, call ``sampler.set_epoch(epoch)`` at the start of every epoch, or every epoch
repeats the first one's order. The permutation is NumPy's (``default_rng([seed, epoch])``, the
rule the ``DataLoader`` uses), so the orders differ from PyTorch's though the rules are the same.
"""
from __future__ import annotations

import math

import numpy as np


class DistributedSampler:
    """The indices of ``dataset`` that belong to rank ``rank`` of ``num_replicas``.

    ``num_replicas`` and ``rank`` default to the process group's world size and rank."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: need num_replicas >= 1 and 0 <= rank < "
                             f"num_replicas, got rank {rank} of num_replicas {num_replicas}")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (the same on every rank) from the next iteration on."""
        self.epoch = epoch

    def __iter__(self):
        n = len(self.dataset)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            repeats = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order, np.tile(order, repeats)[:self.total_size - n]])
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
