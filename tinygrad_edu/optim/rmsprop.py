"""RMSprop: divide each weight's step by the root-mean-square of its recent gradients.

Proposed by Hinton in a lecture (2012): keep an exponential moving average of the squared
gradient, v <- α·v + (1 - α)·g², and step by g / √v. Weights whose gradients are consistently
large take small steps and vice versa, so one learning rate suits weights of very different
sensitivity. Unlike Adagrad's ever-growing sum, the average forgets, so the steps do not shrink
to nothing in a long run.

*Centered* RMSprop also tracks the mean gradient ḡ and divides by √(v - ḡ²), an estimate of the
gradient's standard deviation rather than its RMS. *Momentum* accumulates the scaled steps
g / √v in a buffer, as SGD's momentum accumulates g.
"""
from __future__ import annotations

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    For each parameter p with gradient g, one ``step()`` does::

        g <- -g                                   if maximize
        g <- g + λ p                              if weight_decay λ != 0
        v <- α v + (1 - α) g²
        if centered:
            ḡ <- α ḡ + (1 - α) g
            d = √(v - ḡ²) + ε
        else:
            d = √v + ε
        if momentum μ > 0:
            b <- μ b + g / d
            p <- p - lr · b
        else:
            p <- p - lr · g / d

    State: ``step``, ``square_avg`` (v), ``grad_avg`` (ḡ), ``momentum_buffer`` (b).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate(self, group: dict) -> None:
        self._require(group["lr"] >= 0, f"invalid learning rate lr={group['lr']} (must be >= 0)")
        self._require(group["eps"] >= 0, f"invalid eps={group['eps']} (must be >= 0)")
        self._require(group["alpha"] >= 0, f"invalid alpha={group['alpha']} (must be >= 0)")
        self._require(group["momentum"] >= 0,
                      f"invalid momentum={group['momentum']} (must be >= 0)")
        self._require(group["weight_decay"] >= 0,
                      f"invalid weight_decay={group['weight_decay']} (must be >= 0)")

    def _update(self, param, grad, group: dict, state: dict) -> None:
        xp = param.xp
        alpha, momentum, weight_decay = group["alpha"], group["momentum"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param.data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(param.data)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(param.data)
        state["step"] += 1

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param.data       # a new array: p.grad stays untouched

        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        update = xp.empty_like(square_avg)                # one scratch array (same shape as p)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            xp.sqrt(square_avg - grad_avg * grad_avg, out=update)
        else:
            xp.sqrt(square_avg, out=update)
        update += group["eps"]                            # d
        xp.divide(grad, update, out=update)               # g / d

        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += update
            xp.multiply(buffer, group["lr"], out=update)
        else:
            update *= group["lr"]
        param.data -= update
