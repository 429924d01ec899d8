"""Timing helpers: thread control, the timed loop, and the results table.

**What is measured.** One call of a *step* function: for the training workloads, forward, loss,
backward and optimizer update. Each implementation first runs a few warm-up steps (memory
pools fill, caches warm, Numba kernels compile), then N timed steps; the implementations of a
workload take turns step by step (:func:`measure_interleaved`), so that load from other
processes hits them alike. The table shows the median time per step and the interquartile range
(IQR = 75th - 25th percentile), which, unlike the mean and the standard deviation, one slow
outlier step (a garbage collection, the OS scheduling another process) does not move.

**Threads.** A fair comparison gives every implementation the same number of threads. NumPy's
BLAS (OpenBLAS or MKL) sizes its thread pool when it is *loaded*, from the environment variables
in ``THREAD_ENV_VARS``; ``__main__`` therefore starts the benchmark again in a fresh interpreter
with those variables set when they differ from ``--threads``. On top of that,
:func:`limit_threads` narrows the pools at run time: threadpoolctl for the BLAS (if installed),
Numba's ``set_num_threads``, and ``torch.set_num_threads`` for PyTorch.

**Each framework with its own runtime.** PyTorch runs in a worker process of its own
(``pytorch_process.py``), because in one process it and Numba share one OpenMP runtime, whose
one wait policy cripples one of them: with idle workers that sleep at once (what tinygrad_edu
asks for) PyTorch's W3 step took 78 ms instead of 50, with spinning ones (PyTorch's default)
tinygrad_edu's took 284 ms instead of 73. Each process keeps the settings its users get; this
process never imports PyTorch. The steps still alternate, and after each one the benchmark
waits ``IDLE_PAUSE_S``, untimed, so that the workers the last step left spinning (PyTorch's,
or OpenBLAS's and Numba's in tinygrad_edu) have gone to sleep before the other framework's step
starts.

**Page faults.** NumPy allocates a fresh array for every intermediate result. Left to its
defaults, the C library (glibc) gives large freed blocks back to the operating system and takes
them again on the next step, and every 4 KB page taken back costs a page fault (the kernel
zeroes it; several microseconds inside a virtual machine). ``tinygrad_edu.backend`` therefore
asks glibc to keep freed memory (``keep_freed_memory``), which affects the whole process, so
every implementation here runs under the same setting. The table counts minor page faults per
step (``resource.getrusage``); ``--system-allocator`` runs everything with glibc's defaults, to
see what the setting is worth.

**Rounds and ratios.** The interleaved measurement runs several times (``--rounds``). "vs
PyTorch" is (this implementation's median) / (PyTorch's median) within each round, shown as
the median over the rounds with their range: 2.00x means twice as slow, 0.50x twice as fast.
A ratio from steps taken side by side holds up on a noisy machine far better than either time
alone. "vs NumPy" is the same against the hand-written NumPy (or plain Python) step, the speed
a framework could at best reach. "spread ms" is the range of the rounds' median times.

**FLOPs.** "GFLOP/s" is the step's matrix-product FLOPs (counted from the shapes,
``flops.py``) over its median time, and "% of peak" that rate as a fraction of the best
float32 matrix product the machine reaches at the same thread count (model FLOPs utilisation).

**Memory.** "peak MB" is the resident memory a step needs above the model at rest, the
operating system's count, each implementation in a fresh process (``memory.py``).

**GPU timing.** GPU work is asynchronous: a call returns before the GPU has finished. A step is
only measured right when the device is synchronized before the clock starts and again before
it stops, so each implementation brings its ``synchronize`` function (:class:`Timed`).
"""
from __future__ import annotations

import gc
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "NUMBA_NUM_THREADS")

# after each step of a comparison, untimed: longer than an idle worker of PyTorch's libgomp or of
# tinygrad_edu's OpenBLAS or Numba spins before it sleeps, so one framework's step never shares
# the cores with the other's spinning workers
IDLE_PAUSE_S = 0.005
# OpenBLAS's idle workers spin 2^20 cycles (0.4 ms at 2.6 GHz), tinygrad_edu's own default
# (kernels/blas_threads.py), whatever the environment says: with its old default, 2^28 cycles
# (0.1 s), they outlast the pause and took a core from PyTorch's next step (its W3 step took
# 134 ms instead of 48, W4 117 instead of 27)
SPIN_ENV = {"OPENBLAS_THREAD_TIMEOUT": "20"}

# tinygrad_edu keeps freed memory unless this says "0" (see backend.keep_freed_memory)
SYSTEM_ALLOCATOR_ENV = {"TINYGRAD_EDU_KEEP_FREED_MEMORY": "0"}

_thread_limiters = []   # threadpoolctl limits hold only while their object is alive


def default_threads() -> int:
    """Two threads (the reference laptop), or fewer when the machine has fewer cores."""
    return min(2, os.cpu_count() or 1)


def wanted_environment(threads: int, system_allocator: bool) -> dict:
    """The environment variables the benchmark process must start with."""
    wanted = {**{name: str(threads) for name in THREAD_ENV_VARS}, **SPIN_ENV}
    return {**wanted, **SYSTEM_ALLOCATOR_ENV} if system_allocator else wanted


