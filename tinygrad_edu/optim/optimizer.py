"""``Optimizer``: the base class that turns gradients into parameter updates.

After ``loss.backward()`` every parameter p holds its gradient g = dL/dp in ``p.grad``. An
optimizer walks the parameters and moves each one a little way downhill. The simplest rule is

    p  <-  p - lr · g

and every optimizer in this package is a refinement of it: momentum averages g over steps, Adam
and RMSprop divide by a running estimate of g's size, Adagrad by the sum of all past g².

What the base class does, so that each optimizer only writes its own update rule:

- **Parameter groups.** ``params`` is a list of Parameters, or a list of dicts
  ``{"params": [...], "lr": 0.1, ...}``; each dict is a *group* with its own settings, and
  settings a group leaves out come from the optimizer's defaults. This is how a model trains its
  backbone with a small lr and its head with a large one.
- **State.** ``state[p]`` is a dict of whatever the rule remembers about p between steps (a step
  count, running averages). Its arrays live on p's device, made with p's array module ``p.xp``.
- **The step.** ``step()`` calls ``_update`` for every parameter that has a gradient. Updates
  work directly on the backend arrays (``p.data``): an update is not part of any graph, and in-place
  array arithmetic avoids allocating new tensors every step. ``p.grad`` is only read, never
  written, because a gradient tensor may be shared with other code.
- **A compiled step.** SGD with momentum and Adam/AdamW also have their update as one Numba
  loop per parameter (``kernels/optim_cpu.py``, the same numbers to the last bit); ``kernel_for``
  says when it applies (the kernel switch's "sgd" and "adam", float32/float64 parameters in
  one contiguous array, no ``maximize``).
- **Saving and resuming.** ``state_dict()`` names parameters by their position (0, 1, 2, ... in
  group order) instead of by object, because the objects are gone after a restart; a fresh
  optimizer over the same model's parameters then ``load_state_dict``s and continues exactly.
  The result holds only dicts, lists, tuples, arrays and Python numbers, so ``tg.save`` can
  store it; loading also accepts what a plainer file format gives back (numbers as 0-d arrays,
  string keys, lists as dicts keyed by index).
"""
from __future__ import annotations

import numpy as np

from .. import backend, kernels
from ..autograd import ShapeError, enable_grad
from ..tensor import Tensor

_COUNTERS = ("step",)   # state entries that are Python ints, not arrays shaped like the parameter


def kernel_for(op: str, param: Tensor, group: dict):
    """The kernel module for the update ``op`` ("sgd" or "adam") of ``param``, or None for the
    optimizer's array code: the kernels take one contiguous float32/float64 array, and leave
    ``maximize`` to the array code."""
    data = param.data
    if group["maximize"] or data.dtype not in (np.float32, np.float64) or \
            not data.flags.c_contiguous:
        return None
    return kernels.select(op, param.device)


