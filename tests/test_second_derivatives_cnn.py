"""Second derivatives of convolution, pooling and a small CNN (float64).

conv2d's ordinary backward runs on arrays (the reference or a Numba kernel); with
``create_graph=True`` the engine differentiates ``conv2d_composed`` instead. These tests check
that path with ``gradgradcheck`` (finite differences of the gradient), that both paths give the
same first derivative, that ordinary backward still takes the array path, and compare a
gradient penalty with PyTorch's double backward."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.kernels import conv_cpu, pool_cpu
from tinygrad_edu.ops import conv as conv_ops, pool as pool_ops

# (x shape, weight shape, stride, padding, dilation, groups)
CONV_CASES = {
    "plain": ((1, 2, 4, 4), (2, 2, 2, 2), 1, 0, 1, 1),
    "stride_padding": ((2, 1, 5, 4), (2, 1, 3, 2), (2, 1), (1, 0), 1, 1),
    "dilation_groups": ((1, 4, 5, 5), (4, 2, 2, 2), 1, 1, (2, 1), 2),
    "all_at_once": ((1, 4, 6, 5), (2, 2, 2, 3), (2, 1), (1, 1), (1, 2), 2),
}


def leaves(rng, *shapes):
    return [tg.Tensor(rng.standard_normal(shape), requires_grad=True) for shape in shapes]


# With create_graph=True the kernel runs only the forward pass, so one case covers it
@pytest.mark.parametrize("name, impl", [(name, None) for name in CONV_CASES]
                         + [("all_at_once", conv_cpu)])
def test_conv2d_gradgradcheck(rng, name, impl):
    x_shape, w_shape, stride, padding, dilation, groups = CONV_CASES[name]
    x, w, b = leaves(rng, x_shape, w_shape, (w_shape[0],))
    assert tg.gradgradcheck(lambda x, w, b: conv_ops.conv2d(x, w, b, stride, padding, dilation,
                                                            groups, impl=impl), [x, w, b])


@pytest.mark.parametrize("name", CONV_CASES)
def test_composed_and_array_gradients_agree(rng, name):
    x_shape, w_shape, stride, padding, dilation, groups = CONV_CASES[name]
    x, w = leaves(rng, x_shape, w_shape)
    y = F.conv2d(x, w, None, stride, padding, dilation, groups)
    g = tg.Tensor(rng.standard_normal(y.shape))
    on_arrays = tg.grad(y, [x, w], g)
    composed = tg.grad(y, [x, w], g, create_graph=True)
    assert all(c.grad_fn is not None for c in composed)         # recorded: differentiable
    assert all(a.grad_fn is None for a in on_arrays)            # the first-order array path
    for a, c in zip(on_arrays, composed):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12, atol=1e-12)


def test_ordinary_backward_runs_the_kernel_and_create_graph_does_not(rng, monkeypatch):
    calls = []
    original = conv_cpu.conv2d_backward
    monkeypatch.setattr(conv_cpu, "conv2d_backward",
                        lambda *args: calls.append(1) or original(*args))
    x, w = leaves(rng, (1, 2, 4, 4), (3, 2, 3, 3))
    conv_ops.conv2d(x, w, padding=1, impl=conv_cpu).sum().backward()
    assert len(calls) == 1
    conv_ops.conv2d(x, w, padding=1, impl=conv_cpu).sum().backward(create_graph=True)
    assert len(calls) == 1


@pytest.mark.parametrize("kernel, stride, padding, impl", [
    (2, None, 0, None), (3, 2, 1, None), ((2, 3), 1, (1, 1), None), ((2, 3), 1, (1, 1), pool_cpu)])
def test_max_pool2d_gradgradcheck(rng, kernel, stride, padding, impl):
    x = tg.Tensor(rng.permutation(2 * 5 * 6).reshape(1, 2, 5, 6) / 10.0, requires_grad=True)
    # squared, so that the second derivative is not zero everywhere
    assert tg.gradgradcheck(lambda x: pool_ops.max_pool2d(x, kernel, stride, padding,
                                                          impl=impl) ** 2, [x])


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), 1, (1, 1))])
def test_avg_pool2d_gradgradcheck(rng, kernel, stride, padding):
    (x,) = leaves(rng, (1, 2, 5, 6))
    assert tg.gradgradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding) ** 2, [x])


def small_cnn(rng):
    """conv (stride, padding, groups) -> tanh -> max pool -> conv (dilation) -> tanh ->
    avg pool -> linear, in float64: every layer with a non-zero second derivative."""
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=1, padding=1, groups=2), nn.Tanh(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 2, 2, dilation=(1, 2), padding=1),
                          nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 3))
    for p in model.parameters():
        p.data = rng.standard_normal(p.shape) * 0.5
    return model


def test_small_cnn_gradgradcheck(rng):
    model = small_cnn(rng)
    (x,) = leaves(rng, (2, 2, 6, 6))
    params = list(model.parameters())
    assert tg.gradgradcheck(lambda x, *weights: model(x), [x, *params], fast=True)


def test_lenet_cnn_gradgradcheck(rng):
    model = tg.models.CNN(1, 3, image_size=8)
    for p in model.parameters():
        p.data = rng.standard_normal(p.shape) * 0.3
    (x,) = leaves(rng, (2, 1, 8, 8))
    assert tg.gradgradcheck(lambda x, *weights: model(x), [x, *model.parameters()], fast=True)


def test_gradient_penalty_matches_torch(rng):
    """d/dw ||d loss / dx||²: double backpropagation through a strided, dilated, grouped conv."""
    torch = pytest.importorskip("torch")
    x_shape, w_shape, stride, padding, dilation, groups = CONV_CASES["all_at_once"]
    x_np, w_np = rng.standard_normal(x_shape), rng.standard_normal(w_shape)

    x, w = tg.Tensor(x_np, requires_grad=True), tg.Tensor(w_np, requires_grad=True)
    y = F.conv2d(x, w, None, stride, padding, dilation, groups)
    (grad_x,) = tg.grad((y.tanh() ** 2).sum(), [x], create_graph=True)
    (grad_x * grad_x).sum().backward()

    xt, wt = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, None, stride, padding, dilation, groups)
    (grad_xt,) = torch.autograd.grad((yt.tanh() ** 2).sum(), [xt], create_graph=True)
    (grad_xt * grad_xt).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
