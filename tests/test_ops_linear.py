"""``linear`` as one operation (ops/linear.py): forward against NumPy, gradients against finite
differences in float64, the array backward against the composed one, second derivatives, and
the cases that fall back to the composed form (autocast, mixed dtypes)."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.ops.linear import Linear, composed_linear, sum_over_rows


def leaves(rng, device, x_shape, out_features=3, bias=True, dtype=np.float64):
    inputs = [rng.standard_normal(x_shape), rng.standard_normal((out_features, x_shape[-1]))]
    if bias:
        inputs.append(rng.standard_normal(out_features))
    return [tg.Tensor(a.astype(dtype), requires_grad=True, device=device) for a in inputs]


@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_is_one_operation_matching_numpy(rng, device, x_shape, bias):
    tensors = leaves(rng, device, x_shape, bias=bias)
    out = F.linear(*tensors)
    assert isinstance(out.grad_fn, Linear)
    x, w = tensors[0].numpy(), tensors[1].numpy()
    expected = x @ w.T + (tensors[2].numpy() if bias else 0)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_and_gradgradcheck(rng, device, x_shape, bias):
    tensors = leaves(rng, device, x_shape, bias=bias)
    assert tg.gradcheck(F.linear, tensors)
    assert tg.gradgradcheck(F.linear, tensors)


@pytest.mark.parametrize("rows", [0, 1, 1024])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bias_gradient_sums_the_rows_in_their_dtype(rng, rows, dtype):
    # dL/db is 1ᵀ · dL/dy, a product BLAS runs on every core, not a reduction along axis 0
    upstream = rng.standard_normal((rows, 7)).astype(dtype)
    total = sum_over_rows(np, upstream)
    assert total.dtype == dtype and total.shape == (7,)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total, upstream.sum(axis=0, dtype=np.float64),
                               rtol=tolerance, atol=tolerance * max(rows, 1))


def test_an_empty_batch_gives_zero_weight_and_bias_gradients(rng, device):
    x, weight, bias = leaves(rng, device, (0, 4))
    F.linear(x, weight, bias).sum().backward()
    assert weight.grad.shape == (3, 4) and bias.grad.shape == (3,)
    assert not weight.grad.numpy().any() and not bias.grad.numpy().any()


@pytest.mark.parametrize("wanted", [(True, True, True), (False, True, True), (True, False, False)])
def test_the_array_backward_agrees_with_the_composed_one(rng, device, wanted):
    tensors = leaves(rng, device, (2, 5, 4))
    for tensor, flag in zip(tensors, wanted):
        tensor.requires_grad = flag
    chosen = [t for t in tensors if t.requires_grad]
    upstream = tg.Tensor(rng.standard_normal((2, 5, 3)), device=device)
    fast = tg.grad(F.linear(*tensors), chosen, upstream)
    recorded = tg.grad(composed_linear(*tensors), chosen, upstream, create_graph=True)
    for a, b in zip(fast, recorded):
        assert a.grad_fn is None
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_shared_weights_and_inputs_sum_their_gradients(rng, device):
    """Linear's gradients are fresh arrays the backward walk keeps and adds into in place: a
    weight used by two layers and an input used twice must still get the sum of both uses, and
    the leaves' .grad must not share memory."""
    x, weight, bias = leaves(rng, device, (5, 4), out_features=4)

    def two_layers(x, weight, bias):
        hidden = F.linear(x, weight, bias).tanh()
        return (F.linear(hidden, weight, bias) * F.linear(x, weight)).sum()

    two_layers(x, weight, bias).backward()
    fast = [t.grad.numpy().copy() for t in (x, weight, bias)]
    for t in (x, weight, bias):
        t.grad = None
    two_layers(x, weight, bias).backward(create_graph=True)
    for mine, recorded, t in zip(fast, (x.grad, weight.grad, bias.grad), (x, weight, bias)):
        np.testing.assert_allclose(mine, recorded.numpy(), rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(two_layers, [x, weight, bias])
    x.grad = weight.grad = bias.grad = None
    two_layers(x, weight, bias).backward()
    weight.grad.data[:] = 0                                   # an optimizer writes .grad in place
    np.testing.assert_allclose(x.grad.numpy(), fast[0], rtol=1e-12)
    np.testing.assert_allclose(bias.grad.numpy(), fast[2], rtol=1e-12)


def test_float32_stays_float32(rng, device):
    tensors = leaves(rng, device, (6, 4), dtype=np.float32)
    F.linear(*tensors).sum().backward()
    assert all(t.grad.dtype == np.float32 for t in tensors)


def test_mixed_dtypes_and_autocast_take_the_composed_form(rng):
    x, w, b = leaves(rng, "cpu", (6, 4), dtype=np.float32)
    promoted = F.linear(x, w, b.double())
    assert not isinstance(promoted.grad_fn, Linear) and promoted.dtype == np.float64
    with tg.autocast("cpu", dtype=np.float16):
        half = F.linear(x, w)
    assert not isinstance(half.grad_fn, Linear) and half.dtype == np.float16


def test_a_wrong_input_width_names_the_shapes(rng):
    x, w, b = leaves(rng, "cpu", (6, 5))
    with pytest.raises(tg.ShapeError, match="matmul: inner dimensions differ"):
        F.linear(x, w[:, :4], b)
