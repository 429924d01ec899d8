"""Gradient clipping: the total norm, the rescaling, the no-op case, the infinity norm and
clipping by value, against NumPy (and torch.nn.utils, where installed)."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn.utils import clip_grad_norm_, clip_grad_value_

_rng = np.random.default_rng(3)
GRADS = [_rng.normal(size=(4, 3)), _rng.normal(size=5) * 3, _rng.normal(size=())]


def parameters_with(grads, device="cpu", dtype=np.float64):
    params = []
    for g in grads:
        p = nn.Parameter(tg.Tensor(np.zeros_like(g, dtype=dtype), device=device))
        p.grad = tg.Tensor(g.astype(dtype), device=device)
        params.append(p)
    return params


def numpy_total_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads])
    if norm_type == math.inf:
        return np.abs(flat).max()
    return np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_norm_value_and_rescaling(norm_type, device):
    params = parameters_with(GRADS, device)
    old_grads = [p.grad for p in params]
    expected_norm = numpy_total_norm(GRADS, norm_type)
    max_norm = expected_norm / 4
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.device == device
    assert total.item() == pytest.approx(expected_norm, rel=1e-12)
    scale = max_norm / (expected_norm + 1e-6)
    for p, g, old in zip(params, GRADS, old_grads):
        assert p.grad is not old and p.grad.device == device   # replaced, not changed in place
        np.testing.assert_array_equal(old.numpy(), g)
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-12)
    new_norm = numpy_total_norm([p.grad.numpy() for p in params], norm_type)
    assert new_norm == pytest.approx(max_norm, rel=1e-5)


def test_below_max_norm_nothing_changes():
    params = parameters_with(GRADS)
    old_grads = [p.grad for p in params]
    total = clip_grad_norm_(params, max_norm=1e3)
    assert total.item() == pytest.approx(numpy_total_norm(GRADS, 2.0), rel=1e-12)
    for p, old, g in zip(params, old_grads, GRADS):
        assert p.grad is old
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_float32_gradients_keep_their_dtype(device):
    params = parameters_with(GRADS, device, dtype=np.float32)
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in params)
    assert numpy_total_norm([p.grad.numpy().astype(np.float64) for p in params], 2.0) == \
        pytest.approx(1.0, rel=1e-5)


def test_parameters_without_gradient_are_ignored_and_a_single_tensor_works():
    params = parameters_with(GRADS)
    lonely = nn.Parameter(tg.zeros(3))
    total = clip_grad_norm_(params + [lonely], max_norm=1.0)
    assert lonely.grad is None
    assert total.item() == pytest.approx(numpy_total_norm(GRADS, 2.0), rel=1e-12)
    single = parameters_with(GRADS[:1])[0]
    assert clip_grad_norm_(single, 0.5, norm_type="inf").item() == \
        pytest.approx(np.abs(GRADS[0]).max(), rel=1e-12)
    assert clip_grad_norm_([lonely], 1.0).item() == 0.0


def test_nonfinite_norm():
    params = parameters_with([np.array([1.0, np.nan]), np.ones(2)])
    with pytest.raises(RuntimeError, match="2.0-norm of the gradients of 2 parameters is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_(params, 1.0).item())


def test_bad_arguments():
    params = parameters_with(GRADS)
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be >= 0, got -1.0"):
        clip_grad_norm_(params, -1)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be positive"):
        clip_grad_norm_(params, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be >= 0, got -0.5"):
        clip_grad_value_(params, -0.5)


@pytest.mark.parametrize("norm_type", [2.0, 1.5, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS]
    for p, g in zip(theirs, GRADS):
        p.grad = torch.tensor(g)
    their_norm = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=norm_type)
    ours = parameters_with(GRADS)
    our_norm = clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    assert our_norm.item() == pytest.approx(their_norm.item(), rel=1e-12)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=1e-12)


def test_clip_grad_value(device):
    params = parameters_with(GRADS, device)
    old_grads = [p.grad for p in params]
    assert clip_grad_value_(params, 0.8) is None
    for p, old, g in zip(params, old_grads, GRADS):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.8, 0.8))
        np.testing.assert_array_equal(old.numpy(), g)                 # replaced, not changed
        assert p.grad.device == device
    assert np.any(np.abs(np.concatenate([g.ravel() for g in GRADS])) > 0.8)   # something clipped


def test_reachable_as_nn_utils():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nn.utils.clip_grad_value_ is clip_grad_value_


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS]
    for p, g in zip(theirs, GRADS):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(theirs, 1.1)
    ours = parameters_with(GRADS)
    clip_grad_value_(ours, 1.1)
    for mine, other in zip(ours, theirs):
        np.testing.assert_array_equal(mine.grad.numpy(), other.grad.numpy())
