"""max_pool2d / avg_pool2d and their layers: forward against direct NumPy loops (and PyTorch),
argmax and scatter-add semantics, float64 gradient checks (inputs without ties), errors."""
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.ops import pool as pool_ops
from tinygrad_edu.ops.window import pool_geometry


def naive_pool(x, kernel, stride, padding, reduce):
    """Max (padding = -inf) or mean (padding = 0, counted) of every window, one at a time."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fill = -np.inf if reduce == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(n):
        for j in range(c):
            for r in range(oh):
                for s in range(ow):
                    window = xp[i, j, r * sh:r * sh + kh, s * sw:s * sw + kw]
                    y[i, j, r, s] = window.max() if reduce == "max" else window.mean()
    return y


def distinct_values(rng, shape):
    """Values at least 0.05 apart in random order: no ties, so max pooling is smooth here."""
    return (rng.permutation(int(np.prod(shape))) * 0.05 - 1.0).reshape(shape)


# (kernel, stride, padding) as pairs; stride None = kernel
CASES = {
    "two_by_two": ((2, 2), None, (0, 0)),
    "overlapping_padded": ((3, 3), (2, 2), (1, 1)),
    "rectangular": ((3, 2), (1, 2), (1, 0)),
    "stride_one": ((2, 2), (1, 1), (1, 1)),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reduce", ["max", "avg"])
def test_forward_matches_loops(device, rng, name, reduce):
    kernel, stride, padding = CASES[name]
    x = rng.standard_normal((2, 3, 7, 6))
    fn = F.max_pool2d if reduce == "max" else F.avg_pool2d
    y = fn(tg.Tensor(x, device=device), kernel, stride, padding)
    expected = naive_pool(x, kernel, stride or kernel, padding, reduce)
    assert y.device == device
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reduce", ["max", "avg"])
def test_gradcheck(device, rng, name, reduce):
    kernel, stride, padding = CASES[name]
    x = tg.Tensor(distinct_values(rng, (2, 2, 5, 4)), requires_grad=True, device=device)
    fn = F.max_pool2d if reduce == "max" else F.avg_pool2d
    assert tg.gradcheck(lambda x: fn(x, kernel, stride, padding), [x])


@pytest.mark.parametrize("reduce", ["max", "avg"])
def test_gradgradcheck(rng, reduce):
    x = tg.Tensor(distinct_values(rng, (1, 2, 4, 4)), requires_grad=True)
    fn = F.max_pool2d if reduce == "max" else F.avg_pool2d
    assert tg.gradgradcheck(lambda x: fn(x, 3, 1, 1) * fn(x, 3, 1, 1), [x])


def test_argmax_points_at_the_winner_in_the_unpadded_plane(rng):
    x = rng.standard_normal((2, 3, 5, 7))
    y, argmax = pool_ops.max_pool2d_forward(x, pool_geometry(x.shape, (3, 3), (2, 2), (1, 1)))
    assert argmax.dtype == np.int64 and argmax.shape == y.shape
    assert argmax.min() >= 0 and argmax.max() < 5 * 7
    planes = x.reshape(2, 3, 35)
    winners = np.take_along_axis(planes, argmax.reshape(2, 3, -1), axis=2).reshape(y.shape)
    np.testing.assert_array_equal(winners, y)


def test_backward_accumulates_where_windows_overlap():
    """One large pixel wins all four 2x2 windows around it (stride 1): it gets all 4 gradients."""
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    y, argmax = pool_ops.max_pool2d_forward(x, pool_geometry(x.shape, (2, 2), (1, 1), (0, 0)))
    np.testing.assert_array_equal(argmax, np.full((1, 1, 2, 2), 4))
    grad_y = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    grad_x = pool_ops.max_pool2d_backward(grad_y, argmax, x.shape)
    expected = np.zeros((1, 1, 3, 3))
    expected[0, 0, 1, 1] = 10.0
    np.testing.assert_array_equal(grad_x, expected)


def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = tg.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_impl_hook_is_called(rng):
    calls = []

    def forward(*args):
        calls.append("forward")
        return pool_ops.max_pool2d_forward(*args)

    def backward(*args):
        calls.append("backward")
        return pool_ops.max_pool2d_backward(*args)

    impl = SimpleNamespace(max_pool2d_forward=forward, max_pool2d_backward=backward)
    x = tg.Tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    pool_ops.max_pool2d(x, 2, impl=impl).sum().backward()
    assert calls == ["forward", "backward"]


@pytest.mark.parametrize("reduce", ["max", "avg"])
def test_matches_torch(rng, reduce):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 8, 7))
    ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fn = F.max_pool2d if reduce == "max" else F.avg_pool2d
    torch_fn = getattr(torch.nn.functional, f"{reduce}_pool2d")
    y, y_torch = fn(ours, 3, 2, 1), torch_fn(theirs, 3, 2, 1)
    grad = rng.standard_normal(y.shape)
    y.backward(grad)
    y_torch.backward(torch.tensor(grad))
    np.testing.assert_allclose(y.numpy(), y_torch.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn", [F.max_pool2d, F.avg_pool2d], ids=["max", "avg"])
def test_errors_name_the_operation(fn):
    name = fn.__name__
    with pytest.raises(tg.ShapeError, match=rf"{name}: expected input \(N, C, H, W\), "
                                            r"got shape \(3, 4, 4\)"):
        fn(tg.zeros(3, 4, 4), 2)
    with pytest.raises(ValueError, match=rf"{name}: padding \(2, 2\) must be at most half"):
        fn(tg.zeros(1, 1, 6, 6), 3, padding=2)
    with pytest.raises(tg.ShapeError, match=rf"{name}: kernel width 5 is larger than the padded "
                                            r"input width 4"):
        fn(tg.zeros(1, 1, 8, 4), (2, 5))
    with pytest.raises(ValueError, match=rf"{name}: kernel_size and stride must be >= 1"):
        fn(tg.zeros(1, 1, 4, 4), 2, stride=0)


def test_layers(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    np.testing.assert_allclose(nn.MaxPool2d(2)(tg.Tensor(x)).numpy(),
                               naive_pool(x, (2, 2), (2, 2), (0, 0), "max"))
    np.testing.assert_allclose(nn.AvgPool2d(3, stride=1, padding=1)(tg.Tensor(x)).numpy(),
                               naive_pool(x, (3, 3), (1, 1), (1, 1), "avg"), rtol=1e-12)
    assert "kernel_size=2" in repr(nn.MaxPool2d(2))
