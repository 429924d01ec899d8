"""The process group: every process of an ``mpirun`` job, and the collectives that join them.

``mpirun -n N python train.py`` starts N copies of the same program. Each copy learns two numbers
from MPI: its **rank** (0 .. N-1, which process am I?) and the **world size** N. Everything
else is *collective*: an operation every rank calls, with an array of the same shape, which
returns when all have taken part.

    all_reduce(t)     every rank ends with  t_0 + t_1 + ... + t_{N-1}   (or the max, min, product)
    broadcast(t, 0)   every rank ends with rank 0's  t
    barrier()         no rank leaves before all have arrived

These are the only three a data-parallel training step needs: broadcast the initial weights once
so every copy starts equal, then all-reduce the gradients at every step so every copy takes the
same step (``tinygrad_edu/nn/parallel.py::DistributedDataParallel``).

The operations work in place on the tensor's array, as PyTorch's do. MPI reads and writes host
memory, so a tensor on the GPU goes through a host copy (a CUDA-aware MPI could avoid it; this
library does not assume one). Every call adds the bytes it handed to MPI to a counter
(:func:`communication_stats`), so a benchmark can report what a training step communicates.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from .. import backend
from ..tensor import Tensor

_state = {"comm": None}
_stats = {"calls": 0, "bytes": 0}


class ReduceOp(Enum):
    """How ``all_reduce`` combines the ranks' values (PyTorch's names)."""
    SUM = "SUM"
    PRODUCT = "PROD"
    MIN = "MIN"
    MAX = "MAX"


def is_available() -> bool:
    """Whether mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def init_process_group(backend: str = "mpi", world_size: int = -1, rank: int = -1) -> None:
    """Join the job that ``mpirun`` started; rank and world size come from MPI.

    ``backend`` must be "mpi" (PyTorch's "gloo" and "nccl" are other libraries). ``world_size``
    and ``rank``, when given, are checked against what MPI reports. A program started without
    ``mpirun`` is a job of one process (rank 0 of 1), so the same script runs either way."""
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend {backend!r} is not available; this "
                         f"library runs data-parallel training on MPI, use backend='mpi'")
    if _state["comm"] is not None:
        raise RuntimeError("init_process_group: the process group is already initialized")
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError("init_process_group: mpi4py is not installed; install the extra with "
                           "pip install -e \".[distributed]\"") from error
    comm = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, comm.Get_size()),
                                ("rank", rank, comm.Get_rank())):
        if given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but MPI started this process "
                             f"with {name} {actual}")
    _state["comm"] = comm


def is_initialized() -> bool:
    return _state["comm"] is not None


def destroy_process_group() -> None:
    """Leave the process group (MPI itself is finalised when the program ends)."""
    _state["comm"] = None


def _comm(op: str):
    if _state["comm"] is None:
        raise RuntimeError(f"{op}: the default process group has not been initialized; call "
                           f"tinygrad_edu.distributed.init_process_group() first")
    return _state["comm"]


def get_rank() -> int:
    """This process's number, 0 .. world_size - 1."""
    return _comm("get_rank").Get_rank()


def get_world_size() -> int:
    """How many processes the job has."""
    return _comm("get_world_size").Get_size()


def communication_stats() -> dict:
    """{"calls": collectives called, "bytes": bytes of data handed to MPI} since the last reset."""
    return dict(_stats)


def reset_communication_stats() -> None:
    _stats.update(calls=0, bytes=0)


def _count(nbytes: int) -> None:
    _stats["calls"] += 1
    _stats["bytes"] += int(nbytes)


def _host_buffer(tensor: Tensor, op: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return np.ascontiguousarray(backend.asnumpy(tensor.data))


def _write_back(tensor: Tensor, buffer: np.ndarray) -> None:
    tensor.data[...] = tensor.xp.asarray(buffer)


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM) -> None:
    """Combine ``tensor`` across all ranks, in place: afterwards every rank holds the result."""
    comm = _comm("all_reduce")   # first: without a process group that is the error to report
    from mpi4py import MPI
    if not isinstance(op, ReduceOp):
        raise ValueError(f"all_reduce: op must be a ReduceOp (SUM, PRODUCT, MIN, MAX), got {op!r}")
    buffer = _host_buffer(tensor, "all_reduce")
    comm.Allreduce(MPI.IN_PLACE, buffer, op=getattr(MPI, op.value))
    _count(buffer.nbytes)
    _write_back(tensor, buffer)


def broadcast(tensor: Tensor, src: int = 0) -> None:
    """Copy rank ``src``'s ``tensor`` into every rank's, in place."""
    comm = _comm("broadcast")
    if not 0 <= src < comm.Get_size():
        raise ValueError(f"broadcast: src must be a rank in 0..{comm.Get_size() - 1}, got {src}")
    buffer = _host_buffer(tensor, "broadcast")
    comm.Bcast(buffer, root=src)
    _count(buffer.nbytes)
    _write_back(tensor, buffer)


def barrier() -> None:
    """Wait until every rank has called ``barrier``."""
    _comm("barrier").Barrier()
