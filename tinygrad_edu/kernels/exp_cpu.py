"""e^x for one number inside a Numba loop, written so that the compiler vectorizes the loop.

Attention computes one exponential per score, and the GELU one per activation, so on the CPU
the exponential, not the multiply-adds, sets their speed. Numba turns ``np.exp`` of a number
into a call of the C library's ``exp``, one number at a time: LLVM can vectorize it only with
fastmath and Intel's SVML. So ``exp(x)`` is built from operations it *can* vectorize:
multiplies, a floor, a polynomial and integer arithmetic on the bits of a float.

    e^x = 2^k · e^r,   k = round(x / ln 2),   r = x - k·ln 2  (so |r| <= ln 2 / 2 ≈ 0.347)

- r is computed in two steps, x - k·LN2_HI - k·LN2_LO, with ln 2 split so that k·LN2_HI is
  exact (Cody and Waite's trick); otherwise the rounding of k·ln 2 would swamp r.
- e^r is its Taylor series, to the degree the dtype needs: the first term left out, r^(n+1) /
  (n+1)!, is below the dtype's rounding (degree 7 for float32: 5e-9; 12 for float64: 3e-17).
- 2^k is written directly as the bits of a float of the same dtype, exponent field k + bias
  and mantissa 0 (``_power_of_two``, a few LLVM instructions). A float's exponent field covers
  only normal numbers, so 2^k is applied as 2^⌊k/2⌋ · 2^(k - ⌊k/2⌋), two normal factors: the
  product then overflows to inf where e^x does, and underflows through the subnormals to 0
  (x is clamped to a range where both factors stay normal, e.g. [-104, 89] for float32, so
  e^-inf is exactly 0 and e^inf is inf).

The arithmetic runs in the dtype of x, one version per dtype (``overload`` picks it when the
calling kernel is compiled), so a float32 loop takes twice as many numbers per vector
instruction as a float64 one. The error is within a couple of ulps of the dtype, and within
one step of the subnormals below them (a test checks both against NumPy).
"""
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

# float dtype -> (LN2_HI, LN2_LO), with LN2_HI short enough that k·LN2_HI is exact
_LN2_SPLIT = {np.float32: (0.693359375, -2.12194440e-4),                # 0.693359375: 9 bits
              np.float64: (6.93147180369123816490e-01, 1.90821492927058770002e-10)}
_DEGREE = {np.float32: 7, np.float64: 12}
# the clamp on x: below it e^x rounds to 0, above it to inf, and ⌊k/2⌋, k - ⌊k/2⌋ stay normal
_RANGE = {np.float32: (-104.0, 89.0), np.float64: (-746.0, 710.0)}
# Numba type -> (bits of the float, exponent bias, mantissa bits)
_LAYOUT = {types.float32: (32, 127, 23), types.float64: (64, 1023, 52)}


@intrinsic
def _power_of_two(typingctx, k):
    """2^k as a float of k's own type, for an integer-valued k in the normal exponent range."""
    width, bias, mantissa_bits = _LAYOUT[k]

    def codegen(context, builder, signature, args):
        int_type = ir.IntType(width)
        exponent = builder.add(builder.fptosi(args[0], int_type), ir.Constant(int_type, bias))
        bits = builder.shl(exponent, ir.Constant(int_type, mantissa_bits))   # mantissa 0
        return builder.bitcast(bits, context.get_value_type(k))

    return k(k), codegen


def exp(x):
    """e^x of one float32 or float64 number, to call inside a Numba kernel (in plain Python,
    the C library's exp)."""
    return math.exp(x)


def _exp_in(dtype):
    """The body of ``exp`` with every constant in ``dtype`` (a Python float would make Numba
    widen float32 arithmetic to float64)."""
    log2_e, half = dtype(1 / math.log(2)), dtype(0.5)
    ln2_hi, ln2_lo = (dtype(c) for c in _LN2_SPLIT[dtype])
    lowest, highest = (dtype(c) for c in _RANGE[dtype])
    series = tuple(dtype(1 / math.factorial(n)) for n in range(_DEGREE[dtype], -1, -1))

    def exp_in_dtype(x):
        x = min(max(x, lowest), highest)
        k = np.floor(x * log2_e + half)                  # the nearest integer to x / ln 2
        r = x - k * ln2_hi - k * ln2_lo
        e_r = series[0]
        for coefficient in series[1:]:                   # Horner: ((c_n r + c_n-1) r + ...) + 1
            e_r = e_r * r + coefficient
        k_half = np.floor(k * half)
        return e_r * _power_of_two(k_half) * _power_of_two(k - k_half)

    return exp_in_dtype


@overload(exp, inline="always")
def _exp_overload(x):
    if x == types.float32:
        return _exp_in(np.float32)
    if x == types.float64:
        return _exp_in(np.float64)
    return None
