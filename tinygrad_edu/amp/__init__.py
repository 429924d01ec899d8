"""Mixed precision: ``autocast`` (matmul and conv2d in float16) and ``GradScaler`` (loss scaling).

Reading order: autocast.py (what float16 is, which operations change dtype, float32
accumulation) -> grad_scaler.py (why gradients underflow and how scaling the loss saves them).
``tg.autocast`` is ``tg.amp.autocast``, as in PyTorch.
"""
from .autocast import autocast, bfloat16, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["autocast", "bfloat16", "get_autocast_dtype", "is_autocast_enabled", "GradScaler"]
