"""Adagrad: a per-weight learning rate that shrinks with the sum of all past squared gradients.

Duchi, Hazan & Singer (2011). Each weight accumulates s <- s + g² and steps by g / √s. Weights
that have seen large or frequent gradients slow down; rarely-updated weights (the embedding of a
rare word) keep a large step. Because s only grows, the effective learning rate decays like
1/√t, which is good for convex problems and sparse features but can stop deep-network training
too early; RMSprop and Adam replace the sum by a moving average for that reason.
"""
from __future__ import annotations

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    With s starting at ``initial_accumulator_value``, for each parameter p with gradient g, at
    step t = 1, 2, ..., one ``step()`` does::

        g <- -g                                   if maximize
        g <- g + λ p                              if weight_decay λ != 0
        lr_t = lr / (1 + (t - 1) · lr_decay)
        s <- s + g²
        p <- p - lr_t · g / (√s + ε)

    State: ``step`` (t) and ``sum`` (s).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _validate(self, group: dict) -> None:
        self._require(group["lr"] >= 0, f"invalid learning rate lr={group['lr']} (must be >= 0)")
        self._require(group["lr_decay"] >= 0,
                      f"invalid lr_decay={group['lr_decay']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"invalid weight_decay={group['weight_decay']} (must be >= 0)")
        self._require(group["initial_accumulator_value"] >= 0,
                      f"invalid initial_accumulator_value={group['initial_accumulator_value']} "
                      f"(must be >= 0)")
        self._require(group["eps"] >= 0, f"invalid eps={group['eps']} (must be >= 0)")

    def _update(self, param, grad, group: dict, state: dict) -> None:
        xp = param.xp
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1

        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data   # new array: p.grad stays untouched

        step_lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        accumulated = state["sum"]
        accumulated += grad * grad
        update = xp.sqrt(accumulated, out=xp.empty_like(accumulated))   # √s   (same shape as p)
        update += group["eps"]
        xp.divide(grad, update, out=update)               # g / (√s + ε)
        update *= step_lr
        param.data -= update
