"""Gradient checks of the operations added for PyTorch's everyday surface (indexing, scans,
sorting, trigonometry, padding, resampling, transposed convolution, einsum, the newer
activations and losses) and of the large-model techniques (LoRA, distillation)."""
from __future__ import annotations

import numpy as np

from .. import functions, nn
from ..nn import functional as F
from ..tensor import Tensor
from .registry import float64_module, leaf, module_check, register

# ----------------------------------------------------------------------------- operations

_INDEX = np.array([[0, 2, 2, 1], [3, 0, 1, 1], [2, 2, 0, 3]])   # repeated ids: gradients add up

for _name, _fn, _kw in [
        ("gather", lambda a: a.gather(1, Tensor(_INDEX)), {}),
        ("index_select", lambda a: a.index_select(0, Tensor(np.array([2, 0, 2]))), {}),
        ("masked_fill", lambda a: a.masked_fill(Tensor(_INDEX == 2), 0.5), {}),
        ("cumsum", lambda a: a.cumsum(dim=1), {}),
        ("cumprod", lambda a: a.cumprod(dim=1), {"low": 0.5, "high": 1.5}),
        ("prod", lambda a: a.prod(dim=0), {"low": 0.5, "high": 1.5}),
        ("flip_roll", lambda a: a.flip(0).roll(1, dims=1), {}),
        ("sin", lambda a: a.sin(), {}), ("cos", lambda a: a.cos(), {}),
        ("atan", lambda a: a.atan(), {}), ("asin", lambda a: a.asin(), {"low": -0.8, "high": 0.8}),
        ("log1p", lambda a: a.log1p(), {"low": 0.1, "high": 2.0}),
        ("expm1", lambda a: a.expm1(), {}),
        ("rsqrt", lambda a: a.rsqrt(), {"low": 0.5, "high": 2.0}),
        ("norm", lambda a: a.norm(dim=1), {}),
        ("silu", F.silu, {}), ("elu", F.elu, {"away_from": 0.0}), ("mish", F.mish, {}),
        ("logsigmoid", F.logsigmoid, {})]:
    register(f"ops.{_name}")(lambda rng, fn=_fn, kw=_kw: (fn, [leaf(rng, 3, 4, **kw)]))


@register("ops.sort_values")
def _sort(rng):
    values = rng.permutation(12).reshape(3, 4) * 0.3   # distinct: no ties to order
    return (lambda a: a.sort(dim=1, descending=True).values, [Tensor(values, requires_grad=True)])


@register("ops.pad_reflect")
def _pad_reflect(rng):
    return (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [leaf(rng, 1, 2, 4, 4)])


@register("ops.interpolate_bilinear")
def _interpolate(rng):
    return (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
            [leaf(rng, 1, 2, 3, 3)])


@register("ops.conv_transpose2d_stride")
def _conv_transpose(rng):
    return (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
            [leaf(rng, 1, 2, 3, 3), leaf(rng, 2, 3, 3, 3), leaf(rng, 3)])


@register("ops.einsum_attention_scores")
def _einsum(rng):
    return (lambda q, k: functions.einsum("bhid,bhjd->bhij", q, k),
            [leaf(rng, 1, 2, 3, 4), leaf(rng, 1, 2, 3, 4)])


# ----------------------------------------------------------------------------- losses

@register("loss.smooth_l1")
def _smooth_l1(rng):
    x = leaf(rng, 3, 4)
    offsets = rng.uniform(0.1, 0.8, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    offsets[0] *= 3                               # one row beyond beta = 1: the linear part
    target = Tensor(x.data - offsets)
    return (lambda x: F.smooth_l1_loss(x, target), [x])


@register("loss.binary_cross_entropy")
def _bce(rng):
    target = Tensor(rng.random((3, 4)))
    return (lambda p: F.binary_cross_entropy(p, target), [leaf(rng, 3, 4, low=0.1, high=0.9)])


@register("loss.distillation")
def _distillation(rng):
    teacher, target = Tensor(rng.standard_normal((3, 5))), Tensor(rng.integers(0, 5, size=3))
    return (lambda student: F.distillation_loss(student, teacher, target), [leaf(rng, 3, 5)])


# ----------------------------------------------------------------------------- layers

@register("layer.LoRALinear")
def _lora(rng):
    lora = float64_module(nn.LoRALinear(nn.Linear(3, 4), rank=2, alpha=4.0), rng)
    return module_check(lora, leaf(rng, 2, 3))
