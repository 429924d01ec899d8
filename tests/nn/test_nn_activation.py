"""Activations: forward against NumPy/SciPy formulas (and PyTorch), float64 gradient checks."""
import math

import numpy as np
import pytest
from scipy.special import erf as scipy_erf

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


def away_from_zero(rng, shape, low=0.2, high=2.0):
    """Values with |x| in [low, high]: no element sits on a kink at 0."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def numpy_sigmoid(x):
    return 1 / (1 + np.exp(-x))


NUMPY_FORMULAS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "sigmoid": (F.sigmoid, numpy_sigmoid),
    "tanh": (F.tanh, np.tanh),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x))),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    "erf": (F.erf, scipy_erf),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + scipy_erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    "softmax": (lambda x: F.softmax(x, axis=1),
                lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
    "log_softmax": (lambda x: F.log_softmax(x, axis=0),
                    lambda x: x - np.log(np.exp(x).sum(axis=0, keepdims=True))),
}


@pytest.mark.parametrize("name", sorted(NUMPY_FORMULAS))
def test_forward_matches_numpy(name, rng, device):
    fn, reference = NUMPY_FORMULAS[name]
    x = away_from_zero(rng, (3, 4))
    out = fn(tg.Tensor(x, device=device))
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), reference(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(NUMPY_FORMULAS))
def test_gradcheck(name, rng, device):
    fn, _ = NUMPY_FORMULAS[name]
    x = tg.Tensor(away_from_zero(rng, (2, 3)), requires_grad=True, device=device)
    assert tg.gradcheck(fn, [x])


@pytest.mark.parametrize("name", ["erf", "gelu", "gelu_tanh", "softplus", "sigmoid"])
def test_second_derivatives(name, rng):
    fn, _ = NUMPY_FORMULAS[name]
    x = tg.Tensor(away_from_zero(rng, (5,)), requires_grad=True)
    assert tg.gradgradcheck(fn, [x])


def test_erf_derivative_is_gaussian(rng):
    x = tg.Tensor(rng.standard_normal(6), requires_grad=True)
    F.erf(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 / math.sqrt(math.pi) * np.exp(-x.numpy() ** 2),
                               rtol=1e-12)


def test_softplus_gradient_at_zero_is_one_half():
    # max(x, 0) and |x| both have kinks at 0; the dedicated backward rule σ(x) has none
    x = tg.Tensor(np.zeros(3), requires_grad=True)
    F.softplus(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5)


def test_softplus_is_finite_for_huge_inputs():
    x = tg.Tensor(np.array([-1e4, 1e4]), requires_grad=True)
    out = F.softplus(x)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), [0.0, 1e4])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0])


def test_float32_stays_float32(rng):
    x = tg.Tensor(rng.standard_normal((3, 4)).astype(np.float32))
    for name, (fn, _) in NUMPY_FORMULAS.items():
        assert fn(x).dtype == np.float32, name


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu.*'sigmoid'"):
        F.gelu(tg.Tensor([1.0]), approximate="sigmoid")
    with pytest.raises(ValueError, match="GELU"):
        nn.GELU(approximate="fast")


MODULES = [
    (nn.ReLU(), lambda x: F.relu(x)),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    (nn.Sigmoid(), F.sigmoid),
    (nn.Tanh(), F.tanh),
    (nn.Softplus(beta=3.0), lambda x: F.softplus(x, 3.0)),
    (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, "tanh")),
    (nn.Softmax(dim=0), lambda x: F.softmax(x, 0)),
    (nn.LogSoftmax(dim=1), lambda x: F.log_softmax(x, 1)),
]


@pytest.mark.parametrize("module, fn", MODULES, ids=lambda m: repr(m) if isinstance(m, nn.Module) else "")
def test_modules_call_their_function(module, fn, rng):
    x = tg.Tensor(away_from_zero(rng, (3, 4)))
    np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())
    assert list(module.parameters()) == []


def test_module_reprs():
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)"


TORCH_PAIRS = [
    ("relu", lambda F_, x: F_.relu(x)),
    ("gelu", lambda F_, x: F_.gelu(x)),
    ("gelu_tanh", lambda F_, x: F_.gelu(x, approximate="tanh")),
    ("leaky_relu", lambda F_, x: F_.leaky_relu(x, 0.3)),
    ("softplus", lambda F_, x: F_.softplus(x)),
]


@pytest.mark.parametrize("name, call", TORCH_PAIRS, ids=[n for n, _ in TORCH_PAIRS])
def test_matches_torch_values_and_gradients(name, call, rng):
    torch = pytest.importorskip("torch")
    x = away_from_zero(rng, (4, 5))
    ours = tg.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = call(F, ours), call(torch.nn.functional, theirs)
    weights = rng.standard_normal(x.shape)
    (out_ours * tg.Tensor(weights)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-14)
