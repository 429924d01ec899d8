# %% [markdown]
# # Lesson 23: data-parallel training on MPI
#
# One machine is not enough for a large model's data. **Data parallelism** runs N copies of the
# same program, *ranks*, each holding a full copy of the model, and splits every batch between
# them. Each rank computes the gradient of the loss on its share; the ranks then **average** their
# gradients and all take the same optimizer step. With a mean loss over B samples and equal shares,
#
#     L = (1/B) Σ_i ℓ_i = (1/N) Σ_r L_r      so      ∂L/∂θ = (1/N) Σ_r ∂L_r/∂θ :
#
# the average of the ranks' gradients *is* the gradient of the whole batch. Start every copy from
# the same weights, average at every step, and N processes make exactly the run one process would
# make on the whole batch — this lesson checks that to 1e-10.
#
# The processes talk through **MPI**, the message-passing library of every HPC cluster, via
# `mpi4py` (`pip install -e ".[distributed]"`); `mpirun -n 2 python script.py` starts two ranks.
# The names are PyTorch's: `tg.distributed.init_process_group()`, `get_rank()`,
# `get_world_size()`, `all_reduce`, `broadcast`, `tg.nn.parallel.DistributedDataParallel` and
# `tg.data.DistributedSampler`.
#
# Run it:  python lessons/23_data_parallel_training.py
# Check the exercises at the end:  python lessons/23_data_parallel_training.py --check
#
# Read along: `tinygrad_edu/distributed/process_group.py::all_reduce`,
# `tinygrad_edu/distributed/ring.py::ring_all_reduce`,
# `tinygrad_edu/nn/parallel.py::DistributedDataParallel`,
# `tinygrad_edu/data/distributed_sampler.py::DistributedSampler`, and for the command
# `mpirun -n 2 tinygrad-edu train mlp --distributed`:
# `tinygrad_edu/train/distributed.py::train_distributed`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import optim
from tinygrad_edu.data import DistributedSampler, TensorDataset, load_digits

# %% [markdown]
# ## 1. The average of the half-batch gradients is the whole-batch gradient
#
# No processes yet: one model, one batch of 32 digits, and its two halves.

# %%
(train_images, train_labels), _ = load_digits()
images = train_images.reshape(len(train_images), -1).astype(np.float64)   # (N, 64)
tg.manual_seed(0)
model = tg.models.MLP([64, 32, 10]).double()


def gradients(x, y):
    model.zero_grad()
    F.cross_entropy(model(tg.Tensor(x)), tg.Tensor(y)).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


whole = gradients(images[:32], train_labels[:32])
halves = [gradients(images[:16], train_labels[:16]), gradients(images[16:32], train_labels[16:32])]
average = [(a + b) / 2 for a, b in zip(*halves)]
worst = max(np.abs(w - a).max() for w, a in zip(whole, average))
print(f"largest difference, whole-batch gradient vs average of the halves: {worst:.1e}")
assert worst < 1e-12

# %% [markdown]
# ## 2. How the ranks average: all-reduce, and what it costs
#
# `all_reduce(t)` leaves on every rank the sum of every rank's `t`. MPI chooses its own
# algorithm; `tg.distributed.ring_all_reduce` writes out the classic one for large arrays. On a
# ring, each rank cuts its array into N chunks and, in 2(N − 1) rounds, passes one chunk to its
# right neighbour while adding (first N − 1 rounds) or storing (last N − 1) the chunk from its
# left. Every rank sends 2(N − 1)/N of the array, *about twice the array however many ranks
# there are*, where sending everything to rank 0 and back makes rank 0 handle N − 1 copies.

# %%
for ranks in (2, 4, 8, 64):
    print(f"N = {ranks:>2}: ring sends {2 * (ranks - 1) / ranks:.2f} x the array per rank; "
          f"rank 0 of a gather-and-broadcast receives {ranks - 1} x")

# %% [markdown]
# ## 3. Two real processes
#
# The program every rank runs is below, written to a temporary file and started with
# `mpirun -n 2`. Each rank takes its share of the data from a `DistributedSampler` (every
# rank draws the same shuffled order and keeps every N-th index, starting at its rank), wraps
# the model in `DistributedDataParallel` (which broadcasts rank 0's weights and averages the
# gradients in buckets after every backward), and trains 20 steps with Adam in float64. The
# ranks deliberately start from *different* random weights: DDP's broadcast must fix that.
# Then both time steps of a bigger MLP (784-256-256-10, global batch 128, float32).

