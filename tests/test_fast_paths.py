"""The fast paths found by profiling the benchmarks (``python -m benchmarks``):

- ``GeluTanh``: the tanh GELU as one operation; ``Normalize``: LayerNorm's normalization as one
  operation. Each has a hand-derived backward on arrays and, with ``create_graph=True``, a
  differentiable fallback from Tensor operations; the tests check the forward against NumPy,
  gradients against finite differences (float64), second derivatives, and that the array
  backward and the recorded backward agree;
- the reference attention's causal mask, added as -inf instead of selected with ``where``;
- the weight gradient of a batched ``x @ W`` as one 2-D product."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.ops.activation import GeluTanh
from tinygrad_edu.ops.normalization import Normalize


def numpy_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def numpy_layer_norm(x, axes, weight, bias, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gradients(fn, x, upstream, create_graph):
    """dL/dx for L = Σ upstream · fn(x), taken with or without create_graph."""
    (grad,) = tg.grad(fn(x), x, upstream, create_graph=create_graph)
    return grad.numpy()


# ----------------------------------------------------------------------------- GeluTanh

def test_gelu_tanh_is_one_operation_matching_numpy(rng, device):
    x = rng.standard_normal((4, 6)) * 3
    out = F.gelu(tg.Tensor(x, requires_grad=True, device=device), approximate="tanh")
    assert isinstance(out.grad_fn, GeluTanh)
    np.testing.assert_allclose(out.numpy(), numpy_gelu_tanh(x), rtol=1e-12, atol=1e-14)


def test_gelu_tanh_float32_stays_float32(rng, device):
    x = tg.Tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True,
                  device=device)
    out = F.gelu(x, approximate="tanh")
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


def test_gelu_tanh_gradcheck(rng, device):
    x = tg.Tensor(rng.standard_normal((3, 4)) * 2, requires_grad=True, device=device)
    assert tg.gradcheck(lambda t: F.gelu(t, approximate="tanh"), [x])


def test_gelu_tanh_gradcheck_large_random_direction(rng):
    x = tg.Tensor(rng.standard_normal((16, 8, 32)), requires_grad=True)
    assert tg.gradcheck(lambda t: F.gelu(t, approximate="tanh"), [x], fast=True)


def test_gelu_tanh_second_derivatives(rng):
    x = tg.Tensor(rng.standard_normal((6,)) * 2, requires_grad=True)
    assert tg.gradgradcheck(lambda t: F.gelu(t, approximate="tanh"), [x])


def test_gelu_tanh_array_and_recorded_backward_agree(rng):
    x = tg.Tensor(rng.standard_normal((5, 7)) * 2, requires_grad=True)
    upstream = tg.Tensor(rng.standard_normal((5, 7)))
    fn = lambda t: F.gelu(t, approximate="tanh")   # noqa: E731
    np.testing.assert_allclose(gradients(fn, x, upstream, False),
                               gradients(fn, x, upstream, True), rtol=1e-12, atol=1e-14)


def test_gelu_tanh_slope_against_finite_differences_of_numpy(rng):
    """The slope formula on its own, against the NumPy forward: an independent check."""
    x = rng.standard_normal(50) * 3
    h = 1e-6
    numeric = (numpy_gelu_tanh(x + h) - numpy_gelu_tanh(x - h)) / (2 * h)
    xt = tg.Tensor(x, requires_grad=True)
    F.gelu(xt, approximate="tanh").sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- Normalize

@pytest.mark.parametrize("normalized_shape", [(5,), (3, 5)])
def test_layer_norm_uses_normalize_and_matches_numpy(normalized_shape, rng, device):
    x = rng.standard_normal((2, 3, 5)) * 2 + 1
    weight, bias = rng.standard_normal(normalized_shape), rng.standard_normal(normalized_shape)
    axes = tuple(range(3 - len(normalized_shape), 3))
    out = F.layer_norm(tg.Tensor(x, device=device), normalized_shape,
                       tg.Tensor(weight, device=device), tg.Tensor(bias, device=device))
    np.testing.assert_allclose(out.numpy(), numpy_layer_norm(x, axes, weight, bias),
                               rtol=1e-10, atol=1e-12)


def test_normalize_is_the_graph_node(rng):
    x = tg.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert isinstance(F.layer_norm(x, 4).grad_fn, Normalize)


@pytest.mark.parametrize("normalized_shape", [(5,), (3, 5)])
def test_layer_norm_gradcheck(normalized_shape, rng, device):
    x = tg.Tensor(rng.standard_normal((2, 3, 5)), requires_grad=True, device=device)
    weight = tg.Tensor(rng.standard_normal(normalized_shape), requires_grad=True, device=device)
    bias = tg.Tensor(rng.standard_normal(normalized_shape), requires_grad=True, device=device)
    assert tg.gradcheck(lambda a, w, b: F.layer_norm(a, normalized_shape, w, b),
                        [x, weight, bias])


def test_layer_norm_gradcheck_large_random_direction(rng):
    x = tg.Tensor(rng.standard_normal((8, 16, 64)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal(64), requires_grad=True)
    assert tg.gradcheck(lambda a, w: F.layer_norm(a, 64, w), [x, weight], fast=True)


def test_layer_norm_second_derivatives(rng):
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal(4), requires_grad=True)
    assert tg.gradgradcheck(lambda a, w: F.layer_norm(a, 4, w), [x, weight])


def test_normalize_array_and_recorded_backward_agree(rng):
    x = tg.Tensor(rng.standard_normal((4, 6)) * 3, requires_grad=True)
    upstream = tg.Tensor(rng.standard_normal((4, 6)))
    fn = lambda t: F.layer_norm(t, 6)   # noqa: E731
    np.testing.assert_allclose(gradients(fn, x, upstream, False),
                               gradients(fn, x, upstream, True), rtol=1e-10, atol=1e-12)


def test_normalize_gradient_is_orthogonal_to_shift_and_scale(rng):
    """With ε = 0, x̂ does not change when a row of x is shifted or scaled, so dL/dx has zero sum
    and is orthogonal to x̂ in every row, whatever the upstream gradient."""
    x = tg.Tensor(rng.standard_normal((5, 8)), requires_grad=True)
    upstream = rng.standard_normal((5, 8))
    x_hat = F.layer_norm(x, 8, eps=0.0)
    x_hat.backward(tg.Tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy().sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose((x.grad.numpy() * x_hat.numpy()).sum(axis=1), 0, atol=1e-12)


def test_layer_norm_module_float32_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 7, 16)).astype(np.float32)
    upstream = rng.standard_normal((2, 7, 16)).astype(np.float32)
    layer = nn.LayerNorm(16)
    layer.weight.data[...] = rng.standard_normal(16)
    xt = tg.Tensor(x, requires_grad=True)
    layer(xt).backward(tg.Tensor(upstream))

    reference = torch.nn.LayerNorm(16)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.numpy()))
    x_torch = torch.from_numpy(x).requires_grad_()
    reference(x_torch).backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(xt.grad.numpy(), x_torch.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), reference.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- causal mask

def test_reference_causal_attention_matches_torch_and_gradchecks(rng):
    """The reference attention masks causally by adding -inf (not by ``where``): same values
    and gradients as PyTorch, and still twice differentiable."""
    from tinygrad_edu.ops.attention import scaled_dot_product_attention
    torch = pytest.importorskip("torch")
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    upstream = rng.standard_normal((2, 3, 5, 4))
    tensors = [tg.Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = scaled_dot_product_attention(*tensors, causal=True)
    out.backward(tg.Tensor(upstream))
    reference = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    expected = torch.nn.functional.scaled_dot_product_attention(*reference, is_causal=True)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(tensors, reference):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_reference_causal_attention_second_derivatives(rng):
    from tinygrad_edu.ops.attention import scaled_dot_product_attention
    q, k, v = (tg.Tensor(rng.standard_normal((1, 4, 3)), requires_grad=True) for _ in range(3))
    assert tg.gradgradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, causal=True),
                            [q, k, v])


# ----------------------------------------------------------------------------- matmul

@pytest.mark.parametrize("a_shape", [(2, 3, 4), (2, 2, 3, 4)])
def test_batched_input_times_shared_matrix_gradients(a_shape, rng, device):
    """x (..., n, k) @ W (k, m): dL/dW = Σ over the batch of xᵀ g, taken as one 2-D product."""
    a = tg.Tensor(rng.standard_normal(a_shape), requires_grad=True, device=device)
    b = tg.Tensor(rng.standard_normal((4, 5)), requires_grad=True, device=device)
    upstream = rng.standard_normal(a_shape[:-1] + (5,))
    (a @ b).backward(tg.Tensor(upstream, device=device))
    samples = zip(a.numpy().reshape(-1, 3, 4), upstream.reshape(-1, 3, 5))
    expected = sum(x.T @ g for x, g in samples)                        # Σ over the batch
    np.testing.assert_allclose(b.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(lambda x, w: x @ w, [a, b])


def test_batched_input_times_shared_matrix_second_derivatives(rng):
    a = tg.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert tg.gradgradcheck(lambda x, w: (x @ w).tanh(), [a, b])


# ----------------------------------------------------------------------------- elementwise rules

ELEMENTWISE_RULES = {   # each op under test feeds a final product with b
    "sub": lambda a, b: (a - b) * b, "mul": lambda a, b: a * b * b, "neg": lambda a, b: -a * b,
    "exp": lambda a, b: a.exp() * b, "tanh": lambda a, b: a.tanh() * b,
    "sigmoid": lambda a, b: a.sigmoid() * b, "relu": lambda a, b: a.relu() * b,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_RULES))
def test_elementwise_array_rules_agree_with_their_tensor_rules(rng, device, name):
    """First-order gradients take ``backward_arrays``; with ``create_graph=True`` the Tensor
    ``backward`` runs: both must give the same numbers, broadcasting included."""
    fn = ELEMENTWISE_RULES[name]
    a = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True, device=device)
    b = tg.Tensor(rng.standard_normal((4,)), requires_grad=True, device=device)
    upstream = tg.Tensor(rng.standard_normal((3, 4)), device=device)
    fast = tg.grad(fn(a, b), [a, b], upstream)
    recorded = tg.grad(fn(a, b), [a, b], upstream, create_graph=True)
    assert fn(a, b).grad_fn.inputs[0].grad_fn.backward_arrays is not None   # the op under test
    for first, second in zip(fast, recorded):
        np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=1e-13, atol=1e-14)
    assert tg.gradcheck(fn, [a, b])


# ----------------------------------------------------------------------------- scatter-add of rows

@pytest.mark.parametrize("rows", [[[3, 1], [3, 3]], [0, -1, 4, 4, -5], [], [[2]]])
def test_scatter_add_of_whole_rows_matches_numpy_add_at(rng, rows):
    """The embedding gradient's fast path (sorted runs summed at once) against ``np.add.at``,
    with repeated, negative and no indices; the target starts non-zero."""
    from tinygrad_edu import backend
    rows = np.array(rows, dtype=np.int64)
    start = rng.standard_normal((5, 2, 3))
    values = rng.standard_normal(rows.shape + (2, 3))
    fast, expected = start.copy(), start.copy()
    backend.scatter_add(fast, rows, values)
    np.add.at(expected, rows, values)
    np.testing.assert_allclose(fast, expected, rtol=1e-13, atol=1e-13)


def test_embedding_gradient_counts_every_repeated_token(device):
    weight = tg.Tensor(np.zeros((4, 2)), requires_grad=True, device=device)
    tokens = tg.Tensor(np.array([[1, 1, 3], [1, 0, 3]]), device=device)
    nn.functional.embedding(tokens, weight).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[1, 1], [3, 3], [0, 0], [2, 2]])


# ----------------------------------------------------------------------------- conv2d with bias

@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_conv2d_with_bias_is_one_operation_whose_array_rule_agrees(rng, impl):
    from tinygrad_edu.kernels import conv_cpu
    from tinygrad_edu.ops.conv import Conv2d, conv2d
    kernel = None if impl == "reference" else conv_cpu

    def conv(x, w, b):
        return conv2d(x, w, b, stride=2, padding=1, impl=kernel)

    x = tg.Tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(4), requires_grad=True)
    out = conv(x, w, b)
    assert isinstance(out.grad_fn, Conv2d) and len(out.grad_fn.inputs) == 3
    expected = conv(x, w, None).numpy() + b.numpy()[:, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    upstream = tg.Tensor(rng.standard_normal(out.shape))
    fast = tg.grad(conv(x, w, b), [x, w, b], upstream)
    recorded = tg.grad(conv(x, w, b), [x, w, b], upstream, create_graph=True)
    for first, second in zip(fast, recorded):
        np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=1e-11, atol=1e-12)
    assert tg.gradcheck(conv, [x, w, b])


def test_layer_norm_with_scale_and_shift_is_one_operation_whose_array_rule_agrees(rng, device):
    x = tg.Tensor(rng.standard_normal((2, 3, 5)) * 2 + 1, requires_grad=True, device=device)
    w = tg.Tensor(rng.standard_normal((3, 5)), requires_grad=True, device=device)
    b = tg.Tensor(rng.standard_normal((3, 5)), requires_grad=True, device=device)
    norm = lambda x, w, b: F.layer_norm(x, (3, 5), w, b)
    out = norm(x, w, b)
    assert isinstance(out.grad_fn, Normalize) and len(out.grad_fn.inputs) == 3
    np.testing.assert_allclose(out.numpy(), numpy_layer_norm(x.numpy(), (1, 2), w.numpy(),
                                                             b.numpy()), rtol=1e-12, atol=1e-12)
    upstream = tg.Tensor(rng.standard_normal(out.shape), device=device)
    fast = tg.grad(norm(x, w, b), [x, w, b], upstream)
    recorded = tg.grad(norm(x, w, b), [x, w, b], upstream, create_graph=True)
    for first, second in zip(fast, recorded):
        np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=1e-11, atol=1e-12)
    assert tg.gradcheck(norm, [x, w, b])
    assert tg.gradgradcheck(norm, [x, w, b])
