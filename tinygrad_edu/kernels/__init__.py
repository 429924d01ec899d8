"""Fast paths for the two hot spots, convolution and attention (placeholder until the kernels land).

``select(op, device)`` returns the module of array functions that implements ``op`` on ``device``,
or None for the NumPy/CuPy reference in ``ops/``.
"""


def select(op: str, device: str):
    return None
