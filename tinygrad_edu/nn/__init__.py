"""Neural-network building blocks: ``Module``, layers, ``functional`` and losses.

Each layer is a ``Module`` whose forward is written with Tensor operations, so its gradient
comes from the autograd engine; names, arguments and parameter layouts follow PyTorch.
Layer files add their names below as they are written.
"""
from .module import Module, ModuleList, Parameter, Sequential
from .linear import Flatten, Identity, Linear
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .dropout import Dropout
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .sparse import Embedding
from .losses import (BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                     NLLLoss)
from .conv import (AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d)
from .recurrent import GRU, LSTM, RNN
from .attention import (FeedForward, LearnedPositionalEmbedding, MultiHeadAttention,
                        SinusoidalPositionalEncoding, TransformerBlock)
from .activation_extra import ELU, SELU, Hardtanh, LogSigmoid, Mish, SiLU
from .containers import ModuleDict, ParameterList
from .losses import BCELoss, SmoothL1Loss
from .multihead import MultiheadAttention
from .lora import LoRALinear
from . import functional, init
from . import utils
from . import parallel
