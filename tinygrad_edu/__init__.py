"""tinygrad_edu: a from-scratch autograd engine to learn from, fast enough to train real models.

Reading order (each file imports only the ones before it):
backend.py -> backprop.py -> autograd.py -> tensor.py -> ops/ -> tensor_methods.py ->
creation.py -> functions.py -> gradcheck.py -> kernels/ -> nn/ -> optim/ -> models/ -> data/ ->
train/, cli.py.

The autograd core (the backward walk, then ``Function``) works on any object with a tensor's
attributes and never imports ``Tensor``; ``Tensor`` is built on it; the operations are built on
``Tensor``; and ``tensor_methods.py`` attaches them as methods (``x + y``, ``x.sum()``) last.
A test reads every module's imports and fails on any cycle (tests/test_architecture.py).
"""
import numpy as _np

from .autograd import DeviceError, Function, ShapeError, enable_grad, grad, is_grad_enabled, no_grad
from . import autograd   # `tg.autograd.grad` and `tg.autograd.backward`, as `torch.autograd`
from .tensor import Size, Tensor, device
from . import tensor_methods  # noqa: F401  (attaches the operator methods to Tensor)
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, manual_seed, ones, ones_like, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .functions import *  # noqa: F401,F403  (tg.sum, tg.max, tg.softmax, ... as in torch)
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

# dtype names, PyTorch's spellings included (tg.float is float32, tg.long is int64, ...)
float32 = float = _np.float32
float64 = double = _np.float64
float16 = half = _np.float16
int64 = long = _np.int64
int32 = int = _np.int32
int16 = short = _np.int16
int8, uint8 = _np.int8, _np.uint8
bool = bool_ = _np.bool_
bfloat16 = amp.bfloat16

__version__ = "0.1.0"
