"""The Numba kernels of the tanh GELU (kernels/gelu_cpu.py) and of LayerNorm
(kernels/layer_norm_cpu.py) against their references in ops/, value by value, gradient by
gradient, and through the layers that pick them (``F.gelu``, ``F.layer_norm``)."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import kernels
from tinygrad_edu.kernels import gelu_cpu, layer_norm_cpu
from tinygrad_edu.kernels.common import choose_version
from tinygrad_edu.ops import activation
from tinygrad_edu.ops.activation import GeluTanh
from tinygrad_edu.ops.normalization import Normalize

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def reference_layer_norm(x, weight, bias, g, eps=1e-5):
    """The reference's forward and backward (Normalize without a kernel) on arrays."""
    with kernels.use("numpy", ops="layer_norm"):
        leaves = [tg.Tensor(a, requires_grad=True) for a in (x, weight, bias)]
        y = F.layer_norm(leaves[0], weight.shape, leaves[1], leaves[2], eps)
        y.backward(tg.Tensor(g))
    return y.numpy(), [leaf.grad.numpy() for leaf in leaves]


# ----------------------------------------------------------------------------- GELU

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 1000), (2, 3, 4099), (0, 5)])
def test_gelu_kernel_agrees_with_the_reference(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    z, grad_x = gelu_cpu.gelu_tanh_forward(x), gelu_cpu.gelu_tanh_backward(grad, x)
    assert z.dtype == grad_x.dtype == dtype and z.shape == grad_x.shape == shape
    # against the reference in float64: in float32 its 1 + tanh u loses digits for x << 0
    x64, grad64 = x.astype(np.float64), grad.astype(np.float64)
    np.testing.assert_allclose(z, activation.gelu_tanh_forward(x64), **TOLERANCE[dtype])
    np.testing.assert_allclose(grad_x, activation.gelu_tanh_backward(grad64, x64),
                               **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_kernel_at_the_extremes(dtype):
    """Saturation (tanh u = ±1 without overflow warnings), tiny inputs, infinities and NaN."""
    x = np.array([0.0, 1e-30, -1e-30, 12.0, -12.0, 1e4, -1e4, np.inf, -np.inf, np.nan], dtype)
    with np.errstate(all="raise"):
        z = gelu_cpu.gelu_tanh_forward(x)
    np.testing.assert_array_equal(z[[0, 3, 5, 7]], x[[0, 3, 5, 7]])     # gelu(x) = x for x >> 0
    np.testing.assert_allclose(z[[4, 6]], 0, atol=1e-30)   # and ~0 for x << 0 (-12: -1.6e-61)
    assert np.isnan(z[8]) and np.isnan(z[9])    # -inf · 0, as in the reference
    np.testing.assert_allclose(z[1:3], x[1:3] / 2, rtol=1e-6)
    slope = gelu_cpu.gelu_tanh_backward(np.ones_like(x), x)
    np.testing.assert_allclose(slope[[0, 3, 5]], [0.5, 1, 1], rtol=1e-6)
    assert np.isnan(slope[9])


def test_gelu_kernel_reads_non_contiguous_input(rng):
    x = rng.standard_normal((6, 8)).astype(np.float32).T               # a transposed view
    np.testing.assert_allclose(gelu_cpu.gelu_tanh_forward(x), activation.gelu_tanh_forward(x),
                               **TOLERANCE[np.float32])


def test_f_gelu_runs_the_kernel_on_the_cpu_and_the_reference_when_asked(monkeypatch, rng):
    impls = []
    original = GeluTanh.forward
    monkeypatch.setattr(GeluTanh, "forward",
                        lambda self, a, impl=None: impls.append(impl) or original(self, a, impl))
    x = tg.Tensor(rng.standard_normal((4, 5)).astype(np.float32))
    with kernels.use("auto"):
        fast = F.gelu(x, approximate="tanh").numpy()
    with kernels.use("numpy", ops="gelu"):
        slow = F.gelu(x, approximate="tanh").numpy()
    F.gelu(x.half(), approximate="tanh")                               # float16: the reference
    assert impls == [gelu_cpu, None, None]
    np.testing.assert_allclose(fast, slow, **TOLERANCE[np.float32])


@pytest.mark.parametrize("choice", ["numpy", "numba"])
def test_gelu_gradcheck_with_either_implementation(choice, rng):
    x = tg.Tensor(rng.standard_normal((3, 5)) * 2, requires_grad=True)
    with kernels.use(choice, ops="gelu"):
        assert tg.gradcheck(lambda t: F.gelu(t, approximate="tanh"), [x])
        assert tg.gradgradcheck(lambda t: F.gelu(t, approximate="tanh"), [x])


# ----------------------------------------------------------------------------- LayerNorm

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, normalized_shape", [((4, 7), (7,)), ((2, 3, 5, 4), (5, 4)),
                                                       ((16, 64, 128), (128,)), ((0, 6), (6,))])
