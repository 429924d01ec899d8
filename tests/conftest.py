"""Shared fixtures: every device test runs on "cpu" and, when a GPU is usable, on "cuda"."""
import numpy as np
import pytest

import tinygrad_edu as tg

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not tg.cuda.is_available(), reason="needs CuPy and an NVIDIA GPU")])]


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
