"""The everyday operations of ops/arrange.py, indexing.py, scan.py, sorting.py, logical.py,
norm.py and unary.py: values and gradients against PyTorch, float64 gradcheck, and
gradgradcheck for the composed ones and those whose backward is written in Tensor operations."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from strategies import away_from, leaf

torch = pytest.importorskip("torch")

GATHER_INDEX = np.array([[0, 0, 3], [2, 1, 1]])          # repeated indices on purpose
SCATTER_INDEX = np.array([[0, 1, 3], [2, 0, 3]])          # distinct per row (scatter overwrites)

# name: (input shapes, function of the inputs (the same code runs on both libraries), low, high)
CASES = {
    "repeat": ([(2, 3)], lambda x: x.repeat(2, 1, 2), -2, 2),
    "repeat_zero": ([(2, 3)], lambda x: x.repeat(0, 2), -2, 2),
    "flip": ([(2, 3, 4)], lambda x: x.flip((0, 2)), -2, 2),
    "roll": ([(3, 4)], lambda x: x.roll(1, 1), -2, 2),
    "roll_two_dims": ([(3, 4)], lambda x: x.roll((-1, 5), (0, 1)), -2, 2),
    "roll_flat": ([(3, 4)], lambda x: x.roll(5), -2, 2),
    "split_size": ([(5, 2)], lambda x: x.split(2)[2] * 3 + x.split(2)[0].sum(), -2, 2),
    "split_sections": ([(5, 2)], lambda x: x.split([1, 4])[1], -2, 2),
    "chunk": ([(2, 7)], lambda x: x.chunk(3, 1)[1] * x.chunk(3, 1)[0], -2, 2),
    "unbind": ([(3, 2)], lambda x: x.unbind(1)[0] * x.unbind(1)[1], -2, 2),
    "narrow": ([(4, 5)], lambda x: x.narrow(1, -3, 2), -2, 2),
    "gather": ([(2, 4)], lambda x: x.gather(1, tensor_of(x, GATHER_INDEX)), -2, 2),
    "gather_dim0": ([(3, 3)], lambda x: x.gather(0, tensor_of(x, GATHER_INDEX[:, :3] % 3)), -2, 2),
    "scatter_add": ([(3, 4), (2, 3)],
                    lambda x, s: x.scatter_add(1, tensor_of(x, GATHER_INDEX), s), -2, 2),
    "scatter": ([(2, 4), (2, 3)], lambda x, s: x.scatter(1, tensor_of(x, SCATTER_INDEX), s), -2, 2),
    "scatter_value": ([(2, 4)], lambda x: x.scatter(1, tensor_of(x, SCATTER_INDEX), 1.5), -2, 2),
    "index_select": ([(3, 4)], lambda x: x.index_select(1, tensor_of(x, np.array([3, 0, 3]))),
                     -2, 2),
    "masked_fill": ([(3, 4)], lambda x: x.masked_fill(mask_of(x), -1.0), -2, 2),
    "cumsum": ([(3, 4)], lambda x: x.cumsum(1), -2, 2),
    "cumsum_dim0": ([(3, 4)], lambda x: x.cumsum(-2), -2, 2),
    "cumprod": ([(3, 4)], lambda x: x.cumprod(1), 0.5, 2),
    "cumprod_negative": ([(4, 3)], lambda x: x.cumprod(0), -2, -0.5),
    "prod": ([(3, 4)], lambda x: x.prod(), 0.5, 1.5),
    "prod_dim": ([(3, 4)], lambda x: x.prod(1, keepdim=True), -2, 2),
    "sort": ([(3, 5)], lambda x: x.sort(1).values, -2, 2),
    "sort_descending": ([(3, 5)], lambda x: x.sort(0, descending=True)[0], -2, 2),
    "topk": ([(3, 5)], lambda x: x.topk(2).values, -2, 2),
    "topk_smallest": ([(3, 5)], lambda x: x.topk(3, dim=0, largest=False)[0], -2, 2),
    "norm": ([(3, 4)], lambda x: x.norm(), -2, 2),
    "norm_dim": ([(3, 4)], lambda x: x.norm(dim=1, keepdim=True), -2, 2),
    "norm_p1": ([(3, 4)], lambda x: x.norm(p=1, dim=0), 0.2, 2),
    "norm_p3": ([(3, 4)], lambda x: x.norm(p=3), 0.2, 2),
    "norm_inf": ([(3, 4)], lambda x: x.norm(p=math.inf, dim=1), -2, 2),
    "sin": ([(3, 4)], lambda x: x.sin(), -3, 3),
    "cos": ([(3, 4)], lambda x: x.cos(), -3, 3),
    "tan": ([(3, 4)], lambda x: x.tan(), -1.2, 1.2),
    "asin": ([(3, 4)], lambda x: x.asin(), -0.9, 0.9),
    "acos": ([(3, 4)], lambda x: x.acos(), -0.9, 0.9),
    "atan": ([(3, 4)], lambda x: x.atan(), -3, 3),
    "sinh": ([(3, 4)], lambda x: x.sinh(), -2, 2),
    "cosh": ([(3, 4)], lambda x: x.cosh(), -2, 2),
    "log2": ([(3, 4)], lambda x: x.log2(), 0.2, 3),
    "log10": ([(3, 4)], lambda x: x.log10(), 0.2, 3),
    "log1p": ([(3, 4)], lambda x: x.log1p(), -0.8, 3),
    "exp2": ([(3, 4)], lambda x: x.exp2(), -2, 2),
    "expm1": ([(3, 4)], lambda x: x.expm1(), -2, 2),
    "rsqrt": ([(3, 4)], lambda x: x.rsqrt(), 0.2, 3),
    "erf": ([(3, 4)], lambda x: x.erf(), -2, 2),
    "floor": ([(3, 4)], lambda x: x.floor() * x, -3, 3),
    "ceil": ([(3, 4)], lambda x: x.ceil() * x, -3, 3),
    "round": ([(3, 4)], lambda x: x.round() * x, -3, 3),
    "trunc": ([(3, 4)], lambda x: x.trunc() * x, -3, 3),
    "sign": ([(3, 4)], lambda x: x.sign() * x, -3, 3),
}
STEPS = {"floor", "ceil", "round", "trunc", "sign"}   # kinks at the integers (0 for sign)


def tensor_of(like, array):
    """An integer index tensor of the same library as ``like``."""
    return torch.from_numpy(array) if isinstance(like, torch.Tensor) else tg.Tensor(array)


def mask_of(like):
    mask = np.arange(12).reshape(3, 4) % 3 == 0
    return torch.from_numpy(mask) if isinstance(like, torch.Tensor) else tg.Tensor(mask)


def _inputs(name, rng):
    shapes, _, low, high = CASES[name]
    arrays = [rng.uniform(low, high, size=shape) for shape in shapes]
    if name in STEPS:
        arrays = [away_from(a, np.arange(-4, 5) + (0.5 if name == "round" else 0)) for a in arrays]
    return arrays


@pytest.mark.parametrize("name", sorted(CASES))
def test_added_op_matches_torch_and_gradients(name, rng):
    fn = CASES[name][1]
    arrays = _inputs(name, rng)
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = fn(*ours), fn(*theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = rng.standard_normal(expected.shape)
    out.backward(tg.Tensor(seed))
    expected.backward(torch.from_numpy(seed))
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert tg.gradcheck(fn, ours)
    assert tg.gradgradcheck(fn, ours)


def test_cumprod_and_prod_gradients_with_zeros(rng):
    a = rng.uniform(0.5, 2, size=(3, 5))
    a[0, 2] = 0.0                 # one zero in a line
    a[1, 1] = a[1, 3] = 0.0       # two zeros in a line
    for fn in (lambda x: x.cumprod(1), lambda x: x.prod(1), lambda x: x.prod()):
        x, t = leaf(a), torch.tensor(a, requires_grad=True)
        fn(x).sum().backward()
        fn(t).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert tg.gradcheck(fn, [leaf(a)])
        assert tg.gradgradcheck(fn, [leaf(a)])


def test_sort_and_topk_return_named_pairs_with_stable_ties():
    x = tg.Tensor([[3.0, 1.0, 3.0, 2.0]])
    values, indices = x.sort(dim=1, descending=True)
    assert values.tolist() == [[3.0, 3.0, 2.0, 1.0]] and indices.tolist() == [[0, 2, 3, 1]]
    assert x.sort().indices.tolist() == [[1, 3, 0, 2]] and x.argsort().tolist() == [[1, 3, 0, 2]]
    top = x.topk(2)
    assert top.values.tolist() == [[3.0, 3.0]] and top.indices.dtype == np.int64
    assert tg.topk(x, 1, largest=False).indices.tolist() == [[1]]


def test_booleans_and_checks():
    x = tg.Tensor([[0.0, math.nan], [math.inf, -1.0]])
    assert x.isnan().tolist() == [[False, True], [False, False]]
    assert tg.isinf(x).tolist() == [[False, False], [True, False]]
    assert x.isfinite().tolist() == [[True, False], [False, True]]
    assert x.any().item() and not x.all().item()
    assert x.any(dim=1).tolist() == [True, True] and x.all(0, keepdim=True).shape == (1, 2)
    assert tg.Tensor([1, 0]).cumsum(0).dtype == np.int64


def test_norm_of_zero_has_zero_gradient():
    x = leaf(np.zeros(3))
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_top_level_functions_are_the_methods(rng):
    x = tg.Tensor(rng.uniform(0.1, 2, size=(3, 4)))
    for name in ("sin", "cos", "log1p", "floor", "sign", "erf", "isnan"):
        np.testing.assert_array_equal(getattr(tg, name)(x).numpy(), getattr(x, name)().numpy())
    assert [p.shape for p in tg.split(x, 3, dim=1)] == [(3, 3), (3, 1)]
    assert tg.cumsum(x, dim=0).shape == (3, 4) and tg.prod(x).shape == ()
    np.testing.assert_array_equal(tg.gather(x, 0, tg.Tensor(np.zeros((1, 4), np.int64))).numpy(),
                                  x.numpy()[:1])


@pytest.mark.parametrize("call, error", [
    (lambda x: x.gather(2, tg.Tensor(np.zeros((2, 2), np.int64))), IndexError),
    (lambda x: x.gather(1, tg.Tensor(np.full((2, 2), 4))), IndexError),
    (lambda x: x.gather(1, tg.Tensor(np.zeros((2,), np.int64))), ValueError),
    (lambda x: x.gather(1, tg.Tensor(np.zeros((2, 2)))), TypeError),
    (lambda x: x.scatter_add(0, tg.Tensor(np.zeros((3, 4), np.int64)), tg.zeros(2, 4)), ValueError),
    (lambda x: x.masked_fill(tg.Tensor([1, 0]), 0.0), TypeError),
    (lambda x: x.narrow(0, 1, 5), IndexError),
    (lambda x: x.split([1, 2]), ValueError),
    (lambda x: x.chunk(0), ValueError),
    (lambda x: x.topk(5), ValueError),
    (lambda x: x.repeat(2), ValueError),
    (lambda x: x.norm(p="nuclear"), ValueError),
    (lambda x: x.cumsum(3), IndexError),
])
def test_bad_arguments_raise_naming_the_operation(call, error):
    x = tg.zeros(2, 4)
    with pytest.raises(error) as info:
        call(x)
    assert any(name in str(info.value) for name in
               ("gather", "scatter_add", "masked_fill", "narrow", "split", "chunk", "topk",
                "repeat", "norm", "cumsum"))
