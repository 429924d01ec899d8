"""The functions added to ``F`` for PyTorch parity (pad, interpolate, conv1d, conv_transpose2d,
unfold/fold, the pooling options, adaptive_avg_pool2d, one_hot, normalize, cosine_similarity,
the ELU family and friends, binary_cross_entropy, smooth_l1_loss, scaled_dot_product_attention's
PyTorch arguments): values and gradients against PyTorch, and float64 gradient checks
(gradgradcheck too where the function is composed of twice-differentiable operations; conv1d
and conv_transpose2d are built on conv2d, which is first-order only)."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from strategies import away_from, leaf

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def same(fn_ours, fn_theirs=None):
    """One case for both libraries; ``fn_theirs`` when PyTorch's call is spelled differently."""
    return fn_ours, fn_theirs or fn_ours


# name: (input shapes, (ours, theirs), low, high, twice differentiable)
CASES = {
    "pad_constant": ([(2, 3, 4)], same(lambda x, F: F.pad(x, (1, 2, 0, 1), value=0.5)), True),
    "pad_negative": ([(2, 3, 4)], same(lambda x, F: F.pad(x, (-1, 2, 1, -1))), True),
    "pad_reflect": ([(1, 2, 4, 5)], same(lambda x, F: F.pad(x, (3, 2, 1, 3), mode="reflect")),
                    True),
    "pad_replicate": ([(1, 2, 3, 4)], same(lambda x, F: F.pad(x, (2, 3, 3, 1),
                                                               mode="replicate")), True),
    "pad_circular": ([(1, 2, 3, 4)], same(lambda x, F: F.pad(x, (2, 1, 1, 2),
                                                              mode="circular")), True),
    "interpolate_nearest": ([(1, 2, 3, 4)], same(lambda x, F: F.interpolate(x, size=(5, 7))),
                            True),
    "interpolate_nearest_1d": ([(2, 2, 5)], same(lambda x, F: F.interpolate(x, scale_factor=2)),
                               True),
    "interpolate_bilinear": ([(1, 2, 3, 4)], same(lambda x, F: F.interpolate(
        x, scale_factor=1.5, mode="bilinear", align_corners=False)), True),
    "interpolate_bilinear_corners": ([(1, 2, 3, 4)], same(lambda x, F: F.interpolate(
        x, size=(5, 2), mode="bilinear", align_corners=True)), True),
    "interpolate_linear": ([(2, 1, 4)], same(lambda x, F: F.interpolate(x, size=7, mode="linear")),
                           True),
    "conv1d": ([(1, 4, 7), (2, 2, 3), (2,)], same(lambda x, w, b, F: F.conv1d(
        x, w, b, stride=2, padding=1, dilation=2, groups=2)), False),
    "conv_transpose2d": ([(1, 4, 2, 3), (4, 1, 3, 2), (2,)], same(lambda x, w, b, F:
        F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                           groups=2, dilation=(1, 2))), False),
    "conv_transpose2d_stride_beyond_kernel": ([(1, 2, 2, 3), (2, 1, 1, 2)], same(
        lambda x, w, F: F.conv_transpose2d(x, w, stride=3, output_padding=(2, 1))), False),
    "conv_transpose2d_plain": ([(1, 2, 3, 3), (2, 3, 2, 2)],
                               same(lambda x, w, F: F.conv_transpose2d(x, w, stride=2)), False),
    "unfold": ([(2, 2, 4, 5)], same(lambda x, F: F.unfold(x, (2, 3), dilation=(1, 2), padding=1,
                                                          stride=(2, 1))), True),
    "fold": ([(2, 12, 6)], same(lambda x, F: F.fold(x, (4, 5), (2, 3), padding=(0, 1),
                                                    stride=2)), True),
    "max_pool2d_ceil_dilation": ([(1, 2, 7, 6)], same(lambda x, F: F.max_pool2d(
        x, 3, stride=2, padding=1, dilation=2, ceil_mode=True)), True),
    "avg_pool2d_ceil": ([(1, 2, 5, 6)], same(lambda x, F: F.avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)), True),
    "avg_pool2d_divisor": ([(1, 2, 4, 4)], same(lambda x, F: F.avg_pool2d(
        x, 2, divisor_override=3)), True),
    "adaptive_avg_pool2d": ([(1, 2, 5, 7)], same(lambda x, F: F.adaptive_avg_pool2d(x, (3, 4))),
                            True),
    "adaptive_avg_pool2d_divisible": ([(1, 2, 4, 6)],
                                      same(lambda x, F: F.adaptive_avg_pool2d(x, 2)), True),
    "normalize": ([(3, 4)], same(lambda x, F: F.normalize(x, dim=1)), True),
    "normalize_p1": ([(3, 4)], same(lambda x, F: F.normalize(x, p=1, dim=0)), True),
    "cosine_similarity": ([(3, 4), (3, 4)], same(lambda a, b, F: F.cosine_similarity(a, b)), True),
    "elu": ([(3, 4)], same(lambda x, F: F.elu(x, alpha=0.7)), True),
    "selu": ([(3, 4)], same(lambda x, F: F.selu(x)), True),
    "silu": ([(3, 4)], same(lambda x, F: F.silu(x)), True),
    "mish": ([(3, 4)], same(lambda x, F: F.mish(x)), True),
    "hardtanh": ([(3, 4)], same(lambda x, F: F.hardtanh(x, -0.5, 1.0)), True),
    "logsigmoid": ([(3, 4)], same(lambda x, F: F.logsigmoid(x)), True),
    "leaky_relu": ([(3, 4)], same(lambda x, F: F.leaky_relu(x, 0.2)), True),
    "smooth_l1_loss": ([(3, 4), (3, 4)], same(lambda a, b, F: F.smooth_l1_loss(a, b, beta=0.5)),
                       True),
    "sdpa_bool_mask": ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], (
        lambda q, k, v, F: F.scaled_dot_product_attention(q, k, v, attn_mask=tg.Tensor(KEEP)),
        lambda q, k, v, F: F.scaled_dot_product_attention(q, k, v,
                                                          attn_mask=torch.from_numpy(KEEP))),
        True),
    "sdpa_float_mask_scale": ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], (
        lambda q, k, v, F: F.scaled_dot_product_attention(q, k, v, attn_mask=tg.Tensor(BIAS),
                                                          scale=0.3),
        lambda q, k, v, F: F.scaled_dot_product_attention(q, k, v, attn_mask=torch.from_numpy(
            BIAS), scale=0.3)), True),
    "sdpa_causal": ([(2, 4, 3), (2, 4, 3), (2, 4, 3)], same(
        lambda q, k, v, F: F.scaled_dot_product_attention(q, k, v, is_causal=True)), True),
}
KEEP = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 1]], bool)
BIAS = np.linspace(-1, 1, 15).reshape(3, 5)
KINKED = {"max_pool2d_ceil_dilation", "hardtanh", "leaky_relu", "smooth_l1_loss", "elu", "selu"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_matches_torch_and_gradients(name, rng):
    shapes, (ours_fn, theirs_fn), twice = CASES[name]
    arrays = [rng.uniform(-2, 2, size=shape) for shape in shapes]
    if name in KINKED:
        arrays = [away_from(a, [-0.5, 0.0, 1.0]) for a in arrays]
        if name == "smooth_l1_loss":
            arrays[1] = arrays[0] + away_from(rng.uniform(-1, 1, size=shapes[1]), [-0.5, 0, 0.5])
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours, F), theirs_fn(*theirs, TF)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    seed = rng.standard_normal(expected.shape)
    out.backward(tg.Tensor(seed))
    expected.backward(torch.from_numpy(seed))
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    fn = lambda *xs: ours_fn(*xs, F)
    assert tg.gradcheck(fn, ours, fast=name.startswith("conv"))   # conv: a random projection
    if twice:
        assert tg.gradgradcheck(fn, ours)


