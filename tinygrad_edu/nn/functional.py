"""``tinygrad_edu.nn.functional`` (import it as ``F``): layers as plain functions.

This module gathers the functional forms defined next to their layers, so that
``F.relu``, ``F.conv2d``, ``F.cross_entropy`` are one import away, as in PyTorch.
"""
from .linear import linear
from .activation import (erf, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus,
                         tanh)
from .activation_extra import elu, hardtanh, logsigmoid, mish, selu, silu
from .dropout import dropout
from .normalization import batch_norm, layer_norm
from .sparse import embedding
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                     huber_loss, kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .distillation import distillation_loss
from ..ops.norm import cosine_similarity, normalize
from ..ops.padding import pad
from ..ops.pool_options import adaptive_avg_pool2d
from ..ops.resample import interpolate
from ..ops.unfold import fold, unfold
from ..backend import array_module
from ..tensor import Tensor
from .. import kernels
from ..ops import attention as _attention, conv as _conv, fused_attention as _fused, pool as _pool
from ..ops import conv1d as _conv1d, conv_transpose as _conv_transpose
from ..ops import pool_options as _pool_options


# The three hot spots ask the kernel switch (``tinygrad_edu.kernels``) on every call which
# implementation to run: a Numba kernel module, or None for the NumPy/CuPy reference.

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``F.conv2d``; see ``ops.conv.conv2d``."""
    return _conv.conv2d(x, weight, bias, stride, padding, dilation, groups,
                        impl=kernels.select("conv2d", x.device))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``F.conv1d``, a conv2d of height 1; see ``ops.conv1d``."""
    return _conv1d.conv1d(x, weight, bias, stride, padding, dilation, groups,
                          impl=kernels.select("conv2d", x.device))


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """PyTorch's ``F.conv_transpose2d``, composed from conv2d; see ``ops.conv_transpose``."""
    return _conv_transpose.conv_transpose2d(x, weight, bias, stride, padding, output_padding,
                                            groups, dilation,
                                            impl=kernels.select("conv2d", x.device))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """PyTorch's ``F.max_pool2d``. The plain case runs ``ops.pool`` (and its kernels); dilation,
    ``ceil_mode`` and ``return_indices`` take the composed ``ops.pool_options``."""
    if dilation in (1, (1, 1)) and not ceil_mode and not return_indices:
        return _pool.max_pool2d(x, kernel_size, stride, padding,
                                impl=kernels.select("max_pool2d", x.device))
    return _pool_options.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode,
                                    return_indices)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """PyTorch's ``F.avg_pool2d`` (padded zeros counted by default). The plain case runs
    ``ops.pool``; the options take the composed ``ops.pool_options``."""
    if not ceil_mode and count_include_pad and divisor_override is None:
        return _pool.avg_pool2d(x, kernel_size, stride, padding)
    return _pool_options.avg_pool2d(x, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override)


def one_hot(tensor, num_classes: int = -1):
    """PyTorch's ``F.one_hot``: int64 class indices (...) -> (..., num_classes) of 0s and 1s
    (int64); ``num_classes=-1`` takes the largest index + 1. No gradient (integer output)."""
    data = tensor.data if isinstance(tensor, Tensor) else Tensor(tensor).data
    if data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype "
                        f"{data.dtype}")
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (int(data.min()) < 0 or int(data.max()) >= num_classes):
        raise ValueError(f"one_hot: class indices must lie in [0, {num_classes}), got values "
                         f"from {int(data.min())} to {int(data.max())}")
    device = tensor.device if isinstance(tensor, Tensor) else "cpu"
    classes = array_module(device).arange(num_classes)
    return Tensor._make((data[..., None] == classes).astype("int64"), device)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """PyTorch's ``F.scaled_dot_product_attention``: softmax(q kᵀ · scale + mask) v, with
    ``attn_mask`` boolean (True = may attend) or float (added to the scores), ``is_causal``
    (query i sees keys j <= i), ``dropout_p`` on the weights and ``scale`` (1/√D by default);
    see ``ops.attention``. Without a mask or dropout, a selected kernel runs it fused
    (``ops.fused_attention``), never forming the score matrix; everything else, bad shapes
    included, goes to the reference."""
    impl = kernels.select("attention", query.device,
                          keys=key.shape[-2] if key.ndim >= 2 else None)
    if impl is None or attn_mask is not None or dropout_p != 0 or \
            not _fused.can_fuse(query, key, value):
        return _attention.scaled_dot_product_attention(query, key, value, attn_mask, is_causal,
                                                       scale, dropout_p)
    return _fused.fused_attention(query, key, value, is_causal, scale, impl=impl)
