"""``python -m benchmarks.distributed``: data-parallel step time and traffic, 1 rank vs 2.

For W1 (MLP 784-256-256-10, SGD with momentum) and W2 (LeNet-5, Adam), each at its global batch
(128 and 64 samples), the script runs ``mpirun -n 1`` and ``mpirun -n 2`` of itself; in each
run every rank trains ``DistributedDataParallel(model)`` on its 1/N of the batch, with one BLAS
thread. Rank 0 reports the median step time, the part of it spent in the gradient all-reduce,
and the bytes each rank handed to MPI per step (counted by tinygrad_edu.distributed). The
table then shows the speed-up of 2 ranks over 1. The all-reduce time includes waiting for the
slower rank to arrive, so it also measures how unevenly the two ranks ran.

    python -m benchmarks.distributed [--steps 30] [--warmup 5] [--only W1,W2]

What to expect on two cores: the forward and backward of each rank shrink with its share of
the batch; the optimizer step, the Python overhead of every operation and the all-reduce do
not, so the speed-up stays below 2, and a machine whose cores are busy with other work gives
far less. The bytes per step are the gradients' size (4 bytes per parameter), whatever the
number of ranks: MPI's all-reduce of 2 ranks exchanges one copy each way.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = {"W1": ("MLP 784-256-256-10, batch 128, SGD+momentum", 128),
             "W2": ("LeNet-5 1x28x28, batch 64, Adam", 64)}
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


def build(workload: str):
    """(model, optimizer, x, y) of the global batch, identical on every rank (fixed seeds)."""
    import numpy as np
    import tinygrad_edu as tg
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    if workload == "W1":
        model = tg.models.MLP([784, 256, 256, 10])
        optimizer = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = rng.standard_normal((128, 784), dtype=np.float32)
    else:
        model = tg.models.CNN(in_channels=1, num_classes=10, image_size=28)
        optimizer = tg.optim.Adam(model.parameters(), lr=1e-3)
        x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    return model, optimizer, x, rng.integers(0, 10, len(x))


def worker(workload: str, steps: int, warmup: int) -> None:
    """One rank's part: time ``steps`` DDP steps on this rank's share; rank 0 prints JSON."""
    import numpy as np
    import tinygrad_edu as tg
    import tinygrad_edu.distributed as dist
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu.nn.parallel import DistributedDataParallel

    class TimedDDP(DistributedDataParallel):
        seconds = 0.0

        def average_gradients(self):
            start = time.perf_counter()
            super().average_gradients()
            self.seconds += time.perf_counter() - start

    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    model, optimizer, x, y = build(workload)
    ddp = TimedDDP(model)
    share = slice(rank * len(x) // size, (rank + 1) * len(x) // size)
    x, y = tg.Tensor(x[share]), tg.Tensor(y[share])
    times, communication = [], []
    for step in range(warmup + steps):
        dist.barrier()                        # start together: a step ends with the slowest rank
        dist.reset_communication_stats()
        ddp.seconds = 0.0
        start = time.perf_counter()
        loss = F.cross_entropy(ddp(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
            communication.append(ddp.seconds)
    stats = dist.communication_stats()
    if rank == 0:
        print(json.dumps({"step_ms": 1e3 * float(np.median(times)),
                          "allreduce_ms": 1e3 * float(np.median(communication)),
                          "bytes_per_step": stats["bytes"], "calls_per_step": stats["calls"],
                          "parameters": sum(p.numel() for p in model.parameters())}))


def launch(ranks: int, workload: str, steps: int, warmup: int) -> dict:
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["mpirun", "-n", str(ranks), sys.executable, "-m",
                           "benchmarks.distributed", "--worker", workload, "--steps", str(steps),
                           "--warmup", str(warmup)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"mpirun -n {ranks} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed",
                                     description="Data-parallel step time and traffic, "
                                                 "1 vs 2 ranks.")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--only", default="W1,W2", help="workloads, comma-separated")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.steps, args.warmup)
        return 0
    if shutil.which("mpirun") is None:
        print("benchmarks.distributed: needs mpirun (pip install -e \".[distributed]\")",
              file=sys.stderr)
        return 2
    print(f"{'workload':<48} {'ranks':>5} {'step ms':>8} {'allreduce ms':>12} "
          f"{'bytes/step':>11} {'calls':>5} {'speed-up':>8}")
    for workload in args.only.split(","):
        description, batch = WORKLOADS[workload]
        results = {ranks: launch(ranks, workload, args.steps, args.warmup) for ranks in (1, 2)}
        for ranks, result in results.items():
            speedup = results[1]["step_ms"] / result["step_ms"]
            print(f"{workload + ': ' + description:<48} {ranks:>5} {result['step_ms']:8.2f} "
                  f"{result['allreduce_ms']:12.2f} {result['bytes_per_step']:11,d} "
                  f"{result['calls_per_step']:>5} {speedup:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