@pytest.mark.parametrize("parallel", [None, True, False])   # None: by size (serial for these)
def test_layer_norm_kernel_agrees_with_the_reference(dtype, x_shape, normalized_shape, parallel,
                                                     rng):
    x = (rng.standard_normal(x_shape) * 3 + 2).astype(dtype)
    weight, bias = (rng.standard_normal(normalized_shape).astype(dtype) for _ in range(2))
    g = rng.standard_normal(x_shape).astype(dtype)
    y, saved = layer_norm_cpu.layer_norm_forward(x, weight, bias, 1e-5, parallel)
    grads = layer_norm_cpu.layer_norm_backward(g, x, weight, saved, parallel)
    y_ref, grads_ref = reference_layer_norm(x, weight, bias, g)
    assert y.dtype == dtype
    assert [a.shape for a in grads] == [x_shape, normalized_shape, normalized_shape]
    # the sums of dL/dw and dL/db run over every row: their rounding grows with the rows
    sums = dict(TOLERANCE[dtype], atol=TOLERANCE[dtype]["atol"] * max(1, x.size // weight.size))
    np.testing.assert_allclose(y, y_ref, **TOLERANCE[dtype])
    np.testing.assert_allclose(grads[0], grads_ref[0], **TOLERANCE[dtype])
    for mine, theirs in zip(grads[1:], grads_ref[1:]):
        np.testing.assert_allclose(mine, theirs, **sums)


def test_small_arrays_run_on_one_core_and_large_ones_on_all():
    # the rule LayerNorm and the optimizers share (kernels/common.py)
    parallel, serial = layer_norm_cpu._FORWARD
    assert choose_version(layer_norm_cpu._FORWARD, 63, 64) is serial
    assert choose_version(layer_norm_cpu._FORWARD, 64, 64) is parallel
    assert choose_version(layer_norm_cpu._FORWARD, 64, 64, parallel=False) is serial
    assert choose_version(layer_norm_cpu._FORWARD, 1, 64, parallel=True) is parallel


def test_layer_norm_kernel_keeps_two_numbers_per_row_not_the_normalized_array(rng):
    x = rng.standard_normal((6, 10)).astype(np.float32)
    _, (mean, inv_std) = layer_norm_cpu.layer_norm_forward(x, np.ones(10, np.float32),
                                                           np.zeros(10, np.float32), 1e-5)
    np.testing.assert_allclose(mean, x.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(x.var(axis=1) + 1e-5), rtol=1e-5)


def test_layer_norm_kernel_propagates_nan_and_infinity():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 4.0], [np.inf, 0.0, 1.0]], np.float32)
    y, _ = layer_norm_cpu.layer_norm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32),
                                             1e-5)
    assert np.isnan(y[0]).all() and np.isnan(y[2]).all() and np.isfinite(y[1]).all()


def test_f_layer_norm_runs_the_kernel_for_the_affine_float_case(monkeypatch, rng):
    impls = []
    original = Normalize.forward
    monkeypatch.setattr(Normalize, "forward", lambda self, x, *affine, **kw:
                        impls.append(kw.get("impl")) or original(self, x, *affine, **kw))
    x = tg.Tensor(rng.standard_normal((3, 4)))
    weight, bias = tg.ones(4, dtype="float64"), tg.zeros(4, dtype="float64")
    with kernels.use("auto"):
        F.layer_norm(x, (4,), weight, bias)
        F.layer_norm(x, (4,))                                  # no affine: the reference
    with kernels.use("numpy", ops="layer_norm"):
        F.layer_norm(x, (4,), weight, bias)
    assert impls == [layer_norm_cpu, None, None]


@pytest.mark.parametrize("choice", ["numpy", "numba"])
def test_layer_norm_gradcheck_with_either_implementation(choice, rng):
    leaves = [tg.Tensor(rng.standard_normal(shape), requires_grad=True)
              for shape in ((3, 2, 5), (2, 5), (2, 5))]
    fn = lambda x, w, b: F.layer_norm(x, (2, 5), w, b)   # noqa: E731
    with kernels.use(choice, ops="layer_norm"):
        assert tg.gradcheck(fn, leaves)
        assert tg.gradgradcheck(fn, leaves)
