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


# PyTorch's names (dim, keepdim) and NumPy's aliases (axis, keepdims) are both exercised.
REDUCTIONS = {
    "sum": (lambda t, ax, kd: t.sum(dim=ax, keepdim=kd), np.sum),
    "mean": (lambda t, ax, kd: t.mean(axis=ax, keepdims=kd), np.mean),
    "amax": (lambda t, ax, kd: t.amax(dim=ax, keepdim=kd), np.max),
    "amin": (lambda t, ax, kd: t.amin(axis=ax, keepdims=kd), np.min),
    "var_population": (lambda t, ax, kd: t.var(dim=ax, keepdim=kd, correction=0), np.var),
    "var": (lambda t, ax, kd: t.var(axis=ax, keepdims=kd),   # unbiased by default
            lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    "logsumexp": (lambda t, ax, kd: t.logsumexp(dim=ax, keepdim=kd), np_logsumexp),
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
    if name == "var":
        pytest.skip("one element has no unbiased variance (see test_var_without_degrees...)")
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

def test_amax_ties_split_the_gradient_evenly(device):
    x = tg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True, device=device)
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.grad = None
    x.max().backward()   # the global maximum 3 appears twice
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    x.amin(axis=0).sum().backward()   # column 0: 1 < 2; columns 1, 2: 2 < 3
    np.testing.assert_allclose(x.grad.numpy(), [[1, 0, 0], [0, 1, 1]])


def test_max_along_a_dim_is_a_pair_of_values_and_class_indices(device):
    logits = tg.Tensor([[0.5, 2.0, -1.0], [3.0, 0.0, 3.0]], requires_grad=True, device=device)
    _, predicted = logits.max(1)
    assert predicted.tolist() == [1, 0] and predicted.dtype == np.int64   # first of a tie
    values, indices = tg.max(logits, dim=1, keepdim=True)
    assert values.shape == indices.shape == (2, 1) and values.tolist() == [[2.0], [3.0]]
    pair = logits.min(dim=0)
    assert pair.values.tolist() == [0.5, 0.0, -1.0] and pair.indices.tolist() == [0, 1, 0]
    logits.max(dim=1).values.sum().backward()   # the gradient goes to the index named
    np.testing.assert_array_equal(logits.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    assert logits.argmax(1).tolist() == [1, 0] and logits.argmax().item() == 3
    assert logits.argmin(dim=1, keepdim=True).shape == (2, 1)
    assert tg.max(logits, tg.zeros(2, 3)).shape == (2, 3)   # with a tensor: elementwise


def test_max_along_a_dim_cross_checked_with_torch(rng):
    torch = pytest.importorskip("torch")
    values = rng.standard_normal((3, 4, 5))
    for name in ("max", "min"):
        for dim in (0, 1, -1):
            x, t = tg.Tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
            ours, theirs = getattr(x, name)(dim), getattr(t, name)(dim)
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
            (ours.values * ours.values).sum().backward()
            (theirs.values * theirs.values).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    x = tg.Tensor(values, requires_grad=True)
    assert tg.gradcheck(lambda a: a.max(1).values, [x])
    assert tg.gradgradcheck(lambda a: a.min(-1, keepdim=True).values ** 2, [x])


def test_max_and_argmax_refuse_an_empty_dim_but_not_an_empty_batch():
    x = tg.zeros(0, 3)
    assert x.max(1).values.shape == (0,) and x.argmax(dim=1).shape == (0,)
    assert x.softmax(1).shape == (0, 3) and x.log_softmax(dim=-1).shape == (0, 3)
    for fn in (lambda: x.max(0), lambda: x.argmax(), lambda: x.amin(dim=0), lambda: x.max()):
        with pytest.raises(IndexError):
            fn()
    np.testing.assert_array_equal(tg.ones(2, 0).logsumexp(dim=1).numpy(), [-np.inf, -np.inf])


def test_max_and_min_ties_match_torch_amax(rng):
    torch = pytest.importorskip("torch")
    values = rng.integers(0, 3, size=(3, 4, 5)).astype(np.float64)   # many ties
    weights = rng.standard_normal((3, 5))
    for name in ("max", "min"):
        x = tg.Tensor(values, requires_grad=True)
        (getattr(x, "a" + name)(dim=1) * tg.Tensor(weights)).sum().backward()
        t = torch.tensor(values, requires_grad=True)
        reduce = torch.amax if name == "max" else torch.amin
        (reduce(t, dim=1) * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_var_and_std_match_torch_for_every_spelling(rng):
    torch = pytest.importorskip("torch")
    values = rng.standard_normal((4, 6))
    spellings = [({}, {}), ({"correction": 0}, {"correction": 0}),
                 ({"unbiased": False}, {"unbiased": False}), ({"correction": 2}, {"correction": 2})]
    for name in ("var", "std"):
        for ours_kwargs, torch_kwargs in spellings:
            x = tg.Tensor(values, requires_grad=True)
            out = getattr(x, name)(1, **ours_kwargs)
            out.sum().backward()
            t = torch.tensor(values, requires_grad=True)
            expected = getattr(torch, name)(t, dim=1, **torch_kwargs)
            expected.sum().backward()
            np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10)
    x = tg.Tensor(values)
    np.testing.assert_allclose(x.var(False).item(), torch.tensor(values).var(False).item())


def test_var_without_degrees_of_freedom_is_inf_or_nan_never_negative():
    with np.errstate(divide="ignore", invalid="ignore"):
        assert tg.Tensor([1.0, 3.0]).var(correction=3).item() == np.inf   # was -2.0
        assert np.isnan(tg.Tensor([1.0]).var().item())                     # 0 / 0
        assert np.isnan(tg.Tensor([2.0]).std().item())


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
    np.testing.assert_allclose(tg.softmax(x, dim=0).numpy(), x.softmax(axis=0).numpy())
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
