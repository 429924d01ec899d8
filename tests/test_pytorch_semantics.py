"""PyTorch's meaning wherever NumPy's differs: dtypes and promotion, integer casts, in-place
methods, bitwise operators, retain_graph, and the top-level functions; cross-checked with torch."""
import itertools

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]


def _example(dtype, ndim):
    values = np.array([1, 0, 1]) if dtype == "bool" else np.array([1, 2, 3])
    return values.astype(dtype) if ndim else np.asarray(values[0]).astype(dtype)


@pytest.mark.parametrize("ndim_b", [0, 1])
@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
def test_binary_dtype_promotion_matches_torch(a, b, ndim_b):
    x, y = _example(a, 1), _example(b, ndim_b)
    ours = tg.Tensor(x) + tg.Tensor(y)
    theirs = torch.from_numpy(x) + torch.as_tensor(y)
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_numbers_are_weak_as_in_torch(dtype, scalar):
    x = _example(dtype, 1)
    for op in (lambda t: t * scalar, lambda t: scalar + t):
        ours, theirs = op(tg.Tensor(x)), op(torch.from_numpy(x))
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))


def test_integer_tensors_compute_floats_in_float32():
    i = tg.Tensor([1, 4])
    for result in (i.exp(), i ** 0.5, i / 2, i.sqrt(), i.log(), i.sigmoid(), i.mean(), i.var()):
        assert result.dtype == np.float32
    assert (i ** 2).dtype == np.int64 and (i // 3).dtype == np.int64
    assert tg.full((2,), 4).dtype == np.int64 and tg.full((2,), 4.0).dtype == np.float32
    assert tg.full((1,), True).dtype == np.bool_ and tg.tensor([1, 2]).dtype == np.int64
    assert tg.Tensor([True, False]).sum().dtype == np.int64


def test_matmul_of_mixed_float_dtypes_raises_as_torch():
    with pytest.raises(RuntimeError, match="same dtype.*float64.*float32"):
        tg.ones(2, 2, dtype=tg.float64) @ tg.ones(2, 2)
    assert (tg.ones(2, 2, dtype=tg.double) + tg.ones(2, 2)).dtype == np.float64


def test_casts_to_integers_carry_no_gradient_and_float_casts_do():
    x = tg.Tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad and not x.int().requires_grad and not x.bool().requires_grad
    assert x.long().tolist() == [1, 2]
    y = x.double()
    assert y.requires_grad and y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 5.0]
    assert x.half().dtype == np.float16 and x.to(tg.float64).dtype == np.float64
    assert x.to("cpu", tg.long).dtype == np.int64 and x.type(tg.int32).dtype == np.int32
    assert x.type() == "tinygrad_edu.FloatTensor" and x.long().type() == "tinygrad_edu.LongTensor"


def test_in_place_methods_outside_the_graph():
    x = tg.zeros(3)
    assert x.add_(2).tolist() == [2, 2, 2] and x.mul_(tg.Tensor([1.0, 2.0, 3.0])).tolist() == [2, 4, 6]
    assert x.sub_(1, alpha=2).tolist() == [0, 2, 4] and x.div_(2).tolist() == [0, 1, 2]
    assert x.fill_(7).tolist() == [7, 7, 7] and x.zero_().tolist() == [0, 0, 0]
    assert x.copy_(tg.Tensor([1.0, 2.0, 3.0])).tolist() == [1, 2, 3]
    x[0] = 5
    assert x.tolist() == [5, 2, 3]
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="in the graph"):
        (w * 2).mul_(3)
    with tg.no_grad():
        w.sub_(0.5)   # what an optimizer step does
    assert w.tolist() == [0.5, 0.5] and w.requires_grad
    with pytest.raises(RuntimeError, match="float result.*int64"):
        tg.Tensor([1, 2]).add_(0.5)


