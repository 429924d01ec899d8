"""Dropout: train vs eval semantics, inverted scaling, reproducible masks, gradients, errors."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


def test_eval_mode_is_the_identity(rng, device):
    layer = nn.Dropout(0.5).eval()
    x = tg.Tensor(rng.standard_normal((4, 5)), device=device)
    assert layer(x) is x
    assert F.dropout(x, 0.9, training=False) is x


def test_train_mode_zeroes_or_scales_each_element(rng, device):
    p = 0.3
    x = tg.Tensor(rng.uniform(1.0, 2.0, (50, 40)), device=device)   # no zeros in the input
    out = nn.Dropout(p)(x).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / (1 - p), rtol=1e-12)
    # 2000 Bernoulli(0.7) draws: the kept fraction is within 5 standard deviations of 0.7
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / kept.size)


def test_expected_value_is_preserved(device):
    tg.manual_seed(1)
    x = tg.ones(200_000, dtype="float64", device=device)
    assert abs(F.dropout(x, 0.4).numpy().mean() - 1.0) < 0.01


def test_gradient_flows_only_through_kept_elements(rng, device):
    p = 0.5
    x = tg.Tensor(rng.uniform(1.0, 2.0, (6, 7)), requires_grad=True, device=device)
    out = F.dropout(x, p)
    out.sum().backward()
    expected = np.where(out.numpy() != 0, 1 / (1 - p), 0.0)
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_gradcheck_with_a_fixed_mask(rng):
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)

    def seeded_dropout(x):
        tg.manual_seed(7)   # the same mask at every evaluation
        return F.dropout(x, 0.25)

    assert tg.gradcheck(seeded_dropout, [x])


def test_manual_seed_repeats_the_mask(rng, device):
    x = tg.Tensor(rng.standard_normal((8, 8)), device=device)
    tg.manual_seed(123)
    first = F.dropout(x, 0.5).numpy()
    tg.manual_seed(123)
    second = F.dropout(x, 0.5).numpy()
    third = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(second, third)


def test_p_zero_and_p_one(rng, device):
    x = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True, device=device)
    np.testing.assert_array_equal(F.dropout(x, 0.0).numpy(), x.numpy())
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 3)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))


def test_float32_stays_float32(device):
    assert F.dropout(tg.ones(4, 4, device=device), 0.5).dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_unit_interval_is_an_error(p):
    with pytest.raises(ValueError, match=f"dropout: .*got {p}"):
        F.dropout(tg.ones(2), p)
    with pytest.raises(ValueError, match=f"Dropout: .*got {p}"):
        nn.Dropout(p)


def test_module_follows_train_and_eval_of_its_parent(rng):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = tg.Tensor(rng.standard_normal((16, 4)).astype(np.float32))   # the layers' dtype
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), model[0](x).numpy())
    model.train()
    assert np.any(model(x).numpy() == 0)
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2)"
