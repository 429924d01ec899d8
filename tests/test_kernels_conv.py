"""The Numba conv2d kernels (kernels/conv_cpu.py) against the reference (ops/conv.py).

Drawn shapes, strides, paddings, dilations, groups and batch sizes in float32 and float64,
through both strategies (direct loops and im2col + BLAS, forced by ``strategy``), non-contiguous
inputs; float64 gradient checks through the kernel path; clear errors for impossible shapes."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu.kernels import conv_cpu
from tinygrad_edu.ops import conv as conv_ops
from tinygrad_edu.ops.window import conv_geometry

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def relative_error(actual, expected) -> float:
    """max |actual - expected| / max |expected| (0 for empty arrays)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if expected.size == 0:
        return 0.0
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30))


@contextlib.contextmanager
def strategy(name):
    """Force stride-1 convolutions onto the "direct" or the "im2col" path inside the block."""
    saved = conv_cpu.DIRECT_MAX_FILTERS
    conv_cpu.DIRECT_MAX_FILTERS = 10**9 if name == "direct" else 0
    try:
        yield
    finally:
        conv_cpu.DIRECT_MAX_FILTERS = saved


@st.composite
def conv_settings(draw):
    """A convolution that fits: shapes, stride, padding, dilation, groups."""
    groups = draw(st.integers(1, 3))
    channels, filters = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.sampled_from([(1, 1), (1, 1), (2, 2), (1, 3), (3, 2)]))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = [draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
            for k, d, p in zip(kernel, dilation, padding)]
    return dict(x_shape=(draw(st.integers(1, 3)), channels, *size),
                w_shape=(filters, channels // groups, *kernel),
                settings=(stride, padding, dilation, groups))


@settings(max_examples=80, deadline=None)
@given(case=conv_settings(), dtype=st.sampled_from([np.float32, np.float64]),
       path=st.sampled_from(["direct", "im2col"]), seed=st.integers(0, 2**16))
def test_conv2d_kernels_equal_reference(case, dtype, path, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x_shape"]).astype(dtype)
    w = rng.standard_normal(case["w_shape"]).astype(dtype)
    geometry = conv_geometry(x.shape, w.shape, *case["settings"])
    with strategy(path):
        y = conv_cpu.conv2d_forward(x, w, geometry)
        grad_y = rng.standard_normal(y.shape).astype(dtype)
        grads = conv_cpu.conv2d_backward(grad_y, x, w, geometry)
    y_ref = conv_ops.conv2d_forward(x, w, geometry)
    assert relative_error(y, y_ref) < TOLERANCE[dtype]
    grads_ref = conv_ops.conv2d_backward(grad_y, x, w, geometry)
    for got, expected in zip(grads, grads_ref):
        assert relative_error(got, expected) < TOLERANCE[dtype]


@pytest.mark.parametrize("path", ["direct", "im2col"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 1)])
def test_conv2d_kernels_accept_non_contiguous_inputs(rng, stride, path):
    x = rng.standard_normal((5, 6, 3, 2)).transpose(3, 2, 1, 0)          # (2, 3, 6, 5) strided
    w = rng.standard_normal((3, 3, 3, 2)).transpose(3, 2, 1, 0)          # (2, 3, 3, 3) strided
    geometry = conv_geometry(x.shape, w.shape, stride, (1, 0), (1, 1), 1)
    with strategy(path):
        y = conv_cpu.conv2d_forward(x, w, geometry)
        grad_y = np.broadcast_to(rng.standard_normal(y.shape[-1]), y.shape)  # stride-0 axes
        grads = conv_cpu.conv2d_backward(grad_y, x, w, geometry)
    assert relative_error(y, conv_ops.conv2d_forward(x, w, geometry)) < 1e-10
    for got, expected in zip(grads, conv_ops.conv2d_backward(grad_y, x, w, geometry)):
        assert relative_error(got, expected) < 1e-10


@pytest.mark.parametrize("path", ["direct", "im2col"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2)])
def test_conv2d_backward_skips_the_input_gradient_when_not_asked(rng, path, stride):
    """An image fed to the first layer needs no gradient: without ``input_grad`` dL/dx is None
    (never computed) and dL/dw is the same as with it, in every implementation."""
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    geometry = conv_geometry(x.shape, w.shape, stride, (1, 1), (1, 1), 1)
    grad_y = rng.standard_normal((2, 4) + geometry.output)
    with strategy(path):
        both = conv_cpu.conv2d_backward(grad_y, x, w, geometry)
        weight_only = conv_cpu.conv2d_backward(grad_y, x, w, geometry, input_grad=False)
    reference = conv_ops.conv2d_backward(grad_y, x, w, geometry, input_grad=False)
    assert weight_only[0] is None and reference[0] is None
    assert relative_error(weight_only[1], both[1]) < 1e-12
    assert relative_error(reference[1], both[1]) < 1e-10


def test_the_conv_layer_asks_for_the_input_gradient_only_when_needed(rng, monkeypatch):
    asked = []
    original = conv_cpu.conv2d_backward
    monkeypatch.setattr(conv_cpu, "conv2d_backward", lambda *args: asked.append(args[4]) or
                        original(*args))
    w = tg.Tensor(rng.standard_normal((2, 1, 3, 3)), requires_grad=True)
    for needs_grad in (False, True):
        x = tg.Tensor(rng.standard_normal((1, 1, 5, 5)), requires_grad=needs_grad)
        conv_ops.conv2d(x, w, impl=conv_cpu).sum().backward()
        assert (x.grad is not None) == needs_grad
    assert asked == [False, True]


