"""MultiHeadAttention, positional encodings and TransformerBlock: against PyTorch's modules with
the same weights, a NumPy multi-head formula, float64 gradient checks, mask conventions, errors."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def numpy_mha(x, w_in, b_in, w_out, b_out, heads, keep=None):
    """Multi-head self-attention written out in NumPy: project, split heads, attend, merge."""
    batch, steps, e = x.shape
    d = e // heads
    q, k, v = np.split(x @ w_in.T + b_in, 3, axis=-1)                    # (B, T, E) each
    split = [a.reshape(batch, steps, heads, d).transpose(0, 2, 1, 3) for a in (q, k, v)]
    scores = split[0] @ split[1].transpose(0, 1, 3, 2) / math.sqrt(d)    # (B, H, T, T)
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    heads_out = (weights @ split[2]).transpose(0, 2, 1, 3).reshape(batch, steps, e)
    return heads_out @ w_out.T + b_out


def randomized(module, rng):
    """Random values in every parameter (the zero biases of the init would hide bugs)."""
    for p in module.parameters():
        p.data = rng.standard_normal(p.shape) * 0.5
    return module


def test_self_attention_matches_numpy_formula(rng):
    mha = randomized(nn.MultiHeadAttention(6, 3), rng)
    x = rng.standard_normal((2, 4, 6))
    for causal in (False, True):
        keep = np.tril(np.ones((4, 4), dtype=bool)) if causal else None
        expected = numpy_mha(x, mha.in_proj_weight.numpy(), mha.in_proj_bias.numpy(),
                             mha.out_proj.weight.numpy(), mha.out_proj.bias.numpy(), 3, keep)
        np.testing.assert_allclose(mha(tg.Tensor(x), is_causal=causal).numpy(), expected,
                                   rtol=1e-12, atol=1e-12)


def test_parameters_follow_pytorch():
    mha = nn.MultiHeadAttention(8, 2)
    assert {k: v.shape for k, v in mha.state_dict().items()} == {
        "in_proj_weight": (24, 8), "in_proj_bias": (24,), "out_proj.weight": (8, 8),
        "out_proj.bias": (8,)}
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= math.sqrt(6 / (8 + 24))
    assert "in_proj_bias" not in nn.MultiHeadAttention(8, 2, bias=False).state_dict()


@pytest.mark.parametrize("batch_first", [True, False])
def test_matches_torch_with_masks(rng, batch_first):
    torch = pytest.importorskip("torch")
    e, h, b, tq, tk = 8, 2, 3, 4, 5
    theirs = torch.nn.MultiheadAttention(e, h, batch_first=batch_first).double()
    ours = nn.MultiHeadAttention(e, h, batch_first=batch_first).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    layout = (lambda bb, t: (bb, t, e)) if batch_first else (lambda bb, t: (t, bb, e))
    x = rng.standard_normal(layout(b, tq))
    memory, values = rng.standard_normal(layout(b, tk)), rng.standard_normal(layout(b, tk))
    padding = rng.random((b, tk)) < 0.3
    padding[:, 0] = False
    blocked = rng.random((tq, tk)) < 0.3
    blocked[:, 1] = False
    blocked_per_head = rng.random((b * h, tq, tk)) < 0.3
    blocked_per_head[..., 2] = False
    self_padding = padding[:, :tq]
    cases = [
        ((x,), {}, (x, x, x), {}),
        ((x,), {"is_causal": True}, (x, x, x),
         {"attn_mask": torch.ones(tq, tq, dtype=torch.bool).triu(1)}),
        ((x, memory, values), {"key_padding_mask": padding, "attn_mask": blocked},
         (x, memory, values), {"key_padding_mask": torch.tensor(padding),
                               "attn_mask": torch.tensor(blocked)}),
        ((x, memory, values), {"attn_mask": blocked_per_head}, (x, memory, values),
         {"attn_mask": torch.tensor(blocked_per_head)}),
        ((x,), {"key_padding_mask": self_padding}, (x, x, x),
         {"key_padding_mask": torch.tensor(self_padding)}),
    ]
    for our_args, our_kwargs, their_args, their_kwargs in cases:
        out = ours(*[tg.Tensor(a) for a in our_args], **our_kwargs)
        expected = theirs(*[torch.tensor(a) for a in their_args], need_weights=False,
                          **their_kwargs)[0]
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_float_attn_mask_is_added(rng):
    mha = randomized(nn.MultiHeadAttention(4, 2), rng)
    x = tg.Tensor(rng.standard_normal((2, 3, 4)))
    bias = np.full((3, 3), -1e9)
    np.fill_diagonal(bias, 0.0)
    blocked = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(mha(x, attn_mask=bias).numpy(),
                               mha(x, attn_mask=blocked).numpy(), rtol=1e-12)


def test_key_padding_true_means_ignore(rng):
    """Changing a padded key/value must not change the output; unpadded keys must matter."""
    mha = randomized(nn.MultiHeadAttention(4, 2), rng)
    x = rng.standard_normal((1, 2, 4))
    memory = rng.standard_normal((1, 3, 4))
    padding = np.array([[False, False, True]])
    before = mha(tg.Tensor(x), tg.Tensor(memory), key_padding_mask=padding).numpy()
    memory[0, 2] += 5.0
    after = mha(tg.Tensor(x), tg.Tensor(memory), key_padding_mask=padding).numpy()
    np.testing.assert_allclose(after, before, rtol=1e-12)
    memory[0, 1] += 5.0
    assert not np.allclose(mha(tg.Tensor(x), tg.Tensor(memory),
                               key_padding_mask=padding).numpy(), before)


@pytest.mark.parametrize("cross", [False, True])
def test_gradcheck_inputs_and_parameters(rng, cross):
    mha = randomized(nn.MultiHeadAttention(4, 2), rng)
    x = tg.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    memory = tg.Tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    params = list(mha.parameters())
    if cross:
        assert tg.gradcheck(lambda x, m, *p: mha(x, m, key_padding_mask=[[False, True]] * 2),
                            [x, memory] + params)
    else:
        assert tg.gradcheck(lambda x, *p: mha(x, is_causal=True), [x] + params)


def test_dropout_only_in_training(rng):
    mha = randomized(nn.MultiHeadAttention(4, 2, dropout=0.5), rng)
    x = tg.Tensor(rng.standard_normal((2, 3, 4)))
    tg.manual_seed(0)
    train_out = mha(x).numpy()
    mha.eval()
    eval_out = mha(x).numpy()
    np.testing.assert_allclose(mha(x).numpy(), eval_out)
    assert not np.allclose(train_out, eval_out)


def test_mha_errors():
    with pytest.raises(ValueError, match="embed_dim=6 must be divisible by num_heads=4"):
        nn.MultiHeadAttention(6, 4)
    mha = nn.MultiHeadAttention(4, 2)
    with pytest.raises(tg.ShapeError, match=r"MultiHeadAttention: expected query of shape "
                                            r"\(B, T, E\) with E=4, got \(2, 3, 5\)"):
        mha(tg.zeros(2, 3, 5))
    with pytest.raises(tg.ShapeError, match=r"key_padding_mask must have shape \(2, 3\), "
                                            r"got \(2, 4\)"):
        mha(tg.zeros(2, 3, 4), key_padding_mask=np.zeros((2, 4), dtype=bool))
    with pytest.raises(tg.ShapeError, match=r"attn_mask must have shape \(3, 3\)"):
        mha(tg.zeros(2, 3, 4), attn_mask=np.zeros((3, 4), dtype=bool))
    with pytest.raises(tg.ShapeError, match="must share the batch size"):
        mha(tg.zeros(2, 3, 4), tg.zeros(3, 3, 4))


# ----------------------------------------------------------------------------- positions

def test_sinusoidal_table_and_forward(rng):
    layer = nn.SinusoidalPositionalEncoding(10, 5)
    assert dict(layer.named_buffers())["pe"].shape == (10, 5) and not list(layer.parameters())
    table = np.zeros((10, 5))
    for pos in range(10):
        for i in range(5):
            angle = pos / 10000 ** ((i - i % 2) / 5)
            table[pos, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
    x = rng.standard_normal((2, 7, 5))
    np.testing.assert_allclose(layer(tg.Tensor(x)).numpy(), x + table[:7], rtol=1e-6, atol=1e-7)
    with pytest.raises(tg.ShapeError, match=r"SinusoidalPositionalEncoding: expected input of "
                                            r"shape \(\.\.\., T, 5\) with T <= max_len=10"):
        layer(tg.zeros(1, 11, 5))


def test_learned_positions_gradcheck_and_errors(rng):
    layer = nn.LearnedPositionalEmbedding(6, 3).double()
    assert layer.weight.shape == (6, 3) and 0.005 < layer.weight.numpy().std() < 0.05
    x = tg.Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w: layer(x) * layer(x), [x, layer.weight])
    layer(x).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy()[4:], 0.0)   # unused rows
    np.testing.assert_array_equal(layer.weight.grad.numpy()[:4], 2.0)   # batch of 2
    with pytest.raises(tg.ShapeError, match="LearnedPositionalEmbedding: expected input"):
        layer(tg.zeros(2, 4, 2))


# ----------------------------------------------------------------------------- the block

def test_block_structure():
    block = nn.TransformerBlock(8, 2, mlp_ratio=3, activation="relu")
    names = {k: v.shape for k, v in block.state_dict().items()}
    assert names["mlp.c_fc.weight"] == (24, 8) and names["mlp.c_proj.weight"] == (8, 24)
    assert {"ln_1.weight", "ln_2.bias", "attn.in_proj_weight", "attn.out_proj.bias"} <= set(names)
    with pytest.raises(ValueError, match="activation must be 'gelu' or 'relu'"):
        nn.TransformerBlock(8, 2, activation="swish")


@pytest.mark.parametrize("causal", [True, False])
def test_block_matches_torch_pre_norm_encoder_layer(rng, causal):
    torch = pytest.importorskip("torch")
    e, h = 8, 2
    theirs = torch.nn.TransformerEncoderLayer(
        e, h, dim_feedforward=4 * e, dropout=0.0, batch_first=True, norm_first=True,
        activation=lambda t: torch.nn.functional.gelu(t, approximate="tanh")).double()
    renames = {"self_attn.": "attn.", "linear1.": "mlp.c_fc.", "linear2.": "mlp.c_proj.",
               "norm1.": "ln_1.", "norm2.": "ln_2."}
    state = {}
    for name, value in theirs.state_dict().items():
        for old, new in renames.items():
            name = name.replace(old, new)
        state[name] = value.detach().numpy() + rng.standard_normal(value.shape) * 0.1
        value.copy_(torch.tensor(state[name]))
    ours = nn.TransformerBlock(e, h, causal=causal).double()
    ours.load_state_dict(state)
    x = rng.standard_normal((2, 5, e))
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1) if causal else None
    expected = theirs(torch.tensor(x), src_mask=mask).detach().numpy()
    np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_block_gradcheck_fast(rng):
    block = randomized(nn.TransformerBlock(4, 2, mlp_ratio=2), rng)
    x = tg.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    for seed in range(4):   # several random directions for the input and every parameter
        assert tg.gradcheck(lambda x, *p: block(x), [x] + list(block.parameters()), fast=True,
                            seed=seed)


def test_block_is_causal_and_dropout_is_off_in_eval(rng):
    block = randomized(nn.TransformerBlock(4, 2, dropout=0.3), rng).eval()
    x = rng.standard_normal((1, 4, 4))
    before = block(tg.Tensor(x)).numpy()
    np.testing.assert_allclose(block(tg.Tensor(x)).numpy(), before)   # no randomness in eval
    x[0, -1] += 3.0
    after = block(tg.Tensor(x)).numpy()
    np.testing.assert_allclose(after[0, :-1], before[0, :-1], rtol=1e-12)
    assert not np.allclose(after[0, -1], before[0, -1])
    with pytest.raises(tg.ShapeError, match=r"TransformerBlock: expected input of shape "
                                            r"\(B, T, 4\), got \(4, 4\)"):
        block(tg.zeros(4, 4))
