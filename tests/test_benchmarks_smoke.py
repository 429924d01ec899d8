"""Smoke test of the benchmark script, so that it cannot rot: the quickest workload (W5), two
timed steps, without PyTorch (whose import alone takes seconds). Timings are never asserted:
only that the table comes out with the implementations it should list, and that the tinygrad_edu
step and the hand-written one agree on the value they compute."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_edu as tg

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_benchmarks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def table_rows(stdout: str, workload: str) -> dict:
    """{implementation: cells after it} for the table lines of ``workload``."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith(workload + " "):
            cells = [cell for cell in line[len(workload):].split("  ") if cell.strip()]
            rows[cells[0].strip()] = [cell.strip() for cell in cells[1:]]
    return rows


def test_overhead_workload_prints_a_table():
    result = run_benchmarks("--only", "W5", "--repeat", "2", "--rounds", "2", "--no-torch",
                            "--no-memory")
    assert result.returncode == 0, result.stderr
    assert "median ms/step" in result.stdout
    rows = table_rows(result.stdout, "W5")
    assert set(rows) == {"tinygrad_edu (cpu)", "Python floats by hand"}, result.stdout
    for cells in rows.values():
        assert float(cells[0]) > 0   # the median time is a positive number
    # the last cell is the value the step computed: both implementations compute the same y
    assert float(rows["tinygrad_edu (cpu)"][-1]) == pytest.approx(
        float(rows["Python floats by hand"][-1]), rel=1e-4)


def test_markdown_table_and_option_errors():
    result = run_benchmarks("--only", "W5", "--quick", "--no-torch", "--markdown")
    assert result.returncode == 0, result.stderr
    assert "| workload | implementation | median ms/step |" in result.stdout
    assert "| W5 | tinygrad_edu (cpu) |" in result.stdout
    bad = run_benchmarks("--only", "W9")
    assert bad.returncode != 0 and "unknown workload(s) W9" in bad.stderr


def test_gpu_section_runs_or_says_it_was_skipped():
    result = run_benchmarks("--only", "W5", "--quick", "--no-torch", "--device", "cuda")
    assert result.returncode == 0, result.stderr
    if tg.cuda.is_available():
        assert set(table_rows(result.stdout, "W5")) == {"tinygrad_edu (cuda)",
                                                        "tinygrad_edu (cpu)"}, result.stdout
    else:
        assert "no GPU: skipped" in result.stdout


# ----------------------------------------------------------------------------- FLOPs, rounds, memory

def counted_matmul_flops(monkeypatch, run) -> int:
    """The FLOPs of every matrix product ``run()`` executes, 2·(output size)·(inner length),
    counted at ``MatMul.forward`` (backward's products go through it too) and at the linear
    layer's own products (``ops/linear.py``: y = x Wᵀ forward, dL/dx and dL/dW backward)."""
    from tinygrad_edu.ops import linear, matmul
    total = [0]
    forward, linear_forward = matmul.MatMul.forward, linear.Linear.forward
    linear_backward = linear.Linear.backward_arrays

    def counting_forward(self, a, b):
        out = forward(self, a, b)
        total[0] += 2 * out.size * a.shape[-1]
        return out

    def counting_linear_forward(self, x, weight, *bias, impl=None):
        out = linear_forward(self, x, weight, *bias, impl=impl)
        total[0] += 2 * out.size * weight.shape[1]
        return out

    def counting_linear_backward(self, grad):
        grads = linear_backward(self, grad)
        made = sum(g is not None for g in grads[:2])     # dL/dx and dL/dW, each N·out·in
        total[0] += made * 2 * grad.size * self.inputs[1].shape[1]
        return grads

    monkeypatch.setattr(matmul.MatMul, "forward", counting_forward)
    monkeypatch.setattr(linear.Linear, "forward", counting_linear_forward)
    monkeypatch.setattr(linear.Linear, "backward_arrays", counting_linear_backward)
    run()
    return total[0]


