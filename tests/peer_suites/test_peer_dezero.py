"""Cases in the style of DeZero's tests, our own version: each function's forward against a
value worked out by hand or by NumPy, its backward against a numerical gradient (float64
gradcheck), and higher-order derivatives, as DeZero's steps 33-36 do (Newton's method with a
second derivative, the n-th derivative of sin, double backprop)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

torch = pytest.importorskip("torch")


def leaf(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


RNG = np.random.default_rng(0)
A34 = RNG.standard_normal((3, 4))
B34 = RNG.standard_normal((3, 4))

# name: (function of the inputs, inputs, NumPy forward)
FORWARD = {
    "add": (lambda a, b: a + b, [A34, B34], lambda a, b: a + b),
    "add_broadcast": (lambda a, b: a + b, [A34, B34[:1]], lambda a, b: a + b),
    "mul": (lambda a, b: a * b, [A34, B34], lambda a, b: a * b),
    "sub": (lambda a, b: a - b, [A34, B34], lambda a, b: a - b),
    "div": (lambda a, b: a / b, [A34, np.abs(B34) + 0.5], lambda a, b: a / b),
    "neg": (lambda a: -a, [A34], lambda a: -a),
    "pow": (lambda a: a ** 3, [A34], lambda a: a ** 3),
    "square": (lambda a: a * a, [A34], np.square),
    "exp": (lambda a: a.exp(), [A34], np.exp),
    "log": (lambda a: a.log(), [np.abs(A34) + 0.1], np.log),
    "sin": (lambda a: a.sin(), [A34], np.sin),
    "cos": (lambda a: a.cos(), [A34], np.cos),
    "tanh": (lambda a: a.tanh(), [A34], np.tanh),
    "sigmoid": (lambda a: a.sigmoid(), [A34], lambda a: 1 / (1 + np.exp(-a))),
    "relu": (lambda a: a.relu(), [A34], lambda a: np.maximum(a, 0)),
    "reshape": (lambda a: a.reshape(6, 2), [A34], lambda a: a.reshape(6, 2)),
    "transpose": (lambda a: a.T, [A34], lambda a: a.T),
    "sum": (lambda a: a.sum(), [A34], np.sum),
    "sum_axis_keepdims": (lambda a: a.sum(axis=0, keepdims=True), [A34],
                          lambda a: a.sum(axis=0, keepdims=True)),
    "sum_to_size": (lambda a: a.sum_to_size(1, 4), [A34], lambda a: a.sum(0, keepdims=True)),
    "broadcast_to": (lambda a: a.broadcast_to(2, 3, 4), [A34],
                     lambda a: np.broadcast_to(a, (2, 3, 4))),
    "matmul": (lambda a, b: a @ b, [A34, B34.T], lambda a, b: a @ b),
    "linear": (lambda x, w, b: F.linear(x, w, b), [A34, B34, B34[:, 0]],
               lambda x, w, b: x @ w.T + b),
    "getitem": (lambda a: a[1], [A34], lambda a: a[1]),
    "getitem_fancy": (lambda a: a[[0, 0, 2]], [A34], lambda a: a[[0, 0, 2]]),
    "max": (lambda a: a.max(), [A34], np.max),
    "min": (lambda a: a.min(), [A34], np.min),
    "max_over_rows": (lambda a: a.sort(1).values[:, -1], [A34], lambda a: a.max(axis=1)),
    "clip": (lambda a: a.clip(-0.5, 0.5), [A34], lambda a: np.clip(a, -0.5, 0.5)),
    "softmax": (lambda a: a.softmax(1), [A34],
                lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True)),
    "log_softmax": (lambda a: a.log_softmax(1), [A34],
                    lambda a: a - np.log(np.exp(a).sum(1, keepdims=True))),
    "mean_squared_error": (lambda a, b: F.mse_loss(a, b), [A34, B34],
                           lambda a, b: ((a - b) ** 2).mean()),
    "softmax_cross_entropy": (lambda a: F.cross_entropy(a, tg.Tensor(np.array([0, 3, 1]))),
                              [A34], lambda a: -np.mean((a - np.log(np.exp(a).sum(
                                  1, keepdims=True)))[[0, 1, 2], [0, 3, 1]])),
}


@pytest.mark.parametrize("name", sorted(FORWARD))
def test_forward_and_numerical_gradient(name):
    fn, arrays, reference = FORWARD[name]
    inputs = [leaf(a) for a in arrays]
    np.testing.assert_allclose(fn(*inputs).numpy(), reference(*arrays), rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(fn, inputs)


def test_conv2d_and_pooling_numerical_gradients():
    x, w, b = leaf(RNG.standard_normal((1, 2, 5, 5))), leaf(RNG.standard_normal((3, 2, 3, 3))), \
        leaf(RNG.standard_normal(3))
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), [x, w, b])
    assert tg.gradcheck(lambda x: F.max_pool2d(x, 2, 2), [x])
    assert tg.gradcheck(lambda x: F.avg_pool2d(x, 2, 2), [x])


def test_im2col_col2im_and_deconv_against_torch():
    x = RNG.standard_normal((1, 3, 7, 7))
    w = RNG.standard_normal((3, 2, 3, 3))
    cols = F.unfold(tg.Tensor(x), 3, padding=1, stride=2)
    expected = torch.nn.functional.unfold(torch.tensor(x), 3, padding=1, stride=2)
    np.testing.assert_allclose(cols.numpy(), expected.numpy())
    np.testing.assert_allclose(F.fold(cols, (7, 7), 3, padding=1, stride=2).numpy(),
                               torch.nn.functional.fold(expected, (7, 7), 3, padding=1,
                                                        stride=2).numpy())
    deconv = F.conv_transpose2d(tg.Tensor(x), tg.Tensor(w), stride=2, padding=1)
    np.testing.assert_allclose(deconv.numpy(), torch.nn.functional.conv_transpose2d(
        torch.tensor(x), torch.tensor(w), stride=2, padding=1).numpy(), atol=1e-12)
    assert tg.gradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2), [
        leaf(x[:, :, :3, :3]), leaf(w)])


def test_dropout_scales_in_training_and_is_identity_in_eval():
    x = tg.ones(1000, dtype=tg.float64)
    y = F.dropout(x, 0.5, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())


def test_batch_norm_and_lstm_numerical_gradients():
    bn = nn.BatchNorm1d(3).double()
    x = leaf(RNG.standard_normal((5, 3)))
    assert tg.gradcheck(lambda x: bn(x), [x])
    lstm = nn.LSTM(2, 3, batch_first=True).double()
    seq = leaf(RNG.standard_normal((2, 4, 2)))
    assert tg.gradcheck(lambda s: lstm(s)[0], [seq], fast=True)


def test_newtons_method_with_a_second_derivative():
    """Minimise y = x⁴ - 2x², from x = 2: x <- x - y'/y'' converges to 1 (DeZero step 33)."""
    x = tg.Tensor(2.0, dtype=tg.float64, requires_grad=True)
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        (gx,) = tg.grad(y, x, create_graph=True)
        (gx2,) = tg.grad(gx, x)
        x = tg.Tensor(x.item() - gx.item() / gx2.item(), dtype=tg.float64, requires_grad=True)
    assert abs(x.item() - 1.0) < 1e-12


