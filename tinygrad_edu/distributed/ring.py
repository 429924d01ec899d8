"""The ring all-reduce, written out on point-to-point messages (for teaching; MPI has its own).

Put the N ranks on a ring: rank r sends only to r + 1 and receives only from r - 1 (mod N).
Cut every rank's array into N chunks. Two passes of N - 1 rounds each:

1. **Reduce-scatter.** In round s, rank r sends chunk (r - s) mod N to its right neighbour and
   adds the chunk (r - s - 1) mod N that arrives from its left one. After N - 1 rounds, rank r
   holds the *complete* sum of chunk (r + 1) mod N: every rank's contribution has passed by.
2. **All-gather.** In round s, rank r sends its finished chunk (r + 1 - s) mod N on and stores
   the finished chunk (r - s) mod N it receives. After N - 1 more rounds every rank has all N.

Each round moves one chunk, 1/N of the array, so each rank sends 2 (N - 1)/N times the array's
size in total: about twice the array, **however many ranks there are**. That is why the ring is
the classic choice for large gradients. Its cost is latency: 2 (N - 1) rounds, each waiting for
the slowest link, which is what makes tiny arrays slow to reduce and why gradients are sent in
buckets of several megabytes rather than one message per parameter.
"""
from __future__ import annotations

import numpy as np

from .process_group import _comm, _count, _host_buffer, _write_back
from ..tensor import Tensor


def ring_all_reduce(tensor: Tensor) -> None:
    """Sum ``tensor`` over all ranks in place, as ``all_reduce(tensor)`` does, around a ring."""
    comm = _comm("ring_all_reduce")
    rank, size = comm.Get_rank(), comm.Get_size()
    buffer = _host_buffer(tensor, "ring_all_reduce")
    chunks = np.array_split(buffer.reshape(-1), size)   # views into buffer, N pieces
    right, left = (rank + 1) % size, (rank - 1) % size
    for s in range(size - 1):                           # reduce-scatter
        send, receive = chunks[(rank - s) % size], chunks[(rank - s - 1) % size]
        incoming = np.empty_like(receive)
        comm.Sendrecv(np.ascontiguousarray(send), dest=right, recvbuf=incoming, source=left)
        _count(send.nbytes)
        receive += incoming
    for s in range(size - 1):                           # all-gather
        send, receive = chunks[(rank + 1 - s) % size], chunks[(rank - s) % size]
        incoming = np.empty_like(receive)
        comm.Sendrecv(np.ascontiguousarray(send), dest=right, recvbuf=incoming, source=left)
        _count(send.nbytes)
        receive[...] = incoming
    _write_back(tensor, buffer)
