"""conv2d and nn.Conv2d: forward against a direct 7-loop NumPy convolution (and PyTorch),
float64 gradient checks over stride / padding / dilation / groups, the ``impl`` hook, errors."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.ops import conv as conv_ops
from tinygrad_edu.ops.window import conv_geometry


def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    """The definition, one multiply-add at a time (tiny sizes only)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, f, oh, ow))
    per_group = f // groups
    for i in range(n):
        for o in range(f):
            g = o // per_group
            for r in range(oh):
                for s in range(ow):
                    total = 0.0 if b is None else b[o]
                    for ci in range(cg):
                        for u in range(kh):
                            for v in range(kw):
                                total += (w[o, ci, u, v] *
                                          xp[i, g * cg + ci, r * sh + u * dh, s * sw + v * dw])
                    y[i, o, r, s] = total
    return y


# (channels, filters, groups, kernel, stride, padding, dilation, (H, W))
CASES = {
    "plain": (3, 4, 1, (3, 3), (1, 1), (0, 0), (1, 1), (5, 6)),
    "stride_pad_dilation_groups": (4, 6, 2, (3, 2), (2, 1), (1, 2), (1, 2), (6, 5)),
    "depthwise": (4, 4, 4, (3, 3), (2, 2), (1, 1), (1, 1), (5, 5)),
    "one_by_one": (2, 3, 1, (1, 1), (1, 1), (0, 0), (1, 1), (3, 4)),
    "stride_beyond_kernel": (3, 2, 1, (2, 3), (3, 2), (0, 1), (2, 1), (7, 5)),
}


def make_case(rng, name, batch=2):
    c, f, groups, kernel, stride, padding, dilation, (h, w) = CASES[name]
    x = rng.standard_normal((batch, c, h, w))
    weight = rng.standard_normal((f, c // groups) + kernel)
    bias = rng.standard_normal(f)
    return x, weight, bias, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_direct_loops(device, rng, name, dtype):
    x, weight, bias, settings = make_case(rng, name)
    y = F.conv2d(tg.Tensor(x.astype(dtype), device=device),
                 tg.Tensor(weight.astype(dtype), device=device),
                 tg.Tensor(bias.astype(dtype), device=device), **settings)
    expected = naive_conv2d(x, weight, bias, settings["stride"], settings["padding"],
                            settings["dilation"], settings["groups"])
    assert y.dtype == dtype and y.device == device
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y.numpy(), expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_input_weight_bias(device, rng, name):
    x, weight, bias, settings = make_case(rng, name)
    tensors = [tg.Tensor(a, requires_grad=True, device=device) for a in (x, weight, bias)]
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **settings), tensors)


def test_gradcheck_fast_larger(rng):
    x = tg.Tensor(rng.standard_normal((3, 5, 11, 9)), requires_grad=True)
    weight = tg.Tensor(rng.standard_normal((6, 5, 3, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1), [x, weight], fast=True)


def test_matches_torch_forward_and_gradients(rng):
    torch = pytest.importorskip("torch")
    x, weight, bias, settings = make_case(rng, "stride_pad_dilation_groups")
    grad_y = None
    ours = [tg.Tensor(a, requires_grad=True) for a in (x, weight, bias)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    y = F.conv2d(*ours, **settings)
    y_torch = torch.nn.functional.conv2d(*theirs, **settings)
    grad_y = rng.standard_normal(y.shape)
    y.backward(grad_y)
    y_torch.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(y.numpy(), y_torch.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_array_backward_is_the_adjoint_of_forward(rng):
    """<conv(x, w), g> = <x, dx> = <w, dw>: conv is linear in x and in w separately."""
    x, weight, _, settings = make_case(rng, "stride_pad_dilation_groups")
    geometry = conv_geometry(x.shape, weight.shape, settings["stride"], settings["padding"],
                             settings["dilation"], settings["groups"])
    y = conv_ops.conv2d_forward(x, weight, geometry)
    g = rng.standard_normal(y.shape)
    grad_x, grad_w = conv_ops.conv2d_backward(g, x, weight, geometry)
    assert grad_x.shape == x.shape and grad_w.shape == weight.shape
    assert np.isclose(np.sum(y * g), np.sum(x * grad_x), rtol=1e-12)
    assert np.isclose(np.sum(y * g), np.sum(weight * grad_w), rtol=1e-12)


def test_impl_hook_is_called(rng):
    calls = []

    def forward(*args):
        calls.append("forward")
        return conv_ops.conv2d_forward(*args)

    def backward(*args):
        calls.append("backward")
        return conv_ops.conv2d_backward(*args)

    impl = SimpleNamespace(conv2d_forward=forward, conv2d_backward=backward)
    x = tg.Tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    conv_ops.conv2d(x, w, impl=impl).sum().backward()
    assert calls == ["forward", "backward"]
    expected = naive_conv2d(x.numpy(), w.numpy(), None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(conv_ops.conv2d(x, w, impl=impl).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((1, 3, 5, 5), (2, 4, 3, 3), {},
     r"conv2d: input \(1, 3, 5, 5\) has 3 channels.*\(2, 4, 3, 3\)"),
    ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, r"conv2d: groups=2 must divide.*filters \(3\)"),
    ((1, 3, 5, 5), (2, 1, 3, 3), {"groups": 2}, r"conv2d: groups=2 must divide.*channels \(3\)"),
    ((1, 1, 3, 3), (1, 1, 5, 5), {}, r"conv2d: kernel height 5 .*padded input height 3"),
    ((1, 1, 4, 4), (1, 1, 3, 3), {"dilation": 2}, r"conv2d: kernel height 5 \(with dilation 2\)"),
    ((3, 5, 5), (2, 3, 3, 3), {}, r"conv2d: expected input \(N, C, H, W\).*\(3, 5, 5\)"),
])
def test_shape_errors_name_conv2d_and_shapes(x_shape, w_shape, kwargs, message):
    with pytest.raises(tg.ShapeError, match=message):
        F.conv2d(tg.zeros(*x_shape), tg.zeros(*w_shape), **kwargs)


def test_bad_settings_and_bias_errors():
    x, w = tg.zeros(1, 2, 4, 4), tg.zeros(3, 2, 2, 2)
    with pytest.raises(ValueError, match="conv2d: stride must be >= 1"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="conv2d: padding must be an int or a pair"):
        F.conv2d(x, w, padding=(1, 1, 1))
    with pytest.raises(tg.ShapeError, match=r"conv2d: bias must have shape \(3,\)"):
        F.conv2d(x, w, tg.zeros(2))


# ----------------------------------------------------------------------------- the layer

def test_layer_parameters_and_init():
    tg.manual_seed(0)
    layer = nn.Conv2d(4, 8, (3, 5), groups=2)
    assert dict((k, v.shape) for k, v in layer.named_parameters()) == {
        "weight": (8, 2, 3, 5), "bias": (8,)}
    bound = 1 / math.sqrt(2 * 3 * 5)
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert np.all(np.abs(values) <= bound) and values.std() > bound / 3
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None


def test_layer_matches_torch_after_load_state_dict(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2).double()
    ours = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4, 7, 6))
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_layer_gradcheck(rng):
    layer = nn.Conv2d(2, 3, 2, stride=1, padding=1).double()
    x = tg.Tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_layer_rejects_wrong_channels():
    with pytest.raises(tg.ShapeError, match=r"Conv2d: expected input of shape \(N, 3, H, W\), "
                                            r"got \(2, 4, 5, 5\)"):
        nn.Conv2d(3, 2, 3)(tg.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)
