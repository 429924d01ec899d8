"""The fused attention kernels (kernels/attention_cpu.py) and ``FusedAttention`` against the
reference (ops/attention.py).

Drawn batch sizes, sequence lengths that are not multiples of the kernel's block size (and
length 1), head sizes, causal on and off, float32 and float64; the log-sum-exp against NumPy;
the vectorized exponential the kernels use; float64 gradient checks through the fused path,
broadcasting of the leading axes, and second derivatives (which fall back to the reference)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numba import njit

import tinygrad_edu as tg
from tinygrad_edu.kernels import attention_cpu, exp_cpu
from tinygrad_edu.ops.attention import scaled_dot_product_attention
from tinygrad_edu.ops.fused_attention import FusedAttention, fused_attention

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
BLOCK = attention_cpu.BLOCK_K


def relative_error(actual, expected) -> float:
    """max |actual - expected| / max |expected|, the denominator at least 1: the inputs are of
    order 1, so an exact 0 (a single key has no gradient) is met with the rounding of O(1)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if expected.size == 0:
        return 0.0
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1.0))


def reference(q, k, v, grad_out, causal, scale):
    """The reference output and (dq, dk, dv), through the engine's autograd."""
    tensors = [tg.Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = scaled_dot_product_attention(*tensors, causal=causal, scale=scale)
    grads = tg.grad(out, tensors, tg.Tensor(grad_out))
    return out.numpy(), [g.numpy() for g in grads]


def numpy_lse(q, k, causal, scale):
    """log Σ_j e^(scale · q_i · k_j) over the visible keys, in float64."""
    scores = scale * np.einsum("nid,njd->nij", q.astype(np.float64), k.astype(np.float64))
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[1:], bool)), scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(scores - top).sum(axis=-1, keepdims=True)))[..., 0]


lengths = st.one_of(st.integers(1, 5), st.sampled_from([BLOCK - 1, BLOCK, BLOCK + 1]),
                    st.integers(1, 2 * BLOCK + 7))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), tq=lengths, tk=lengths, d=st.integers(1, 9), dv=st.integers(1, 9),
       causal=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([None, 0.3]), seed=st.integers(0, 2**16))
