"""huber_loss and smooth_l1_loss: PyTorch's values and gradients, also at ±inf and NaN.

A ``where`` that selects between two branches sends a zero gradient into the branch it does not
select; if that branch's derivative is infinite there (d²/2 at d = ±inf), 0·inf = NaN leaks in.
These tests pin the gradient at an infinite residual to PyTorch's ±delta/N."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.nn.losses import SmoothL1Loss, huber_loss, smooth_l1_loss

torch = pytest.importorskip("torch")

RESIDUALS = np.array([-np.inf, -3.0, -0.5, 0.0, 0.3, 2.0, np.inf, np.nan])
OURS = {"huber": lambda x, t, reduction, k: huber_loss(x, t, reduction, delta=k),
        "smooth_l1": lambda x, t, reduction, k: smooth_l1_loss(x, t, reduction, beta=k)}
THEIRS = {"huber": lambda x, t, reduction, k: torch.nn.functional.huber_loss(
              x, t, reduction=reduction, delta=k),
          "smooth_l1": lambda x, t, reduction, k: torch.nn.functional.smooth_l1_loss(
              x, t, reduction=reduction, beta=k)}


def values_and_gradient(loss, library, inputs, targets, reduction, k):
    if library == "ours":
        x = tg.Tensor(inputs, requires_grad=True)
        out = OURS[loss](x, tg.Tensor(targets), reduction, k)
    else:
        x = torch.tensor(inputs, requires_grad=True)
        out = THEIRS[loss](x, torch.tensor(targets), reduction, k)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("loss", ["huber", "smooth_l1"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("k", [0.7, 1.0, 2.5])
def test_values_and_gradients_match_torch_including_inf_and_nan(loss, reduction, k):
    targets = np.zeros_like(RESIDUALS)
    ours = values_and_gradient(loss, "ours", RESIDUALS, targets, reduction, k)
    theirs = values_and_gradient(loss, "torch", RESIDUALS, targets, reduction, k)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("loss", ["huber", "smooth_l1"])
def test_an_infinite_residual_has_a_finite_gradient(loss):
    x = tg.Tensor(np.array([np.inf, -np.inf, 0.2]), requires_grad=True)
    OURS[loss](x, tg.Tensor(np.zeros(3)), "mean", 0.5).backward()
    far, near = (0.5, 0.2) if loss == "huber" else (1.0, 0.2 / 0.5)   # smooth L1 = Huber / k
    np.testing.assert_allclose(x.grad.numpy(), [far / 3, -far / 3, near / 3])


@pytest.mark.parametrize("loss", ["huber", "smooth_l1"])
def test_gradcheck_away_from_the_kinks(loss, rng):
    """Both branches in float64; residuals kept 0.1 away from ±k, where the second derivative
    jumps."""
    k = 0.8
    target = tg.Tensor(np.zeros(12))
    x = rng.uniform(-3, 3, size=12)
    x = np.where(np.abs(np.abs(x) - k) < 0.1, x + 0.3, x)
    x = tg.Tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda x: OURS[loss](x, target, "mean", k), [x])


def test_smooth_l1_with_beta_zero_is_l1_and_negative_beta_is_refused(rng):
    x, t = tg.Tensor(rng.standard_normal(5)), tg.Tensor(rng.standard_normal(5))
    np.testing.assert_allclose(smooth_l1_loss(x, t, beta=0.0).item(),
                               tg.nn.functional.l1_loss(x, t).item())
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0, got -1"):
        smooth_l1_loss(x, t, beta=-1.0)


def test_the_module_matches_the_function(rng):
    x, t = tg.Tensor(rng.standard_normal(6)), tg.Tensor(rng.standard_normal(6))
    assert SmoothL1Loss(beta=0.4)(x, t).item() == smooth_l1_loss(x, t, beta=0.4).item()