def environment_has_threads(threads: int, environ=os.environ) -> bool:
    """True when every thread-count variable of the environment already says ``threads``."""
    return all(environ.get(name) == str(threads) for name in THREAD_ENV_VARS)


def limit_threads(threads: int) -> list[str]:
    """Limit the BLAS and Numba thread pools of this process to ``threads``; returns a note for
    each pool that could not be limited (shown under the table). Imports tinygrad_edu first,
    so that the thread settings it makes on import (``tinygrad_edu/kernels``) are in place
    before Numba's threads start, as in a user's process."""
    import tinygrad_edu  # noqa: F401
    from tinygrad_edu.kernels import mkl_gemm
    mkl_gemm.available()   # MKL (when installed) loaded now, so that the limit reaches it too
    notes = []
    try:
        from threadpoolctl import threadpool_limits
        _thread_limiters.append(threadpool_limits(limits=threads))
    except ImportError:
        if not environment_has_threads(threads):
            notes.append(f"threadpoolctl is not installed and OMP_NUM_THREADS / "
                         f"OPENBLAS_NUM_THREADS are not {threads}: NumPy's BLAS may use more "
                         f"threads")
    try:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        notes.append("numba is not installed")
    return notes


# OpenBLAS's most generic kernels: it falls back to them on a processor it does not recognise
GENERIC_BLAS_KERNELS = ("prescott", "core2", "katmai", "generic")


def blas_description() -> tuple[str, list[str]]:
    """NumPy's BLAS as one line ("OpenBLAS 0.3.31, SkylakeX kernels"), and a warning when
    OpenBLAS runs its generic kernels: an OpenBLAS older than the processor (NumPy 1.26's 0.3.23
    on a recent Xeon) picks "Prescott", several times slower than the processor allows, and
    every ratio to PyTorch (which brings its own BLAS) is then about NumPy, not this engine."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown (threadpoolctl is not installed)", []
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if not pools:
        return "BLAS unknown", []
    # NumPy's own: the one its wheel ships (in numpy.libs), else the first loaded
    pool = next((pool for pool in pools if os.path.basename(os.path.dirname(
        pool.get("filepath", ""))).startswith("numpy")), pools[0])
    kernels = pool.get("architecture") or "unknown"
    line = f"{pool.get('internal_api', 'BLAS')} {pool.get('version', '')}, {kernels} kernels"
    mkl = [other for other in pools if other is not pool and other.get("internal_api") == "mkl"]
    if mkl:   # tinygrad_edu's linear layers and LSTM run their products by MKL (mkl_gemm.py)
        line += f"; tinygrad_edu's linear and LSTM products: MKL {mkl[0].get('version', '')}"
    warnings = []
    if kernels.lower() in GENERIC_BLAS_KERNELS:
        warnings.append(f"NumPy's BLAS runs its generic {kernels} kernels on this processor; "
                        f"NumPy 2's OpenBLAS knows newer processors (pip install 'numpy>=2')")
    return line, warnings


@dataclass
class Timing:
    """The result of :func:`measure`: milliseconds per step, and page faults per step."""
    median_ms: float
    iqr_ms: float
    steps: int
    faults_per_step: float | None = None


def _minor_faults() -> int | None:
    """Minor page faults of this process so far (None where the OS does not count them)."""
    try:
        import resource
    except ImportError:   # not on Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def loss_value(loss) -> float:
    """A step's loss as a Python float (a tensor of either framework, or a number)."""
    return float(loss.item() if hasattr(loss, "item") else loss)


@dataclass
class Timed:
    """A step to time: ``prepare`` runs untimed before each call (e.g. selects the kernels the
    step needs); ``synchronize`` waits for the device (None on the CPU)."""
    step: Callable[[], object]
    prepare: Callable[[], None] | None = None
    synchronize: Callable[[], None] | None = None
    faults: int = 0

    def run(self) -> float:
        """One call of ``step``, in milliseconds; counts its page faults into ``faults``."""
        if self.prepare is not None:
            self.prepare()
        sync = self.synchronize or (lambda: None)
        sync()
        faults_before = _minor_faults()
        start = time.perf_counter()
        self.step()
        sync()
        elapsed_ms = (time.perf_counter() - start) * 1e3
        if faults_before is not None:
            self.faults += _minor_faults() - faults_before
        return elapsed_ms


def summarize(times_ms: list[float]) -> Timing:
    """Median and interquartile range of the step times."""
    if len(times_ms) >= 2:
        q1, _, q3 = statistics.quantiles(times_ms, n=4, method="inclusive")
    else:
        q1 = q3 = times_ms[0]
    return Timing(statistics.median(times_ms), q3 - q1, len(times_ms))


