"""Elementwise operations: forward values against NumPy, first and second derivatives against
finite differences, on several shapes (broadcast, size-1, scalar and transposed inputs)."""
import numpy as np
import pytest

import tinygrad_edu as tg
from strategies import away_from, leaf, make_array

# name: (tensor function, NumPy reference, input range, kinks to keep away from)
UNARY = {
    "neg": (lambda t: -t, np.negative, (-2, 2), []),
    "exp": (lambda t: t.exp(), np.exp, (-2, 2), []),
    "log": (lambda t: t.log(), np.log, (0.2, 3), []),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, (0.2, 3), []),
    "tanh": (lambda t: t.tanh(), np.tanh, (-2, 2), []),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), (-3, 3), []),
    "relu": (lambda t: t.relu(), lambda a: np.where(a > 0, a, 0.0), (-2, 2), [0]),
    "abs": (lambda t: t.abs(), np.abs, (-2, 2), [0]),
    "clip": (lambda t: t.clip(-0.5, 0.7), lambda a: np.minimum(np.maximum(a, -0.5), 0.7),
             (-2, 2), [-0.5, 0.7]),
    "clip_low": (lambda t: t.clip(min=-0.5), lambda a: np.maximum(a, -0.5), (-2, 2), [-0.5]),
    "clip_high": (lambda t: t.clip(max=0.7), lambda a: np.minimum(a, 0.7), (-2, 2), [0.7]),
    "square": (lambda t: t ** 2, np.square, (-2, 2), []),
    "cube": (lambda t: t ** 3, lambda a: a * a * a, (-2, 2), []),
    "pow_half": (lambda t: t ** 0.5, np.sqrt, (0.2, 3), []),
    "pow_negative": (lambda t: t ** -1.5, lambda a: 1 / (a * np.sqrt(a)), (0.3, 3), []),
    "pow_zero": (lambda t: t ** 0, np.ones_like, (-2, 2), []),
    "radd": (lambda t: 1.5 + t, lambda a: 1.5 + a, (-2, 2), []),
    "rsub": (lambda t: 1.5 - t, lambda a: 1.5 - a, (-2, 2), []),
    "rmul": (lambda t: 3 * t, lambda a: 3 * a, (-2, 2), []),
    "rdiv": (lambda t: 2.0 / t, lambda a: 2.0 / a, (0.3, 3), []),
    "sub_scalar": (lambda t: t - 0.25, lambda a: a - 0.25, (-2, 2), []),
    "div_scalar": (lambda t: t / 4, lambda a: a / 4, (-2, 2), []),
    "rpow": (lambda t: 2.0 ** t, lambda a: 2.0 ** a, (-2, 2), []),
}

# (shape, layout): a scalar, a row, size-1 axes, and non-contiguous (transposed) inputs
UNARY_CASES = [((), "contiguous"), ((1, 4), "contiguous"), ((2, 3), "contiguous"),
               ((2, 3), "transposed"), ((3, 1, 2), "transposed")]


def _unary_input(rng, name, shape, layout, device):
    _, _, (low, high), kinks = UNARY[name]
    array = away_from(make_array(rng, shape, layout, low, high), kinks)
    if layout == "transposed" and len(shape) >= 2:   # keep the strided layout after the nudge
        array = np.ascontiguousarray(array.T).T
    return leaf(array, device)


@pytest.mark.parametrize("shape,layout", UNARY_CASES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_matches_numpy(name, shape, layout, device, rng):
    fn, reference, _, _ = UNARY[name]
    x = _unary_input(rng, name, shape, layout, device)
    out = fn(x)
    assert out.shape == shape and out.dtype == np.float64 and out.device == device
    np.testing.assert_allclose(out.numpy(), reference(x.numpy()), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape,layout", UNARY_CASES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, shape, layout, device, rng):
    fn = UNARY[name][0]
    x = _unary_input(rng, name, shape, layout, device)
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


# name: (function of two tensors, NumPy reference, range of a, range of b)
BINARY = {
    "add": (lambda a, b: a + b, np.add, (-2, 2), (-2, 2)),
    "sub": (lambda a, b: a - b, np.subtract, (-2, 2), (-2, 2)),
    "mul": (lambda a, b: a * b, np.multiply, (-2, 2), (-2, 2)),
    "div": (lambda a, b: a / b, np.divide, (-2, 2), (0.5, 2)),
    "pow": (lambda a, b: a ** b, np.power, (0.5, 2), (-2, 2)),
    "maximum": (tg.maximum, np.maximum, (-2, 2), (-2, 2)),
    "minimum": (tg.minimum, np.minimum, (-2, 2), (-2, 2)),
}

BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)),
                 ((4, 1, 3), (2, 1)), ((1,), (1,)), ((3, 2), (1, 3, 2))]


