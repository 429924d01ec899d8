"""``Module`` and ``Parameter``: how a network keeps track of its learnable tensors.

A ``Parameter`` is a Tensor that says "learn me". A ``Module`` is any object that computes
something in ``forward``; when you assign a Parameter or another Module to one of its attributes
(``self.weight = Parameter(...)``, ``self.fc1 = Linear(...)``), ``__setattr__`` files it away,
so ``parameters()`` can find every learnable tensor of a whole tree of modules, and
``state_dict()`` can name each one by its path (``"fc1.weight"``), exactly as PyTorch does.

Buffers (``register_buffer``) are tensors that belong to the model's state but are not learned,
such as BatchNorm's running mean: they are saved and moved with the model, never optimized.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import backend
from ..autograd import ShapeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as learnable (``requires_grad=True`` by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model: subclasses set attributes in ``__init__`` (after
    calling ``super().__init__()``) and compute their output in ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration ------------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attributes")
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):   # only called when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            found = self.__dict__.get(registry, {})
            if name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Keep ``tensor`` as part of the state (saved, moved by ``to``) but not learned."""
        self._buffers[name] = tensor

    # --- running ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, BatchNorm uses batch statistics) for the whole tree."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule and then on this one (children first, as in
        PyTorch): the usual way to run a custom initialisation over a model."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Switch gradient tracking of every parameter on or off (freezing a model)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # --- walking the tree -------------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        """(path, module) for this module and every module below it, each module once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        return ((name, module) for name, module in self._modules.items() if module is not None)

    def children(self):
        return (module for _, module in self.named_children())

    def _named_tensors(self, registry: str, deduplicate: bool):
        seen = set()
        for path, module in self.named_modules():
            for name, tensor in getattr(module, registry).items():
                if tensor is None or (deduplicate and id(tensor) in seen):
                    continue
                seen.add(id(tensor))
                yield (f"{path}.{name}" if path else name), tensor

    def named_parameters(self):
        """(name, parameter) pairs; a parameter shared by two modules (tied weights) comes once."""
        return self._named_tensors("_parameters", deduplicate=True)

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self):
        return self._named_tensors("_buffers", deduplicate=True)

    def buffers(self):
        return (b for _, b in self.named_buffers())

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else p.grad * 0

    # --- state and devices ------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Every parameter and buffer by its path, detached. Tied weights appear under each
        name, as in PyTorch, so a PyTorch state_dict converted to arrays has the same keys."""
        return OrderedDict((name, tensor.detach()) for name, tensor in self._state_tensors().items())

    def _walk_all(self, prefix: str = ""):
        """(path, module) for every module under every name (tied modules more than once)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child._walk_all(f"{prefix}.{name}" if prefix else name)

    def _state_tensors(self) -> dict:
        tensors = {}
        for path, module in self._walk_all():
            for name, tensor in list(module._parameters.items()) + list(module._buffers.items()):
                if tensor is not None:
                    tensors[f"{path}.{name}" if path else name] = tensor
        return tensors

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy values (Tensors or NumPy/CuPy arrays) into this module's parameters and buffers,
        keeping the Parameter objects (so an optimizer holding them stays valid).

        With ``strict=True``, missing or unexpected names are an error; a wrong shape always is.
        Nothing is changed unless every entry fits."""
        own = self._state_tensors()
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        wrong = [f"{name}: checkpoint {tuple(_values(state_dict[name]).shape)} vs model "
                 f"{own[name].shape}" for name in own
                 if name in state_dict and tuple(_values(state_dict[name]).shape) != own[name].shape]
        not_numbers = [f"{name} (dtype {_values(state_dict[name]).dtype})" for name in own
                       if name in state_dict and _values(state_dict[name]).dtype.kind not in "biuf"]
        problems = []
        if not_numbers:
            problems.append(f"entries that are not numbers: {not_numbers}")
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if wrong:
            problems.append(f"wrong shapes: {wrong}")
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for name, tensor in own.items():
            if name in state_dict:
                values = backend.to_device(_values(state_dict[name]), tensor.device)
                tensor.data = tensor.xp.array(values, dtype=tensor.dtype, copy=True)

    def to(self, *args, device=None, dtype=None) -> "Module":
        """Move every parameter, gradient and buffer to a device and/or convert the float ones
        to a dtype, in place, as PyTorch's ``module.to(device)``, ``to(dtype)`` and
        ``to(device, dtype)``; returns self."""
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in backend.DEVICES:
                device = arg
            else:
                dtype = arg
        if dtype is not None:
            self.astype(dtype)
        return self if device is None else self._to_device(str(device).split(":")[0])

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    def _to_device(self, device: str) -> "Module":
        backend.array_module(device)   # fails early and clearly for an unusable device
        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data, tensor.device = backend.to_device(tensor.data, device), device
            if tensor.grad is not None:
                tensor.grad = tensor.grad.to(device)
        return self

    def astype(self, dtype) -> "Module":
        """Convert every floating-point parameter, gradient and buffer to ``dtype`` in place
        (integer buffers such as a step counter stay as they are); returns self."""
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    def double(self) -> "Module":
        """float64 everywhere: what gradient checks need."""
        return self.astype("float64")

    def float(self) -> "Module":
        return self.astype("float32")

    # --- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown in the repr, e.g. ``in_features=4, out_features=2``."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(module).replace("\n", "\n  ")
                    for name, module in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = ([self.extra_repr()] if self.extra_repr() else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _values(value):
    """The array inside a state_dict entry (a Tensor or an array)."""
    return value.data if isinstance(value, Tensor) else value


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x