def measure_interleaved(entries: list, repeat: int) -> list[Timing]:
    """Time ``repeat`` calls of each entry's step, taking turns: one step of the first entry,
    one of the second, ..., then the next round. A burst of load on a shared machine then slows
    every implementation alike instead of whichever happened to be running, so the ratios stay
    honest. An entry is a ``Timed`` or anything with its ``run`` and ``faults`` (such as
    ``pytorch_process.RemoteStep``). Warm up each entry before calling this."""
    gc.collect()   # start from a collected heap
    times_ms = [[] for _ in entries]
    counting = _minor_faults() is not None
    for entry in entries:
        entry.faults = 0
    for _ in range(repeat):
        for entry, record in zip(entries, times_ms):
            record.append(entry.run())
            if len(entries) > 1:
                time.sleep(IDLE_PAUSE_S)   # the next entry starts on quiet cores
    timings = [summarize(record) for record in times_ms]
    for entry, timing in zip(entries, timings):
        timing.faults_per_step = entry.faults / repeat if counting else None
    return timings


def measure(step: Callable[[], object], repeat: int, warmup: int = 3,
            synchronize: Callable[[], None] | None = None) -> Timing:
    """Time ``repeat`` calls of ``step`` after ``warmup`` untimed ones, on its own."""
    entry = Timed(step, synchronize=synchronize)
    for _ in range(warmup):
        entry.run()
    return measure_interleaved([entry], repeat)[0]


@dataclass
class Summary:
    """Several rounds of one implementation: the median of the rounds' medians, and as spread
    the range of those medians (how far a whole round moved)."""
    median_ms: float
    spread_ms: float
    faults_per_step: float | None


def combine_rounds(rounds: list[Timing]) -> Summary:
    medians = [timing.median_ms for timing in rounds]
    faults = [timing.faults_per_step for timing in rounds if timing.faults_per_step is not None]
    return Summary(statistics.median(medians), max(medians) - min(medians),
                   statistics.mean(faults) if faults else None)


@dataclass
class Row:
    """One line of the results table."""
    workload: str
    implementation: str
    rounds: list[Timing] | None    # one Timing per round; None: the implementation was skipped
    first_loss: float | None = None
    is_torch: bool = False         # the "vs PyTorch" reference of its workload
    is_handwritten: bool = False   # the "vs NumPy" reference of its workload
    note: str = ""
    flops: int | None = None       # FLOPs of one step (benchmarks/flops.py)
    peak_gflops: float | None = None   # the machine's measured float32 matmul rate
    peak_mb: float | None = None   # memory above the resting footprint (benchmarks/memory.py)

    @property
    def timing(self) -> Summary | None:
        return None if self.rounds is None else combine_rounds(self.rounds)


def ratios(row: Row, reference: Row | None) -> list[float]:
    """Round-by-round ratios of ``row``'s median step time to ``reference``'s: both ran in the
    same rounds, interleaved, so each ratio compares steps taken at the same moments."""
    if reference is None or row.rounds is None or reference.rounds is None:
        return []
    return [mine.median_ms / theirs.median_ms for mine, theirs in zip(row.rounds, reference.rounds)]


def format_ratio(values: list[float]) -> str:
    """"1.12x" for one round; "1.12x (1.05-1.20)": the median and the range over rounds."""
    if not values:
        return ""
    median = f"{statistics.median(values):.2f}x"
    return median if len(values) == 1 else f"{median} ({min(values):.2f}-{max(values):.2f})"


def table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    """The header and the cells of the results table, ratios filled in per workload."""
    header = ["workload", "implementation", "median ms/step", "spread ms", "vs PyTorch",
              "vs NumPy", "GFLOP/s", "% of peak", "peak MB", "page faults/step", "loss, step 1"]
    cells = []
    for row in rows:
        same = [other for other in rows if other.workload == row.workload]
        torch_row = next((other for other in same if other.is_torch), None)
        numpy_row = next((other for other in same if other.is_handwritten), None)
        timing = row.timing
        if timing is None:
            cells.append([row.workload, row.implementation, "skipped"] + [""] * 8)
            continue
        rate = row.flops / timing.median_ms / 1e6 if row.flops else None   # GFLOP/s
        cells.append([
            row.workload, row.implementation, f"{timing.median_ms:.3f}", f"{timing.spread_ms:.3f}",
            format_ratio(ratios(row, torch_row)), format_ratio(ratios(row, numpy_row)),
            "" if rate is None else f"{rate:.1f}",
            "" if rate is None or not row.peak_gflops else f"{100 * rate / row.peak_gflops:.0f}%",
            "" if row.peak_mb is None else f"{row.peak_mb:.1f}",
            "" if timing.faults_per_step is None else f"{timing.faults_per_step:.0f}",
            "" if row.first_loss is None else f"{row.first_loss:.5g}"])
    return header, cells


def format_table(rows: list[Row], markdown: bool = False) -> str:
    """The table as aligned plain text, or as a Markdown table (``markdown=True``)."""
    header, cells = table(rows)
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if i >= 2 else "---" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(line) + " |" for line in cells]
        return "\n".join(lines)
    widths = [max(len(line[i]) for line in [header] + cells) for i in range(len(header))]

    def render(line):
        return "  ".join(text.ljust(width) if i < 2 else text.rjust(width)
                         for i, (text, width) in enumerate(zip(line, widths))).rstrip()

    rule = "-" * len(render(header))
    return "\n".join([render(header), rule] + [render(line) for line in cells])
