"""tinygrad_edu: a from-scratch autograd engine to learn from, fast enough to train real models.

Reading order (each file builds only on the ones before it):
backend.py -> tensor.py -> autograd.py -> ops/ -> creation.py -> gradcheck.py -> nn/ -> optim/
-> models/ -> data/ -> train.py, cli.py.
"""
import numpy as _np

from .tensor import Tensor  # first: the autograd core and the ops are built on Tensor
from .autograd import DeviceError, Function, ShapeError, enable_grad, grad, is_grad_enabled, no_grad
from .creation import (arange, eye, full, full_like, manual_seed, ones, ones_like, rand, rand_like,
                       randn, randn_like, tensor, zeros, zeros_like)
from .ops.elementwise import maximum, minimum, where
from .ops.matmul import matmul
from .ops.movement import cat, stack
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import cuda
from . import kernels
from . import viz
from . import data
from .serialization import CheckpointError, load, save
from . import nn
from . import optim
from . import models
from . import quantization

float32, float64, int32, int64, bool_ = _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_

__version__ = "0.1.0"
