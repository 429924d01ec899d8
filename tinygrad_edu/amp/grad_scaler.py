"""``GradScaler``: keep small gradients alive in float16 by scaling the loss.

Under autocast the gradients flowing back through the network are float16, and float16 has
nothing below 2⁻²⁴ ≈ 6e-8: a smaller gradient becomes exactly 0 and that piece of learning is
lost. The fix is to multiply the loss by a large S before backward. Every gradient is then S
times larger (backward is linear in its seed), lifted out of the underflow zone, and dividing
by S afterwards, in float32, gives the true gradient back:

    loss_scaled = S · loss        ∂loss_scaled/∂θ = S · ∂loss/∂θ        grad = (that) / S

Too large an S makes some gradient overflow float16's 65504 to inf instead. So S is
**dynamic**, exactly as in PyTorch's ``torch.amp.GradScaler``:

- ``step(optimizer)`` first unscales the gradients (divides by S). If any is inf or NaN, the
  optimizer step is **skipped**: those gradients are garbage, and the parameters stay as they
  were.
- ``update()`` then **halves** S (``backoff_factor``) after a skipped step, and **doubles** it
  (``growth_factor``) after ``growth_interval`` good steps in a row, probing for the largest
  scale that does not overflow.

The usual loop:

    with tg.autocast("cpu"):
        loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(optimizer)      # unscale, check, step or skip
    scaler.update()             # adjust the scale

Call ``scaler.unscale_(optimizer)`` yourself before ``step`` to clip the true gradients.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


class GradScaler:
    """Dynamic loss scaling with PyTorch's arguments and defaults (``device`` defaults to the
    library's default device, "cpu", where PyTorch's defaults to "cuda")."""

    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if not growth_factor > 1.0 or not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: need growth_factor > 1 and 0 < backoff_factor < 1, "
                             f"got {growth_factor} and {backoff_factor}")
        if not init_scale > 0 or growth_interval < 1:
            raise ValueError(f"GradScaler: need init_scale > 0 and growth_interval >= 1, got "
                             f"{init_scale} and {growth_interval}")
        self.device, self._enabled = device, bool(enabled)
        self._scale, self._growth_tracker = float(init_scale), 0
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self._found_inf: dict[int, bool] = {}    # per optimizer (by id), since the last update

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale S (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` times S: a Tensor, or a list/tuple of them."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):   # S as a float32 tensor: a float16 loss becomes float32,
            wide = np.result_type(outputs.dtype, np.float32)   # where S·loss cannot overflow
            return outputs * Tensor._make(outputs.xp.asarray(self._scale, dtype=wide),
                                          outputs.device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(out) for out in outputs)
        raise TypeError(f"GradScaler.scale: expected a Tensor or a list of Tensors, got "
                        f"{type(outputs).__name__}")

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by S, in place, and note whether
        any is inf or NaN. Once per optimizer between updates."""
        if not self._enabled:
            return
        if id(optimizer) in self._found_inf:
            raise RuntimeError("GradScaler.unscale_: unscale_() has already been called on this "
                               "optimizer since the last update()")
        found_inf = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                wide = np.result_type(p.grad.dtype, np.float32)   # unscale in float32 or wider
                grad = p.grad.data.astype(wide) / self._scale
                found_inf = found_inf or not bool(backend.asnumpy(p.grad.xp.isfinite(grad).all()))
                p.grad = Tensor._make(grad.astype(p.dtype), p.device)
        self._found_inf[id(optimizer)] = found_inf

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless ``unscale_`` was called), then ``optimizer.step()`` unless a gradient
        was inf or NaN, in which case the step is skipped and None returned."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._found_inf:
            self.unscale_(optimizer)
        if self._found_inf[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Halve S if any step since the last update saw inf/NaN, double it after
        ``growth_interval`` clean steps in a row; or set it to ``new_scale``."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif any(self._found_inf.values()):
            self._scale *= self.backoff_factor
            self._growth_tracker = 0
        elif self._found_inf:
            self._growth_tracker += 1
            if self._growth_tracker == self.growth_interval:
                self._scale *= self.growth_factor
                self._growth_tracker = 0
        self._found_inf = {}

    def state_dict(self) -> dict:
        return {"scale": self._scale, "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor, "growth_interval": self.growth_interval,
                "_growth_tracker": self._growth_tracker} if self._enabled else {}

    def load_state_dict(self, state_dict: dict) -> None:
        self._scale = float(state_dict["scale"])
        self.growth_factor = float(state_dict["growth_factor"])
        self.backoff_factor = float(state_dict["backoff_factor"])
        self.growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
