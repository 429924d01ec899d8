"""Normalization layers: LayerNorm, BatchNorm1d and BatchNorm2d.

Both rescale activations to zero mean and unit variance and then let the network choose the
scale and shift it wants back, through learned γ (``weight``) and β (``bias``):

    y = (x - μ) / √(σ² + ε) · γ + β

They differ in *which* numbers μ and σ² are averaged over:

- LayerNorm: over the last axes of each sample (``normalized_shape``, e.g. the C features of a
  token). Every sample is normalized on its own, so it behaves the same in training and
  evaluation and does not care about the batch size: the normalization of transformers.
- BatchNorm: over the batch (and the spatial positions), separately for each channel C of an
  input (N, C), (N, C, L) or (N, C, H, W). In training it uses the statistics of the current
  batch and keeps exponential running averages of them,

      running_mean ← (1 - momentum)·running_mean + momentum·μ_batch
      running_var  ← (1 - momentum)·running_var  + momentum·σ²_batch · n/(n - 1)

  (the running variance uses the *unbiased* estimate, n values per channel); in evaluation it
  normalizes with those running averages, so one sample's output no longer depends on the rest
  of its batch. With ``momentum=None`` the running averages are plain cumulative means.

BatchNorm is composed from Tensor operations (mean, subtraction, square root, division), so its
backward pass, including the gradient through μ and σ² of the batch, comes from the engine.
LayerNorm, which runs twice in every transformer block, normalizes, scales and shifts with
``Normalize``, one operation whose backward is the closed form of that same chain of gradients
(derived there): about twenty elementwise steps replaced by five.
Parameter and buffer names (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``) and shapes are PyTorch's, so a PyTorch state_dict loads unchanged.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..autograd import ShapeError
from ..ops.normalization import Normalize, statistics
from ..tensor import Tensor
from .. import creation
from .module import Module, Parameter


def _check_last_axes(name: str, x: Tensor, normalized_shape: tuple) -> None:
    count = len(normalized_shape)
    if x.ndim < count or x.shape[x.ndim - count:] != normalized_shape:
        raise ShapeError(f"{name}: expected an input whose last axes are {normalized_shape}, "
                         f"got shape {x.shape}")


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` axes, then scale by ``weight`` and shift
    by ``bias`` (both of shape ``normalized_shape``, optional)."""
    normalized_shape = _as_shape(normalized_shape)
    _check_last_axes("layer_norm", x, normalized_shape)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    if weight is not None and bias is not None and x.dtype == weight.dtype == bias.dtype \
            and weight.shape == bias.shape == normalized_shape:   # the usual case: one node
        fast = x.dtype in (np.float32, np.float64) and weight.numel() > 0  # what the kernel takes
        impl = kernels.select("layer_norm", x.device) if fast else None
        return Normalize.apply(x, weight, bias, axes=axes, eps=eps, impl=impl)
    y = Normalize.apply(x, axes=axes, eps=eps)          # (..., *normalized_shape)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (axis 1) of ``x`` over all the other axes.

    ``training=True`` uses the batch statistics and, if running buffers are given, updates them
    in place with ``momentum``; ``training=False`` uses ``running_mean`` and ``running_var``."""
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input with a channel axis (N, C, ...), "
                         f"got shape {x.shape}")
    channels = x.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if tensor is not None and tensor.shape != (channels,):
            raise ShapeError(f"batch_norm: {name} has shape {tensor.shape}, but the input "
                             f"{x.shape} has {channels} channels, so expected ({channels},)")
    axes = (0,) + tuple(range(2, x.ndim))                  # every axis but the channels
    per_channel = (1, channels) + (1,) * (x.ndim - 2)       # (1, C, 1, ...) broadcasts over x
    if training:
        count = x.numel() // max(channels, 1)                 # values averaged per channel
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        mean, centered, variance = statistics(x, axes)    # (1, C, 1..), (N, C, ..), (1, C, 1..)
        if running_mean is not None and running_var is not None:
            _update_running(running_mean, mean.data.reshape(channels), momentum)
            unbiased = variance.data.reshape(channels) * (count / (count - 1))
            _update_running(running_var, unbiased, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean "
                             "and running_var")
        centered = x - running_mean.detach().reshape(per_channel)     # (N, C, ...)
        variance = running_var.detach().reshape(per_channel)          # (1, C, 1, ...)
    y = centered / (variance + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


def _update_running(buffer: Tensor, batch_value, momentum: float) -> None:
    """buffer ← (1 - momentum)·buffer + momentum·batch_value, in place and outside the graph
    (in place, as in PyTorch: a state_dict taken earlier sees the new values)."""
    buffer.data[...] = (1 - momentum) * buffer.data + momentum * batch_value


def _as_shape(shape) -> tuple:
    return (shape,) if isinstance(shape, int) else tuple(shape)


class LayerNorm(Module):
    """Layer normalization over the last axes (``normalized_shape``); γ = 1 and β = 0 at first."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        super().__init__()
        self.normalized_shape, self.eps = _as_shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = (Parameter(creation.ones(self.normalized_shape))
                       if elementwise_affine else None)
        self.bias = (Parameter(creation.zeros(self.normalized_shape))
                     if elementwise_affine and bias else None)

    def forward(self, x: Tensor) -> Tensor:
        _check_last_axes("LayerNorm", x, self.normalized_shape)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input shapes they accept."""

    allowed_ndims: tuple = ()
    expected_shapes = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(creation.ones(num_features)) if affine else None
        self.bias = Parameter(creation.zeros(num_features)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features))
            self.register_buffer("running_var", creation.ones(num_features))
            self.register_buffer("num_batches_tracked", creation.zeros((), dtype="int64"))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.allowed_ndims:
            raise ShapeError(f"{name}: expected input of shape {self.expected_shapes}, "
                             f"got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected {self.num_features} channels on axis 1, "
                             f"got input of shape {x.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:   # a cumulative average: batch number k gets weight 1/k
                momentum = 1.0 / self.num_batches_tracked.item()
        # without running statistics, batch statistics are used in evaluation mode too
        use_batch_statistics = self.training or self.running_mean is None
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_statistics, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C."""

    allowed_ndims = (2, 3)
    expected_shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) images, per channel C."""

    allowed_ndims = (4,)
    expected_shapes = "(N, C, H, W)"
