"""Matrix products by MKL, for the linear layers and the LSTM (its recurrent weights packed once).

Intel's MKL is the BLAS PyTorch's CPU builds use. On the products of W1-W4 it is faster than
NumPy's own BLAS (OpenBLAS, in NumPy's wheels): a GPT step's linear-layer products, shape by
shape, took 17.2 ms with MKL against 19.6 (eighth round). ``matmul`` is a plain product by MKL
(``?gemm``), reading transposed views as they lie, with no copy; the linear layers
(``ops/linear.py``, through the kernel switch's "linear") and the LSTM's four large products
(all steps' inputs at once, the weight gradients) use it.

A BLAS product C = A·B does not read A and B as they lie in memory. It first copies ("packs")
panels of both into the order its inner loop reads them, then multiplies the panels. In a large
product the copies are a small part of the work; in the LSTM's step they are not. There A is
h_{t-1}, (B, H) = (32, 256) in W4, and B is W_hhᵀ, (H, 4H) = (256, 1024): each product packs a
megabyte of weights to multiply them by 32 rows, and a layer does that 64 times a sequence
forward (h_{t-1} W_hhᵀ) and 64 times backward (da_t W_hh), always with the same weights.

MKL lets a program pack B once and multiply many A's by it: ``cblas_?gemm_pack``, then
``cblas_?gemm_compute`` (oneDNN's LSTM does the same); OpenBLAS has no such call. Measured
alone on W4's shapes, 2 threads, a 2-core Xeon: (32, 256)·(256, 1024) took 157 us with NumPy's
product, 132 with MKL's and 109 packed, (32, 1024)·(1024, 256) 246, 160 and 119; packing once,
29 us. ``PackedProduct`` is x ↦ x·M with M packed.

In one process, steps alternating with MKL on and off (24 rounds of 3 steps, ninth round):
W1 0.93x, W2 0.95x, W3 0.94x, W4 0.83x.

**Optional.** ``pip install "tinygrad_edu[mkl]"`` brings MKL on Linux on x86-64 (the loader
looks for ``libmkl_rt.so`` in the environment's ``lib`` folder, then on the system).
``matmul`` and ``recurrent_product`` use it when its library loads, for float32 and float64,
unless ``TINYGRAD_EDU_MKL=0`` (or the kernel switch chooses "numpy"). Otherwise
``recurrent_product`` returns the reference, ``ops/lstm.py::RecurrentProduct``, and ``matmul``
is NumPy's ``@``; the numbers agree up to rounding (the tests compare them).

**Threads.** ``MKL_THREADING_LAYER=GNU`` (unless the user set it): MKL's threads are then
GNU OpenMP's, the team Numba's parallel loops already use, with the same short spin
(``kernels/__init__.py``), instead of a third pool of threads next to OpenBLAS's. Loading also
sets MKL's thread count explicitly to its own default (``MKL_NUM_THREADS``, else the cores): in
an early comparison W4 gained 3% without this and 15% with it (that comparison reloaded the
library between rounds, so the cause is not certain; setting it costs nothing).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
import sys

import numpy as np

from ..ops.lstm import RecurrentProduct

_ROW_MAJOR, _NO_TRANSPOSE, _TRANSPOSE, _PACKED, _MATRIX_B = 101, 111, 112, 151, 162   # CBLAS's
_PREFIXES = {np.dtype(np.float32): ("s", ctypes.c_float),
             np.dtype(np.float64): ("d", ctypes.c_double)}


@functools.lru_cache(maxsize=None)
def _mkl():
    """MKL's single-library entry point (libmkl_rt), its product calls typed; or None."""
    if os.environ.get("TINYGRAD_EDU_MKL") == "0":
        return None
    os.environ.setdefault("MKL_THREADING_LAYER", "GNU")
    candidates = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
    candidates += [name for name in [ctypes.util.find_library("mkl_rt")] if name]
    for candidate in candidates:
        try:
            library = ctypes.CDLL(candidate)
        except OSError:
            continue
        int_, pointer = ctypes.c_int, ctypes.c_void_p
        for prefix, real in _PREFIXES.values():
            getattr(library, f"cblas_{prefix}gemm").argtypes = (
                [int_] * 6 + [real, pointer, int_, pointer, int_, real, pointer, int_])
            size = getattr(library, f"cblas_{prefix}gemm_pack_get_size")
            size.argtypes, size.restype = [int_] * 4, ctypes.c_size_t
            getattr(library, f"cblas_{prefix}gemm_pack").argtypes = (
                [int_] * 6 + [real, pointer, int_, pointer])
            getattr(library, f"cblas_{prefix}gemm_compute").argtypes = (
                [int_] * 6 + [pointer, int_, pointer, int_, real, pointer, int_])
        library.MKL_Set_Num_Threads(library.MKL_Get_Max_Threads())   # see "Threads" above
        return library
    return None


def available() -> bool:
    """True when MKL's library loaded (and ``TINYGRAD_EDU_MKL`` is not 0)."""
    return _mkl() is not None