def _binary_inputs(rng, name, shape_a, shape_b, layout, device):
    """Two float64 leaves; for maximum/minimum no pair is within 0.1 of a tie."""
    _, _, range_a, range_b = BINARY[name]
    for _ in range(100):
        a = make_array(rng, shape_a, layout, *range_a)
        b = make_array(rng, shape_b, layout, *range_b)
        if name not in ("maximum", "minimum") or np.all(np.abs(a - b) > 0.1):
            return leaf(a, device), leaf(b, device)
    raise AssertionError("could not draw inputs away from ties")


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("shape_a,shape_b", BINARY_SHAPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward_and_gradients(name, shape_a, shape_b, layout, device, rng):
    fn, reference = BINARY[name][:2]
    a, b = _binary_inputs(rng, name, shape_a, shape_b, layout, device)
    out = fn(a, b)
    expected = reference(a.numpy(), b.numpy())
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert tg.gradcheck(fn, [a, b])
    assert tg.gradgradcheck(fn, [a, b])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradient_with_one_constant_input(name, device, rng):
    fn = BINARY[name][0]
    a, b = _binary_inputs(rng, name, (2, 3), (3,), "contiguous", device)
    b.requires_grad = False
    assert tg.gradcheck(fn, [a, b])
    a.requires_grad, b.requires_grad = False, True
    assert tg.gradcheck(fn, [a, b])
    out = fn(a, b)
    out.sum().backward()
    assert a.grad is None and b.grad is not None and b.grad.shape == b.shape


def test_where_forward_and_gradients(device, rng):
    condition = rng.uniform(size=(2, 3)) > 0.5
    a, b = leaf(make_array(rng, (2, 3)), device), leaf(make_array(rng, (3,)), device)
    out = tg.where(condition, a, b)
    np.testing.assert_array_equal(out.numpy(), np.where(condition, a.numpy(), b.numpy()))
    fn = lambda x, y: tg.where(condition, x, y)   # noqa: E731
    assert tg.gradcheck(fn, [a, b]) and tg.gradgradcheck(fn, [a, b])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), condition.astype(float))
    np.testing.assert_array_equal(b.grad.numpy(), (~condition).sum(axis=0))


def test_where_accepts_tensor_condition_and_scalars(device):
    x = tg.Tensor([-1.0, 2.0, -3.0], device=device)
    out = tg.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(out.numpy(), [0.0, 2.0, 0.0])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(tg.where(x > 0, 1.0, -1.0).numpy(), [-1.0, 1.0, -1.0])


# ----------------------------------------------------------------------------- ties and kinks

def test_maximum_minimum_split_ties_in_half(device):
    a = tg.Tensor([1.0, 2.0, 5.0], requires_grad=True, device=device)
    b = tg.Tensor([1.0, 3.0, 4.0], requires_grad=True, device=device)
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])
    a.grad = b.grad = None
    tg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0, 1.0])


def test_relu_abs_clip_at_their_kinks(device):
    x = tg.Tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True, device=device)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 1, 1])   # 0 at the kink
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1, 0, 1, 1, 1])
    x.grad = None
    x.clip(0.0, 1.0).sum().backward()   # the boundaries themselves pass the gradient
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])