def test_attention_kernels_equal_reference(n, tq, tk, d, dv, causal, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    q, k, v, grad_out = (rng.standard_normal(shape).astype(dtype)
                         for shape in ((n, tq, d), (n, tk, d), (n, tk, dv), (n, tq, dv)))
    out, lse = attention_cpu.attention_forward(q, k, v, causal, scale)
    out_ref, grads_ref = reference(q, k, v, grad_out, causal, scale)
    assert relative_error(out, out_ref) < TOLERANCE[dtype]
    lse_ref = numpy_lse(q, k, causal, 1 / np.sqrt(d) if scale is None else scale)
    assert relative_error(lse, lse_ref.astype(dtype)) < TOLERANCE[dtype]

    grads = attention_cpu.attention_backward(grad_out, q, k, v, out, lse, causal, scale)
    for got, expected in zip(grads, grads_ref):
        assert relative_error(got, expected) < TOLERANCE[dtype]


@njit
def _exp_all(values):
    for i in range(values.shape[0]):
        values[i] = exp_cpu.exp(values[i])


@pytest.mark.parametrize("dtype, ulps", [(np.float32, 1), (np.float64, 4)])
def test_vectorized_exp_matches_numpy_to_a_few_ulps(rng, dtype, ulps):
    lowest = np.log(np.finfo(dtype).smallest_subnormal)
    x = np.concatenate([-rng.exponential(5.0, 4000), rng.uniform(-3, 3, 4000),
                        rng.uniform(lowest - 10, np.log(np.finfo(dtype).max) + 10, 4000),
                        [0.0, -0.0, 1e-30, -1e-30, -80.0, -700.0, 80.0, 700.0]]).astype(dtype)
    got = x.copy()
    _exp_all(got)
    with np.errstate(over="ignore"):
        expected = np.exp(x.astype(np.float64))
    normal = (expected > np.finfo(dtype).tiny) & (expected < np.finfo(dtype).max)
    relative = np.abs(got[normal] - expected[normal]) / expected[normal]
    assert relative.max() <= ulps * np.finfo(dtype).eps
    assert np.all(np.isinf(got[expected >= np.finfo(dtype).max]))   # overflow: inf
    # below the normal range e^x goes through the subnormals (within one of their steps) to 0
    subnormal = expected <= np.finfo(dtype).tiny
    assert subnormal.sum() > 100
    step = np.finfo(dtype).smallest_subnormal
    assert np.all(np.abs(got[subnormal] - expected[subnormal]) <= step)
    assert got.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vectorized_exp_of_infinities_is_zero_and_inf(dtype):
    values = np.array([-np.inf, -1e30, 0.0, np.inf], dtype)
    _exp_all(values)
    np.testing.assert_array_equal(values, [0.0, 0.0, 1.0, np.inf])


def test_a_causal_first_query_copies_the_first_value(rng):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    out, lse = attention_cpu.attention_forward(q, k, v, True, None)
    np.testing.assert_allclose(out[:, 0], v[:, 0])
    np.testing.assert_allclose(lse[:, 0], (q[:, 0] * k[:, 0]).sum(-1) / np.sqrt(3))


def test_large_scores_do_not_overflow(rng):
    q, k, v = (rng.standard_normal((1, 70, 4)) * 30 for _ in range(3))   # scores in the hundreds
    out, lse = attention_cpu.attention_forward(q, k, v, False, 1.0)
    assert np.isfinite(out).all() and np.isfinite(lse).all()
    out_ref, _ = reference(q, k, v, np.ones_like(out), False, 1.0)
    assert relative_error(out, out_ref) < 1e-10


@pytest.mark.parametrize("causal", [False, True])
def test_attention_kernels_read_the_heads_of_one_projection_in_place(rng, causal):
    """q, k, v as a transformer splits them off one (B, T, 3, H, D) projection: strided views,
    two leading axes. Same results as contiguous (N, T, D) copies; out and the gradients come
    back as (B, H, T, D) laid out (B, T, H, D), so merging the heads again is a view."""
    batch, steps, heads, dim = 2, BLOCK + 3, 3, 4
    qkv = rng.standard_normal((batch, steps, 3, heads, dim)).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv                                                       # (B, H, T, D) views
    flat = [np.ascontiguousarray(a).reshape(-1, steps, dim) for a in (q, k, v)]
    out, lse = attention_cpu.attention_forward(q, k, v, causal, None)
    out_flat, lse_flat = attention_cpu.attention_forward(*flat, causal, None)
    assert out.shape == (batch, heads, steps, dim) and lse.shape == (batch, heads, steps)
    np.testing.assert_array_equal(out.reshape(out_flat.shape), out_flat)
    np.testing.assert_array_equal(lse.reshape(lse_flat.shape), lse_flat)
    merged = out.transpose(0, 2, 1, 3)                                  # (B, T, H, D)
    assert merged.flags.c_contiguous
    grad_out = rng.standard_normal(out.shape)
    grads = attention_cpu.attention_backward(grad_out, q, k, v, out, lse, causal, None)
    grads_flat = attention_cpu.attention_backward(grad_out.reshape(out_flat.shape), *flat,
                                                  out_flat, lse_flat, causal, None)
    for got, expected, like in zip(grads, grads_flat, (q, k, v)):
        assert got.shape == like.shape and got.transpose(0, 2, 1, 3).flags.c_contiguous
        np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-13, atol=1e-13)


def test_attention_kernels_take_any_number_of_leading_axes(rng):
    q, k, v = (rng.standard_normal((2, 2, 2, 5, 3)) for _ in range(3))   # three leading axes
    out, lse = attention_cpu.attention_forward(q, k, v, True, None)
    out_flat, lse_flat = attention_cpu.attention_forward(*(a.reshape(8, 5, 3) for a in (q, k, v)),
                                                         True, None)
    np.testing.assert_array_equal(out.reshape(8, 5, 3), out_flat)
    single, _ = attention_cpu.attention_forward(q[0, 0, 0], k[0, 0, 0], v[0, 0, 0], True, None)
    np.testing.assert_array_equal(single, out_flat[0])                  # no leading axes
    grads = attention_cpu.attention_backward(out_flat, *(a.reshape(8, 5, 3) for a in (q, k, v)),
                                             out_flat, lse_flat, True, None)
    assert out_flat.flags.c_contiguous and all(g.flags.c_contiguous for g in grads)  # (N, T, D)


@pytest.mark.parametrize("causal", [False, True])
def test_fused_attention_gradcheck(rng, causal):
    q, k, v = (tg.Tensor(rng.standard_normal((2, 5, 3)), requires_grad=True) for _ in range(3))
    assert tg.gradcheck(lambda q, k, v: fused_attention(q, k, v, causal, impl=attention_cpu),
                        [q, k, v])


