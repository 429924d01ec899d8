"""The gradient checks of every operation, layer, loss and model: ``tinygrad-edu gradcheck``.

Each entry of :data:`CHECKS` builds, from a seeded NumPy generator, a function of Tensors and
its float64 inputs at a tiny size. :func:`jacobian_errors` then compares the Jacobian that
backward gives (one vector-Jacobian product per output element) with central finite
differences (two forward passes per input element, see gradcheck.py), and reports the largest
absolute error |a - n| and the largest relative error |a - n| / max(|a|, |n|) over the entries
where either is above the absolute tolerance. An entry passes under gradcheck's own rule,
|a - n| <= atol + rtol·|n| everywhere.

Inputs stay away from the places where a derivative does not exist or is not unique: no
ReLU/abs input near 0, no ties inside a max, no clip input near a bound, denominators and
logarithm arguments away from 0. Models and the larger layers are checked with ``fast=True``:
one random projection vᵀ J u per input, which costs a few passes however large the model is.
Entries named ``*_second_derivative`` check second derivatives: their function is the first
derivative, computed with ``create_graph=True`` (:func:`second_order`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import backend
from .autograd import grad
from .gradcheck import jacobians
from .tensor import Tensor
from . import nn, models
from .nn import functional as F
from .ops.elementwise import maximum, minimum, where
from .ops.lstm import lstm_layer
from .ops.movement import cat, stack

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-4


@dataclass
class Check:
    build: object          # rng -> (fn, inputs)
    fast: bool = False     # a random projection instead of the full Jacobian


CHECKS: dict[str, Check] = {}


def register(name: str, fast: bool = False):
    """Decorator: add a builder ``rng -> (fn, inputs)`` to :data:`CHECKS` under ``name``."""
    def add(build):
        CHECKS[name] = Check(build, fast)
        return build
    return add


# ----------------------------------------------------------------------------- inputs

def leaf(rng, *shape, low=None, high=None, away_from=None) -> Tensor:
    """A float64 Tensor that requires grad: standard normal, or uniform in [low, high];
    ``away_from=c`` keeps every entry at least 0.1 from c (a kink)."""
    values = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    if away_from is not None:
        close = np.abs(values - away_from) < 0.1
        values = np.where(close, away_from + np.sign(values - away_from + 1e-12) * 0.3, values)
    return Tensor(values, requires_grad=True)


def distinct(rng, *shape) -> Tensor:
    """Entries whose differences are all at least 0.1: a max or a sort has no ties."""
    values = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 0.5 * np.prod(shape) * 0.1
    return Tensor(values.astype(np.float64), requires_grad=True)


def float64_module(module, rng, scale=0.5):
    """``module`` with float64 random weights, large enough that every gradient is checkable."""
    for p in module.parameters():
        p.data = rng.standard_normal(p.shape) * scale
    return module


def module_check(module, x):
    """(fn, inputs) that check ``module`` with respect to its input and every parameter (the
    checker perturbs the parameters' data in place, so ``module`` sees the perturbed values)."""
    def output(x, *params):
        out = module(x)
        return out[0] if isinstance(out, tuple) else out   # RNNs return (output, state)
    return output, [x, *module.parameters()]


def second_order(fn, inputs, rng):
    """(first derivatives, inputs + [v]): the function (inputs, v) -> vᵀ ∂fn/∂inputs, computed
    with ``create_graph=True``. Checking its Jacobian checks the second derivatives of ``fn``
    (what ``tg.gradgradcheck`` does)."""
    v = Tensor(rng.standard_normal(fn(*inputs).shape), requires_grad=True)

    def first_derivatives(*args):
        *xs, v = args
        return grad(fn(*xs), xs, v, create_graph=True)
    return first_derivatives, [*inputs, v]


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
        ("sum", lambda a: a.sum(axis=1)), ("sum_all", lambda a: a.sum()),
        ("mean", lambda a: a.mean(axis=0, keepdims=True)), ("var", lambda a: a.var(axis=1)),
        ("var_ddof1", lambda a: a.var(axis=0, ddof=1)), ("max", lambda a: a.max(axis=1)),
        ("min", lambda a: a.min(axis=0)), ("max_all", lambda a: a.max()),
        ("logsumexp", lambda a: a.logsumexp(axis=1)), ("softmax", lambda a: a.softmax(axis=-1)),
        ("log_softmax", lambda a: a.log_softmax(axis=0))]:
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
        ("cat", lambda a: cat([a, a * 2, a[:1]], axis=0)),
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


# ----------------------------------------------------------------------------- running

def jacobian_errors(fn, inputs, eps=EPS, atol=ATOL, rtol=RTOL, fast=False, seed=0) -> dict:
    """Analytic against numeric Jacobian of ``fn`` at ``inputs``: ``{"max_abs", "max_rel",
    "passed"}`` (the rule of ``tg.gradcheck``), without raising."""
    max_abs = max_rel = 0.0
    passed = True
    for _, analytic, numeric in jacobians(fn, inputs, eps, fast, seed):
        difference = np.abs(analytic - numeric)
        scale = np.maximum(np.abs(analytic), np.abs(numeric))
        passed &= bool(np.all(difference <= atol + rtol * np.abs(numeric)))
        max_abs = max(max_abs, float(difference.max(initial=0.0)))
        relevant = scale > atol
        if relevant.any():
            max_rel = max(max_rel, float((difference[relevant] / scale[relevant]).max()))
    return {"max_abs": max_abs, "max_rel": max_rel, "passed": passed}


def run_check(name: str, seed: int = 0) -> dict:
    """Build and run one check; an exception counts as a failure with its message."""
    check = CHECKS[name]
    backend.manual_seed(seed)
    try:
        fn, inputs = check.build(np.random.default_rng(seed))
        return {**jacobian_errors(fn, inputs, fast=check.fast, seed=seed), "error": None}
    except Exception as error:   # reported in the table; the other checks still run
        return {"max_abs": float("nan"), "max_rel": float("nan"), "passed": False,
                "error": f"{type(error).__name__}: {error}"}


def run_checks(names=None, out=print) -> bool:
    """Run the named checks (default: all), print a table, and return True if all pass."""
    names = list(CHECKS) if names is None else list(names)
    width = max(len(name) for name in names) + 2
    out(f"{'check':<{width}}{'kind':<7}{'max abs err':>13}{'max rel err':>13}  result")
    failures, start = [], time.perf_counter()
    for name in names:
        result = run_check(name)
        kind = "fast" if CHECKS[name].fast else "full"
        status = "pass" if result["passed"] else "FAIL"
        out(f"{name:<{width}}{kind:<7}{result['max_abs']:>13.2e}{result['max_rel']:>13.2e}  "
            f"{status}" + (f"  ({result['error']})" if result["error"] else ""))
        if not result["passed"]:
            failures.append(name)
    out(f"{len(names) - len(failures)} of {len(names)} passed in "
        f"{time.perf_counter() - start:.1f} s (float64, central differences, eps {EPS}; pass: "
        f"|analytic - numeric| <= {ATOL} + {RTOL}·|numeric|)"
        + (f"; failed: {', '.join(failures)}" if failures else ""))
    return not failures
