"""The Numba max-pooling kernels (kernels/pool_cpu.py) against the reference (ops/pool.py).

Drawn shapes, windows, strides and paddings in float32 and float64; inputs full of ties (small
integers) to check that both pick the same winner; overlapping windows; float64 gradient checks
through the kernel path; clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu.kernels import pool_cpu
from tinygrad_edu.ops import pool as pool_ops
from tinygrad_edu.ops.window import pool_geometry


@st.composite
def pool_settings(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    size = [draw(st.integers(max(1, k - 2 * p), 9)) for k, p in zip(kernel, padding)]
    x_shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), *size)
    return x_shape, pool_geometry(x_shape, kernel, stride, padding)


@settings(max_examples=60, deadline=None)
@given(case=pool_settings(), dtype=st.sampled_from([np.float32, np.float64]),
       ties=st.booleans(), seed=st.integers(0, 2**16))
def test_max_pool2d_kernels_equal_reference(case, dtype, ties, seed):
    x_shape, geometry = case
    rng = np.random.default_rng(seed)
    x = (rng.integers(-2, 3, x_shape) if ties else rng.standard_normal(x_shape)).astype(dtype)
    y, argmax = pool_cpu.max_pool2d_forward(x, geometry)
    y_ref, argmax_ref = pool_ops.max_pool2d_forward(x, geometry)
    assert y.dtype == y_ref.dtype and argmax.dtype == np.int64
    np.testing.assert_array_equal(y, y_ref)            # a maximum is exact: no rounding at all
    np.testing.assert_array_equal(argmax, argmax_ref)

    grad_y = rng.standard_normal(y.shape).astype(dtype)
    grad_x = pool_cpu.max_pool2d_backward(grad_y, argmax, x_shape)
    grad_x_ref = pool_ops.max_pool2d_backward(grad_y, argmax_ref, x_shape)
    assert grad_x.dtype == dtype
    np.testing.assert_allclose(grad_x, grad_x_ref, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("padding", [(0, 0), (1, 1)])
def test_windows_of_nan_and_minus_inf_pick_the_reference_winner(padding):
    """-inf and NaN never win; a window with nothing else reports -inf and its first pixel,
    on the padded scan and on the unpadded one alike."""
    x = np.array([[np.nan, np.nan, -np.inf, 1.0], [np.nan, np.nan, -np.inf, np.nan],
                  [-np.inf, -np.inf, 2.0, np.nan], [-np.inf, -np.inf, np.nan, 2.0]])[None, None]
    geometry = pool_geometry(x.shape, (2, 2), (2, 2), padding)
    y, argmax = pool_cpu.max_pool2d_forward(x, geometry)
    y_ref, argmax_ref = pool_ops.max_pool2d_forward(x, geometry)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)


def test_overlapping_windows_accumulate_on_a_shared_winner():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0                                # the centre wins all four 2x2 windows
    y, argmax = pool_cpu.max_pool2d_forward(x, pool_geometry(x.shape, (2, 2), (1, 1), (0, 0)))
    np.testing.assert_array_equal(argmax, np.full((1, 1, 2, 2), 4))
    grad_x = pool_cpu.max_pool2d_backward(np.arange(1.0, 5.0).reshape(1, 1, 2, 2), argmax, x.shape)
    assert grad_x[0, 0, 1, 1] == 10.0 and grad_x.sum() == 10.0


def test_padding_never_wins_over_negative_values():
    x = -np.arange(1.0, 5.0).reshape(1, 1, 2, 2)      # all negative; padding is -inf, not 0
    y, argmax = pool_cpu.max_pool2d_forward(x, pool_geometry(x.shape, (2, 2), (1, 1), (1, 1)))
    np.testing.assert_array_equal(y[0, 0], [[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]])
    assert argmax.min() >= 0


@pytest.mark.parametrize("pool_args", [
    ((2, 2), (2, 2), (0, 0)),              # the usual non-overlapping pool
    ((3, 2), (2, 1), (1, 1)),              # overlapping, padded, rectangular
])
def test_max_pool2d_gradcheck_through_kernel(rng, pool_args):
    kernel, stride, padding = pool_args
    values = rng.permutation(2 * 2 * 5 * 4).reshape(2, 2, 5, 4) / 10.0   # distinct: no ties
    x = tg.Tensor(values, requires_grad=True)
    assert tg.gradcheck(lambda x: pool_ops.max_pool2d(x, kernel, stride, padding, impl=pool_cpu),
                        [x])


def test_max_pool2d_kernel_is_twice_differentiable_through_the_reference_function(rng):
    x = tg.Tensor(rng.permutation(36).reshape(1, 1, 6, 6) / 10.0, requires_grad=True)
    assert tg.gradgradcheck(lambda x: pool_ops.max_pool2d(x, 2, impl=pool_cpu) ** 2, [x])


@pytest.mark.parametrize("x_shape, pool_args, words", [
    ((1, 1, 4, 4), ((2, 2), (2, 2), (2, 0)), "half the kernel"),
    ((1, 1, 2, 2), ((3, 3), (1, 1), (0, 0)), "larger than the padded input"),
    ((1, 4, 4), ((2, 2), (2, 2), (0, 0)), "(N, C, H, W)"),
    ((1, 1, 0, 4), ((1, 1), (1, 1), (0, 0)), "empty"),
])
def test_max_pool2d_geometry_errors_name_the_problem(x_shape, pool_args, words):
    with pytest.raises(ValueError, match="max_pool2d") as error:
        pool_geometry(x_shape, *pool_args)
    assert words in str(error.value)


def test_max_pool2d_kernel_refuses_an_input_that_does_not_fit_the_geometry():
    geometry = pool_geometry((1, 1, 4, 4), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"max_pool2d: arrays of shapes \(1, 1, 5, 4\)"):
        pool_cpu.max_pool2d_forward(np.zeros((1, 1, 5, 4)), geometry)


def test_max_pool2d_backward_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="max_pool2d backward"):
        pool_cpu.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3), np.int64),
                                     (1, 1, 4, 4))
