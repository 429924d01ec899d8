"""``autocast``: run matrix products and convolutions in half precision, the rest as it was.

Inside ``with tg.autocast("cpu"):`` (or "cuda") the operations that do most of the arithmetic
and tolerate rounding best, **matmul** (and so ``Linear``) and **conv2d**, cast their floating
inputs to ``dtype`` (float16 by default) and return a result of that dtype. Everything else runs
in the dtype of its inputs, so adding a float32 bias brings the activations back to float32.
The parameters stay float32 (the "master weights"): the cast is an operation in the graph, so
each gradient is cast back to float32 on its way to the parameter.

What float16 is. 1 sign bit, 5 exponent bits, 10 mantissa bits:

    largest finite  65504          smallest normal  2⁻¹⁴ ≈ 6.1e-5
    smallest subnormal  2⁻²⁴ ≈ 6.0e-8          relative precision  2⁻¹¹ ≈ 4.9e-4

Rounding an input to float16 costs about 3 decimal digits. Summing a long dot product in float16
would cost far more (once the sum is large, small terms vanish), so hardware multiplies float16
numbers and **accumulates in float32**. On the GPU, CuPy's float16 products do exactly that. On
the CPU, NumPy has no fast float16 product, so :func:`low_precision` computes with float32 copies
of the float16 inputs and rounds the result to float16: the numerics of the GPU (float16
storage, float32 accumulation), without its speed. On a CPU this teaches; it does not accelerate.

The danger is the bottom of the range: a gradient below 6e-8 becomes 0 in float16. That is what
``GradScaler`` (grad_scaler.py) is for. bfloat16 (8 exponent bits, 7 mantissa bits: float32's
range, 3 significant digits) has no underflow problem; it comes from the ``ml_dtypes`` package
when that is installed (``tg.amp.bfloat16``).

Unlike PyTorch, the CPU default dtype is float16 too (PyTorch's is bfloat16), and only matmul
and conv2d are cast: PyTorch also runs softmax, norms and losses in float32 on purpose; here
those simply keep the dtype they are given. So a model whose last layer has no bias (GPT's tied
``lm_head``) gives float16 logits and a float16 loss; ``logits.float()`` before the loss keeps
the loss in float32.
"""
from __future__ import annotations

import numpy as np

try:
    from ml_dtypes import bfloat16
except ImportError:   # optional: bfloat16 needs the ml_dtypes package
    bfloat16 = None

DEVICES = ("cpu", "cuda")
LOW_PRECISION = (np.dtype(np.float16),) + ((np.dtype(bfloat16),) if bfloat16 is not None else ())
_enabled: dict[str, np.dtype | None] = {device: None for device in DEVICES}


class autocast:
    """Context manager (or decorator): matmul and conv2d on ``device_type`` compute in ``dtype``.

    ``dtype``: float16 (default) or, with ml_dtypes installed, bfloat16. ``enabled=False`` turns
    autocast off inside the block (for a part that must stay float32). Blocks nest."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True):
        if device_type not in DEVICES:
            raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
        dtype = np.dtype(np.float16 if dtype is None else dtype)
        if dtype not in LOW_PRECISION:
            names = " or ".join(str(d) for d in LOW_PRECISION)
            raise ValueError(f"autocast: dtype must be {names}, got {dtype}")
        self.device_type, self.dtype, self.enabled = device_type, dtype, bool(enabled)
        self._previous = []

    def __enter__(self):
        self._previous.append(_enabled[self.device_type])
        _enabled[self.device_type] = self.dtype if self.enabled else None
        return self

    def __exit__(self, *exc_info):
        _enabled[self.device_type] = self._previous.pop()

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    return _enabled[device_type] is not None


def get_autocast_dtype(device_type: str = "cpu"):
    """The dtype autocast computes in on ``device_type`` now, or None when it is off there."""
    return _enabled[device_type]


def cast_inputs(*tensors):
    """The hook of matmul and conv2d: under autocast, their floating inputs cast to the
    autocast dtype (a differentiable cast: the gradient is cast back); otherwise unchanged."""
    dtype = _enabled[tensors[0].device]
    if dtype is None:
        return tensors
    return tuple(t.astype(dtype) if t.dtype.kind == "f" else t for t in tensors)


def low_precision(fn, *args):
    """``fn(*args)`` with float16/bfloat16 host arrays computed in float32 and the result (an
    array or a tuple of arrays) rounded back: float16 storage, float32 accumulation.

    Arrays of other dtypes, and GPU arrays (whose float16 products already accumulate in
    float32), are passed through untouched."""
    low = next((a.dtype for a in args if type(a) is np.ndarray and a.dtype in LOW_PRECISION),
               None)
    if low is None:   # the usual case: float32 or float64, nothing to do
        return fn(*args)
    widened = [a.astype(np.float32) if type(a) is np.ndarray and a.dtype == low else a
               for a in args]
    result = fn(*widened)
    if isinstance(result, tuple):   # some entries may be None (a gradient not asked for)
        return tuple(None if r is None else r.astype(low) for r in result)
    return result.astype(low)
