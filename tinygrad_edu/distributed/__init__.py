"""Data-parallel training on MPI, with PyTorch's names: ``import tinygrad_edu.distributed as dist``.

Reading order:

- ``process_group.py``  the processes and the collective operations between them:
                        :func:`init_process_group`, :func:`get_rank`, :func:`get_world_size`,
                        :func:`all_reduce`, :func:`broadcast`, :func:`barrier`, and a count of the
                        bytes each process has handed to MPI.
- ``ring.py``           :func:`ring_all_reduce`, the all-reduce written out on point-to-point
                        sends and receives, to see how it works and what it costs.

The wrapper that keeps every copy of a model in step is ``tinygrad_edu.nn.parallel
.DistributedDataParallel``; the sampler that gives each process its share of a dataset is
``tinygrad_edu.data.DistributedSampler``; ``tinygrad-edu train MODEL --distributed`` is set up
in ``tinygrad_edu/train/distributed.py``.

MPI comes from the optional extra (``pip install -e ".[distributed]"``: mpi4py and an MPI
library); start N processes with ``mpirun -n N python script.py``. Nothing here imports mpi4py
until :func:`init_process_group` is called, so the rest of the library never needs it.
"""
from .process_group import (ReduceOp, all_reduce, barrier, broadcast, communication_stats,
                            destroy_process_group, get_rank, get_world_size, is_available,
                            is_initialized, init_process_group, reset_communication_stats)
from .ring import ring_all_reduce

__all__ = ["ReduceOp", "all_reduce", "barrier", "broadcast", "communication_stats",
           "destroy_process_group", "get_rank", "get_world_size", "is_available", "is_initialized",
           "init_process_group", "reset_communication_stats", "ring_all_reduce"]
