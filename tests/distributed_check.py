"""Checks that need several processes: run as ``mpirun -n 2 python tests/distributed_check.py``.

tests/test_distributed.py launches this and reads its report: one line per check from rank 0,
"PASS name" or "FAIL name: what differed". Every rank runs every check (collectives need all
of them); a check that fails on another rank is reported by rank 0 through an all-reduce.
"""
import sys
import traceback

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DistributedSampler, TensorDataset
from tinygrad_edu.nn.parallel import DistributedDataParallel

STEPS, BATCH, TOLERANCE = 20, 16, 1e-10


def check_rank_and_size(rank, size):
    assert size == 2, f"world size {size}, expected 2 (mpirun -n 2)"
    assert dist.get_rank() == rank


def check_collectives(rank, size):
    t = tg.Tensor(np.arange(6, dtype=np.float64).reshape(2, 3) * (rank + 1))
    dist.all_reduce(t)
    expected = np.arange(6).reshape(2, 3) * sum(r + 1 for r in range(size))
    assert np.array_equal(t.numpy(), expected), f"SUM gave {t.numpy()}"
    t = tg.Tensor(np.array([rank, -rank], dtype=np.float32))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert t.tolist() == [size - 1, 0], f"MAX gave {t.tolist()}"
    t = tg.Tensor(np.full(4, float(rank)))
    dist.broadcast(t, src=1)
    assert t.tolist() == [1.0] * 4, f"broadcast from rank 1 gave {t.tolist()}"
    dist.barrier()


def check_ring_equals_mpi(rank, size):
    for n in (1, 7, 1000):
        values = np.random.default_rng([rank, n]).standard_normal(n)
        ring, mpi = tg.Tensor(values.copy()), tg.Tensor(values.copy())
        dist.ring_all_reduce(ring)
        dist.all_reduce(mpi)
        difference = np.abs(ring.numpy() - mpi.numpy()).max()
        assert difference == 0, f"length {n}: ring and MPI Allreduce differ by {difference}"
        assert not np.array_equal(ring.numpy(), values), "the ring left the array unchanged"
    dist.reset_communication_stats()
    dist.ring_all_reduce(tg.Tensor(np.zeros(1000)))
    sent = dist.communication_stats()["bytes"]
    assert sent == 2 * (size - 1) * 8000 // size, f"the ring sent {sent} bytes for 8000"


def make_model():
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()


def check_parameters_broadcast(rank, size):
    tg.manual_seed(100 + rank)            # every rank initialises differently on purpose
    model = make_model()
    reference = [p.numpy().copy() for p in model.parameters()]
    everyone = [tg.Tensor(r.copy()) for r in reference]
    for t in everyone:
        dist.broadcast(t, src=0)          # what rank 0 had
    DistributedDataParallel(model)
    for p, zero in zip(model.parameters(), everyone):
        assert np.array_equal(p.numpy(), zero.numpy()), "a parameter differs from rank 0's"
    if rank == 1:
        assert not np.array_equal(reference[0], everyone[0].numpy()), "ranks started equal"


def train(model, optimizer, inputs, targets, steps):
    for step in range(steps):
        x, y = inputs[step], targets[step]
        loss = nn.functional.cross_entropy(model(tg.Tensor(x)), tg.Tensor(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def check_equivalence(rank, size):
    """Two ranks on half of every batch == one process on the whole batch, after 20 steps."""
    generator = np.random.default_rng(0)
    inputs = generator.standard_normal((STEPS, BATCH, 5))
    targets = generator.integers(0, 3, (STEPS, BATCH))
    tg.manual_seed(0)
    single = make_model()
    start = [p.numpy().copy() for p in single.parameters()]
    tg.manual_seed(1 + rank)              # rank 1 starts elsewhere: DDP must bring rank 0's weights
    replica = make_model()
    if rank == 0:
        replica.load_state_dict(single.state_dict())
    ddp = DistributedDataParallel(replica, bucket_cap_mb=0.0005)   # 524 bytes: several buckets
    assert len(ddp.buckets) > 1, "the test meant to use several buckets"
    single_optimizer = optim.Adam(single.parameters(), lr=0.05, weight_decay=0.01)
    ddp_optimizer = optim.Adam(ddp.parameters(), lr=0.05, weight_decay=0.01)
    share = slice(rank * BATCH // size, (rank + 1) * BATCH // size)
    train(single, single_optimizer, inputs, targets, STEPS)
    train(ddp, ddp_optimizer, inputs[:, share], targets[:, share], STEPS)
    worst = max(np.abs(a.numpy() - b.numpy()).max()
                for a, b in zip(single.parameters(), replica.parameters()))
    moved = max(np.abs(p.numpy() - s).max() for p, s in zip(single.parameters(), start))
    assert worst <= TOLERANCE, f"parameters differ by {worst:.3g} after {STEPS} steps"
    assert moved > 1e-3, "training did not move the parameters"
    single_state = single_optimizer.state_dict()["state"]
    ddp_state = ddp_optimizer.state_dict()["state"]
    assert single_state.keys() == ddp_state.keys()
    for index in single_state:
        for name, value in single_state[index].items():
            other = ddp_state[index][name]
            difference = abs(value - other) if name == "step" else np.abs(value - other).max()
            assert difference <= TOLERANCE, f"optimizer state {name} of parameter {index} " \
                                            f"differs by {difference:.3g}"


def check_bytes_per_step(rank, size):
    tg.manual_seed(0)
    model = make_model()
    ddp = DistributedDataParallel(model)
    dist.reset_communication_stats()
    loss = ddp(tg.Tensor(np.ones((4, 5)))).sum()
    loss.backward()
    stats = dist.communication_stats()
    total = sum(p.numel() * 8 for p in model.parameters())
    assert stats == {"calls": 1, "bytes": total}, f"one bucket of {total} bytes expected, {stats}"
    dist.reset_communication_stats()
    with ddp.no_sync():
        ddp(tg.Tensor(np.ones((4, 5)))).sum().backward()
    assert dist.communication_stats()["calls"] == 0, "no_sync still communicated"


def check_sampler(rank, size):
    dataset = TensorDataset(np.zeros((11, 2)), np.zeros(11))
    sampler = DistributedSampler(dataset, seed=3)
    sampler.set_epoch(2)
    mine = list(sampler)
    assert len(mine) == len(sampler) == 6
    counts = tg.Tensor(np.bincount(mine, minlength=11).astype(np.float64))
    dist.all_reduce(counts)
    assert counts.numpy().min() >= 1 and counts.numpy().sum() == 12, \
        f"the shares do not cover the dataset: counts {counts.tolist()}"


CHECKS = [check_rank_and_size, check_collectives, check_ring_equals_mpi,
          check_parameters_broadcast, check_equivalence, check_bytes_per_step, check_sampler]


def main() -> int:
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    failures = 0
    for check in CHECKS:
        try:
            check(rank, size)
            message = ""
        except Exception as error:    # reported, so that the other checks still run
            message = f"{type(error).__name__}: {error}"
            traceback.print_exc(file=sys.stderr)
        failed = tg.Tensor(np.array([float(bool(message))]))
        dist.all_reduce(failed)
        name = check.__name__.removeprefix("check_")
        if rank == 0:
            print(f"FAIL {name}: {message or 'failed on another rank'}" if failed.item()
                  else f"PASS {name}", flush=True)
        failures += bool(failed.item())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
