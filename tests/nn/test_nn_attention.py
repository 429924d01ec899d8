"""scaled_dot_product_attention: forward against a NumPy softmax formula (and PyTorch), masks and
causality, first and second derivatives, dropout, errors."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F


def numpy_attention(q, k, v, keep=None, additive=None, scale=None):
    """softmax(q kᵀ · scale) v with blocked scores removed; a row with no key gives zeros."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = np.einsum("...id,...jd->...ij", q, k) * scale
    if additive is not None:
        scores = scores + additive
    masked = scores if keep is None else np.where(keep, scores, -np.inf)
    row_max = masked.max(-1, keepdims=True)
    exps = np.exp(masked - np.where(np.isfinite(row_max), row_max, 0.0))   # blocked: e^-inf = 0
    sums = exps.sum(-1, keepdims=True)
    weights = np.divide(exps, sums, out=np.zeros_like(exps), where=sums > 0)
    return np.einsum("...ij,...jd->...id", weights, v)


def causal_keep(tq, tk):
    return np.tril(np.ones((tq, tk), dtype=bool))


def make_qkv(rng, batch=(2, 3), tq=4, tk=5, d=3, dv=2):
    return (rng.standard_normal(batch + (tq, d)), rng.standard_normal(batch + (tk, d)),
            rng.standard_normal(batch + (tk, dv)))


def random_keep(rng, shape):
    keep = rng.random(shape) < 0.6
    keep[..., 0] = True   # every query sees at least one key (the empty case has its own test)
    return keep


@pytest.mark.parametrize("variant", ["plain", "causal", "mask", "mask_and_causal", "scale",
                                     "float_mask", "square_causal"])
def test_forward_matches_numpy(device, rng, variant):
    q, k, v = make_qkv(rng, tq=5 if variant == "square_causal" else 4)
    tq, tk = q.shape[-2], k.shape[-2]
    kwargs, keep, additive, scale = {}, None, None, None
    if variant in ("causal", "mask_and_causal", "square_causal"):
        kwargs["is_causal"], keep = True, causal_keep(tq, tk)
    if variant in ("mask", "mask_and_causal"):
        mask = random_keep(rng, (2, 1, tq, tk))
        kwargs["attn_mask"] = tg.Tensor(mask, device=device)
        keep = mask if keep is None else keep & mask
    if variant == "scale":
        kwargs["scale"] = scale = 0.37
    if variant == "float_mask":
        additive = rng.standard_normal((tq, tk))
        kwargs["attn_mask"] = additive
    out = F.scaled_dot_product_attention(*[tg.Tensor(a, device=device) for a in (q, k, v)],
                                         **kwargs)
    assert out.shape == (2, 3, tq, 2) and out.device == device
    np.testing.assert_allclose(out.numpy(), numpy_attention(q, k, v, keep, additive, scale),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_gradcheck_and_gradgradcheck(device, rng, causal, with_mask):
    q, k, v = make_qkv(rng, batch=(1, 2), tq=3, tk=3, d=2, dv=2)
    mask = random_keep(rng, (3, 3)) if with_mask else None
    tensors = [tg.Tensor(a, requires_grad=True, device=device) for a in (q, k, v)]

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)

    assert tg.gradcheck(attend, tensors)
    assert tg.gradgradcheck(attend, tensors)


def test_float32_forward(rng):
    q, k, v = make_qkv(rng)
    out = F.scaled_dot_product_attention(*[tg.Tensor(a.astype(np.float32)) for a in (q, k, v)],
                                         is_causal=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), numpy_attention(q, k, v, causal_keep(4, 5)),
                               rtol=1e-5, atol=1e-6)


def test_causal_output_ignores_the_future(rng):
    q, k, v = make_qkv(rng, tq=5, tk=5)
    before = F.scaled_dot_product_attention(tg.Tensor(q), tg.Tensor(k), tg.Tensor(v),
                                            is_causal=True)
    k[..., -1, :] += 10.0
    v[..., -1, :] -= 10.0
    after = F.scaled_dot_product_attention(tg.Tensor(q), tg.Tensor(k), tg.Tensor(v),
                                           is_causal=True)
    np.testing.assert_allclose(after.numpy()[..., :-1, :], before.numpy()[..., :-1, :])
    assert not np.allclose(after.numpy()[..., -1, :], before.numpy()[..., -1, :])


def test_row_without_keys_gives_zeros_and_finite_gradients(rng):
    q, k, v = make_qkv(rng, batch=(1,), tq=3, tk=4)
    mask = random_keep(rng, (3, 4))
    mask[1] = False
    tensors = [tg.Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*tensors, attn_mask=mask)
    np.testing.assert_array_equal(out.numpy()[:, 1], 0.0)
    np.testing.assert_allclose(out.numpy(), numpy_attention(q, k, v, mask), rtol=1e-12)
    out.sum().backward()
    assert all(np.all(np.isfinite(t.grad.numpy())) for t in tensors)
    assert tg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                        tensors)


def test_dropout_zeroes_and_rescales_weights(rng):
    """With v = identity the output *is* the weight matrix, so every entry must be 0 or the
    undropped weight / (1 - p)."""
    q, k, _ = make_qkv(rng, batch=(4,), tq=6, tk=6)
    v = np.broadcast_to(np.eye(6), (4, 6, 6))
    weights = numpy_attention(q, k, v)
    tg.manual_seed(0)
    out = F.scaled_dot_product_attention(tg.Tensor(q), tg.Tensor(k), tg.Tensor(v),
                                         dropout_p=0.25).numpy()
    dropped = out == 0
    np.testing.assert_allclose(out[~dropped], weights[~dropped] / 0.75, rtol=1e-12)
    assert 0.1 < dropped.mean() < 0.4
    with pytest.raises(ValueError, match="scaled_dot_product_attention: dropout_p"):
        F.scaled_dot_product_attention(tg.Tensor(q), tg.Tensor(k), tg.Tensor(v), dropout_p=1.0)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch(rng, causal):
    torch = pytest.importorskip("torch")
    q, k, v = make_qkv(rng, tq=5, tk=5)
    mask = random_keep(rng, (5, 5))
    ours = [tg.Tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=mask, is_causal=causal)
    torch_mask = torch.tensor(mask & causal_keep(5, 5) if causal else mask)
    out_torch = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch_mask)
    grad = rng.standard_normal(out.shape)
    out.backward(grad)
    out_torch.backward(torch.tensor(grad))
    np.testing.assert_allclose(out.numpy(), out_torch.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_shape_errors_name_the_operation():
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(tg.ShapeError, match=r"scaled_dot_product_attention: queries \(2, 4, 3\) "
                                            r"and keys \(2, 5, 2\)"):
        sdpa(tg.zeros(2, 4, 3), tg.zeros(2, 5, 2), tg.zeros(2, 5, 2))
    with pytest.raises(tg.ShapeError, match=r"scaled_dot_product_attention: keys \(2, 5, 3\) "
                                            r"and values \(2, 4, 3\)"):
        sdpa(tg.zeros(2, 4, 3), tg.zeros(2, 5, 3), tg.zeros(2, 4, 3))
    with pytest.raises(tg.ShapeError, match=r"need shape \(\.\.\., T, D\)"):
        sdpa(tg.zeros(3), tg.zeros(2, 3), tg.zeros(2, 3))
