"""Peak memory of training steps, the same way for every framework: the operating system's count.

Each implementation runs in a fresh process (``python -m benchmarks.memory W1 torch``), so one
framework's memory pools cannot hide in another's numbers. The process builds the step (model,
optimizer, data), reads its resident memory (RSS) as the baseline, resets the kernel's
high-water mark (writing "5" to /proc/self/clear_refs), runs a few steps, and reports the
high-water mark above the baseline: everything a step needs on top of the model at rest, its
activations, gradients, optimizer state and the framework's own buffers. Linux only; elsewhere
the column stays empty.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

STEPS = 3
_STATUS = Path("/proc/self/status")


def _status_kb(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def available() -> bool:
    """True where the kernel reports and resets the high-water mark (Linux)."""
    return _STATUS.exists() and Path("/proc/self/clear_refs").exists()


def build_step(workload_id: str, implementation: str, kernel: str | None):
    """The step function of one implementation, built as the timing run builds it."""
    from . import handwritten, workloads
    workload = next(w for w in workloads.WORKLOADS if w.id == workload_id)
    data = workload.make_data()
    if implementation == "tinygrad":
        workloads.warm_up_kernels()   # compiled code is loaded once per process, not per step
        workloads.use_kernels(kernel)
        return workloads.build_tinygrad(workload, data, "cpu")
    state = workloads.initial_state(workload, data)
    if implementation == "torch":
        from . import torch_workloads
        torch_workloads.set_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        return torch_workloads.STEPS[workload_id](data, state, "cpu")
    return handwritten.STEPS[workload_id](data, state, "cpu")


def measure_here(workload_id: str, implementation: str, kernel: str | None) -> float:
    """Megabytes above the resting footprint at the peak of ``STEPS`` steps, in this process."""
    step = build_step(workload_id, implementation, kernel)
    baseline_kb = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")   # the high-water mark starts again from now
    for _ in range(STEPS):
        step()
    return (_status_kb("VmHWM") - baseline_kb) / 1024


def measure(workload_id: str, implementation: str, kernel: str | None = None,
            timeout: float = 300) -> float | None:
    """:func:`measure_here` in a fresh interpreter with this one's environment (threads)."""
    if not available():
        return None
    command = [sys.executable, "-m", "benchmarks.memory", workload_id, implementation,
               kernel or ""]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            cwd=Path(__file__).resolve().parents[1], env=dict(os.environ))
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]


if __name__ == "__main__":
    workload_arg, implementation_arg, kernel_arg = sys.argv[1], sys.argv[2], sys.argv[3] or None
    from .common import limit_threads
    limit_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(json.dumps({"peak_mb": measure_here(workload_arg, implementation_arg, kernel_arg)}))
