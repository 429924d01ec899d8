"""``backend.keep_freed_memory``: freed array memory stays with the process for reuse.

Measured in fresh interpreters (the allocator's state is per process): a loop that allocates
and frees the same set of arrays again and again must stop page-faulting after the first round
when the setting is on. Page faults are counted, not timed."""
import ctypes
import subprocess
import sys

import pytest

import tinygrad_edu as tg

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
    reason="the allocator setting applies to Linux with glibc only")

ROUND_SCRIPT = """
import resource
import numpy as np
import tinygrad_edu.backend as backend

def one_round():   # six 8 MB arrays alive at once, then all freed, like a step's activations
    arrays = [np.ones(2**21, dtype=np.float32) for _ in range(6)]
    del arrays

one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    one_round()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(backend.FREED_MEMORY_KEPT, faults)
"""
PAGES_PER_ROUND = 6 * 8 * 2**20 // 4096


def run_rounds(keep: str) -> tuple[bool, int]:
    result = subprocess.run([sys.executable, "-c", ROUND_SCRIPT], capture_output=True, text=True,
                            env={"TINYGRAD_EDU_KEEP_FREED_MEMORY": keep, "PATH": ""},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    kept, faults = result.stdout.split()
    return kept == "True", int(faults)


@glibc_only
def test_freed_memory_is_reused_without_page_faults():
    kept, faults = run_rounds("1")
    assert kept
    assert faults < 0.05 * 3 * PAGES_PER_ROUND, f"{faults} page faults in 3 rounds"


@glibc_only
def test_environment_variable_turns_it_off():
    kept, _ = run_rounds("0")
    assert not kept


def test_keep_freed_memory_reports_whether_it_applied():
    applied = tg.backend.keep_freed_memory()
    assert isinstance(applied, bool)
    assert applied == (sys.platform.startswith("linux")
                       and hasattr(ctypes.CDLL(None), "gnu_get_libc_version"))
