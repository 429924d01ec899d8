"""Neural-network building blocks: ``Module``, layers, ``functional`` and losses.

Each layer is a ``Module`` whose forward is written with Tensor operations, so its gradient
comes from the autograd engine; names, arguments and parameter layouts follow PyTorch.
Layer files add their names below as they are written.
"""
from .module import Module, ModuleList, Parameter, Sequential
from .linear import Flatten, Identity, Linear
