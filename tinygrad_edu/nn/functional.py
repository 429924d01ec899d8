"""``tinygrad_edu.nn.functional`` (import it as ``F``): layers as plain functions.

This module gathers the functional forms defined next to their layers, so that
``F.relu``, ``F.conv2d``, ``F.cross_entropy`` are one import away, as in PyTorch.
"""
from .linear import linear
from .activation import (erf, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus,
                         tanh)
from .dropout import dropout
from .normalization import batch_norm, layer_norm
from .sparse import embedding
from .losses import (binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div, l1_loss,
                     mse_loss, nll_loss)
from .distillation import distillation_loss
from ..ops.pool import avg_pool2d
from .. import kernels
from ..ops import attention as _attention, conv as _conv, fused_attention as _fused, pool as _pool


# The three hot spots ask the kernel switch (``tinygrad_edu.kernels``) on every call which
# implementation to run: a Numba kernel module, or None for the NumPy/CuPy reference.

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``F.conv2d``; see ``ops.conv.conv2d``."""
    return _conv.conv2d(x, weight, bias, stride, padding, dilation, groups,
                        impl=kernels.select("conv2d", x.device))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """PyTorch's ``F.max_pool2d``; see ``ops.pool.max_pool2d``."""
    return _pool.max_pool2d(x, kernel_size, stride, padding,
                            impl=kernels.select("max_pool2d", x.device))


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, dropout_p=0.0):
    """softmax(q kᵀ · scale + mask) v; see ``ops.attention``. Without a mask or dropout, a
    selected kernel runs it fused (``ops.fused_attention``), never forming the score matrix;
    everything else, bad shapes included, goes to the reference."""
    impl = kernels.select("attention", q.device, keys=k.shape[-2] if k.ndim >= 2 else None)
    if impl is None or mask is not None or dropout_p != 0 or not _fused.can_fuse(q, k, v):
        return _attention.scaled_dot_product_attention(q, k, v, mask, causal, scale, dropout_p)
    return _fused.fused_attention(q, k, v, causal, scale, impl=impl)