def test_max_pool2d_returns_torchs_indices_and_routes_gradients_to_them(rng):
    x = rng.standard_normal((2, 3, 7, 8))
    for kwargs in (dict(kernel_size=3), dict(kernel_size=(2, 3), stride=(2, 1), padding=1,
                                              dilation=(2, 1), ceil_mode=True)):
        out, indices = F.max_pool2d(tg.Tensor(x), return_indices=True, **kwargs)
        expected, expected_indices = TF.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    ties = leaf(np.ones((1, 1, 2, 2)))
    F.max_pool2d(ties, 2, ceil_mode=True).sum().backward()   # the first maximum wins, alone
    assert ties.grad.numpy().ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_binary_cross_entropy_against_torch_and_clamped_logs(rng):
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    y = (rng.uniform(size=(3, 4)) > 0.5).astype(np.float64)
    w = rng.uniform(0.5, 2, size=(3, 4))
    ours, theirs = leaf(p), torch.tensor(p, requires_grad=True)
    out = F.binary_cross_entropy(ours, tg.Tensor(y), weight=tg.Tensor(w))
    expected = TF.binary_cross_entropy(theirs, torch.tensor(y), weight=torch.tensor(w))
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-12)
    out.backward()
    expected.backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    assert tg.gradgradcheck(lambda a: F.binary_cross_entropy(a, tg.Tensor(y)), [leaf(p)])
    edge = F.binary_cross_entropy(tg.Tensor([0.0, 1.0]), tg.Tensor([1.0, 0.0]), reduction="none")
    assert edge.tolist() == [100.0, 100.0]
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        F.binary_cross_entropy(tg.Tensor([1.5]), tg.Tensor([1.0]))


