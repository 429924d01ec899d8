"""Data-parallel training on MPI: the collectives, the ring all-reduce, DistributedDataParallel
and DistributedSampler, run for real in two processes with ``mpirun -n 2``.

The multi-process checks live in tests/distributed_check.py; one mpirun runs them all and each
test below reads its line of the report. They need the ``distributed`` extra (mpi4py and an MPI
library with ``mpirun``); without it they skip, saying so.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist
from tinygrad_edu.data import DistributedSampler, TensorDataset
from tinygrad_edu.nn.parallel import make_buckets

ROOT = Path(__file__).resolve().parent.parent
needs_mpi = pytest.mark.skipif(
    not dist.is_available() or shutil.which("mpirun") is None,
    reason="needs the distributed extra: pip install -e \".[distributed]\" (mpi4py, mpich)")
CHECK_NAMES = ["rank_and_size", "collectives", "ring_equals_mpi", "parameters_broadcast",
               "equivalence", "bytes_per_step", "sampler"]


def mpirun(*args, timeout=120):
    """Run ``mpirun -n 2 python ARGS`` from the repository root with one BLAS thread per rank."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    return subprocess.run(["mpirun", "-n", "2", sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report():
    done = mpirun("tests/distributed_check.py")
    lines = {line.split()[1].rstrip(":"): line for line in done.stdout.splitlines()
             if line.startswith(("PASS ", "FAIL "))}
    return lines, done


@needs_mpi
@pytest.mark.parametrize("name", CHECK_NAMES)
def test_two_processes(report, name):
    lines, done = report
    assert name in lines, f"no report for {name}:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert lines[name] == f"PASS {name}", f"{lines[name]}\n{done.stderr[-3000:]}"


@pytest.mark.slow
@needs_mpi
def test_train_command_distributed(tmp_path):
    done = mpirun("-m", "tinygrad_edu", "train", "mlp", "--distributed", "--steps", "6",
                  "--batch-size", "32", "--no-progress", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ranks: 2" in done.stdout, done.stdout
    assert done.stdout.count("checkpoint:") == 1, "only rank 0 should report and save"
    assert (tmp_path / "checkpoint.npz").exists()


def test_not_initialized_is_a_clear_error():
    if dist.is_initialized():
        pytest.skip("a process group is already initialized in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="all_reduce.*init_process_group"):
        dist.all_reduce(tg.ones(2))


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend 'nccl'.*mpi"):
        dist.init_process_group(backend="nccl")


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 2, False), (11, 2, False), (11, 3, True),
                                                     (2, 4, False), (13, 4, True)])
def test_sampler_shares(n, replicas, drop_last):
    dataset = TensorDataset(np.zeros((n, 1)), np.zeros(n))
    shares = [list(DistributedSampler(dataset, replicas, r, seed=5, drop_last=drop_last))
              for r in range(replicas)]
    lengths = {len(share) for share in shares}
    assert len(lengths) == 1, f"ranks got different numbers of samples: {lengths}"
    everything = sum(shares, [])
    if drop_last:
        assert len(set(everything)) == len(everything) == (n // replicas) * replicas
    else:
        assert set(everything) == set(range(n)) and len(everything) == -(-n // replicas) * replicas


def test_sampler_epochs_change_the_order_and_agree_across_ranks():
    dataset = TensorDataset(np.zeros((20, 1)), np.zeros(20))
    a, b = DistributedSampler(dataset, 2, 0), DistributedSampler(dataset, 2, 1)
    first = list(a) + list(b)
    a.set_epoch(1), b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second
    unshuffled = DistributedSampler(dataset, 2, 1, shuffle=False)
    assert list(unshuffled) == list(range(1, 20, 2))


def test_sampler_bad_rank():
    with pytest.raises(ValueError, match="rank 2 of num_replicas 2"):
        DistributedSampler(TensorDataset(np.zeros((4, 1)), np.zeros(4)), 2, 2)


def test_buckets_respect_the_cap_and_reverse_order():
    params = [tg.zeros(10), tg.zeros(100), tg.zeros(5), tg.zeros(5, dtype=np.float64)]
    buckets = make_buckets(params, cap_bytes=100)
    assert [[p.numel() for p in bucket] for bucket in buckets] == [[5], [5], [100], [10]]
    assert [len(b) for b in make_buckets(params[:3], cap_bytes=1 << 20)] == [3]


def test_after_backward_runs_once_the_gradients_are_in():
    from tinygrad_edu.ops.after_backward import after_backward
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    seen = []
    out = after_backward((w * w).sum(), lambda: seen.append(w.grad.tolist()))
    (out * 3).backward()
    assert seen == [[6.0, 12.0]] and w.grad.tolist() == [6.0, 12.0]
    with pytest.raises(RuntimeError, match="after_backward: second derivatives"):
        after_backward((w * w).sum(), lambda: None).backward(create_graph=True)


@pytest.mark.slow
@needs_mpi
def test_distributed_benchmark_runs_and_counts_the_gradient_bytes():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--steps", "1",
                           "--warmup", "0", "--only", "W1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    parameters = 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    rows = [line for line in done.stdout.splitlines() if line.startswith("W1")]
    assert len(rows) == 2 and all(f"{4 * parameters:,d}" in row for row in rows), done.stdout
