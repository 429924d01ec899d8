"""PyTorch in a process of its own, started with the environment the benchmark was started with.

**Why not in the benchmark's process.** PyTorch's thread pool and Numba's parallel loops both run
on libgomp, the GNU OpenMP runtime, and in one process they share one copy of it: whichever
loads it first, the other binds to the same library. One runtime has one wait policy, read once
from ``OMP_WAIT_POLICY`` (and ``GOMP_SPINCOUNT``) when it loads. tinygrad_edu asks for idle
workers that sleep at once or after a short spin (PASSIVE, 10,000 rounds: 0.1-0.2 ms), because
its Numba workers would otherwise spin on the core its BLAS calls need; PyTorch, whose products
and loops all run on that one pool, is fastest with its default, workers that spin for about
3 ms before they sleep. Each setting cripples the other framework. Measured on a 2-core Intel
Xeon with 2 threads (PASSIVE without the short spin):

| in one process              | W3 GPT step           | W4 LSTM step          |
|-----------------------------|-----------------------|-----------------------|
| PyTorch, PASSIVE            | 78 ms (50 on its own) | 58 ms (27 on its own) |
| tinygrad_edu, spinning pool | 284 ms (73 on its own)| 579 ms (46 on its own)|

So each framework gets its own process and its own runtime, with the settings its users get:
PyTorch's worker starts with ``STARTING_ENVIRONMENT``, the variables this module saw when it was
imported, before tinygrad_edu set its own. The steps still take turns one by one: the
benchmark asks the worker for one step and waits for the answer, so a burst of load from other
programs still hits both alike. The worker times each step itself; the pipe is not counted.

**The protocol.** ``PyTorchWorker.call(function, *arguments)`` runs a module-level function in
the worker and returns its result (both are pickled); ``run_in_worker`` does it once in a
worker of its own. This module's ``build_step``,
``first_loss``, ``timed_step``, ``describe`` and ``peak_gflops`` are such functions, for the
W1-W5 table; the time-to-quality scripts send a whole training run.
"""
from __future__ import annotations

import multiprocessing
import os

STARTING_ENVIRONMENT = dict(os.environ)   # before tinygrad_edu adds OMP_WAIT_POLICY and others
OPENMP_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")   # what tinygrad_edu sets for libgomp


def _serve(connection, environment: dict) -> None:
    """The worker's loop: run each function it is sent and send back ("ok", result) or
    ("error", message)."""
    os.environ.clear()
    os.environ.update(environment)
    _state["openmp"] = {name: os.environ.get(name) for name in OPENMP_SETTINGS}   # libgomp reads
    try:
        import torch  # noqa: F401  (first, so that its OpenMP runtime reads the environment above)
    except ImportError as error:
        connection.send(("error", f"PyTorch is not installed ({error})"))
        return
    connection.send(("ok", None))
    while True:
        request = connection.recv()
        if request is None:
            return
        function, arguments = request
        try:
            connection.send(("ok", function(*arguments)))
        except Exception as error:   # reported in the parent, which decides what to do
            connection.send(("error", f"{type(error).__name__}: {error}".splitlines()[0][:160]))


class PyTorchWorker:
    """A process that imports PyTorch with ``STARTING_ENVIRONMENT`` and runs what it is sent.
    Raises RuntimeError (with the worker's message) when PyTorch is missing or a call fails."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")   # a fresh interpreter, nothing inherited
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, STARTING_ENVIRONMENT),
                                        daemon=True)
        self._process.start()
        theirs.close()
        self._answer()

    def _answer(self):
        status, value = self._connection.recv()
        if status == "error":
            raise RuntimeError(value)
        return value

    def call(self, function, *arguments):
        """``function(*arguments)`` in the worker; its result."""
        self._connection.send((function, arguments))
        return self._answer()

    def close(self) -> None:
        self._connection.send(None)
        self._process.join(timeout=10)


def run_in_worker(function, *arguments):
    """``function(*arguments)`` in a worker of its own, which is closed after it."""
    worker = PyTorchWorker()
    try:
        return worker.call(function, *arguments)
    finally:
        worker.close()


# ----------------------------------------------------------------------------- run in the worker

_state = {}   # in the worker: its OpenMP settings and the current step, as a common.Timed


def describe(device: str, threads: int) -> dict:
    """The row label, whether PyTorch sees a GPU, and the OpenMP settings PyTorch's runtime
    read when it loaded ({name: value or None when unset})."""
    from . import torch_workloads
    torch_workloads.set_threads(threads)
    return {"label": torch_workloads.label(device, threads),
            "cuda": torch_workloads.cuda_available(),
            "openmp": _state["openmp"]}


def build_step(workload_id: str, data: dict, state, device: str) -> None:
    """Build the PyTorch twin of a workload's step from the same data and starting weights."""
    from . import torch_workloads
    from .common import Timed
    _state["entry"] = Timed(torch_workloads.STEPS[workload_id](data, state, device),
                            synchronize=torch_workloads.synchronizer(device))


def first_loss() -> float:
    """One untimed step; its loss."""
    from .common import loss_value
    return loss_value(_state["entry"].step())


def timed_step() -> tuple[float, int]:
    """One timed step: (milliseconds, its minor page faults)."""
    entry = _state["entry"]
    faults_before = entry.faults
    elapsed_ms = entry.run()
    return elapsed_ms, entry.faults - faults_before


def peak_gflops(size: int) -> float:
    """The float32 product peak measured in the worker, PyTorch's BLAS included."""
    import torch

    from .flops import measure_peak_gflops
    return measure_peak_gflops(size=size, torch_module=torch)


class RemoteStep:
    """The worker's step as an entry of ``common.measure_interleaved``: ``run`` times one step
    there, ``step`` runs one untimed and returns its loss."""

    def __init__(self, worker: PyTorchWorker):
        self.worker, self.faults = worker, 0

    def step(self) -> float:
        return self.worker.call(first_loss)

    def run(self) -> float:
        elapsed_ms, faults = self.worker.call(timed_step)
        self.faults += faults
        return elapsed_ms
