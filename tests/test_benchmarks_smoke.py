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
    result = run_benchmarks("--only", "W5", "--repeat", "2", "--no-torch")
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
    result = run_benchmarks("--only", "W5", "--repeat", "1", "--warmup", "1", "--no-torch",
                            "--markdown")
    assert result.returncode == 0, result.stderr
    assert "| workload | implementation | median ms/step |" in result.stdout
    assert "| W5 | tinygrad_edu (cpu) |" in result.stdout
    bad = run_benchmarks("--only", "W9")
    assert bad.returncode != 0 and "unknown workload(s) W9" in bad.stderr


def test_gpu_section_runs_or_says_it_was_skipped():
    result = run_benchmarks("--only", "W5", "--repeat", "2", "--no-torch", "--device", "cuda")
    assert result.returncode == 0, result.stderr
    if tg.cuda.is_available():
        assert set(table_rows(result.stdout, "W5")) == {"tinygrad_edu (cuda)",
                                                        "tinygrad_edu (cpu)"}, result.stdout
    else:
        assert "no GPU: skipped" in result.stdout
