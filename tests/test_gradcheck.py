"""The gradient checker itself: it must pass correct gradients and catch wrong ones — a planted
0.1% error in a single element, a wrong shape, a wrong second derivative — with a report that
names the input, the element, and both values."""
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import GradcheckError
from tinygrad_edu.gradcheck import jacobians
from strategies import leaf, make_array


def planted(element, factor):
    """z = a², whose backward is correct except at ``element``, scaled by ``factor``."""

    class Square(tg.Function):
        def forward(self, a):
            return a * a

        def backward(self, grad):
            (a,) = self.inputs
            scale = np.ones(a.shape)
            scale[element] = factor
            return grad * 2 * a * tg.Tensor(scale)

    return Square.apply


@pytest.mark.parametrize("scale", [1.0, 10.0, 300.0])
@pytest.mark.parametrize("element", [(0, 0), (1, 2)])
def test_catches_a_planted_one_in_a_thousand_error(element, scale, rng):
    x = leaf(scale * make_array(rng, (2, 3), low=0.5, high=1.0))
    assert tg.gradcheck(planted(element, 1.0), [x])              # the honest version passes
    with pytest.raises(GradcheckError) as info:
        tg.gradcheck(planted(element, 1.001), [x])               # 0.1% off in one element
    message = str(info.value)
    assert "input 0" in message and f"at element {element}" in message
    reported = re.search(r"analytic ([^\s,]+), numeric ([^\s,]+), abs error ([^\s,]+)", message)
    true_gradient = 2 * x.numpy()[element]
    assert float(reported[1]) == pytest.approx(true_gradient * 1.001, rel=1e-7)
    assert float(reported[2]) == pytest.approx(true_gradient, rel=1e-6)
    assert float(reported[3]) == pytest.approx(true_gradient * 0.001, rel=1e-2)


def test_fast_mode_passes_honest_and_catches_planted_errors(rng):
    x = leaf(make_array(rng, (4, 5), low=0.5, high=1.5))
    assert tg.gradcheck(planted((2, 3), 1.0), [x], fast=True)
    with pytest.raises(GradcheckError, match=r"input 0.*random direction"):
        tg.gradcheck(planted((2, 3), 1.05), [x], fast=True)


def test_catches_a_gradient_of_the_wrong_shape():
    class Transposed(tg.Function):
        def forward(self, a):
            return a * 3

        def backward(self, grad):
            return grad.T * 3

    x = leaf(np.ones((2, 3)))
    with pytest.raises(GradcheckError, match=r"wrong shape.*\(3, 2\).*\(2, 3\)"):
        tg.gradcheck(Transposed.apply, [x])


def test_catches_a_nan_gradient():
    class NotANumber(tg.Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, grad):
            return grad * float("nan")

    with pytest.raises(GradcheckError, match="analytic nan"):
        tg.gradcheck(NotANumber.apply, [leaf(np.ones(3))])


def test_names_the_failing_input_among_several(rng):
    wrong = planted((1,), 1.01)
    a, b, c = leaf(make_array(rng, (3,))), leaf(make_array(rng, (3,))), leaf(make_array(rng, (3,)))
    c.requires_grad = False
    fn = lambda x, y, z: x * z + wrong(y)   # noqa: E731
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3,\)\).*element \(1,\)"):
        tg.gradcheck(fn, [a, b, c])


def test_multiple_outputs_and_non_tensor_arguments(rng):
    a, b = leaf(make_array(rng, (2, 3))), leaf(make_array(rng, (3,)))

    def fn(x, y, power):
        return (x * y) ** power, (x - y).sum(axis=0)

    assert tg.gradcheck(fn, [a, b, 2])
    assert tg.gradgradcheck(fn, [a, b, 2])


def test_gradgradcheck_catches_a_wrong_second_derivative(rng):
    class ConstantSlope(tg.Function):
        """z = a² with a first derivative that is right but built from a constant copy of a,
        so that its own derivative (the second derivative of z) comes out 0 instead of 2."""

        def forward(self, a):
            return a * a

        def backward(self, grad):
            return grad * 2 * self.inputs[0].detach()

    x = leaf(make_array(rng, (3,), low=0.5, high=1.5))
    assert tg.gradcheck(ConstantSlope.apply, [x])
    with pytest.raises(GradcheckError, match="input 0"):
        tg.gradgradcheck(ConstantSlope.apply, [x])


def test_inputs_must_be_float64():
    with pytest.raises(TypeError, match="input 1 has dtype float32.*float64"):
        tg.gradcheck(lambda a, b: a * b, [leaf(np.ones(2)), tg.ones(2, requires_grad=True)])
    with pytest.raises(ValueError, match="no input has requires_grad"):
        tg.gradcheck(lambda a: a * 2, [leaf(np.ones(2), requires_grad=False)])


def test_gradient_that_does_not_depend_on_an_input_counts_as_zero(rng):
    a, b = leaf(make_array(rng, (2,))), leaf(make_array(rng, (2,)))
    assert tg.gradcheck(lambda x, y: x * 2, [a, b])


def test_large_input_in_fast_mode(rng):
    a, b = leaf(make_array(rng, (40, 30))), leaf(make_array(rng, (30, 20)))
    assert tg.gradcheck(lambda x, y: (x @ y).tanh(), [a, b], fast=True)
    assert tg.gradgradcheck(lambda x, y: (x @ y).tanh(), [a, b], fast=True)


@pytest.mark.parametrize("fast", [False, True])
def test_jacobians_returns_both_jacobians_of_a_known_function(fast):
    """z = a * b has ∂z_r/∂a_j = b_r·[r = j]; a planted 1% error shows up only in the analytic
    Jacobian, at the planted element."""
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))
    pairs = jacobians(lambda a, b: a * b, [a, b], fast=fast)
    assert [i for i, _, _ in pairs] == [0, 1]
    for i, analytic, numeric in pairs:
        other = (b if i == 0 else a).data
        expected = np.diag(other)                                    # (3, 3)
        if fast:
            assert analytic.shape == numeric.shape == (1, 1)
            np.testing.assert_allclose(analytic, numeric, rtol=1e-7)
        else:
            np.testing.assert_allclose(analytic, expected, rtol=1e-12)
            np.testing.assert_allclose(numeric, expected, rtol=1e-7)
    _, analytic, numeric = jacobians(planted(1, 1.01), [a])[0]
    wrong = np.argwhere(~np.isclose(analytic, numeric, rtol=1e-6))
    assert wrong.tolist() == [[1, 1]]
