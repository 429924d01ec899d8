"""tinygrad_edu: a from-scratch autograd engine to learn from, fast enough to train real models.

Reading order (each file imports only the ones before it):
backend.py -> autograd.py -> tensor.py -> ops/ -> tensor_methods.py -> creation.py ->
gradcheck.py -> kernels/ -> nn/ -> optim/ -> models/ -> data/ -> train/, cli.py.

The autograd core (``Function``, the backward walk) works on any object with a tensor's
attributes and never imports ``Tensor``; ``Tensor`` is built on it; the operations are built on
``Tensor``; and ``tensor_methods.py`` attaches them as methods (``x + y``, ``x.sum()``) last.
A test reads every module's imports and fails on any cycle (tests/test_architecture.py).
"""
import numpy as _np

from .autograd import DeviceError, Function, ShapeError, enable_grad, grad, is_grad_enabled, no_grad
from .tensor import Tensor
from . import tensor_methods  # noqa: F401  (attaches the operator methods to Tensor)
from .creation import (arange, eye, full, full_like, manual_seed, ones, ones_like, rand, rand_like,
                       randn, randn_like, tensor, zeros, zeros_like)
from .ops.elementwise import maximum, minimum, where
from .ops.matmul import matmul
from .ops.movement import cat, stack
# the everyday operations of issue 10, PyTorch's top-level functions
from .ops.arrange import chunk, flip, roll, split, unbind
from .ops.indexing import gather, index_select, masked_fill, narrow, scatter, scatter_add
from .ops.logical import all, any, isfinite, isinf, isnan
from .ops.norm import norm
from .ops.scan import cumprod, cumsum, prod
from .ops.sorting import argsort, sort, topk
from .ops.unary import (acos, asin, atan, ceil, cos, cosh, erf, exp2, expm1, floor, log10, log1p,
                        log2, round, rsqrt, sign, sin, sinh, tan, trunc)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import cuda
from . import kernels
from . import viz
from . import data
from . import utils
from .serialization import CheckpointError, load, save
from . import distributed
from . import amp
from .amp import autocast
from . import explain
from . import nn
from . import optim
from . import models
from . import quantization

float32, float64, int32, int64, bool_ = _np.float32, _np.float64, _np.int32, _np.int64, _np.bool_
float16, half, bfloat16 = _np.float16, _np.float16, amp.bfloat16

__version__ = "0.1.0"
