"""Gradient checks of the operations in ops/: elementwise, products, convolution, pooling,
attention, the LSTM layer."""
from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ..ops.elementwise import maximum, minimum, where
from ..ops.lstm import lstm_layer
from ..ops.movement import cat, stack
from ..tensor import Tensor
from .registry import distinct, leaf, register, second_order


# ----------------------------------------------------------------------------- elementwise

for _name, _fn, _kw in [
        ("add", lambda a, b: a + b, {}), ("sub", lambda a, b: a - b, {}),
        ("mul", lambda a, b: a * b, {}),
        ("div", lambda a, b: a / b, {"low": 0.5, "high": 2.0}),
        ("pow", lambda a, b: a ** b, {"low": 0.5, "high": 2.0}),
        ("maximum", maximum, {}), ("minimum", minimum, {})]:
    # b broadcasts along the first axis: its gradient is a sum over the rows (autograd.sum_to)
    register(f"ops.{_name}")(lambda rng, fn=_fn, kw=_kw: (fn, [leaf(rng, 3, 4, **kw),
                                                               leaf(rng, 4, **kw)]))

for _name, _fn, _kw in [
        ("neg", lambda a: -a, {}), ("exp", lambda a: a.exp(), {}),
        ("log", lambda a: a.log(), {"low": 0.5, "high": 3.0}),
        ("sqrt", lambda a: a.sqrt(), {"low": 0.5, "high": 3.0}),
        ("tanh", lambda a: a.tanh(), {}), ("sigmoid", lambda a: a.sigmoid(), {}),
        ("relu", lambda a: a.relu(), {"away_from": 0.0}),
        ("abs", lambda a: a.abs(), {"away_from": 0.0}),
        ("pow_scalar", lambda a: a ** 3, {}),
        ("pow_fractional", lambda a: a ** 0.5, {"low": 0.5, "high": 2.0}),
        ("gelu", lambda a: F.gelu(a), {}), ("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), {}),
        ("leaky_relu", lambda a: F.leaky_relu(a, 0.1), {"away_from": 0.0}),
        ("softplus", lambda a: F.softplus(a), {})]:
    register(f"ops.{_name}")(lambda rng, fn=_fn, kw=_kw: (fn, [leaf(rng, 2, 5, **kw)]))


@register("ops.clip")
def _clip(rng):
    inside, outside = rng.uniform(-0.4, 0.4, 6), rng.uniform(0.6, 1.0, 6) * rng.choice([-1, 1], 6)
    x = Tensor(rng.permutation(np.concatenate([inside, outside])), requires_grad=True)
    return (lambda a: a.clip(-0.5, 0.5), [x])   # no entry within 0.1 of a bound


@register("ops.where")
def _where(rng):
    condition = Tensor(rng.random((3, 4)) > 0.5)
    return (lambda a, b: where(condition, a, b), [leaf(rng, 3, 4), leaf(rng, 4)])


# ----------------------------------------------------------------------------- reductions

for _name, _fn in [
        ("sum", lambda a: a.sum(dim=1)), ("sum_all", lambda a: a.sum()),
        ("mean", lambda a: a.mean(dim=0, keepdim=True)), ("var", lambda a: a.var(dim=1)),
        ("var_population", lambda a: a.var(dim=0, correction=0)),
        ("max", lambda a: a.max(dim=1).values), ("min", lambda a: a.min(dim=0).values),
        ("max_all", lambda a: a.max()), ("amax", lambda a: a.amax(dim=(0, 1), keepdim=True)),
        ("logsumexp", lambda a: a.logsumexp(dim=1)), ("softmax", lambda a: a.softmax(dim=-1)),
        ("log_softmax", lambda a: a.log_softmax(dim=0))]:
    register(f"ops.{_name}")(lambda rng, fn=_fn: (fn, [distinct(rng, 3, 4)]))


# ----------------------------------------------------------------------------- movement

for _name, _fn in [
        ("reshape", lambda a: a.reshape(4, 3)), ("transpose", lambda a: a.transpose(1, 0)),
        ("permute", lambda a: a.reshape(1, 3, 4).permute(2, 0, 1)),
        ("flatten", lambda a: a.reshape(3, 2, 2).flatten(1)),
        ("squeeze_unsqueeze", lambda a: a.unsqueeze(0).squeeze(0) * 2),
        ("expand", lambda a: a[:, :1].expand(3, 5)),
        ("getitem_slice", lambda a: a[1:, ::2]),
        ("getitem_int_array", lambda a: a[np.array([0, 2, 0, 1])]),   # a repeated row: summed
        ("getitem_mixed", lambda a: a[np.array([2, 0]), 1:3]),
        ("pad", lambda a: a.pad(((1, 0), (0, 2)))),
        ("cat", lambda a: cat([a, a * 2, a[:1]], dim=0)),
        ("stack", lambda a: stack([a, a.exp()], axis=1))]:
    register(f"ops.{_name}")(lambda rng, fn=_fn: (fn, [leaf(rng, 3, 4)]))


@register("ops.matmul")
def _matmul(rng):
    return (lambda a, b: a @ b, [leaf(rng, 3, 4), leaf(rng, 4, 2)])


@register("ops.matmul_batched_broadcast")
def _matmul_batched(rng):
    return (lambda a, b: a @ b, [leaf(rng, 2, 3, 4), leaf(rng, 4, 2)])


@register("ops.conv2d")
def _conv2d(rng):
    return (lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1),
            [leaf(rng, 2, 2, 4, 4), leaf(rng, 3, 2, 3, 3), leaf(rng, 3)])


