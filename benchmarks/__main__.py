"""``python -m benchmarks``: time W1-W5 side by side, then the kernels alone (W6).

    python -m benchmarks                      # everything, CPU, 2 threads, 5 rounds
    python -m benchmarks --quick              # one short round, no memory runs (a smoke test)
    python -m benchmarks --only W1,W3 --repeat 50 --rounds 7
    python -m benchmarks --markdown           # the table as Markdown, for the README
    python -m benchmarks --device cuda        # the GPU section (skipped without a GPU)

For each workload the table shows tinygrad_edu (for W2 and W3 once per kernel choice, "numpy"
and "numba"), PyTorch with the same number of threads when it is installed, and the
hand-written NumPy / Python step where one exists. With ``--device cuda`` it shows tinygrad_edu
on the GPU (CuPy, plus the Numba CUDA kernels), PyTorch on the GPU, and tinygrad_edu on the CPU.

The thread count of NumPy's BLAS is fixed when NumPy is loaded, so when the environment does
not already say ``--threads`` the script starts itself again with OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and NUMBA_NUM_THREADS set (see ``common.py``).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Callable

# Only the standard library at the top: NumPy (and everything that loads it) is imported inside
# the functions, after ``restart_with_environment`` has fixed the thread variables.

from . import pytorch_process  # noqa: F401  (standard library only: it notes the environment
#                                 PyTorch's worker will start with, before tinygrad_edu adds to it)
from .common import default_threads, wanted_environment

WORKLOAD_IDS = ("W1", "W2", "W3", "W4", "W5", "W6")
_RESTARTED = "TINYGRAD_EDU_BENCHMARKS_RESTARTED"   # set in the restarted process: restart once


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Time one training step of each workload.")
    parser.add_argument("--only", default=",".join(WORKLOAD_IDS),
                        help="comma-separated workloads to run, e.g. W1,W3 (default: all)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed steps per implementation in each round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the interleaved measurement; ratios are reported as "
                             "the median over rounds with their range")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    parser.add_argument("--quick", action="store_true",
                        help="one round of 3 steps after 1 warm-up, no memory runs: checks "
                             "that everything runs, measures nothing reliably")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory runs (one fresh process per implementation)")
    parser.add_argument("--threads", type=int, default=default_threads(),
                        help="threads for NumPy's BLAS, Numba and PyTorch (default: %(default)s)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults for freed memory (more page faults); "
                             "see common.py")
    args = parser.parse_args(argv)
    args.only = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    if args.quick:
        args.rounds, args.repeat, args.warmup, args.no_memory = 1, 3, 1, True
    unknown = [name for name in args.only if name not in WORKLOAD_IDS]
    if unknown:
        parser.error(f"--only: unknown workload(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(WORKLOAD_IDS)}")
    if min(args.repeat, args.warmup, args.threads, args.rounds) < 1:
        parser.error(f"--repeat, --rounds, --warmup and --threads must be >= 1, got "
                     f"{args.repeat}, {args.rounds}, {args.warmup}, {args.threads}")
    return args


def restart_with_environment(args: argparse.Namespace, argv: list[str]) -> None:
    """Replace this process by the same command with the thread (and allocator) variables set;
    once only, so a variable the system refuses cannot cause a loop."""
    wanted = wanted_environment(args.threads, args.system_allocator)
    if os.environ.get(_RESTARTED) or all(os.environ.get(k) == v for k, v in wanted.items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv],
              {**os.environ, **wanted, _RESTARTED: "1"})


@dataclass
class Candidate:
    """One implementation of one workload, built only when it is its turn to be timed."""
    label: str
    build: Callable[[], Callable]
    synchronize: Callable[[], None] | None = None
    kernel: str | None = None
    flags: dict = field(default_factory=dict)   # is_torch / is_handwritten for the Row
    memory_as: str | None = None   # "tinygrad", "torch" or "numpy": how benchmarks.memory builds it


def prepare_candidate(candidate: Candidate, args):
    """Build and warm up one implementation: (entry to time, first loss), or (None, the reason)
    when it fails, so that one broken implementation does not hide the others. ``build`` gives
    a step function, or an entry that times itself (PyTorch's, in its worker process)."""
    from .common import Timed, loss_value
    from .workloads import use_kernels
    prepare = (lambda: use_kernels(candidate.kernel)) if candidate.kernel else None
    try:
        if prepare is not None:
            prepare()
        built = candidate.build()
        entry = built if hasattr(built, "run") else Timed(built, prepare, candidate.synchronize)
        first_loss = loss_value(entry.step())   # also the first warm-up step
        for _ in range(args.warmup - 1):
            entry.run()
    except Exception as error:
        return None, f"{type(error).__name__}: {error}".splitlines()[0][:160]
    return entry, first_loss


def time_workload(workload_id: str, candidates: list[Candidate], args, peak_gflops) -> list:
    """The table rows of one workload: every implementation warmed up, then timed in turns,
    ``args.rounds`` times over; then, unless switched off, each one's peak memory."""
    from . import memory
    from .common import Row, measure_interleaved
    from .flops import step_flops
    prepared = [prepare_candidate(candidate, args) for candidate in candidates]
    entries = [entry for entry, _ in prepared if entry is not None]
    rounds = [measure_interleaved(entries, args.repeat) for _ in range(args.rounds)]
    per_entry = iter(zip(*rounds))   # for each entry, its Timing of every round
    rows = []
    for candidate, (entry, outcome) in zip(candidates, prepared):
        if entry is None:
            rows.append(Row(workload_id, candidate.label, None, note=outcome, **candidate.flags))
            continue
        peak_mb = None
        if not args.no_memory and candidate.memory_as is not None:
            peak_mb = memory.measure(workload_id, candidate.memory_as, candidate.kernel)
        rows.append(Row(workload_id, candidate.label, list(next(per_entry)), outcome,
                        flops=step_flops(workload_id), peak_gflops=peak_gflops, peak_mb=peak_mb,
                        **candidate.flags))
    return rows


def candidates(workload, data: dict, state, args, pytorch) -> list[Candidate]:
    """Every implementation of ``workload`` to time, in table order; ``pytorch`` is the
    (worker, its description) pair, or None."""
    from . import handwritten, pytorch_process
    from .workloads import build_tinygrad, kernel_choices
    tinygrad = []
    kernels = kernel_choices() if workload.uses_kernels else []
    for device in (["cuda", "cpu"] if args.device == "cuda" else ["cpu"]):
        sync = _cupy_synchronizer() if device == "cuda" else None
        for kernel in kernels or [None]:
            label = f"tinygrad_edu ({device}{f', {kernel} kernels' if kernel else ''})"
            tinygrad.append(Candidate(label, lambda device=device: build_tinygrad(workload, data,
                                                                                  device),
                                      sync, kernel,
                                      memory_as="tinygrad" if device == "cpu" else None))
    others = []
    if pytorch is not None:
        worker, description = pytorch

        def build_remote():
            worker.call(pytorch_process.build_step, workload.id, data, state, args.device)
            return pytorch_process.RemoteStep(worker)

        others.append(Candidate(description["label"], build_remote, flags={"is_torch": True},
                                memory_as="torch" if args.device == "cpu" else None))
    if args.device == "cpu" and workload.id in handwritten.STEPS:
        hand_step = handwritten.STEPS[workload.id]
        others.append(Candidate(handwritten.LABELS[workload.id],
                                lambda: hand_step(data, state, "cpu"),
                                flags={"is_handwritten": True}, memory_as="numpy"))
    return tinygrad + others


def _cupy_synchronizer():
    from tinygrad_edu import backend
    return backend.array_module("cuda").cuda.Device().synchronize


def _start_pytorch(args):
    """(worker process, its description) for the PyTorch rows, or None (with the reason
    printed) when PyTorch is not used."""
    if args.no_torch:
        return None
    from . import pytorch_process
    try:
        worker = pytorch_process.PyTorchWorker()
    except RuntimeError as error:
        print(f"{error}: its column is left out")
        return None
    description = worker.call(pytorch_process.describe, args.device, args.threads)
    if args.device == "cuda" and not description["cuda"]:
        print("PyTorch cannot see a GPU: its CUDA row is left out")
        worker.close()
        return None
    return worker, description


def describe_machine(args, notes: list[str], peak_gflops: float | None = None) -> str:
    """The lines above the table: what ran where, and how it was measured."""
    import numpy as np
    from tinygrad_edu import backend
    from .common import blas_description
    threads = f"{args.threads} thread{'s' * (args.threads != 1)}"
    allocator = ("freed memory kept for reuse" if backend.FREED_MEMORY_KEPT
                 else "the C allocator's default settings")
    blas, blas_warnings = blas_description()
    lines = [f"device {args.device}, {threads}; Python {platform.python_version()}, "
             f"NumPy {np.__version__} ({blas}); "
             f"{platform.machine()} {platform.processor() or ''}".rstrip(),
             f"{args.rounds} round{'s' * (args.rounds != 1)} of {args.repeat} interleaved steps "
             f"after {args.warmup} warm-up steps; {allocator}"]
    if peak_gflops:
        lines.append(f"float32 matrix-product peak at {threads}: {peak_gflops:.1f} GFLOP/s "
                     f"(best of NumPy and PyTorch on 1024x1024 @ 1024x1024)")
    return "\n".join(lines + [f"note: {note}" for note in notes + blas_warnings])


def run_workloads(args) -> None:
    from . import workloads
    from .common import format_table, limit_threads
    notes = limit_threads(args.threads)
    if args.device == "cuda":
        from tinygrad_edu import backend
        if not backend.cuda_available():
            print("GPU section: no GPU: skipped (CuPy or an NVIDIA GPU is missing)")
            return
    pytorch = _start_pytorch(args)
    selected = [w for w in workloads.WORKLOADS if w.id in args.only]
    if any(w.uses_kernels for w in selected):
        if not workloads.kernel_choices():
            notes.append("tinygrad_edu.kernels has no switch (set_default): W2 and W3 ran "
                         "with the default kernels only")
        workloads.warm_up_kernels()
    peak_gflops = None
    if args.device == "cpu":
        from .flops import measure_peak_gflops
        size = 256 if args.quick else 1024
        peak_gflops = measure_peak_gflops(size=size)
        if pytorch is not None:
            from .pytorch_process import peak_gflops as pytorch_peak
            peak_gflops = max(peak_gflops, pytorch[0].call(pytorch_peak, size))
    rows = []
    for workload in selected:
        data = workload.make_data()
        state = workloads.initial_state(workload, data)
        implementations = candidates(workload, data, state, args, pytorch)
        rows += time_workload(workload.id, implementations, args, peak_gflops)
        print(f"  {workload.id}: done", file=sys.stderr, flush=True)
    workloads.restore_kernels()
    if pytorch is not None:
        pytorch[0].close()
    print(describe_machine(args, notes, peak_gflops))
    print()
    for workload in selected:
        print(f"{workload.id}: {workload.title}")
    print()
    print(format_table(rows, markdown=args.markdown))
    for row in rows:
        if row.timing is None:
            print(f"skipped: {row.workload} {row.implementation}: {row.note}")


def run_kernels(args) -> None:
    """W6, the kernels alone, lives in benchmarks/kernels.py and prints its own table; its entry
    point is ``run(repeat, threads, device, markdown)``."""
    if importlib.util.find_spec(f"{__package__}.kernels") is None:
        print("W6: benchmarks/kernels.py is not there yet: skipped")
        return
    kernels = importlib.import_module(f"{__package__}.kernels")
    if not hasattr(kernels, "run"):
        print("W6: benchmarks/kernels.py has no run(repeat, threads, device, markdown): skipped")
        return
    print()
    kernels.run(repeat=args.repeat, threads=args.threads, device=args.device,
                markdown=args.markdown)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    restart_with_environment(args, argv)
    if any(name != "W6" for name in args.only):
        run_workloads(args)
    if "W6" in args.only:
        run_kernels(args)


if __name__ == "__main__":
    main()