def test_remainder_floor_division_and_bitwise_match_torch():
    a, b = np.array([5, -7, 3, 0]), np.array([3, 2, -2, 5])
    for op in (lambda x, y: x % y, lambda x, y: x // y, lambda x, y: x & y, lambda x, y: x | y,
               lambda x, y: x ^ y, lambda x, y: ~x, lambda x, y: x % 3, lambda x, y: 7 // y):
        assert op(tg.Tensor(a), tg.Tensor(b)).tolist() == op(torch.tensor(a), torch.tensor(b)).tolist()
    m, n = tg.Tensor([True, False, True]), tg.Tensor([True, True, False])
    assert (m & n).tolist() == [True, False, False] and (~m).tolist() == [False, True, False]
    assert (m ^ n).dtype == np.bool_ and (m | n).tolist() == [True, True, True]
    with pytest.raises(TypeError, match="integer or bool"):
        tg.Tensor([1.0]) & tg.Tensor([1.0])
    x = tg.Tensor([5.5, -7.25], dtype="float64", requires_grad=True)
    y = tg.Tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    tx, ty = (torch.tensor(v.numpy(), requires_grad=True) for v in (x, y))
    (x % y).sum().backward()
    (tx % ty).sum().backward()
    np.testing.assert_allclose((x % y).numpy(), (tx % ty).detach().numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_a_second_backward_through_a_released_graph_raises_unless_retained():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    loss = (x.exp() * 3).sum()
    tg.autograd.grad(loss, x, retain_graph=True)
    (g,) = tg.autograd.grad(loss, x)
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(loss, x)
    np.testing.assert_allclose(g.numpy(), 3 * np.exp(x.numpy()), rtol=1e-6)
    y = (x ** 3).sum()
    (first,) = tg.grad(y, x, create_graph=True)   # create_graph retains, as in torch
    (second,) = tg.grad(first.sum(), x)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())
    x.grad = None
    tg.autograd.backward((x * 2).sum())
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("data", [None, "abc", {"a": 1}, [1, "x"]])
def test_non_numbers_as_data_or_operands_are_type_errors(data):
    with pytest.raises(TypeError):
        tg.Tensor(data)
    if data is not None and not isinstance(data, list):
        with pytest.raises(TypeError):
            tg.ones(2) + data
    with pytest.raises(TypeError):
        tg.ones(2) * None


def test_shape_errors_are_runtime_errors_too():
    for call in (lambda: tg.ones(2, 3) + tg.ones(4), lambda: tg.ones(2, 3) @ tg.ones(2, 3),
                 lambda: tg.ones(6).view(4, 2)):
        with pytest.raises(RuntimeError):
            call()
        with pytest.raises(ValueError):
            call()


def test_gradients_at_infinities_match_torch():
    """The ``where`` pattern: the branch not taken must not turn 0 · inf into NaN."""
    inf = np.inf
    cases = [(lambda m, x: m.clamp(x, 0.0, 1.0), [inf, -inf, 0.5, 1.0, 0.0, 2.0]),
             (lambda m, x: m.clamp(x, min=0.0), [inf, -inf, 0.0, 3.0]),
             (lambda m, x: m.maximum(x, m.zeros_like(x) + 1.0), [inf, -inf, 1.0, 2.0]),
             (lambda m, x: m.minimum(x, m.zeros_like(x) + 1.0), [inf, -inf, 1.0, 2.0]),
             (lambda m, x: m.log_softmax(x, dim=0), [-inf, 0.0, 1.0]),
             (lambda m, x: m.softmax(x, dim=0), [-inf, 0.0, 1.0]),
             (lambda m, x: m.exp(x) * 0 + m.clamp(x, max=1.0) * 2, [inf, -inf, 0.3])]
    for fn, values in cases:
        x = tg.Tensor(values, dtype="float64", requires_grad=True)
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        weights = np.arange(1.0, len(values) + 1)
        with np.errstate(all="ignore"):
            ours = fn(tg, x)
            (ours * tg.Tensor(weights)).sum().backward()
        theirs = fn(torch, t)
        (theirs * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)   # no NaN


def test_empty_tensors_where_torch_allows_them():
    a = tg.ones(3, 0, dtype="float64", requires_grad=True)
    b = tg.ones(0, 4, dtype="float64", requires_grad=True)
    (a @ b).sum().backward()   # a zero-size inner dim: the product is zeros
    assert a.grad.shape == (3, 0) and b.grad.shape == (0, 4)
    batch = tg.ones(2, 5, 0, dtype="float64", requires_grad=True)
    (batch @ tg.ones(0, 3, dtype="float64")).sum().backward()
    assert batch.grad.shape == (2, 5, 0)
    x = tg.arange(6).reshape(3, 2)
    assert x[[]].shape == (0, 2)
    images = tg.zeros(0, 1, 5, 5)
    conv = tg.nn.Conv2d(1, 2, 3)
    tg.kernels.use("numpy")
    try:
        assert conv(images).shape == (0, 2, 3, 3)
    finally:
        tg.kernels.use("auto")


def test_top_level_functions_match_torch(rng):
    values = rng.standard_normal((3, 4))
    x, t = tg.Tensor(values), torch.tensor(values)
    pairs = [(lambda m, v: m.sum(v, dim=1), None), (lambda m, v: m.mean(v, 0, keepdim=True), None),
             (lambda m, v: m.std(v), None), (lambda m, v: m.var(v, 1, unbiased=False), None),
             (lambda m, v: m.amax(v, dim=(0, 1)), None), (lambda m, v: m.argmax(v, 1), None),
             (lambda m, v: m.argmin(v), None), (lambda m, v: m.max(v, 1).indices, None),
             (lambda m, v: m.min(v, dim=0).values, None), (lambda m, v: m.softmax(v, dim=0), None),
             (lambda m, v: m.log_softmax(v, 1), None), (lambda m, v: m.relu(v), None),
             (lambda m, v: m.sigmoid(v), None), (lambda m, v: m.tanh(v), None),
             (lambda m, v: m.exp(v), None), (lambda m, v: m.log(m.abs(v)), None),
             (lambda m, v: m.sqrt(m.abs(v)), None), (lambda m, v: m.flatten(v), None),
             (lambda m, v: m.clamp(v, -0.5, 0.5), None), (lambda m, v: m.tril(v, -1), None),
             (lambda m, v: m.triu(v, 1), None), (lambda m, v: m.where(v > 0, v, m.zeros_like(v)), None),
             (lambda m, v: m.cat([v, v], dim=1), None), (lambda m, v: m.stack([v, v], 1), None),
             (lambda m, v: m.matmul(v, v.T), None), (lambda m, v: m.transpose(v, 0, 1), None),
             (lambda m, v: m.squeeze(m.unsqueeze(v, 0)), None), (lambda m, v: m.logsumexp(v, 1), None),
             (lambda m, v: m.pow(v, 2), None), (lambda m, v: m.mm(v, v.t()), None),
             (lambda m, v: m.isclose(v, v + 1e-9), None), (lambda m, v: m.where(v > 0)[1], None)]
    for fn, _ in pairs:
        np.testing.assert_allclose(fn(tg, x).numpy(), fn(torch, t).numpy(), rtol=1e-12)
    assert tg.allclose(x, x + 1e-9) and not tg.allclose(x, x + 1)
    assert tg.equal(x, tg.Tensor(values)) and not tg.equal(x, x[:2])
    assert tg.max(x.data, 1).indices.tolist() == t.max(1).indices.tolist()   # outputs.data


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("ij,jk", [(2, 3), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("bi,bj->b", [(3, 2), (3, 4)]), ("ijk->kj", [(2, 3, 4)])])
def test_einsum_matches_torch_and_passes_gradcheck(equation, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    expected = torch.einsum(equation, *[torch.tensor(a) for a in arrays]).numpy()
    np.testing.assert_allclose(tg.einsum(equation, *ours).numpy(), expected, rtol=1e-12)
    assert tg.gradcheck(lambda *t: tg.einsum(equation, *t), ours)
    if len(ours) == 2:
        assert tg.gradgradcheck(lambda *t: tg.einsum(equation, *t), ours)


def test_einsum_refuses_what_it_does_not_support():
    with pytest.raises(ValueError, match="diagonal"):
        tg.einsum("ii->i", tg.ones(2, 2))
    with pytest.raises(ValueError, match="names 2 operands"):
        tg.einsum("ij,jk->ik", tg.ones(2, 2))


def test_creation_functions_take_torch_arguments():
    tg.manual_seed(0)
    assert tg.randint(10, (3,)).shape == (3,) and tg.randint(2, 5, size=(2, 2)).min().item() >= 2
    assert tg.randperm(6).dtype == np.int64 and sorted(tg.randperm(6).tolist()) == list(range(6))
    assert tg.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0] and tg.empty(2, 3).shape == (2, 3)
    assert tg.zeros(size=(2, 2)).shape == (2, 2) and tg.ones((2, 3), dtype=tg.long).dtype == np.int64
    x = tg.arange(4, dtype=tg.float)
    for like in (tg.empty_like(x), tg.zeros_like(x), tg.ones_like(x), tg.rand_like(x),
                 tg.randn_like(x), tg.full_like(x, 2)):
        assert like.shape == (4,) and like.dtype == np.float32
    assert tg.randint_like(x, 3).max().item() < 3
    array = np.zeros(3)
    shared = tg.from_numpy(array)
    array[0] = 1.0
    assert shared.dtype == np.float64 and shared[0].item() == 1.0
    assert tg.as_tensor(shared) is shared and tg.tensor(array)[0].item() == 1.0
    copied = tg.tensor(array)
    array[1] = 5.0
    assert copied[1].item() == 0.0
    assert tg.device("cuda:0") == "cuda" and tg.device("cpu").type == "cpu"
    assert tg.zeros(2, device=tg.device("cpu")).device == "cpu"
    assert tg.float is tg.float32 and tg.long is tg.int64 and tg.half is tg.float16
    assert tg.double is tg.float64 and tg.int is tg.int32 and tg.bool is np.bool_


def test_methods_that_pytorch_code_calls():
    x = tg.arange(6, dtype=tg.float).reshape(2, 3)
    assert x.view(3, 2).shape == (3, 2) and x.view_as(tg.zeros(6)).shape == (6,)
    assert x.contiguous() is x and x.clone().tolist() == x.tolist() and x.clone() is not x
    assert x.add(1, alpha=2).tolist()[0] == [2, 3, 4] and x.sub(x).sum().item() == 0
    assert x.mul(2).div(2).tolist() == x.tolist() and x.pow(2)[1, 2].item() == 25
    assert x.div(4, rounding_mode="floor").tolist() == [[0, 0, 0], [0, 1, 1]]
    assert x.neg().sum().item() == -15 and x.t().shape == (3, 2) and x.dim() == 2
    assert x.flatten(start_dim=0, end_dim=1).shape == (6,) and x.expand_as(tg.zeros(4, 2, 3)).ndim == 3
    assert x.unsqueeze(dim=1).squeeze(dim=1).shape == (2, 3) and x.transpose(1, 0).shape == (3, 2)
    assert x.squeeze((0, 1)).shape == (2, 3) and tg.ones(1, 2, 1).squeeze((0, 2)).shape == (2,)
    assert x.is_floating_point() and not x.long().is_floating_point()
    assert tg.nn.functional.softmax(x, dim=None).tolist() == x.softmax(-1).tolist()
    causal = tg.triu(tg.ones(3, 3, dtype=tg.bool), diagonal=1)   # an attention mask
    assert causal.dtype == np.bool_ and causal.sum().item() == 3
    assert tg.tril(tg.arange(4).reshape(2, 2)).dtype == np.int64
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))


