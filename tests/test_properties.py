"""Property tests (hypothesis): drawn broadcast pairs for every binary op, drawn axes and
keepdims for every reduction, drawn index expressions for ``x[...]``. Each result and each
gradient is compared with a NumPy formula written independently of the engine."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from strategies import broadcast_pairs, index_cases, make_array, np_sum_to, reduction_cases

SETTINGS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)
layouts = st.sampled_from(["contiguous", "transposed"])

# name: (engine op, NumPy forward, NumPy (da, db) given a, b and the output gradient g)
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b, g: (g, g)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b, g: (g, -g)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b, g: (g * b, g * a)),
    "div": (lambda a, b: a / b, np.divide, lambda a, b, g: (g / b, -g * a / b**2)),
    "pow": (lambda a, b: a ** b, np.power,
            lambda a, b, g: (g * b * a ** (b - 1), g * a**b * np.log(a))),
    "maximum": (tg.maximum, np.maximum, lambda a, b, g: (g * (a > b), g * (b > a))),
    "minimum": (tg.minimum, np.minimum, lambda a, b, g: (g * (a < b), g * (b < a))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(pair=broadcast_pairs(), layout=layouts, seed=seeds)
def test_binary_op_on_drawn_broadcast_shapes(name, pair, layout, seed):
    ours, forward, local_grads = BINARY[name]
    rng = np.random.default_rng(seed)
    low = 0.5 if name == "pow" else -2.0   # a positive base keeps ln a defined
    a_np, b_np = make_array(rng, pair[0], layout, low, 2.0), make_array(rng, pair[1], layout)
    a, b = tg.Tensor(a_np, requires_grad=True), tg.Tensor(b_np, requires_grad=True)
    out = ours(a, b)
    expected = forward(a_np, b_np)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(expected.shape)
    out.backward(g)
    a_b, b_b = np.broadcast_arrays(a_np, b_np)
    da, db = local_grads(a_b, b_b, g)
    np.testing.assert_allclose(a.grad.numpy(), np_sum_to(da, a_np.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), np_sum_to(db, b_np.shape), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(pair=broadcast_pairs(min_side=0), seed=seeds)
def test_broadcasting_with_empty_axes(pair, seed):
    rng = np.random.default_rng(seed)
    a_np, b_np = make_array(rng, pair[0]), make_array(rng, pair[1])
    a, b = tg.Tensor(a_np, requires_grad=True), tg.Tensor(b_np, requires_grad=True)
    out = a * b + a
    assert out.shape == np.broadcast_shapes(a_np.shape, b_np.shape)
    out.backward(np.ones(out.shape))
    assert a.grad.shape == a_np.shape and b.grad.shape == b_np.shape
    expected_b = np_sum_to(np.broadcast_to(a_np, out.shape), b_np.shape)
    np.testing.assert_allclose(b.grad.numpy(), expected_b)


# ----------------------------------------------------------------------------- reductions

def _reduce_reference(name, x, axis, g_kept):
    """The gradient of sum(g · reduce(x)) with respect to x, for g in keepdims shape."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    count = x.size // g_kept.size   # the number of elements behind each output
    if name == "sum":
        return np.broadcast_to(g_kept, x.shape)
    if name == "mean":
        return np.broadcast_to(g_kept / count, x.shape)
    if name in ("amax", "amin"):
        winners = x == getattr(np, name)(x, axis=axes, keepdims=True)
        return g_kept * winners / winners.sum(axis=axes, keepdims=True)
    if name == "var":
        return g_kept * 2 * (x - x.mean(axis=axes, keepdims=True)) / count
    e = np.exp(x - x.max(axis=axes, keepdims=True))   # logsumexp: the gradient is softmax
    return g_kept * e / e.sum(axis=axes, keepdims=True)


REDUCE_FORWARD = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min, "var": np.var,
                  "logsumexp": lambda x, axis, keepdims: np.log(np.sum(
                      np.exp(x), axis=axis, keepdims=keepdims))}
# The population variance (correction=0) is NumPy's np.var; torch.var's default is unbiased.
REDUCE_OPTIONS = {"var": {"correction": 0}}


@pytest.mark.parametrize("name", sorted(REDUCE_FORWARD))
@SETTINGS
@given(case=reduction_cases(), layout=layouts, ties=st.booleans(), seed=seeds)
def test_reduction_on_drawn_axes(name, case, layout, ties, seed):
    shape, axis, keepdims = case
    rng = np.random.default_rng(seed)
    x_np = make_array(rng, shape, layout)
    if ties:   # few distinct values: max/min must split their gradient among equal elements
        x_np = np.round(x_np)
    x = tg.Tensor(x_np, requires_grad=True)
    out = getattr(x, name)(dim=axis, keepdim=keepdims, **REDUCE_OPTIONS.get(name, {}))
    expected = REDUCE_FORWARD[name](x_np, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    g_kept = np.reshape(g, np.sum(x_np, axis=axis, keepdims=True).shape)
    np.testing.assert_allclose(x.grad.numpy(), _reduce_reference(name, x_np, axis, g_kept),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(case=reduction_cases(), layout=layouts, seed=seeds)
def test_softmax_family_on_drawn_axes(name, case, layout, seed):
    shape, _, _ = case
    rng = np.random.default_rng(seed)
    axis = int(rng.integers(-len(shape), len(shape)))
    x_np = make_array(rng, shape, layout, -5, 5)
    x = tg.Tensor(x_np, requires_grad=True)
    out = getattr(x, name)(axis)
    e = np.exp(x_np - x_np.max(axis=axis, keepdims=True))
    s = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(out.numpy(), s if name == "softmax" else np.log(s),
                               rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    out.backward(g)
    if name == "softmax":
        expected = s * (g - (g * s).sum(axis=axis, keepdims=True))
    else:
        expected = g - s * g.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- indexing

@settings(max_examples=40, deadline=None)
@given(case=index_cases(), layout=layouts, seed=seeds)
def test_getitem_on_drawn_index_expressions(case, layout, seed):
    shape, index = case
    rng = np.random.default_rng(seed)
    x_np = make_array(rng, shape, layout)
    x = tg.Tensor(x_np, requires_grad=True)
    out = x[index]
    expected = x_np[index]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    g = rng.standard_normal(expected.shape)
    out.backward(g)
    reference = np.zeros(shape)
    np.add.at(reference, index, g)   # every pick adds its gradient, repeated picks included
    np.testing.assert_allclose(x.grad.numpy(), reference, rtol=1e-12, atol=1e-14)
