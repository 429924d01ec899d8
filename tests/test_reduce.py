"""Reductions (sum, mean, max, min, var, logsumexp) and softmax / log_softmax: forward against
NumPy, gradients and second derivatives against finite differences, ties, extreme inputs."""
import numpy as np
import pytest

import tinygrad_edu as tg
from strategies import leaf, make_array


def _distinct(rng, shape, layout="contiguous"):
    """Values at least 0.2 apart (no ties), shuffled, in the given layout."""
    n = int(np.prod(shape))
    values = (rng.permutation(n) - n / 2) * 0.2 + rng.uniform(-0.05, 0.05, n)
    array = values.reshape(shape[::-1]).T if layout == "transposed" else values.reshape(shape)
    return array


def np_logsumexp(a, axis, keepdims):
    peak = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else None)


REDUCTIONS = {
    "sum": (lambda t, ax, kd: t.sum(axis=ax, keepdims=kd), np.sum),
    "mean": (lambda t, ax, kd: t.mean(axis=ax, keepdims=kd), np.mean),
    "max": (lambda t, ax, kd: t.max(axis=ax, keepdims=kd), np.max),
    "min": (lambda t, ax, kd: t.min(axis=ax, keepdims=kd), np.min),
    "var": (lambda t, ax, kd: t.var(axis=ax, keepdims=kd), np.var),
    "var_ddof1": (lambda t, ax, kd: t.var(axis=ax, keepdims=kd, ddof=1),
                  lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    "logsumexp": (lambda t, ax, kd: t.logsumexp(axis=ax, keepdims=kd), np_logsumexp),
}

# (shape, layout, axis)
REDUCE_CASES = [((2, 3, 4), "contiguous", None), ((2, 3, 4), "contiguous", 0),
                ((2, 3, 4), "contiguous", -1), ((2, 3, 4), "transposed", (0, 2)),
                ((3, 1, 2), "transposed", (-1, 1)), ((5,), "contiguous", 0),
                ((2, 3), "transposed", 1)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,layout,axis", REDUCE_CASES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_forward_and_gradients(name, shape, layout, axis, keepdims, device, rng):
    ours, reference = REDUCTIONS[name]
    x = leaf(_distinct(rng, shape, layout), device)
    out = ours(x, axis, keepdims)
    expected = reference(x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    fn = lambda t: ours(t, axis, keepdims)   # noqa: E731
    assert tg.gradcheck(fn, [x])
    if keepdims:   # second derivatives once per case is enough
        assert tg.gradgradcheck(fn, [x])


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_of_a_scalar_tensor(name, device):
    ours = REDUCTIONS[name][0]
    if name == "var_ddof1":
        pytest.skip("one element has no unbiased variance")
    x = tg.Tensor(np.array(0.7), requires_grad=True, device=device)
    for axis in (None, 0, -1):
        out = ours(x, axis, False)
        assert out.shape == ()
    assert tg.gradcheck(lambda t: ours(t, None, False), [x])


def test_sum_over_an_empty_axis_gives_zeros(device):
    x = tg.zeros(2, 0, 3, dtype=np.float64, requires_grad=True, device=device)
    out = x.sum(axis=1)
    assert out.shape == (2, 3) and np.all(out.numpy() == 0)
    out.sum().backward()
    assert x.grad.shape == (2, 0, 3)


def test_sum_of_integers_and_booleans(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    assert x.sum().item() == 15 and x.sum(axis=0).tolist() == [3, 5, 7]
    assert (x > 2).sum().item() == 3


def test_mean_gradient_is_one_over_n(device):
    x = tg.ones(4, 5, requires_grad=True, device=device)
    x.mean(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((4, 5), 1 / 5))


# ----------------------------------------------------------------------------- ties

def test_max_ties_split_the_gradient_evenly(device):
    x = tg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True, device=device)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    x.max().backward()   # the global maximum 3 appears twice
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    x.min(axis=0).sum().backward()   # column 0: 1 < 2; columns 1, 2: 2 < 3
    np.testing.assert_allclose(x.grad.numpy(), [[1, 0, 0], [0, 1, 1]])


def test_max_and_min_ties_match_torch_amax(rng):
    torch = pytest.importorskip("torch")
    values = rng.integers(0, 3, size=(3, 4, 5)).astype(np.float64)   # many ties
    weights = rng.standard_normal((3, 5))
    for name in ("max", "min"):
        x = tg.Tensor(values, requires_grad=True)
        (getattr(x, name)(axis=1) * tg.Tensor(weights)).sum().backward()
        t = torch.tensor(values, requires_grad=True)
        reduce = torch.amax if name == "max" else torch.amin
        (reduce(t, dim=1) * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_var_matches_torch_for_both_ddofs(rng):
    torch = pytest.importorskip("torch")
    values = rng.standard_normal((4, 6))
    for ddof in (0, 1):
        x = tg.Tensor(values, requires_grad=True)
        x.var(axis=1, ddof=ddof).sum().backward()
        t = torch.tensor(values, requires_grad=True)
        expected = torch.var(t, dim=1, correction=ddof)
        expected.sum().backward()
        np.testing.assert_allclose(x.var(axis=1, ddof=ddof).numpy(), expected.detach().numpy())
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10)


# ----------------------------------------------------------------------------- softmax family

def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_softmax_and_log_softmax(axis, layout, device, rng):
    x = leaf(make_array(rng, (2, 3, 4), layout), device)
    np.testing.assert_allclose(x.softmax(axis).numpy(), np_softmax(x.numpy(), axis), rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(axis).numpy(), np.log(np_softmax(x.numpy(), axis)),
                               rtol=1e-12, atol=1e-14)
    for fn in (lambda t: t.softmax(axis), lambda t: t.log_softmax(axis)):
        assert tg.gradcheck(fn, [x])
        assert tg.gradgradcheck(fn, [x])


def test_softmax_default_axis_is_the_last(device, rng):
    x = leaf(make_array(rng, (3, 4)), device)
    np.testing.assert_allclose(x.softmax().numpy().sum(axis=-1), np.ones(3))
    np.testing.assert_allclose(np.exp(x.log_softmax().numpy()).sum(axis=-1), np.ones(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_at_large_magnitudes(dtype, device):
    base = np.array([[0.0, -1.0, -2.0], [3.0, 0.0, -np.log(2.0)]])
    for offset in (1e4, -1e4):
        x = tg.Tensor((base + offset).astype(dtype), requires_grad=True, device=device)
        with np.errstate(over="raise", invalid="raise"):
            soft, log_soft = x.softmax(axis=1), x.log_softmax(axis=1)
            lse = x.logsumexp(axis=1)
            (soft[:, 0].sum() + log_soft.sum() + lse.sum()).backward()
        tol = 1e-5 if dtype == np.float32 else 1e-12
        shifted = x.numpy().astype(np.float64) - offset   # the inputs as stored, moved near 0
        np.testing.assert_allclose(soft.numpy(), np_softmax(shifted, 1), rtol=tol, atol=tol)
        np.testing.assert_allclose(log_soft.numpy(), np.log(np_softmax(shifted, 1)),
                                   rtol=tol, atol=tol)
        expected_lse = offset + np.log(np.exp(shifted).sum(axis=1))
        np.testing.assert_allclose(lse.numpy(), expected_lse, rtol=tol)
        assert np.all(np.isfinite(x.grad.numpy()))


def test_logsumexp_gradient_is_softmax_and_survives_minus_infinity(device, rng):
    x = leaf(make_array(rng, (3, 5)), device)
    x.logsumexp(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np_softmax(x.numpy(), 1), rtol=1e-12)
    masked = tg.Tensor([[-np.inf, 0.0], [-np.inf, -np.inf]], device=device)
    with np.errstate(divide="ignore"):
        out = masked.logsumexp(axis=1).numpy()
    assert out[0] == 0.0 and out[1] == -np.inf