class Optimizer:
    """Base class: subclasses define ``_update(param, grad, group, state)`` and, optionally,
    ``_validate(group)`` to reject bad settings."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[Tensor, dict] = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts, "
                            f"got a single Tensor of shape {params.shape}; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _validate(self, group: dict) -> None:
        """Raise ValueError for settings the update rule cannot use (overridden per optimizer)."""

    def _require(self, condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(f"{self._name}: {message}")

    def add_param_group(self, param_group: dict) -> None:
        """Add a group ``{"params": [...], setting: value, ...}``; missing settings are defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group.get("params")
        params = [params] if isinstance(params, Tensor) else list(params or [])
        if not params:
            raise ValueError(f"{self._name}: parameter group {len(self.param_groups)} has no "
                             f"params")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimize Tensors, but parameter {i} of "
                                f"group {len(self.param_groups)} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: can't optimize a non-leaf Tensor (parameter {i} "
                                 f"of shape {p.shape} was computed by {p.grad_fn})")
        already = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or already & {id(p) for p in params}:
            raise ValueError(f"{self._name}: some parameters appear more than once in the "
                             f"parameter groups")
        group = {**self.defaults, **param_group, "params": params}
        self._validate(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``grad = None`` (the default), or a new zero tensor."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Tensor._make(p.grad.xp.zeros_like(p.grad.data), p.grad.device)

    def step(self, closure=None):
        """Update every parameter that has a gradient (those with ``grad is None`` are skipped).

        ``closure``, if given, recomputes the loss (forward and backward) and returns it; it is
        called first, with gradient recording on, and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:
                    raise ShapeError(f"{self._name}.step: gradient of shape {p.grad.shape} for a "
                                     f"parameter of shape {p.shape}")
                self._update(p, p.grad.data, group, self.state.setdefault(p, {}))
        return loss

    def _update(self, param: Tensor, grad, group: dict, state: dict) -> None:
        raise NotImplementedError(f"{self._name} does not define _update()")

    def to(self, device: str) -> "Optimizer":
        """Move the state arrays to ``device``; call it with ``model.to(device)`` to carry on
        training there. Nothing moves by itself, so a step after moving only the model fails."""
        for entries in self.state.values():
            for name, value in entries.items():
                if name not in _COUNTERS:
                    entries[name] = backend.to_device(value, device)
        return self

    # --- saving and resuming ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {name: array or int}}, "param_groups": [settings, ...]}``,
        PyTorch's layout.

        Parameters are numbered 0, 1, 2, ... through the groups in order, and each group lists
        its numbers under ``"params"``. Arrays are copies, so later steps do not change it."""
        index, groups = {}, []
        for group in self.param_groups:
            numbers = list(range(len(index), len(index) + len(group["params"])))
            index.update((id(p), n) for p, n in zip(group["params"], numbers))
            groups.append({**{key: value for key, value in group.items() if key != "params"},
                           "params": numbers})
        state = {}
        for p, entries in self.state.items():
            if entries:
                state[index[id(p)]] = {name: value if name in _COUNTERS else value.copy()
                                       for name, value in entries.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore settings and state saved by ``state_dict``, also after a trip through a file
        that turned numbers into 0-d arrays, tuples into arrays and lists into dicts keyed
        "0", "1", ... (as a plain ``np.savez`` of the flattened dict does).

        The optimizer must have been built over parameters of the same shapes, in the same order
        and grouping. Arrays are copied onto each parameter's device with its dtype. Nothing
        changes unless everything fits."""
        saved_groups = _as_list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the checkpoint has "
                             f"{len(saved_groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        by_number = {}
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            numbers = [int(_python(n)) for n in _as_list(saved["params"])]
            if len(numbers) != len(group["params"]):
                raise ValueError(f"{self._name}.load_state_dict: group {g} has "
                                 f"{len(group['params'])} parameters, the checkpoint's has "
                                 f"{len(numbers)}")
            by_number.update(zip(numbers, group["params"]))
        new_state = {}
        for number, entries in state_dict["state"].items():
            p = by_number.get(int(number))
            if p is None:
                raise ValueError(f"{self._name}.load_state_dict: the checkpoint has state for "
                                 f"parameter {number}, which no parameter group lists")
            new_state[p] = {name: self._loaded_value(p, name, value)
                            for name, value in entries.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({key: _python(value) for key, value in saved.items() if key != "params"})
        self.state = new_state

    def _loaded_value(self, p: Tensor, name: str, value):
        if name in _COUNTERS:
            return int(_python(value))
        value = value.data if isinstance(value, Tensor) else value
        if tuple(value.shape) != p.shape:
            raise ShapeError(f"{self._name}.load_state_dict: state {name!r} has shape "
                             f"{tuple(value.shape)}, its parameter has shape {p.shape}")
        return p.xp.array(backend.to_device(value, p.device), dtype=p.dtype, copy=True)

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines.extend(f"    {key}: {value}" for key, value in sorted(group.items())
                         if key != "params")
        return "\n".join(lines + [")"])


def _as_list(container) -> list:
    """A saved list back as a list, also if it arrived as a dict keyed by index or an array."""
    if isinstance(container, dict):
        return [container[key] for key in sorted(container, key=int)]
    return list(container)


def _python(value):
    """A saved setting back as a Python value: a 0-d array becomes a number, a 1-d array, a list
    or a dict keyed by index becomes a tuple (like ``betas``)."""
    if isinstance(value, (dict, list, tuple)):
        return tuple(_python(item) for item in _as_list(value))
    if hasattr(value, "ndim"):   # NumPy/CuPy arrays and NumPy scalars
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    return value
