"""Gradient checks of the functional layers, the losses, the nn layers and the models."""
from __future__ import annotations

import numpy as np

from .. import models, nn
from ..nn import functional as F
from ..tensor import Tensor
from .registry import float64_module, leaf, module_check, register, second_order


# ----------------------------------------------------------------------------- functional layers

@register("nn.layer_norm")
def _layer_norm(rng):
    return (lambda x, w, b: F.layer_norm(x, (4,), w, b), [leaf(rng, 3, 4), leaf(rng, 4),
                                                          leaf(rng, 4)])


@register("nn.batch_norm_training")
def _batch_norm(rng):
    return (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
            [leaf(rng, 4, 3), leaf(rng, 3), leaf(rng, 3)])


@register("nn.embedding")
def _embedding(rng):
    indices = Tensor(np.array([[0, 2, 2], [3, 1, 0]]))   # repeated ids: their rows are summed
    return (lambda w: F.embedding(indices, w), [leaf(rng, 4, 3)])


@register("nn.linear")
def _linear(rng):
    return (lambda x, w, b: F.linear(x, w, b), [leaf(rng, 2, 3), leaf(rng, 4, 3), leaf(rng, 4)])


# ----------------------------------------------------------------------------- losses

def _classes(rng, n, c):
    return Tensor(rng.integers(0, c, size=n))


def _offsets(rng, low, high, shape=(3, 4)):
    """Random differences input - target with |d| in [low, high] and random signs."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


@register("loss.l1")
def _l1(rng):
    x = leaf(rng, 3, 4)
    target = Tensor(x.data - _offsets(rng, 0.2, 1.0))   # no difference near the kink at 0
    return (lambda x: F.l1_loss(x, target), [x])


@register("loss.huber")
def _huber(rng):
    x = leaf(rng, 3, 4)
    near, far = _offsets(rng, 0.1, 0.8), _offsets(rng, 1.2, 2.0)   # both sides of delta = 1
    target = Tensor(x.data - np.where(rng.random((3, 4)) < 0.5, near, far))
    return (lambda x: F.huber_loss(x, target, delta=1.0), [x])


for _name, _fn, _target in [
        ("mse", F.mse_loss, lambda rng: Tensor(rng.standard_normal((3, 4)))),
        ("cross_entropy", F.cross_entropy, lambda rng: _classes(rng, 3, 4)),
        ("cross_entropy_smoothed", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
         lambda rng: _classes(rng, 3, 4)),
        ("nll", lambda x, t: F.nll_loss(x.log_softmax(axis=1), t),
         lambda rng: _classes(rng, 3, 4)),
        ("bce_with_logits", F.binary_cross_entropy_with_logits,
         lambda rng: Tensor(rng.random((3, 4)))),
        ("kl_div", lambda x, t: F.kl_div(x.log_softmax(axis=1), t, reduction="batchmean"),
         lambda rng: Tensor(rng.dirichlet(np.ones(4), size=3)))]:
    register(f"loss.{_name}")(lambda rng, fn=_fn, target=_target: (
        (lambda x, t=target(rng): fn(x, t)), [leaf(rng, 3, 4)]))


# ----------------------------------------------------------------------------- layers

for _name, _make, _shape, _fast in [
        ("Linear", lambda: nn.Linear(3, 2), (2, 3), False),
        ("Conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), (1, 2, 4, 4), False),
        ("LayerNorm", lambda: nn.LayerNorm(4), (2, 4), False),
        ("BatchNorm1d", lambda: nn.BatchNorm1d(3), (5, 3), False),
        ("BatchNorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2), False),
        ("RNN", lambda: nn.RNN(3, 4, batch_first=True), (2, 3, 3), False),
        ("LSTM", lambda: nn.LSTM(3, 4, num_layers=2, batch_first=True), (2, 3, 3), True),
        ("GRU", lambda: nn.GRU(3, 4, batch_first=True), (2, 3, 3), True),
        ("MultiHeadAttention", lambda: nn.MultiHeadAttention(4, 2), (2, 3, 4), True),
        ("TransformerBlock", lambda: nn.TransformerBlock(4, 2), (2, 3, 4), True)]:
    register(f"layer.{_name}", fast=_fast)(lambda rng, make=_make, shape=_shape: module_check(
        float64_module(make(), rng), leaf(rng, *shape)))


@register("layer.Embedding")
def _embedding_layer(rng):
    layer = float64_module(nn.Embedding(5, 3), rng)
    indices = Tensor(np.array([[1, 4, 1]]))
    return (lambda w: layer(indices), [layer.weight])


# ----------------------------------------------------------------------------- models

@register("model.MLP")
def _mlp(rng):
    model = float64_module(models.MLP([4, 5, 3], activation="tanh"), rng)
    return module_check(model, leaf(rng, 2, 4))


@register("model.CNN", fast=True)
def _cnn(rng):
    model = float64_module(models.CNN(1, 3, image_size=8), rng, scale=0.3)
    return module_check(model, leaf(rng, 2, 1, 8, 8))


@register("model.CNN_second_derivative", fast=True)
def _cnn_second(rng):
    model = float64_module(models.CNN(1, 3, image_size=8), rng, scale=0.3)
    return second_order(lambda x, *params: model(x), [leaf(rng, 2, 1, 8, 8),
                                                       *model.parameters()], rng)


@register("model.CharRNN", fast=True)
def _char_rnn(rng):
    model = float64_module(models.CharRNN(6, 3, 4, cell="lstm"), rng)
    idx = Tensor(rng.integers(0, 6, size=(2, 4)))
    return (lambda *params: model(idx)[0], list(model.parameters()))


@register("model.GPT", fast=True)
def _gpt(rng):
    model = float64_module(models.GPT(7, 4, n_layer=2, n_head=2, n_embd=4), rng)
    idx, targets = Tensor(rng.integers(0, 7, size=(2, 4))), Tensor(rng.integers(0, 7, size=(2, 4)))
    return (lambda *params: model(idx, targets)[1], list(model.parameters()))