def test_one_hot():
    out = F.one_hot(tg.Tensor(np.array([[0, 2], [1, 0]])))
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor([[0, 2], [1, 0]])).numpy())
    assert F.one_hot(tg.Tensor(np.array([1])), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(tg.Tensor(np.array([3])), num_classes=2)


def test_sdpa_keeps_the_fused_path_without_a_mask(rng):
    from tinygrad_edu import kernels
    from tinygrad_edu.ops.fused_attention import FusedAttention
    q = tg.Tensor(rng.standard_normal((1, 4, 3)), requires_grad=True)
    with kernels.use("numba"):
        assert isinstance(F.scaled_dot_product_attention(q, q, q, is_causal=True).grad_fn,
                          FusedAttention)
        masked = F.scaled_dot_product_attention(q, q, q, attn_mask=tg.Tensor(np.eye(4, dtype=bool)))
        assert not isinstance(masked.grad_fn, FusedAttention)


@pytest.mark.parametrize("call", [
    lambda: F.pad(tg.zeros(2, 3), (1, 2, 3)),
    lambda: F.pad(tg.zeros(2, 3), (3, 0), mode="reflect"),
    lambda: F.pad(tg.zeros(2, 3), (1, 1), mode="wrap"),
    lambda: F.interpolate(tg.zeros(1, 1, 2, 2), size=3, scale_factor=2),
    lambda: F.interpolate(tg.zeros(1, 1, 2), size=3, mode="bilinear"),
    lambda: F.conv_transpose2d(tg.zeros(1, 2, 3, 3), tg.zeros(3, 1, 2, 2)),
    lambda: F.conv_transpose2d(tg.zeros(1, 2, 3, 3), tg.zeros(2, 1, 2, 2), output_padding=1),
    lambda: F.fold(tg.zeros(1, 4, 5), (3, 3), 2),
    lambda: F.max_pool2d(tg.zeros(1, 1, 4, 4), 2, padding=2, ceil_mode=True),
])
def test_bad_arguments_raise_value_errors(call):
    with pytest.raises(ValueError):
        call()