def test_nan_inputs_behave_as_documented():
    """docs/differences_from_pytorch.md, "What NaN inputs do"."""
    x = tg.Tensor([1.0, np.nan, 3.0], requires_grad=True)
    assert x.argmax().item() == 1 and np.isnan(x.max(0).values.item()) and x.max(0).indices.item() == 1
    clipped = x.clamp(0.0, 2.0)
    clipped.sum().backward()
    assert np.isnan(clipped.numpy()[1]) and x.grad.tolist()[1] == 0.0
    x.grad = None
    tg.maximum(x, tg.ones(3)).sum().backward()
    assert x.grad.tolist()[1] == 0.5
    assert np.isnan((x * 2).sum().item())


def test_new_differentiable_operations_pass_gradcheck(rng):
    x = tg.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    y = tg.Tensor(rng.uniform(1.0, 2.0, (3, 4)), requires_grad=True)
    for fn in (lambda a: a.tril(), lambda a: a.triu(1), lambda a: a.clone() * a,
               lambda a: a.std(dim=1), lambda a: a.var(correction=2),
               lambda a: a.amin(dim=(0, 2), keepdim=True), lambda a: a.add(a, alpha=3),
               lambda a: a.max(dim=2).values, lambda a: a.reshape(6, 4).t()):
        assert tg.gradcheck(fn, [x]) and tg.gradgradcheck(fn, [x])
    for fn in (lambda a, b: a % b, lambda a, b: (a.abs() + 0.5) ** b, lambda a, b: tg.maximum(a, b)):
        assert tg.gradcheck(fn, [x, y])


def test_operations_on_mixed_dtypes_promote_like_binary_operations():
    a, b = tg.ones(2, dtype=tg.float64), tg.ones(2)
    assert tg.cat([b, a]).dtype == np.float64 and tg.stack([tg.arange(2), b]).dtype == np.float32
    assert tg.where(tg.Tensor([True, False]), tg.arange(2), b).dtype == np.float32
    assert tg.maximum(tg.arange(2), 0.5).dtype == np.float32
    with pytest.raises(TypeError, match="list or tuple"):
        tg.cat(a)


def test_bfloat16_counts_as_floating_point_for_casts_and_promotion():
    if tg.bfloat16 is None:
        pytest.skip("ml_dtypes is not installed")
    x = tg.Tensor([1.5, 2.5], requires_grad=True)
    y = x.astype(tg.bfloat16)
    assert y.requires_grad and y.is_floating_point()   # a float cast keeps the gradient
    assert (y + x).dtype == np.float32 and (y * 2.0).dtype == y.dtype