# %%
WORKER = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import optim
    from tinygrad_edu.data import DistributedSampler, TensorDataset, load_digits
    from tinygrad_edu.nn.parallel import DistributedDataParallel

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    (images, labels), _ = load_digits()
    images = images.reshape(len(images), -1).astype(np.float64)      # (N, 64)
    sampler = DistributedSampler(TensorDataset(images, labels), seed=0)   # this rank's share
    mine = np.array(list(sampler))
    tg.manual_seed(rank)                                  # different starts, on purpose
    model = DistributedDataParallel(tg.models.MLP([64, 32, 10]).double())
    adam = optim.Adam(model.parameters(), lr=0.01)
    per_rank = 32 // world
    for step in range(20):
        batch = mine[step * per_rank:(step + 1) * per_rank]
        loss = F.cross_entropy(model(tg.Tensor(images[batch])), tg.Tensor(labels[batch]))
        adam.zero_grad()
        loss.backward()
        adam.step()
    if rank == 0:
        tg.save({"model": model.module.state_dict(), "adam": adam.state_dict()}, sys.argv[1])

    tg.manual_seed(0)
    big = DistributedDataParallel(tg.models.MLP([784, 256, 256, 10]))
    sgd = optim.SGD(big.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((128, 784), dtype=np.float32)[rank::world])
    y = tg.Tensor(rng.integers(0, 10, 128)[rank::world])
    times = []
    for step in range(25):
        dist.barrier()
        dist.reset_communication_stats()
        start = time.perf_counter()
        loss = F.cross_entropy(big(x), y)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
        times.append(time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"world": world, "step_ms": 1e3 * float(np.median(times[5:])),
                          "bytes": dist.communication_stats()["bytes"],
                          "parameters": sum(p.numel() for p in big.parameters()),
                          "share": len(mine)}))
