"""MKL's packed product (kernels/mkl_gemm.py) against NumPy's, and its place in the LSTM.

With MKL installed (CI installs it: ``TINYGRAD_EDU_REQUIRE_EXTRAS=1`` fails the run without it),
every product of ``PackedProduct`` and ``matmul`` is compared with NumPy's ``@`` in float32 and
float64, for the layouts the LSTM hands them and others (row-strided, reversed, column-major,
transposed, one row, none), the packed one also after the number of rows changes (a new
packing); out += x·M in place; the refusals; the fallback to NumPy's product (other dtypes,
mixed dtypes, ``TINYGRAD_EDU_MKL=0``). The LSTM's float64
gradient check through the kernels is in test_ops_lstm.py; here, that it really multiplies
packed. Without MKL the MKL tests skip, and the fallback tests still run."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.kernels import lstm_cpu, mkl_gemm
from tinygrad_edu.ops.lstm import RecurrentProduct, lstm_layer

needs_mkl = pytest.mark.skipif(not mkl_gemm.available(),
                               reason='needs MKL: pip install "tinygrad_edu[mkl]"')
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-13}


def layouts(rng, rows, k, dtype):
    """The same kind of (rows, k) matrix as it may lie in memory."""
    wide = rng.standard_normal((2 * rows, 2 * k)).astype(dtype)
    return {"contiguous": np.ascontiguousarray(wide[:rows, :k]),
            "every other row": wide[::2, :k],
            "rows reversed": wide[:rows, :k][::-1],
            "column-major": np.asfortranarray(wide[:rows, :k]),
            "every other column": wide[:rows, ::2]}


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, k, n", [(32, 256, 1024), (32, 1024, 256), (3, 5, 7), (1, 4, 2)])
def test_the_packed_product_agrees_with_numpy(rng, dtype, rows, k, n):
    matrix = rng.standard_normal((k, n)).astype(dtype)
    product = mkl_gemm.recurrent_product(matrix)
    assert isinstance(product, mkl_gemm.PackedProduct)
    scale = np.sqrt(k)   # the size of a sum of k products of standard normals
    for name, x in layouts(rng, rows, k, dtype).items():
        got = product(x)
        assert got.dtype == dtype and got.shape == (rows, n), name
        np.testing.assert_allclose(got, x @ matrix, rtol=0, atol=TOLERANCE[dtype] * scale,
                                   err_msg=name)
        out = rng.standard_normal((rows, n)).astype(dtype)
        expected = out + x @ matrix
        product.add_to(out, x)
        np.testing.assert_allclose(out, expected, rtol=0, atol=TOLERANCE[dtype] * scale,
                                   err_msg=name)


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(64, 1024, 256), (1024, 64, 32), (1, 3, 2), (5, 1, 1)])
def test_matmul_agrees_with_numpy_for_every_layout(rng, dtype, m, k, n):
    scale = np.sqrt(k)
    for a_name, a in layouts(rng, m, k, dtype).items():
        for b_name, b in layouts(rng, k, n, dtype).items():
            got = mkl_gemm.matmul(a, b)
            assert got.dtype == dtype and got.shape == (m, n)
            np.testing.assert_allclose(got, a @ b, rtol=0, atol=TOLERANCE[dtype] * scale,
                                       err_msg=f"{a_name} times {b_name}")
    transposed = rng.standard_normal((k, m)).astype(dtype).T   # as the weight gradients pass it
    b = rng.standard_normal((k, n)).astype(dtype)
    np.testing.assert_allclose(mkl_gemm.matmul(transposed, b), transposed @ b, rtol=0,
                               atol=TOLERANCE[dtype] * scale)


def test_matmul_leaves_the_rest_to_numpy(rng):
    """Mixed dtypes, integers, empty operands and a mismatch go to ``@``: same results, and
    NumPy's own error for shapes that do not fit."""
    a32, b64 = np.ones((2, 3), np.float32), rng.standard_normal((3, 2))
    assert mkl_gemm.matmul(a32, b64).dtype == np.float64
    np.testing.assert_array_equal(mkl_gemm.matmul(np.arange(6).reshape(2, 3),
                                                  np.arange(6).reshape(3, 2)),
                                  np.arange(6).reshape(2, 3) @ np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(mkl_gemm.matmul(np.ones((2, 0)), np.ones((0, 4))),
                                  np.zeros((2, 4)))
    with pytest.raises(ValueError, match="matmul"):
        mkl_gemm.matmul(np.ones((2, 3)), np.ones((4, 2)))


@needs_mkl
def test_a_new_number_of_rows_packs_again(rng):
    matrix = rng.standard_normal((6, 4))
    product = mkl_gemm.recurrent_product(matrix)
    for rows in (5, 1, 5, 9, 0):
        x = rng.standard_normal((rows, 6))
        np.testing.assert_allclose(product(x), x @ matrix, rtol=1e-13, atol=1e-13)


@needs_mkl
def test_the_matrix_is_copied_when_packed(rng):
    matrix = rng.standard_normal((6, 4))
    product = mkl_gemm.recurrent_product(matrix)
    x = rng.standard_normal((2, 6))
    expected = x @ matrix
    matrix[...] = 0   # the caller's array changes after packing; the product does not
    np.testing.assert_allclose(product(x), expected, rtol=1e-13, atol=1e-13)


@needs_mkl
def test_refusals_name_the_shapes_and_dtypes(rng):
    product = mkl_gemm.recurrent_product(rng.standard_normal((6, 4)))
    with pytest.raises(TypeError, match="float32.*float64"):
        product(np.zeros((2, 6), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(6, 4\)"):
        product(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"out \(2, 3\)"):
        product.add_to(np.zeros((2, 3)), np.zeros((2, 6)))
    with pytest.raises(ValueError, match="rows contiguous"):
        product.add_to(np.zeros((4, 2)).T, np.zeros((2, 6)))


@pytest.mark.parametrize("dtype", [np.float16, np.int64])
def test_other_dtypes_use_numpys_product(rng, dtype):
    matrix = (rng.standard_normal((3, 2)) * 4).astype(dtype)
    product = mkl_gemm.recurrent_product(matrix)
    assert type(product) is RecurrentProduct
    x = (rng.standard_normal((2, 3)) * 4).astype(dtype)
    np.testing.assert_array_equal(product(x), x @ matrix)
    out = np.ones((2, 2), dtype)
    product.add_to(out, x)
    np.testing.assert_array_equal(out, 1 + x @ matrix)


def test_tinygrad_edu_mkl_0_turns_mkl_off(rng, monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_MKL", "0")
    mkl_gemm._mkl.cache_clear()
    try:
        assert not mkl_gemm.available()
        assert type(mkl_gemm.recurrent_product(rng.standard_normal((3, 2)))) is RecurrentProduct
    finally:
        monkeypatch.delenv("TINYGRAD_EDU_MKL")
        mkl_gemm._mkl.cache_clear()


@needs_mkl
def test_the_lstm_kernels_multiply_packed(rng, monkeypatch):
    """The layer with the kernels runs PackedProduct forward and backward, and its gradients
    are the reference's (the float64 gradient check is in test_ops_lstm.py)."""
    used = []
    original = mkl_gemm.PackedProduct.__init__

    def counting(self, matrix):
        used.append(matrix.shape)
        original(self, matrix)
    monkeypatch.setattr(mkl_gemm.PackedProduct, "__init__", counting)
    shapes = [(5, 3, 4), (3, 6), (3, 6), (24, 4), (24, 6), (24,), (24,)]
    leaves = [tg.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    upstream = tg.Tensor(rng.standard_normal((2, 5, 3, 6)).astype(np.float32))
    with_kernel = tg.grad(lstm_layer(*leaves, impl=lstm_cpu), leaves, upstream)
    assert used == [(6, 24), (24, 6)]   # W_hhᵀ forward, W_hh backward
    reference = tg.grad(lstm_layer(*leaves), leaves, upstream)
    for a, b in zip(with_kernel, reference):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- linear layers

def test_linear_layers_run_their_products_by_the_kernel_switch(rng, monkeypatch):
    """nn.Linear and F.linear ask the switch ("linear": kernels/mkl_gemm.py) for their three
    products; ``kernels.use("numpy", ops=["linear"])`` gives the reference, NumPy's ``@``."""
    calls = []
    original = mkl_gemm.matmul
    monkeypatch.setattr(mkl_gemm, "matmul", lambda a, b: calls.append(a.shape) or original(a, b))
    layer = tg.nn.Linear(3, 4).double()
    x = tg.Tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    layer(x).sum().backward()
    assert calls == [(10, 3), (10, 4), (4, 10)]   # y = x Wᵀ, dL/dx = g W, dL/dW = gᵀ x
    expected = [x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()]
    calls.clear()
    x.grad = layer.weight.grad = layer.bias.grad = None
    with tg.kernels.use("numpy", ops=["linear"]):
        layer(x).sum().backward()
    assert calls == []
    for got, want in zip([x.grad, layer.weight.grad, layer.bias.grad], expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck_through_mkl(rng, bias):
    from tinygrad_edu.ops.linear import linear
    shapes = [(2, 3, 4), (5, 4)] + ([(5,)] if bias else [])
    leaves = [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert tg.gradcheck(lambda *t: linear(*t, impl=mkl_gemm), leaves)


@needs_mkl
def test_the_command_lines_thread_limit_reaches_mkl():
    import numba
    from threadpoolctl import threadpool_limits
    from tinygrad_edu.cli import limit_threads
    library, numba_threads = mkl_gemm._mkl(), numba.get_num_threads()
    before = library.MKL_Get_Max_Threads()
    try:
        limit_threads(1)
        assert library.MKL_Get_Max_Threads() == 1
    finally:
        threadpool_limits(before)
        numba.set_num_threads(numba_threads)
    assert library.MKL_Get_Max_Threads() == before
