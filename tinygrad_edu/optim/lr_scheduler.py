"""Learning-rate schedules: change each parameter group's ``lr`` as training goes on.

A large learning rate makes fast progress early but cannot settle into a narrow minimum; a small
one settles but is slow. A schedule starts large and ends small. Each scheduler here computes the
rate in *closed form* from the number of ``step()`` calls so far, t (``last_epoch``), and the
group's starting rate lr₀ (``base_lrs``):

    StepLR             lr_t = lr₀ · γ^⌊t / step_size⌋
    CosineAnnealingLR  lr_t = η_min + (lr₀ - η_min) · (1 + cos(π t / T_max)) / 2
    LambdaLR           lr_t = lr₀ · f(t)                       (f is your function)
    WarmupCosineLR     lr_t = lr₀ · t / W                       for t < W (linear warm-up from 0)
                       lr_t = m + (lr₀ - m) · (1 + cos(π (t - W) / (T - W))) / 2   for W <= t < T
                       lr_t = m                                 for t >= T
                       (W = warmup_steps, T = total_steps, m = min_lr)

The conventions are PyTorch's: building a scheduler sets the rate for t = 0 right away (and
records lr₀ as ``initial_lr`` in each group), and ``scheduler.step()`` is called once per epoch
(or per batch) *after* ``optimizer.step()``::

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(model, optimizer)      # calls optimizer.step()
        scheduler.step()
"""
from __future__ import annotations

import math

from .optimizer import Optimizer, _as_list


class LRScheduler:
    """Base class: subclasses define ``lr_at(base_lr, t, group_index)`` in closed form."""

    _hyperparameters: tuple = ()   # settings saved by state_dict (numbers only)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', "
                               f"needed to resume from last_epoch={last_epoch}")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()   # sets the rate for the current step (t = last_epoch + 1)

    def lr_at(self, base_lr: float, t: int, group_index: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} does not define lr_at()")

    def step(self) -> None:
        """Advance to the next step and write the new rate into every parameter group."""
        self.last_epoch += 1
        self._last_lr = [self.lr_at(base_lr, self.last_epoch, i)
                         for i, base_lr in enumerate(self.base_lrs)]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list:
        """The rates the last ``step()`` (or the constructor) set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The step count, base rates and settings: a dict of numbers and lists (for tg.save)."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                "last_lr": list(self._last_lr),
                **{name: getattr(self, name) for name in self._hyperparameters}}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from a saved ``state_dict`` (numbers may come back as 0-d arrays, lists as
        arrays or as dicts keyed by index).

        The saved current rates are also written into the optimizer's groups, so the next
        ``optimizer.step()`` uses them whichever of the two state dicts is loaded first."""
        base_lrs = [float(lr) for lr in _as_list(state_dict["base_lrs"])]
        if len(base_lrs) != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the checkpoint has rates "
                             f"for {len(base_lrs)} parameter groups, the optimizer "
                             f"has {len(self.optimizer.param_groups)}")
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = base_lrs
        self._last_lr = [float(lr) for lr in _as_list(state_dict["last_lr"])]
        for name in self._hyperparameters:
            setattr(self, name, type(getattr(self, name))(state_dict[name]))
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps: lr₀ · γ^⌊t / step_size⌋."""

    _hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int, group_index: int) -> float:
        return base_lr * self.gamma ** (t // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from lr₀ down to ``eta_min`` over ``T_max`` steps (SGDR without restarts):
    η_min + (lr₀ - η_min)(1 + cos(π t / T_max)) / 2. Past T_max the cosine continues, as in
    PyTorch, and the rate rises again."""

    _hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int, group_index: int) -> float:
        cosine = math.cos(math.pi * t / self.T_max)                 # 1 -> -1 as t goes 0 -> T_max
        return self.eta_min + (base_lr - self.eta_min) * (1 + cosine) / 2


class LambdaLR(LRScheduler):
    """lr₀ · f(t) for a function f of the step count, or one function per parameter group.
    The functions are not saved by ``state_dict``; pass the same ones when resuming."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the step count (or a list "
                            "of them)")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int, group_index: int) -> float:
        return base_lr * self.lr_lambdas[group_index](t)


class WarmupCosineLR(LRScheduler):
    """Linear warm-up from 0 to lr₀ over ``warmup_steps``, then a half cosine down to ``min_lr``
    at ``total_steps``, then ``min_lr`` (the schedule nanoGPT and most transformers use).

        t < W:        lr₀ · t / W
        W <= t < T:   m + (lr₀ - m) · (1 + cos(π (t - W) / (T - W))) / 2
        t >= T:       m
    """

    _hyperparameters = ("warmup_steps", "total_steps", "min_lr")

    def __init__(self, optimizer: Optimizer, warmup_steps: int, total_steps: int,
                 min_lr: float = 0.0, last_epoch: int = -1):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"WarmupCosineLR: need 0 <= warmup_steps < total_steps, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}")
        self.warmup_steps, self.total_steps = int(warmup_steps), int(total_steps)
        self.min_lr = float(min_lr)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int, group_index: int) -> float:
        if t < self.warmup_steps:
            return base_lr * t / self.warmup_steps
        if t >= self.total_steps:
            return self.min_lr
        progress = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps)   # 0 -> 1
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2