@pytest.mark.parametrize("causal", [False, True])
def test_fused_attention_gradcheck_across_blocks(rng, causal):
    """Sequences longer than a block, not a multiple of it: a random-direction check."""
    q, k = (tg.Tensor(rng.standard_normal((2, BLOCK + 9, 4)), requires_grad=True) for _ in range(2))
    v = tg.Tensor(rng.standard_normal((2, BLOCK + 9, 3)), requires_grad=True)
    assert tg.gradcheck(lambda q, k, v: fused_attention(q, k, v, causal, 0.7, impl=attention_cpu),
                        [q, k, v], fast=True)


def test_fused_attention_broadcasts_leading_axes(rng):
    q = tg.Tensor(rng.standard_normal((2, 3, 4, 5)), requires_grad=True)     # (B, H, Tq, D)
    k = tg.Tensor(rng.standard_normal((3, 6, 5)), requires_grad=True)        # (H, Tk, D)
    v = tg.Tensor(rng.standard_normal((2, 1, 6, 2)), requires_grad=True)     # (B, 1, Tk, Dv)
    out = fused_attention(q, k, v, impl=attention_cpu)
    assert isinstance(out.grad_fn, FusedAttention) and out.shape == (2, 3, 4, 2)
    np.testing.assert_allclose(out.numpy(), scaled_dot_product_attention(q, k, v).numpy(),
                               rtol=1e-12, atol=1e-12)
    assert tg.gradcheck(lambda q, k, v: fused_attention(q, k, v, impl=attention_cpu), [q, k, v])


def test_fused_attention_second_derivatives_use_the_reference(rng):
    q, k, v = (tg.Tensor(rng.standard_normal((1, 4, 2)), requires_grad=True) for _ in range(3))
    assert tg.gradgradcheck(lambda q, k, v: fused_attention(q, k, v, True, impl=attention_cpu),
                            [q, k, v])


def test_fused_attention_keeps_float32(rng):
    q = tg.Tensor(rng.standard_normal((2, 7, 4)).astype(np.float32), requires_grad=True)
    out = fused_attention(q, q, q, impl=attention_cpu)
    out.sum().backward()
    assert out.dtype == np.float32 and q.grad.dtype == np.float32


@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 5, 3), (2, 5, 2)),     # D differs
                                    ((2, 3, 4), (2, 5, 4), (2, 6, 2)),     # Tk differs
                                    ((4,), (5, 4), (5, 2))])               # q has no T axis
def test_fused_attention_errors_name_the_shapes(shapes):
    q, k, v = (tg.zeros(*shape) for shape in shapes)
    with pytest.raises(tg.ShapeError, match="fused_attention"):
        fused_attention(q, k, v, impl=attention_cpu)


def test_attention_kernel_rejects_zero_keys():
    with pytest.raises(ValueError, match="no keys"):
        attention_cpu.attention_forward(np.zeros((1, 2, 3)), np.zeros((1, 0, 3)),
                                        np.zeros((1, 0, 3)), False, None)


def test_attention_kernel_names_leading_axes_that_differ():
    with pytest.raises(ValueError, match=r"same leading axes, got \(2, 3, 4\), \(1, 5, 4\)"):
        attention_cpu.attention_forward(np.zeros((2, 3, 4)), np.zeros((1, 5, 4)),
                                        np.zeros((1, 5, 4)), False, None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_hidden_scores_leave_no_inf_or_nan(dtype):
    """The kernels take e^(S - m) over whole rows, masked queries too, and zero those after:
    a masked score far above the visible ones (its e^ overflows to inf) must not leak."""
    t, d = 70, 4
    q = np.ones((1, t, d), dtype)
    k = (np.arange(t, dtype=dtype)[:, None] * 10 * np.ones(d, dtype))[None]   # S_ij grows with j
    v = np.random.default_rng(0).standard_normal((1, t, d)).astype(dtype)
    grad_out = np.ones((1, t, d), dtype)
    out, lse = attention_cpu.attention_forward(q, k, v, True, None)
    grads = attention_cpu.attention_backward(grad_out, q, k, v, out, lse, True, None)
    assert all(np.isfinite(a).all() for a in (out, lse, *grads))
    out_ref, grads_ref = reference(q, k, v, grad_out, True, None)
    assert relative_error(out, out_ref) < TOLERANCE[dtype]
    for got, expected in zip(grads, grads_ref):
        assert relative_error(got, expected) < TOLERANCE[dtype]