''')

have_mpi = tg.distributed.is_available() and shutil.which("mpirun") is not None
if not have_mpi:
    print("mpi4py or mpirun is missing: install the extra with pip install -e \".[distributed]\" "
          "to run this part")

# %%
def run_ranks(ranks: int, folder: Path) -> dict:
    """Run WORKER on ``ranks`` processes (one BLAS thread each); rank 0's report."""
    script = folder / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(tg.__file__).parent.parent),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["mpirun", "-n", str(ranks), sys.executable, str(script),
                           str(folder / f"trained_{ranks}.npz")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


if have_mpi:
    with tempfile.TemporaryDirectory() as folder:
        reports = {ranks: run_ranks(ranks, Path(folder)) for ranks in (1, 2)}
        two = tg.load(Path(folder) / "trained_2.npz")

    # the same 20 steps in this one process, on the whole batch of 32 of each step
    data = TensorDataset(images, train_labels)
    shares = [np.array(list(DistributedSampler(data, num_replicas=2, rank=r, seed=0)))
              for r in range(2)]
    tg.manual_seed(0)
    single = tg.models.MLP([64, 32, 10]).double()
    adam = optim.Adam(single.parameters(), lr=0.01)
    for step in range(20):
        batch = np.concatenate([share[step * 16:(step + 1) * 16] for share in shares])
        loss = F.cross_entropy(single(tg.Tensor(images[batch])), tg.Tensor(train_labels[batch]))
        adam.zero_grad()
        loss.backward()
        adam.step()
    difference = max(np.abs(single.state_dict()[name].numpy() - two["model"][name].numpy()).max()
                     for name in single.state_dict())
    state = adam.state_dict()["state"]
    saved = two["adam"]["state"]
    moments = max(np.abs(state[i][name] - np.asarray(saved[i][name])).max()
                  for i in state for name in ("exp_avg", "exp_avg_sq"))
    print(f"2 ranks vs 1 process after 20 steps: parameters differ by {difference:.1e}, "
          f"Adam's moments by {moments:.1e}")
    assert difference < 1e-10 and moments < 1e-10

# %% [markdown]
# ## 4. What scales, and what does not, on two cores
#
# Each rank does half of the forward and backward work. What it does *not* halve:
#
# - the **optimizer step**: every rank updates every parameter (the price of keeping full
#   copies; sharded optimizers such as ZeRO split that too);
# - the **all-reduce**: the bytes per step are the size of the gradients, 4 bytes per
#   parameter, however small each rank's share of the batch;
# - the **overhead per operation**: Python and NumPy spend a fixed time on every op, large or
#   small, and a half batch has as many ops as a whole one;
# - and the **cores** themselves: two ranks on two cores only go faster when nothing else
#   runs there; on a busy machine they wait for each other at every all-reduce.
#
# So the speed-up of 2 ranks stays below 2. (The times below are measurements of this run on
# this machine, and vary from run to run; nothing here asserts them.)

# %%
if have_mpi:
    for ranks, report in reports.items():
        print(f"{ranks} rank(s): {report['step_ms']:7.2f} ms per step, "
              f"{report['bytes']:,} bytes all-reduced per step, "
              f"digits per rank per epoch {report['share']}")
    print(f"speed-up of 2 ranks: {reports[1]['step_ms'] / reports[2]['step_ms']:.2f}x")
    for report in reports.values():
        assert report["bytes"] == 4 * report["parameters"]   # one float32 per parameter
    assert reports[2]["share"] == -(-len(images) // 2)        # half of the digits, rounded up
print("\nLesson 23 done: split every batch over the ranks, average the gradients with an allreduce, and the ranks stay one model.")

# %% [markdown]
# ## Exercises
#
# 1. **A rank's share.** `exercise_shard(n, rank, world_size)` returns the indices
#    `DistributedSampler(dataset_of_n, world_size, rank, shuffle=False)` gives: the order
#    0..n-1 padded by repeating its start until world_size divides it, then every
#    world_size-th index starting at `rank`.
# 2. **The ring, simulated.** `exercise_ring_all_reduce(arrays)` takes one 1-D array per rank
#    and returns `(results, sent)`: every rank's array after a ring all-reduce (the sum), and
#    how many numbers each rank sent, following section 2 with `np.array_split` chunks.
#
# Check your answers: `python lessons/23_data_parallel_training.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu.data import DistributedSampler, TensorDataset


def exercise_shard(n, rank, world_size):
    """The indices rank ``rank`` of ``world_size`` gets, unshuffled, padded."""
    raise NotImplementedError("exercise shard: pad to a multiple of world_size, take every N-th")


def exercise_ring_all_reduce(arrays):
    """(results, sent): the summed arrays on every rank, and the numbers each rank sent."""
    raise NotImplementedError("exercise ring_all_reduce: reduce-scatter, then all-gather")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for n, world_size in ((10, 3), (7, 2), (2, 4), (12, 4)):
        dataset = TensorDataset(np.zeros((n, 1)), np.zeros(n))
        for rank in range(world_size):
            expected = list(DistributedSampler(dataset, world_size, rank, shuffle=False))
            got = [int(i) for i in solution.exercise_shard(n, rank, world_size)]
            assert got == expected, (f"shard(n={n}, rank={rank}, world_size={world_size}) = {got}, "
                                     f"expected {expected}: every rank needs the same count")
    rng = np.random.default_rng(0)
    for ranks, n in ((4, 12), (3, 10), (2, 5)):
        arrays = [rng.standard_normal(n) for _ in range(ranks)]
        results, sent = solution.exercise_ring_all_reduce([a.copy() for a in arrays])
        total = np.sum(arrays, axis=0)
        assert len(results) == ranks and all(np.allclose(r, total) for r in results), \
            "ring_all_reduce: every rank must end with the sum of all the arrays"
        chunk = [len(c) for c in np.array_split(np.zeros(n), ranks)]
        expected = [sum(chunk[(r - s) % ranks] + chunk[(r + 1 - s) % ranks]
                        for s in range(ranks - 1)) for r in range(ranks)]
        assert list(sent) == expected, (f"ring_all_reduce with {ranks} ranks of {n} numbers: sent "
                                        f"{list(sent)}, the ring sends {expected}, one chunk "
                                        f"per round")
    print("all exercises pass")
