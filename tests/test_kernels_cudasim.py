"""The numba.cuda kernels under Numba's CUDA simulator, in a separate process.

``NUMBA_ENABLE_CUDASIM=1`` replaces ``numba.cuda`` for the whole process, so the checks in
``kernels_cudasim_check.py`` run in a child interpreter and the simulator never touches the
other tests."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

TESTS = Path(__file__).parent


def test_cuda_kernels_under_the_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "kernels_cudasim_check.py")],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