def _row_stride(a):
    """The distance between a 2-D array's rows in elements, when BLAS can read it as it lies
    (each row contiguous, rows apart and in order); None otherwise."""
    rows, columns = a.shape
    if rows == 0 or columns == 0:   # nothing to read
        return max(columns, 1)
    if a.strides[1] != a.itemsize and columns > 1:
        return None
    if rows == 1:                   # one row: the row stride is never used
        return columns
    stride, remainder = divmod(a.strides[0], a.itemsize)
    return stride if remainder == 0 and stride >= columns else None


def _operand(a):
    """(CBLAS transpose flag, leading dimension, array) to hand a 2-D array to ?gemm without
    copying it: its rows as they lie, or a transposed view's rows (a copy if neither)."""
    for flag, view in ((_NO_TRANSPOSE, a), (_TRANSPOSE, a.T)):
        stride = _row_stride(view)
        if stride is not None:
            return flag, stride, a
    return _NO_TRANSPOSE, max(a.shape[1], 1), np.ascontiguousarray(a)


def matmul(a, b):
    """a·b for 2-D arrays, (m, k)·(k, n) -> (m, n): MKL's ?gemm for float32 and float64 of one
    dtype, NumPy's ``@`` for anything else (and without MKL)."""
    if not (available() and a.ndim == b.ndim == 2 and a.dtype == b.dtype
            and a.dtype in _PREFIXES and a.shape[1] == b.shape[0] and a.size and b.size):
        return a @ b
    (m, k), n = a.shape, b.shape[1]
    out = np.empty((m, n), a.dtype)
    (a_flag, lda, a), (b_flag, ldb, b) = _operand(a), _operand(b)
    gemm = getattr(_mkl(), f"cblas_{_PREFIXES[a.dtype][0]}gemm")
    gemm(_ROW_MAJOR, a_flag, b_flag, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
         out.ctypes.data, n)
    return out


class PackedProduct:
    """x ↦ x·M with M (K, N) packed once by MKL; x (m, K) with any row stride (copied if its
    rows are not contiguous). The packed form depends on m, so a new m packs again."""

    def __init__(self, matrix):
        self.matrix = np.array(matrix, order="C")   # (K, N), a copy: packing happens later
        prefix, _ = _PREFIXES[self.matrix.dtype]
        library = _mkl()
        self._size, self._pack, self._compute = (
            getattr(library, f"cblas_{prefix}gemm_{name}")
            for name in ("pack_get_size", "pack", "compute"))
        self._rows, self._packed = None, None

    def _packed_for(self, rows):
        if rows != self._rows:
            k, n = self.matrix.shape
            self._packed = np.empty(self._size(_MATRIX_B, rows, n, k), np.uint8)
            self._pack(_ROW_MAJOR, _MATRIX_B, _NO_TRANSPOSE, rows, n, k, 1.0,
                       self.matrix.ctypes.data, n, self._packed.ctypes.data)
            self._rows = rows
        return self._packed

    def _multiply(self, x, out, beta):
        if x.dtype != self.matrix.dtype or out.dtype != self.matrix.dtype:
            raise TypeError(f"PackedProduct: x {x.dtype} and out {out.dtype} must be "
                            f"{self.matrix.dtype}, the packed matrix's dtype")
        out_stride = _row_stride(out) if out.ndim == 2 else None
        if x.ndim != 2 or x.shape[1] != self.matrix.shape[0] or out.shape != (
                x.shape[0], self.matrix.shape[1]) or out_stride is None:
            raise ValueError(f"PackedProduct: x {x.shape} · M {self.matrix.shape} into out "
                             f"{out.shape} (rows contiguous) does not fit")
        x_stride = _row_stride(x)
        if x_stride is None:
            x = np.ascontiguousarray(x)
            x_stride = max(x.shape[1], 1)
        (rows, k), n = x.shape, self.matrix.shape[1]
        if rows == 0 or k == 0:   # nothing to multiply: x·M is zero
            if beta == 0:
                out[...] = 0
            return out
        self._compute(_ROW_MAJOR, _NO_TRANSPOSE, _PACKED, rows, n, k, x.ctypes.data, x_stride,
                      self._packed_for(rows).ctypes.data, n, beta, out.ctypes.data, out_stride)
        return out

    def __call__(self, x):
        """x·M, a new (m, N) array."""
        return self._multiply(x, np.empty((x.shape[0], self.matrix.shape[1]), x.dtype), 0.0)

    def add_to(self, out, x):
        """out += x·M, in place, without a temporary for the product."""
        self._multiply(x, out, 1.0)


def recurrent_product(matrix):
    """x ↦ x·M for a matrix reused at every step: MKL's packed product where it can run,
    NumPy's (the reference) otherwise. Both have ``__call__(x)`` and ``add_to(out, x)``."""
    if available() and matrix.ndim == 2 and matrix.dtype in _PREFIXES and matrix.size:
        return PackedProduct(matrix)
    return RecurrentProduct(matrix)