@register("ops.conv2d_stride_groups_dilation")
def _conv2d_general(rng):
    return (lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=2, groups=2),
            [leaf(rng, 1, 4, 5, 5), leaf(rng, 2, 2, 2, 2)])


@register("ops.max_pool2d")
def _max_pool(rng):
    return (lambda x: F.max_pool2d(x, 2), [distinct(rng, 1, 2, 4, 4)])


@register("ops.max_pool2d_overlapping_padded")
def _max_pool_padded(rng):
    return (lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [distinct(rng, 1, 1, 5, 5)])


@register("ops.avg_pool2d")
def _avg_pool(rng):
    return (lambda x: F.avg_pool2d(x, 2, padding=1), [leaf(rng, 1, 2, 3, 3)])


@register("ops.conv2d_second_derivative")
def _conv2d_second(rng):
    """Stride, padding, dilation and groups at once; the gradient is the composed im2col's."""
    return second_order(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1,
                                                 dilation=(1, 2), groups=2),
                        [leaf(rng, 1, 4, 5, 5), leaf(rng, 2, 2, 2, 3), leaf(rng, 2)], rng)


@register("ops.max_pool2d_second_derivative")
def _max_pool_second(rng):
    return second_order(lambda x: F.max_pool2d(x, 3, stride=2, padding=1) ** 2,
                        [distinct(rng, 1, 2, 5, 5)], rng)


@register("ops.avg_pool2d_second_derivative")
def _avg_pool_second(rng):
    return second_order(lambda x: F.avg_pool2d(x, 3, stride=2, padding=1) ** 2,
                        [leaf(rng, 1, 2, 5, 5)], rng)


@register("ops.attention_causal")
def _attention(rng):
    return (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            [leaf(rng, 1, 2, 3, 4), leaf(rng, 1, 2, 3, 4), leaf(rng, 1, 2, 3, 4)])


@register("ops.attention_masked")
def _attention_masked(rng):
    mask = np.array([[True, False, True], [True, True, False]])   # (Tq, Tk)
    return (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
            [leaf(rng, 2, 2, 3), leaf(rng, 2, 3, 3), leaf(rng, 2, 3, 2)])


@register("ops.lstm_layer")
def _lstm_layer(rng):
    # every h_t and c_t of 3 steps w.r.t. x, h_0, c_0, W_ih, W_hh, b_ih, b_hh (B = 2, I = 2, H = 3)
    return (lambda *inputs: lstm_layer(*inputs),
            [leaf(rng, 3, 2, 2), leaf(rng, 2, 3), leaf(rng, 2, 3), leaf(rng, 12, 2),
             leaf(rng, 12, 3), leaf(rng, 12), leaf(rng, 12)])


# ----------------------------------------------------------------------------- nn functions
