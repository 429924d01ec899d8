"""Gradient clipping: keep one unlucky batch from throwing the weights far away.

Recurrent networks and transformers sometimes meet a "cliff" in the loss surface, where the
gradient is suddenly enormous; one plain step along it can undo hours of training. Clipping
bounds the step before the optimizer sees it.

``clip_grad_norm_`` treats all gradients as one long vector g (every parameter's gradient
flattened and concatenated) and measures its p-norm,

    ‖g‖_p = (Σ_i |g_i|^p)^(1/p),        ‖g‖_∞ = max_i |g_i|.

If ‖g‖ > max_norm, every gradient is multiplied by the same factor max_norm / (‖g‖ + 1e-6), so
the direction of the step is kept and only its length is cut (the 1e-6, as in PyTorch, avoids a
division by zero). Computing ‖g‖ per parameter first and then taking the norm of those norms
gives the same number, without building the long vector.

``clip_grad_value_`` clips each gradient entry to [-clip_value, clip_value] on its own; that is
simpler but changes the direction of the step.

Both replace ``p.grad`` with a new tensor rather than changing the old one in place, since a
gradient tensor may be shared with other code. The trailing underscore in the names is
PyTorch's sign that the parameters' gradients are modified.
"""
from __future__ import annotations

import math

from .. import backend
from ..tensor import Tensor
from .lora import (apply_lora, load_lora_state_dict, lora_state_dict, merge_lora,  # noqa: F401
                   replace_submodule)


def _with_grads(parameters) -> list:
    """The parameters (one Tensor or an iterable of them) that have a gradient."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def _norm(tensor: Tensor, norm_type: float):
    """The ``norm_type``-norm of all entries of ``tensor``, as a 0-d array on its device."""
    if tensor.size == 0:
        return tensor.xp.zeros((), dtype=tensor.dtype)
    return tensor.xp.asarray(tensor.xp.linalg.norm(tensor.data.ravel(), ord=norm_type))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``.

    ``norm_type`` may be ``float("inf")`` (or ``"inf"``) for the largest absolute entry. Returns
    the total norm *before* clipping as a 0-d Tensor on the first gradient's device (useful to
    log: a spiking norm is an early sign of trouble). With ``error_if_nonfinite=True`` a NaN or
    infinite norm raises, instead of letting the broken gradients reach the optimizer.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0 or math.isnan(max_norm):
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive (or inf), got {norm_type}")
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    device = params[0].grad.device
    xp = backend.array_module(device)
    per_parameter = xp.stack([backend.to_device(_norm(p.grad, norm_type), device)
                              for p in params])                  # (number of parameters,)
    total_norm = xp.asarray(xp.linalg.norm(per_parameter, ord=norm_type))   # () on `device`
    if error_if_nonfinite and not bool(xp.isfinite(total_norm)):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients of "
                           f"{len(params)} parameters is {float(total_norm)}; pass "
                           f"error_if_nonfinite=False to clip anyway")
    scale = max_norm / (float(total_norm) + 1e-6)
    if scale < 1:
        for p in params:
            p.grad = Tensor._make(p.grad.data * p.grad.xp.asarray(scale, dtype=p.grad.dtype),
                                  p.grad.device)
    return Tensor._make(total_norm, device)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient entry to the range [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _with_grads(parameters):
        p.grad = Tensor._make(p.grad.xp.clip(p.grad.data, -clip_value, clip_value), p.grad.device)
