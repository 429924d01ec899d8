"""BLAS threads next to Numba's: one BLAS thread inside parallel kernels, and idle BLAS workers
that soon go to sleep.

Kernels that call ``np.dot`` inside a ``prange`` loop already run one BLAS call per Numba thread.
If BLAS then starts its own threads for each call, 2 cores end up juggling 2 × 2 threads that
wait on each other, and a product can take ten times as long. ``single_threaded_blas()`` limits
every BLAS library loaded in the process to one thread for the duration of a ``with`` block,
through threadpoolctl (which scikit-learn brings along; without it, nothing is limited).
Numba's ``np.dot`` calls SciPy's BLAS, so that library is loaded here before the lookup.

**Idle BLAS workers.** After each product OpenBLAS's idle workers keep spinning for 2^n
processor cycles before they sleep, n = ``OPENBLAS_THREAD_TIMEOUT``, 28 by default: about 0.1 s.
A Numba kernel that starts within that time shares its second core with a spinning worker; a
GELU forward pass right after a product took 5.7 ms instead of 0.33 on 2 cores. With n = 20
(about 0.4 ms) a worker still spins across the short gaps between products (the LSTM's
recurrent steps), and sleeps before the next kernel has waited long; measured on a 2-core Intel
Xeon, W2's step took 0.85x and W3's 0.91x as long as with 28, W1's and W4's the same (n = 16
made W3 faster still but W4 1.15x slower, each product paying for a wake-up). OpenBLAS reads
the variable when it is loaded, usually with NumPy, before this package; ``shorten_blas_spin``
therefore also makes a loaded OpenBLAS read its environment again and restarts its workers,
which come back with the new setting at the next product. A value the user set wins.
"""
import contextlib
import os

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - a dependency, as scikit-learn's
    ThreadpoolController = None

_controller = None
BLAS_SPIN_EXPONENT = 20   # idle OpenBLAS workers spin 2^20 cycles (about 0.4 ms), then sleep


def shorten_blas_spin() -> None:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` (unless the user has) and apply it to every OpenBLAS
    library already loaded (see above)."""
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", str(BLAS_SPIN_EXPONENT))
    if ThreadpoolController is None or not os.environ["OPENBLAS_THREAD_TIMEOUT"].isdigit():
        return
    wanted = int(os.environ["OPENBLAS_THREAD_TIMEOUT"])
    for library in ThreadpoolController().lib_controllers:
        openblas = library.dynlib if library.internal_api == "openblas" else None
        if not all(hasattr(openblas, name) for name in
                   ("openblas_thread_timeout", "openblas_read_env", "blas_thread_shutdown_")):
            continue   # not OpenBLAS, or a build without these entry points
        if openblas.openblas_thread_timeout() != wanted:
            openblas.openblas_read_env()        # the timeout, as the loader would have read it
            openblas.blas_thread_shutdown_()    # workers restart with it at the next product


@contextlib.contextmanager
def single_threaded_blas():
    """Inside the block, every loaded BLAS library uses a single thread."""
    global _controller
    if ThreadpoolController is None:
        yield
        return
    if _controller is None:
        import scipy.linalg.cython_blas  # noqa: F401  (Numba's np.dot calls it: load it first)
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