def test_nth_derivative_of_sin_cycles():
    """d/dx sin = cos, d²/dx² sin = -sin, d³ = -cos, d⁴ = sin (DeZero step 34)."""
    x = tg.Tensor(1.0, dtype=tg.float64, requires_grad=True)
    g = x.sin()
    expected = [math.cos(1.0), -math.sin(1.0), -math.cos(1.0), math.sin(1.0)]
    for value in expected:
        (g,) = tg.grad(g, x, create_graph=True)
        assert abs(g.item() - value) < 1e-12


def test_higher_derivatives_of_tanh_match_torch():
    x = tg.Tensor(0.7, dtype=tg.float64, requires_grad=True)
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    g, gt = x.tanh(), t.tanh()
    for _ in range(4):
        (g,) = tg.grad(g, x, create_graph=True)
        (gt,) = torch.autograd.grad(gt, t, create_graph=True)
        assert abs(g.item() - gt.item()) < 1e-10


def test_double_backprop_of_a_gradient_norm():
    """z = |dy/dx|² + y with y = x² ... differentiated again (DeZero step 36)."""
    x = tg.Tensor(2.0, dtype=tg.float64, requires_grad=True)
    y = x ** 2
    (gx,) = tg.grad(y, x, create_graph=True)
    z = gx ** 3 + y
    z.backward()
    assert x.grad.item() == 3 * (2 * 2.0) ** 2 * 2 + 2 * 2.0   # 100


def test_a_small_mlp_learns_sin():
    tg.manual_seed(0)
    x = tg.rand(100, 1)
    y = (x * (2 * math.pi)).sin() + tg.rand(100, 1) * 0.1
    model = nn.Sequential(nn.Linear(1, 10), nn.Sigmoid(), nn.Linear(10, 1))
    optimizer = tg.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(600):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.02   # the noise alone costs about 0.001
