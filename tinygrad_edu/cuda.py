"""``tg.cuda.is_available()``: can tensors live on an NVIDIA GPU here?"""
from .backend import cuda_available


def is_available() -> bool:
    """True when CuPy is installed and sees a GPU; never raises."""
    return cuda_available()
