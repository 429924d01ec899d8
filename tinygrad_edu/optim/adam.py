"""Adam and AdamW: momentum plus a per-weight step size from the gradient's running scale.

Adam keeps two exponential moving averages per weight: m of the gradient (momentum, the
direction) and v of the squared gradient (how large the gradient usually is). The step is
m / √v, so every weight moves by roughly ``lr`` per step whatever the scale of its gradient:
weights with tiny gradients are not starved, and those with huge ones do not explode.

Both averages start at zero, which biases them towards zero in the first steps (after one step
m = (1 - β1) g, far smaller than g). Dividing by (1 - β^t) removes that bias exactly for a
constant gradient:  m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t).

Weight decay: ``Adam`` adds λ·p to the gradient (L2 regularisation), which then also gets divided
by √v̂, so weights with large gradients are decayed less. ``AdamW`` ("decoupled" weight decay,
Loshchilov & Hutter) instead shrinks the weights directly, p <- p - lr·λ·p, outside the adaptive
step, which regularises every weight equally and usually generalises better.
"""
from __future__ import annotations

import math

from .optimizer import Optimizer, kernel_for


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    For each parameter p with gradient g, at step t = 1, 2, ..., one ``step()`` does::

        g <- -g                                   if maximize
        g <- g + λ p                              if weight_decay λ != 0 (L2, Adam only)
        m <- β1 m + (1 - β1) g
        v <- β2 v + (1 - β2) g²
        v_max <- max(v_max, v)                    if amsgrad; then v_max replaces v below
        m̂ = m / (1 - β1^t),   v̂ = v / (1 - β2^t)
        p <- p - lr · m̂ / (√v̂ + ε)

    State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (v_max).
    """

    decoupled_weight_decay = False   # AdamW sets True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _validate(self, group: dict) -> None:
        self._require(group["lr"] >= 0, f"invalid learning rate lr={group['lr']} (must be >= 0)")
        self._require(group["eps"] >= 0, f"invalid eps={group['eps']} (must be >= 0)")
        self._require(len(group["betas"]) == 2, f"betas must be a pair, got {group['betas']}")
        for i, beta in enumerate(group["betas"]):
            self._require(0 <= beta < 1, f"invalid betas[{i}]={beta} (must be in [0, 1))")
        self._require(group["weight_decay"] >= 0,
                      f"invalid weight_decay={group['weight_decay']} (must be >= 0)")

    def _update(self, param, grad, group: dict, state: dict) -> None:
        xp = param.xp
        lr, (beta1, beta2), eps, weight_decay = (group["lr"], group["betas"], group["eps"],
                                                 group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.data)
            state["exp_avg_sq"] = xp.zeros_like(param.data)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(param.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        kernel = None if group["amsgrad"] else kernel_for("adam", param, group)
        if kernel is not None:   # the same update in one pass (kernels/optim_cpu.py)
            kernel.adam_step(param.data, grad, m, v, t, lr, group["betas"], eps, weight_decay,
                             self.decoupled_weight_decay)
            return

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param.data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.data   # a new array: p.grad stays untouched

        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]

        # lr · m̂ / (√v̂ + ε), computed in one scratch array with the bias corrections folded
        # into two scalars
        update = xp.sqrt(v, out=xp.empty_like(v))         # √v           (same shape as p)
        update /= math.sqrt(1 - beta2 ** t)               # √v̂
        update += eps
        xp.divide(m, update, out=update)                  # m / (√v̂ + ε)
        update *= lr / (1 - beta1 ** t)                   # lr · m̂ / (√v̂ + ε)
        param.data -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    The same update as ``Adam`` (see there), except that weight decay does not touch the
    gradient; it shrinks the parameter first::

        p <- p - lr · λ · p
        (then Adam's step, with no λ p term in g)
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
