"""``ModuleDict`` and ``ParameterList``: containers whose contents are registered.

A plain dict of layers or list of Parameters on a Module would be invisible to
``parameters()``, ``state_dict()`` and ``to()``; these store each item under its key (or
position), so it is found, saved and moved like any attribute. State-dict names are
PyTorch's: ``heads.cls.weight`` for a ModuleDict entry, ``scales.0`` for a ParameterList one.
"""
from __future__ import annotations

from .module import Module, Parameter


class ModuleDict(Module):
    """Modules by name, in insertion order: ``ModuleDict({"cls": Linear(4, 2)})["cls"]``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not isinstance(module, Module):
            raise TypeError(f"ModuleDict: entries are str keys -> Modules, got {key!r} -> "
                            f"{type(module).__name__}")
        setattr(self, key, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        for key, module in (modules.items() if hasattr(modules, "items") else modules):
            self[key] = module

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)


class ParameterList(Module):
    """Parameters in a list: ``ParameterList([Parameter(tg.ones(3)) for _ in range(2)])``.
    Plain Tensors are wrapped into Parameters when they are added, as in PyTorch."""

    def __init__(self, values=()):
        super().__init__()
        for value in values:
            self.append(value)

    def append(self, value) -> "ParameterList":
        setattr(self, str(len(self._parameters)), value if isinstance(value, Parameter)
                else Parameter(value))
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, i: int) -> Parameter:
        return list(self._parameters.values())[i]

    def __setitem__(self, i: int, value) -> None:
        key = list(self._parameters)[i]
        self._parameters[key] = value if isinstance(value, Parameter) else Parameter(value)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())
