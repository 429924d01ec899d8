"""Reference solutions of lesson 23, and one plausible wrong answer per exercise."""
import math

import numpy as np


def exercise_shard(n, rank, world_size):
    total = math.ceil(n / world_size) * world_size
    order = list(range(n))
    while len(order) < total:
        order += list(range(n))[:total - len(order)]
    return order[rank:total:world_size]


def wrong_shard(n, rank, world_size):
    """Contiguous blocks without padding: the last rank gets fewer samples."""
    return [int(i) for i in np.array_split(np.arange(n), world_size)[rank]]


def exercise_ring_all_reduce(arrays):
    ranks = len(arrays)
    chunks = [np.array_split(a.astype(float), ranks) for a in arrays]
    sent = [0] * ranks
    for s in range(ranks - 1):                  # reduce-scatter
        outgoing = [chunks[r][(r - s) % ranks].copy() for r in range(ranks)]
        for r in range(ranks):
            sent[r] += len(outgoing[r])
            chunks[(r + 1) % ranks][(r - s) % ranks] += outgoing[r]
    for s in range(ranks - 1):                  # all-gather
        outgoing = [chunks[r][(r + 1 - s) % ranks].copy() for r in range(ranks)]
        for r in range(ranks):
            sent[r] += len(outgoing[r])
            chunks[(r + 1) % ranks][(r + 1 - s) % ranks] = outgoing[r]
    return [np.concatenate(c) for c in chunks], sent


def wrong_ring_all_reduce(arrays):
    """Right sums, but every rank sends its whole array to every other rank."""
    total = np.sum(arrays, axis=0)
    return [total.copy() for _ in arrays], [(len(arrays) - 1) * len(a) for a in arrays]
