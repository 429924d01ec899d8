"""e^x for a whole vector inside a Numba loop, written so that the compiler vectorizes it.

Attention computes one exponential per score, so on the CPU the exponential, not the
multiply-adds, sets the speed. Numba turns ``np.exp`` on a scalar into a call of the C library's
``exp``, one number at a time; LLVM can only vectorize it with fastmath and Intel's SVML. So we
compute e^x from operations it *can* vectorize: multiplies, a floor, a polynomial and an
integer shift.

    e^x = 2^k · e^r,   k = round(x / ln 2),   r = x - k·ln 2  (so |r| <= ln 2 / 2 ≈ 0.347)

- r is computed in two steps, x - k·LN2_HI - k·LN2_LO, with ln 2 split so that k·LN2_HI is
  exact (Cody and Waite's trick); otherwise the rounding of k·ln 2 would swamp r. The split
  depends on the precision, so the constants come per dtype from :func:`constants`, and the
  arithmetic runs in the dtype of the values (eight float32 numbers per AVX2 instruction).
- e^r is its Taylor series to degree 12: the first term left out, r^13/13!, is below 3e-17,
  under float64's rounding (and far under float32's).
- 2^k is built directly as a float64 bit pattern: exponent field k + 1023, mantissa 0, written
  into an int64 scratch array and read back as float64 through a view of the same memory.
  (k goes through int32 on the way: AVX2 converts floats to int32, not to int64.)

The error is a couple of ulps of the dtype. Arguments are clamped to [-708, 709], where 2^k is
a normal float64, so e^-inf comes out as 2^-1022 (≈ 2e-308, 0 in float32), not exactly 0:
callers that need an exact 0 for a masked score set it themselves.
"""
import math

import numpy as np
from numba import njit

_LN2_SPLIT = {np.dtype(np.float32): (0.693359375, -2.12194440e-4),     # 0.693359375: 9 bits
              np.dtype(np.float64): (6.93147180369123816490e-01, 1.90821492927058770002e-10)}


def constants(dtype) -> np.ndarray:
    """[log2 e, LN2_HI, LN2_LO, lowest, highest, 1/12!, 1/11!, ..., 1/1!, 1/0!] in ``dtype``."""
    ln2_hi, ln2_lo = _LN2_SPLIT[np.dtype(dtype)]
    series = [1 / math.factorial(power) for power in range(12, -1, -1)]
    return np.array([1 / math.log(2), ln2_hi, ln2_lo, -708.0, 709.0] + series, dtype)


@njit(cache=True)
def scratch(length):
    """The scratch space ``exp_inplace`` needs for vectors up to ``length`` long: an int64 array
    and the same memory seen as float64 (make it once, outside the loops: a view costs time)."""
    bits = np.empty(length, np.int64)
    return bits, bits.view(np.float64)


@njit(cache=True, inline="always")
def exp_inplace(values, consts, bits, powers):
    """values[:] = e^values; ``consts`` from :func:`constants` for values' dtype, ``bits`` and
    ``powers`` the pair that :func:`scratch` returns."""
    log2_e, ln2_hi, ln2_lo, lowest, highest = consts[0], consts[1], consts[2], consts[3], consts[4]
    c12, c11, c10, c9, c8, c7, c6 = consts[5], consts[6], consts[7], consts[8], consts[9], \
        consts[10], consts[11]
    c5, c4, c3, c2, c1, c0 = consts[12], consts[13], consts[14], consts[15], consts[16], consts[17]
    for i in range(values.shape[0]):
        x = min(max(values[i], lowest), highest)
        k = np.floor(x * log2_e + c2)                     # c2 = 1/2!, the 0.5 of rounding
        r = x - k * ln2_hi - k * ln2_lo
        series = ((((((c12 * r + c11) * r + c10) * r + c9) * r + c8) * r + c7) * r + c6) * r + c5
        values[i] = ((((series * r + c4) * r + c3) * r + c2) * r + c1) * r + c0
        bits[i] = np.int64(np.int32(k) + 1023) << 52      # the bits of the float64 2^k
    for i in range(values.shape[0]):
        values[i] = values[i] * powers[i]
