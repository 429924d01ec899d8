"""The elementwise parts of the LSTM's steps, forward and backward, as loops over rows (Numba).

The reference, ``ops/lstm.py::lstm_cell_backward``, computes a step's gate gradients with about
twenty NumPy operations on (B, H) arrays, each a separate pass with its own temporary. A step
of W4 (B = 32, H = 256) is 8,192 numbers per array: small enough that the cost of starting each
operation, not the arithmetic, sets the speed, and the backward pass runs it T = 64 times. Here
the same equations run row by row in compiled loops, in the same order of operations and in the
arrays' own dtype, so the results agree with the reference to the last bit or two:

    dh   = dL/dh_t + dh_next
    dc   = dh · o · (1 - tanh² c_t) + dL/dc_t + dc_next
    da_i = dc · g · i (1 - i)        da_f = dc · c_{t-1} · f (1 - f)
    da_g = dc · i · (1 - g²)         da_o = dh · tanh c_t · o (1 - o)
    dc_next for step t - 1 = dc · f

There are no transcendental functions in it (the forward pass saved the gates and tanh c_t),
so nothing here needs NumPy's vectorized tanh.

The forward step has the same shape of problem: after NumPy's tanh of the pre-activations,
``lstm_cell_forward`` maps them to the gates and computes c_t = f ⊙ c_{t-1} + i ⊙ g in one loop
(the reference: five array operations).

**Both run on one thread**, although rows are independent. Each step's loop sits between two
BLAS products (da_t W_hh and the next step's), 64 times per sequence. A parallel loop's idle
workers spin for a while before they sleep (``kernels/__init__.py``), and there they would
spin on the core the next product needs: W4's step took 1.4x as long with the backward loop
parallel.

**One short loop per output, not one loop for all.** The compiler turns a loop into vector
instructions (16 float32 numbers at a time here) only when it can rule out that the arrays the
loop writes overlap those it reads; it checks that at run time for at most 8 pairs of arrays.
The backward step written as one loop per (b, k) writes 2 arrays and reads 7, too many pairs,
so it ran one number at a time: 55-75 µs a (32, 256) step. Split into one loop per output
(dh, dc, each gate's da, the next dc), each reading at most three arrays, every loop is
vectorized: 14-17 µs, with bit-for-bit the same results.

The products of the recurrence, h_{t-1} W_hhᵀ and da_t W_hh, multiply by the same weights at
every step: ``recurrent_product`` packs them for the BLAS once, and ``matmul`` runs the layer's
other products, both by MKL when it is installed (``mkl_gemm.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .mkl_gemm import matmul, recurrent_product  # noqa: F401  (names of this impl: ops/lstm.py)


@njit(cache=True)
def _cell_backward(grad_h, grad_c, dh_next, dc_next, gates, tanh_c, c_prev, da, dc_out, one):
    batch, hidden = grad_h.shape
    dh = np.empty(hidden, grad_h.dtype)                  # one row of dL/dh_t + dh_next
    for b in range(batch):
        for k in range(hidden):
            dh[k] = grad_h[b, k] + dh_next[b, k]
        for k in range(hidden):                          # dc, kept in dc_out for the gates
            t = tanh_c[b, k]
            dc = dh[k] * gates[b, 3 * hidden + k] * (one - t * t)
            dc_out[b, k] = dc + grad_c[b, k] + dc_next[b, k]
        for k in range(hidden):                          # da_i = dc · g · i (1 - i)
            i = gates[b, k]
            da[b, k] = (dc_out[b, k] * gates[b, 2 * hidden + k]) * (i * (one - i))
        for k in range(hidden):                          # da_f = dc · c_{t-1} · f (1 - f)
            f = gates[b, hidden + k]
            da[b, hidden + k] = (dc_out[b, k] * c_prev[b, k]) * (f * (one - f))
        for k in range(hidden):                          # da_g = dc · i · (1 - g²)
            g = gates[b, 2 * hidden + k]
            da[b, 2 * hidden + k] = (dc_out[b, k] * gates[b, k]) * (one - g * g)
        for k in range(hidden):                          # da_o = dh · tanh c_t · o (1 - o)
            o = gates[b, 3 * hidden + k]
            da[b, 3 * hidden + k] = (dh[k] * tanh_c[b, k]) * (o * (one - o))
        for k in range(hidden):                          # dc_next of step t - 1: dc · f
            dc_out[b, k] *= gates[b, hidden + k]


@njit(cache=True, error_model="numpy")
def _cell_forward(a, scale, shift, c_prev, c):
    batch, hidden = c.shape
    for b in range(batch):
        for k in range(4 * hidden):
            a[b, k] = a[b, k] * scale[k] + shift[k]
        for k in range(hidden):
            c[b, k] = a[b, hidden + k] * c_prev[b, k] + a[b, k] * a[b, 2 * hidden + k]


def lstm_cell_forward(a, scale, shift, c_prev, c):
    """The reference's signature: a (B, 4H) becomes the gates in place, c (B, H) gets c_t."""
    _cell_forward(a, scale, shift, c_prev, c)


def lstm_cell_backward(grad_h, grad_c, dh_next, dc_next, gates, tanh_c, c_prev, da):
    """The reference's signature: writes da_t (B, 4H) into ``da``, returns dc_next (B, H)."""
    dc_out = np.empty_like(dc_next)
    _cell_backward(grad_h, grad_c, dh_next, dc_next, gates, tanh_c, c_prev, da, dc_out,
                   da.dtype.type(1))   # 1 in the arrays' dtype: float32 math stays float32
    return dc_out
