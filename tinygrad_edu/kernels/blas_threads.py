"""One BLAS thread inside parallel Numba kernels.

Kernels that call ``np.dot`` inside a ``prange`` loop already run one BLAS call per Numba thread.
If BLAS then starts its own threads for each call, 2 cores end up juggling 2 × 2 threads that
wait on each other, and a product can take ten times as long. ``single_threaded_blas()`` limits
every BLAS library loaded in the process to one thread for the duration of a ``with`` block,
through threadpoolctl (which scikit-learn brings along; without it, nothing is limited).
Numba's ``np.dot`` calls SciPy's BLAS, so that library is loaded here before the lookup.
"""
import contextlib

try:
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS behind Numba's np.dot)
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - both come with scikit-learn
    ThreadpoolController = None

_controller = None


@contextlib.contextmanager
def single_threaded_blas():
    """Inside the block, every loaded BLAS library uses a single thread."""
    global _controller
    if ThreadpoolController is None:
        yield
        return
    _controller = _controller or ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
