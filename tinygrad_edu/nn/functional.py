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
from ..ops.conv import conv2d
from ..ops.pool import avg_pool2d, max_pool2d
from ..ops.attention import scaled_dot_product_attention
