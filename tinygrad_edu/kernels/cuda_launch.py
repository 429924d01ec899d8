"""Launching a numba.cuda kernel with one thread per item, shared by the GPU kernels."""
from __future__ import annotations

from numba import cuda

THREADS = 128   # threads per block


def launch(kernel, count, *args):
    """Run ``kernel`` with one thread per item (``count`` items) and wait for it."""
    threads = max(1, min(THREADS, count))
    kernel[(count + threads - 1) // threads, threads](*args)
    cuda.synchronize()