def test_flop_formulas_equal_the_products_a_step_runs(monkeypatch):
    """The shape formulas of benchmarks/flops.py against the products one step really runs: W1 at
    its size, and a tiny GPT with the reference attention (all its products are MatMuls)."""
    import numpy as np
    from benchmarks import flops, workloads
    step, _ = workloads.mlp_step(workloads.mlp_data(), "cpu")
    assert counted_matmul_flops(monkeypatch, step) == flops.step_flops("W1")

    config = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    tg.manual_seed(0)
    model = tg.models.GPT(**config)
    idx = tg.Tensor(np.random.default_rng(0).integers(0, 11, (3, 8)))
    with tg.kernels.use("numpy"):
        counted = counted_matmul_flops(monkeypatch, lambda: model(idx, idx)[1].backward())
    assert counted == flops.gpt_flops(config, batch=3)


def test_ratios_are_taken_round_by_round():
    from benchmarks.common import Row, Timing, format_ratio, ratios
    mine = Row("W1", "a", [Timing(2.0, 0, 5), Timing(6.0, 0, 5), Timing(3.0, 0, 5)])
    torch_row = Row("W1", "torch", [Timing(1.0, 0, 5), Timing(4.0, 0, 5), Timing(2.0, 0, 5)],
                    is_torch=True)
    assert ratios(mine, torch_row) == [2.0, 1.5, 1.5]
    assert format_ratio(ratios(mine, torch_row)) == "1.50x (1.50-2.00)"
    assert mine.timing.median_ms == 3.0 and mine.timing.spread_ms == 4.0


def test_the_benchmark_keeps_idle_blas_workers_to_the_engines_own_spin():
    # Workers spinning longer than the pause between two frameworks' steps take a core from the
    # next step; the benchmark fixes the spin at what tinygrad_edu itself sets on import.
    from benchmarks.common import IDLE_PAUSE_S, wanted_environment
    from tinygrad_edu.kernels.blas_threads import BLAS_SPIN_EXPONENT
    wanted = wanted_environment(2, system_allocator=False)
    assert wanted["OPENBLAS_THREAD_TIMEOUT"] == str(BLAS_SPIN_EXPONENT)
    assert 2 ** BLAS_SPIN_EXPONENT / 1e9 < IDLE_PAUSE_S / 2   # even at a 1 GHz clock


def test_peak_memory_of_a_step_is_measured_in_a_fresh_process():
    from benchmarks import memory
    if not memory.available():
        pytest.skip("the high-water mark of a process is read from Linux's /proc")
    peak = memory.measure("W1", "tinygrad")
    # a W1 step holds at least its weight gradients (784·256 + 256·256 + 2570 floats, 1.1 MB)
    assert peak is not None and peak > 1.0


def test_pytorch_runs_in_its_own_process_with_the_environment_the_benchmark_started_with():
    # In one process PyTorch and Numba share one libgomp and its one wait policy: PASSIVE (what
    # tinygrad_edu asks for) made PyTorch's W3 step 78 ms instead of 50, PyTorch's spinning
    # default made tinygrad_edu's 284 ms instead of 73. So PyTorch gets a worker process that
    # starts without the variables tinygrad_edu sets, and this process never imports it.
    pytest.importorskip("torch")
    script = """
import sys
from benchmarks import pytorch_process
from benchmarks.common import limit_threads
from benchmarks import workloads
import tinygrad_edu
limit_threads(2)
worker = pytorch_process.PyTorchWorker()
description = worker.call(pytorch_process.describe, "cpu", 2)
workload = next(w for w in workloads.WORKLOADS if w.id == "W5")
data = workload.make_data()
ours = float(workloads.build_tinygrad(workload, data, "cpu")().item())
worker.call(pytorch_process.build_step, "W5", data, None, "cpu")
theirs = pytorch_process.RemoteStep(worker)
loss, elapsed_ms = theirs.step(), theirs.run()
worker.close()
for name in pytorch_process.OPENMP_SETTINGS:
    print(description["openmp"][name], tinygrad_edu.kernels.os.environ[name])
print(abs(loss - ours) < 1e-5 * abs(ours), elapsed_ms > 0, "torch" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120, env={**env, "PYTHONPATH": str(REPO_ROOT)})
    assert result.returncode == 0, result.stderr
    policy, spin, checks = result.stdout.splitlines()[-3:]
    assert policy.split() == ["None", "PASSIVE"]          # the worker's, then this process's
    assert spin.split() == ["None", str(tg.kernels.NUMBA_SPIN_ROUNDS)]
    assert checks.split() == ["True", "True", "False"]    # same loss, timed, no torch here
