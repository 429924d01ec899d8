"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

Plain gradient descent steps against the gradient: p <- p - lr · g. On a long narrow valley this
zig-zags across the valley while creeping along it. *Momentum* keeps a running sum of past steps,

    b <- μ · b + (1 - τ) · g          (τ is the dampening, usually 0)

and steps along b instead of g: components of g that keep their sign add up (faster along the
valley), components that flip sign cancel (less zig-zag). *Nesterov* momentum looks one step
ahead, stepping along g + μ · b. *Weight decay* λ adds λ · p to the gradient, the gradient of the
L2 penalty (λ/2)·|p|², which pulls every weight towards zero.
"""
from __future__ import annotations

from .optimizer import Optimizer, kernel_for


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    For each parameter p with gradient g, one ``step()`` does::

        g <- -g                      if maximize (climb the objective instead)
        g <- g + λ p                 if weight_decay λ != 0
        if momentum μ != 0:
            b <- g                   on the first step
            b <- μ b + (1 - τ) g     on later steps (τ = dampening)
            g <- g + μ b             if nesterov
            g <- b                   otherwise
        p <- p - lr · g

    The momentum buffer b is kept in ``state[p]["momentum_buffer"]``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _validate(self, group: dict) -> None:
        self._require(group["lr"] >= 0, f"invalid learning rate lr={group['lr']} (must be >= 0)")
        self._require(group["momentum"] >= 0,
                      f"invalid momentum={group['momentum']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"invalid weight_decay={group['weight_decay']} (must be >= 0)")
        self._require(not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
                      f"nesterov momentum needs momentum > 0 and dampening = 0, got "
                      f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, param, grad, group: dict, state: dict) -> None:
        xp = param.xp
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        kernel = kernel_for("sgd", param, group) if momentum != 0 else None
        if kernel is not None and "momentum_buffer" in state:   # one pass: kernels/optim_cpu.py
            kernel.sgd_step(param.data, grad, state["momentum_buffer"], group["lr"], momentum,
                            group["dampening"], weight_decay, group["nesterov"])
            return
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param.data       # a new array: p.grad stays untouched
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = xp.array(grad)    # a copy, kept between steps
            else:
                buffer *= momentum
                buffer += grad if group["dampening"] == 0 else (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.data -= group["lr"] * grad
