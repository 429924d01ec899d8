"""The numba.cuda kernels against the reference, run under Numba's CUDA simulator.

Not collected by the normal test run (the name does not start with ``test_``):
``tests/test_kernels_cudasim.py`` runs this file with pytest in a separate process with
``NUMBA_ENABLE_CUDASIM=1``, so the simulator never leaks into the other tests. The simulator
runs every GPU thread as a Python thread, so the sizes are tiny. On a machine with a GPU, the
same file can be run without the variable, on CuPy arrays (``as_device`` moves them there).
"""
import os

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.kernels import attention_cuda, conv_cuda, pool_cuda
from tinygrad_edu.ops import conv as conv_ops, pool as pool_ops
from tinygrad_edu.ops.attention import scaled_dot_product_attention
from tinygrad_edu.ops.window import conv_geometry, pool_geometry

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
if not SIMULATED and not tg.cuda.is_available():
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 or a GPU with CuPy", allow_module_level=True)


def as_device(array):
    """NumPy arrays under the simulator, CuPy arrays on a real GPU."""
    return array if SIMULATED else backend.to_device(array, "cuda")


def assert_close(actual, expected, tolerance):
    actual = backend.asnumpy(actual)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert np.abs(actual - expected).max() <= tolerance * max(np.abs(expected).max(), 1e-30)


TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


# (x shape, w shape, stride, padding, dilation, groups)
@pytest.mark.parametrize("case", [((2, 2, 4, 5), (3, 2, 2, 3), (1, 1), (1, 0), (1, 1), 1),
                                  ((1, 4, 5, 4), (2, 2, 2, 2), (2, 1), (0, 1), (1, 2), 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_cuda_kernels_equal_reference(case, dtype):
    rng = np.random.default_rng(1)
    x_shape, w_shape, *settings = case
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    geometry = conv_geometry(x_shape, w_shape, *settings)
    y_ref = conv_ops.conv2d_forward(x, w, geometry)
    assert_close(conv_cuda.conv2d_forward(as_device(x), as_device(w), geometry), y_ref,
                 TOLERANCE[dtype])
    grad_y = rng.standard_normal(y_ref.shape).astype(dtype)
    got = conv_cuda.conv2d_backward(as_device(grad_y), as_device(x), as_device(w), geometry)
    for a, b in zip(got, conv_ops.conv2d_backward(grad_y, x, w, geometry)):
        assert_close(a, b, TOLERANCE[dtype])


@pytest.mark.parametrize("pool_args", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1))])
def test_max_pool2d_cuda_kernels_equal_reference(pool_args):
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, (2, 2, 5, 4)).astype(np.float32)      # many ties
    geometry = pool_geometry(x.shape, *pool_args)
    y, argmax = pool_cuda.max_pool2d_forward(as_device(x), geometry)
    y_ref, argmax_ref = pool_ops.max_pool2d_forward(x, geometry)
    np.testing.assert_array_equal(backend.asnumpy(y), y_ref)
    np.testing.assert_array_equal(backend.asnumpy(argmax), argmax_ref)
    grad_y = rng.standard_normal(y_ref.shape).astype(np.float32)
    grad_x = pool_cuda.max_pool2d_backward(as_device(grad_y), argmax, x.shape)
    assert_close(grad_x, pool_ops.max_pool2d_backward(grad_y, argmax_ref, x.shape), 1e-6)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lead", [(2,), (2, 3)])       # (N,) and (batch, heads)
def test_attention_cuda_kernels_equal_reference(causal, dtype, lead):
    rng = np.random.default_rng(3)
    q, k, v, grad_out = (rng.standard_normal(lead + shape).astype(dtype)
                         for shape in ((4, 3), (5, 3), (5, 2), (4, 2)))
    tensors = [tg.Tensor(a, requires_grad=True) for a in (q, k, v)]
    out_ref = scaled_dot_product_attention(*tensors, causal=causal)
    grads_ref = tg.grad(out_ref, tensors, tg.Tensor(grad_out))

    out, lse = attention_cuda.attention_forward(as_device(q), as_device(k), as_device(v), causal,
                                                None)
    assert_close(out, out_ref.numpy(), TOLERANCE[dtype])
    grads = attention_cuda.attention_backward(as_device(grad_out), as_device(q), as_device(k),
                                              as_device(v), out, lse, causal, None)
    for a, b in zip(grads, grads_ref):
        assert_close(a, b.numpy(), TOLERANCE[dtype])