def test_conv2d_kernel_on_size_one_everything(rng):
    x, w = rng.standard_normal((1, 1, 1, 1)), rng.standard_normal((1, 1, 1, 1))
    geometry = conv_geometry(x.shape, w.shape, (1, 1), (0, 0), (1, 1), 1)
    y = conv_cpu.conv2d_forward(x, w, geometry)
    np.testing.assert_allclose(y, x * w)
    grad_x, grad_w = conv_cpu.conv2d_backward(np.ones_like(y), x, w, geometry)
    np.testing.assert_allclose(grad_x, w)
    np.testing.assert_allclose(grad_w, x)


# (x shape, w shape, stride, padding, dilation, groups, path)
GRADCHECK_CASES = {
    "direct_padded": ((2, 2, 4, 3), (2, 2, 3, 2), 1, (1, 2), 1, 1, "direct"),
    "direct_dilated_groups": ((1, 4, 5, 4), (4, 2, 2, 2), 1, 1, (2, 1), 2, "direct"),
    "im2col_padded": ((2, 2, 4, 3), (2, 2, 3, 2), 1, (1, 2), 1, 1, "im2col"),
    "im2col_strided": ((2, 3, 6, 5), (2, 3, 3, 2), (2, 3), (1, 0), 1, 1, "im2col"),
    "im2col_strided_dilated_depthwise": ((1, 3, 6, 5), (3, 1, 2, 3), 2, 1, (2, 1), 3, "im2col"),
}


@pytest.mark.parametrize("name", GRADCHECK_CASES)
def test_conv2d_gradcheck_through_kernel(rng, name):
    x_shape, w_shape, stride, padding, dilation, groups, path = GRADCHECK_CASES[name]
    x = tg.Tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(w_shape), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(w_shape[0]), requires_grad=True)
    with strategy(path):
        assert tg.gradcheck(lambda x, w, b: conv_ops.conv2d(x, w, b, stride, padding, dilation,
                                                            groups, impl=conv_cpu), [x, w, b])


@pytest.mark.parametrize("path", ["direct", "im2col"])
def test_conv2d_gradcheck_through_kernel_large_input(rng, path):
    """A random-direction check at a size where the stride-1 rows are long (many SIMD lanes)."""
    x = tg.Tensor(rng.standard_normal((3, 4, 17, 19)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((5, 4, 3, 3)), requires_grad=True)
    with strategy(path):
        assert tg.gradcheck(lambda x, w: conv_ops.conv2d(x, w, padding=1, impl=conv_cpu), [x, w],
                            fast=True)


def test_the_filter_count_picks_the_strategy():
    many = np.zeros((conv_cpu.DIRECT_MAX_FILTERS + 1, 1, 3, 3))
    few = np.zeros((conv_cpu.DIRECT_MAX_FILTERS, 1, 3, 3))
    assert conv_cpu._runs_direct(few, (1, 1), 1)
    assert not conv_cpu._runs_direct(many, (1, 1), 1)
    assert conv_cpu._runs_direct(many, (1, 1), 2)            # filters per group count
    assert not conv_cpu._runs_direct(few, (2, 1), 1)         # strided: always im2col
    assert conv_cpu._shifts_columns(np.zeros((16, 6, 5, 5)), (1, 1), 1)       # 150 rows > 16
    assert not conv_cpu._shifts_columns(np.zeros((64, 3, 3, 3)), (1, 1), 1)   # 27 rows < 64
    assert not conv_cpu._shifts_columns(np.zeros((16, 6, 5, 5)), (2, 2), 1)   # strided


@pytest.mark.parametrize("path", ["direct", "im2col"])
def test_conv2d_kernel_result_keeps_the_float32_dtype(rng, path):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    geometry = conv_geometry(x.shape, w.shape, (1, 1), (1, 1), (1, 1), 1)
    with strategy(path):
        y = conv_cpu.conv2d_forward(x, w, geometry)
        grads = conv_cpu.conv2d_backward(y, x, w, geometry)
    assert y.dtype == grads[0].dtype == grads[1].dtype == np.float32


@pytest.mark.parametrize("x_shape, w_shape, groups, words", [
    ((1, 3, 5, 5), (2, 2, 3, 3), 1, "3 channels"),
    ((1, 4, 5, 5), (3, 2, 3, 3), 2, "groups=2"),
    ((1, 1, 2, 2), (1, 1, 3, 3), 1, "larger than the padded input"),
    ((1, 5, 5), (1, 1, 3, 3), 1, "(N, C, H, W)"),
])
def test_conv2d_geometry_errors_name_the_problem(x_shape, w_shape, groups, words):
    with pytest.raises(ValueError, match="conv2d") as error:
        conv_geometry(x_shape, w_shape, (1, 1), (0, 0), (1, 1), groups)
    assert words in str(error.value)


@pytest.mark.parametrize("x_shape, w_shape", [((1, 2, 6, 5), (3, 2, 3, 3)),
                                              ((1, 2, 5, 5), (3, 1, 3, 3)),
                                              ((1, 2, 5, 5), (3, 2, 2, 3))])
def test_conv2d_kernel_refuses_arrays_that_do_not_fit_the_geometry(x_shape, w_shape):
    geometry = conv_geometry((1, 2, 5, 5), (3, 2, 3, 3), (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match=r"conv2d: arrays of shapes .* do not fit ConvGeometry"):
        conv_cpu.conv2d_forward(np.zeros(x_shape), np.zeros(w_shape), geometry)


def test_one_geometry_gives_the_output_size_of_every_axis():
    geometry = conv_geometry((2, 4, 11, 7), (6, 2, 3, 2), (2, 1), (1, 0), (2, 3), 2)
    assert geometry.output == ((11 + 2 - 2 * 2 - 1) // 2 + 1, (7 - 3 * 1 - 1) // 1 + 1)
    assert geometry.padded == (13, 7) and geometry.kernel == (3, 2) and geometry.groups == 2