def test_scalar_pairs_cross_checked_with_torch():
    torch = pytest.importorskip("torch")
    values = np.array([-1.0, 0.0, 0.5, 1.0, 1.0, 2.0])
    others = np.array([-1.0, 1.0, 0.5, 0.0, 1.0, 3.0])
    for ours, theirs in [(lambda a, b: tg.maximum(a, b), torch.maximum),
                         (lambda a, b: tg.minimum(a, b), torch.minimum),
                         (lambda a, b: a.clip(0.0, 1.0) * b, lambda a, b: a.clamp(0.0, 1.0) * b)]:
        a, b = tg.Tensor(values, requires_grad=True), tg.Tensor(others, requires_grad=True)
        ta = torch.tensor(values, requires_grad=True)
        tb = torch.tensor(others, requires_grad=True)
        ours(a, b).sum().backward()
        theirs(ta, tb).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())


def test_sigmoid_and_tanh_saturate_without_overflow(device):
    x = tg.Tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True, device=device)
    with np.errstate(all="raise"):
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0, 0, 0.5, 1, 1], atol=1e-7)
    assert np.all(np.isfinite(x.grad.numpy())) and x.grad.numpy()[2] == pytest.approx(0.25)


def test_pow_zero_has_zero_gradient_even_at_zero(device):
    x = tg.Tensor([0.0, 2.0], requires_grad=True, device=device)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_pow_with_array_exponent(device, rng):
    x = leaf(make_array(rng, (2, 3), low=0.5, high=2), device)
    exponent = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose((x ** exponent).numpy(), x.numpy() ** exponent)
    assert tg.gradcheck(lambda t: t ** exponent, [x])


# ----------------------------------------------------------------------------- comparisons

COMPARISONS = {"==": (lambda a, b: a == b, np.equal), "!=": (lambda a, b: a != b, np.not_equal),
               "<": (lambda a, b: a < b, np.less), "<=": (lambda a, b: a <= b, np.less_equal),
               ">": (lambda a, b: a > b, np.greater), ">=": (lambda a, b: a >= b, np.greater_equal)}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_give_boolean_tensors_without_gradient(name, device):
    ours, reference = COMPARISONS[name]
    a_np = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b_np = np.array([2.0, 2.0, 2.0])
    a = tg.Tensor(a_np, requires_grad=True, device=device)
    for other, other_np in [(tg.Tensor(b_np, device=device), b_np), (2.0, 2.0), (2, 2)]:
        out = ours(a, other)
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), reference(a_np, other_np))


def test_sign_and_logical_not(device):
    x = tg.Tensor([-2.0, 0.0, 3.0], requires_grad=True, device=device)
    np.testing.assert_array_equal(x.sign().numpy(), [-1.0, 0.0, 1.0])
    x.sign().sum().backward()   # differentiable with gradient 0, as torch.sign
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal((~(x > 0)).numpy(), [True, True, False])


# ----------------------------------------------------------------------------- dtypes

def test_python_scalars_keep_the_tensor_dtype(device):
    for dtype in (np.float32, np.float64):
        x = tg.ones(3, dtype=dtype, device=device)
        for out in (x + 1, 1 + x, x * 2.5, 2.5 * x, x - 1, 1 - x, x / 3, 3 / x, x ** 2, 2 ** x):
            assert out.dtype == dtype


def test_integer_and_boolean_tensors_with_python_numbers(device):
    i = tg.arange(3, device=device)
    assert (i + 1).dtype == np.int64 and (i + 1).tolist() == [1, 2, 3]
    mask = i > 0
    assert (mask + 1).tolist() == [1, 2, 2]    # counts, not a logical or
    assert (1 - mask).tolist() == [1, 0, 0]
    assert (mask * 2).tolist() == [0, 2, 2]
    assert (i * 0.5).tolist() == [0.0, 0.5, 1.0]


def test_mixed_precision_gradient_has_the_leaf_dtype(device, rng):
    a = tg.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True, device=device)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True, device=device)   # float64
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), b.numpy(), rtol=1e-6)


def test_cast_passes_the_gradient_back_in_the_original_dtype(device, rng):
    x = tg.Tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True, device=device)
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy(), rtol=1e-6)
    assert x.float() is x
