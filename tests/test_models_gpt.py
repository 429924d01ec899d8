"""tg.models.GPT: shapes, parameter count, initialisation, tied weights, forward and gradients
against PyTorch, gradients against finite differences, causality, training on a tiny batch,
saving and loading (also under the older attention names), generation and the KV cache."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models import GPT
from tinygrad_edu.models.sampling import KVCache
from overfit import assert_overfits

TINY = dict(vocab_size=11, block_size=6, n_layer=2, n_head=2, n_embd=8)


def randomize(model, rng, scale=0.5):
    """Weights far from GPT's tiny initial values, so every gradient is large enough to check."""
    for p in model.parameters():
        p.data = rng.standard_normal(p.shape) * scale
    return model


def gpt_parameter_count(vocab_size, block_size, n_layer, n_head, n_embd):
    c = n_embd
    per_block = 2 * c + (3 * c * c + 3 * c) + (c * c + c) + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c)
    return vocab_size * c + block_size * c + n_layer * per_block + 2 * c


@pytest.mark.parametrize("sizes", [(96, 64, 4, 4, 128), (11, 6, 2, 2, 8), (50, 10, 1, 3, 12)])
def test_parameter_count_matches_formula(sizes):
    assert GPT(*sizes).num_parameters() == gpt_parameter_count(*sizes)


def test_w3_benchmark_model_has_813824_parameters():
    assert GPT(96, 64, 4, 4, 128).num_parameters() == 813824


def test_forward_shape_and_device(device, rng):
    model = GPT(**TINY).to(device)
    idx = Tensor(rng.integers(0, 11, size=(3, 5)), device=device)
    logits = model(idx)
    assert logits.shape == (3, 5, 11) and logits.device == device and logits.dtype == np.float32


def test_initialisation_follows_gpt2():
    tg.manual_seed(0)
    model = GPT(96, 64, 4, 4, 128)
    residual_std = 0.02 / math.sqrt(2 * 4)
    for name, p in model.named_parameters():
        values = p.numpy()
        if name.endswith(("attn.c_proj.weight", "mlp.c_proj.weight")):
            assert abs(values.std() - residual_std) < 0.05 * residual_std, name
        elif p.ndim == 2:
            assert abs(values.std() - 0.02) < 0.05 * 0.02 and abs(values.mean()) < 2e-3, name
        elif name.endswith("bias"):
            assert np.all(values == 0), name
        else:   # LayerNorm gains
            assert np.all(values == 1), name


def test_lm_head_is_tied_to_the_token_embedding():
    model = GPT(**TINY)
    assert model.lm_head.weight is model.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "wte.weight" in names and "lm_head.weight" not in names
    assert len({id(p) for p in model.parameters()}) == len(names)
    state = model.state_dict()
    assert "lm_head.weight" in state and "wte.weight" in state
    np.testing.assert_array_equal(state["lm_head.weight"].numpy(), state["wte.weight"].numpy())


def test_too_long_sequence_names_t_and_block_size():
    with pytest.raises(ValueError, match=r"GPT.*T=7.*block_size=6"):
        GPT(**TINY)(Tensor(np.zeros((1, 7), dtype=np.int64)))


@pytest.mark.parametrize("idx", [np.zeros((2, 3, 1), dtype=np.int64), np.zeros(4, dtype=np.int64),
                                 np.zeros((2, 3))])
def test_wrong_input_names_the_model_and_the_shape(idx):
    pattern = r"GPT.*\(B, T\).*\(" + ", ".join(map(str, idx.shape))
    with pytest.raises(ValueError, match=pattern):
        GPT(**TINY)(Tensor(idx))


def test_head_count_must_divide_the_width():
    with pytest.raises(ValueError, match="GPT.*n_embd=10.*n_head=3"):
        GPT(11, 6, 1, 3, 10)


def test_attention_is_causal(rng):
    """Changing the token at position t leaves the logits at positions before t unchanged."""
    model = randomize(GPT(**TINY).double(), rng)
    idx = rng.integers(0, 11, size=(2, 6))
    changed = idx.copy()
    changed[:, 3] = (changed[:, 3] + 1) % 11
    before, after = model(Tensor(idx)).numpy(), model(Tensor(changed)).numpy()
    np.testing.assert_array_equal(before[:, :3], after[:, :3])
    assert np.abs(before[:, 3:] - after[:, 3:]).min() > 1e-6


def test_targets_give_the_mean_cross_entropy(rng):
    model = GPT(**TINY).double()
    idx, targets = rng.integers(0, 11, size=(2, 2, 5))
    logits, loss = model(Tensor(idx), Tensor(targets))
    z = logits.numpy()
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, targets[..., None], axis=-1).mean()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_array_equal(logits.numpy(), model(Tensor(idx)).numpy())


def test_gradcheck_every_parameter(rng):
    """All parameters at once, the tied embedding included (its gradient sums both uses)."""
    tg.manual_seed(1)
    model = randomize(GPT(**TINY).double(), rng)
    idx = Tensor(rng.integers(0, 11, size=(2, 5)))
    assert tg.gradcheck(lambda *params: model(idx), list(model.parameters()), fast=True)


def test_gradcheck_full_jacobian_of_a_one_layer_model(rng):
    """A width-4, one-layer model, the full Jacobian of the logits for a few parameters."""
    tg.manual_seed(2)
    model = randomize(GPT(5, 4, 1, 2, 4).double(), rng)
    idx = Tensor(rng.integers(0, 5, size=(1, 4)))
    checked = [model.wte.weight, model.h[0].attn.c_attn.weight, model.h[0].ln_1.weight]
    assert tg.gradcheck(lambda *params: model(idx), checked)


def torch_name(name):
    """Our attention's nanoGPT names as torch.nn.MultiheadAttention's (the same layout)."""
    return (name.replace("attn.c_attn.weight", "attn.in_proj_weight")
            .replace("attn.c_attn.bias", "attn.in_proj_bias").replace("attn.c_proj", "attn.out_proj"))


def test_matches_torch_forward_and_gradients(rng):
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TorchBlock(tnn.Module):
        def __init__(self, c, heads):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(c), tnn.LayerNorm(c)
            self.attn = tnn.MultiheadAttention(c, heads, batch_first=True)
            self.mlp = tnn.Module()
            self.mlp.c_fc, self.mlp.c_proj = tnn.Linear(c, 4 * c), tnn.Linear(4 * c, c)

        def forward(self, x):
            steps = x.shape[1]
            future = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)
            a = self.ln_1(x)
            x = x + self.attn(a, a, a, attn_mask=future, need_weights=False)[0]
            hidden = tnn.functional.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh")
            return x + self.mlp.c_proj(hidden)

    class TorchGPT(tnn.Module):
        def __init__(self, vocab, block, layers, heads, c):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab, c), tnn.Embedding(block, c)
            self.h = tnn.ModuleList(TorchBlock(c, heads) for _ in range(layers))
            self.ln_f = tnn.LayerNorm(c)
            self.lm_head = tnn.Linear(c, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    model = randomize(GPT(**TINY).double(), rng)
    reference = TorchGPT(*TINY.values()).double()
    reference.load_state_dict({torch_name(name): torch.from_numpy(t.numpy()) for name, t
                               in model.state_dict().items()})
    idx, targets = rng.integers(0, 11, size=(2, 3, 6))
    expected = reference(torch.from_numpy(idx))
    torch_loss = tnn.functional.cross_entropy(expected.reshape(-1, 11),
                                              torch.from_numpy(targets).reshape(-1))
    torch_loss.backward()
    logits, loss = model(Tensor(idx), Tensor(targets))
    loss.backward()
    np.testing.assert_allclose(logits.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    torch_grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), torch_grads[torch_name(name)].grad.numpy(),
                                   rtol=1e-8, atol=1e-12, err_msg=name)


def test_overfits_a_tiny_batch_with_adam(rng):
    """Memorise 4 sequences of 8 tokens (distinct first tokens, so it is possible)."""
    tg.manual_seed(3)
    model = GPT(vocab_size=12, block_size=8, n_layer=2, n_head=2, n_embd=32)
    tokens = rng.integers(0, 12, size=(4, 9))
    tokens[:, 0] = rng.choice(12, size=4, replace=False)
    idx, targets = Tensor(tokens[:, :-1]), Tensor(tokens[:, 1:])
    optimizer = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    assert_overfits(model, optimizer, lambda: model(idx, targets)[1])


def test_save_load_round_trip_is_exact_and_keeps_the_tie(tmp_path, rng):
    tg.manual_seed(4)
    model = GPT(**TINY)
    tg.save(model.state_dict(), tmp_path / "gpt.npz")
    tg.manual_seed(5)
    fresh = GPT(**TINY)
    idx = Tensor(rng.integers(0, 11, size=(2, 6)))
    assert not np.array_equal(fresh(idx).numpy(), model(idx).numpy())
    fresh.load_state_dict(tg.load(tmp_path / "gpt.npz"))
    np.testing.assert_array_equal(fresh(idx).numpy(), model(idx).numpy())
    assert fresh.lm_head.weight is fresh.wte.weight
    np.testing.assert_array_equal(fresh.lm_head.weight.numpy(), model.wte.weight.numpy())


def greedy(model, idx, steps):
    """Argmax decoding written out: crop to the block size, take the last position's argmax."""
    for _ in range(steps):
        logits = model(Tensor(idx[:, -model.block_size:])).numpy()
        idx = np.concatenate([idx, logits[:, -1].argmax(axis=1)[:, None]], axis=1)
    return idx


def test_generate_past_the_block_size_with_top_k_one_is_greedy(rng):
    model = randomize(GPT(**TINY), rng)
    prompt = rng.integers(0, 11, size=(2, 3))
    out = model.generate(Tensor(prompt), 9, top_k=1)
    assert out.shape == (2, 12) and out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy()[:, :3], prompt)
    np.testing.assert_array_equal(out.numpy(), greedy(model, prompt, 9))


def test_generate_is_reproducible_and_leaves_no_graph_and_the_mode_unchanged(rng):
    model = GPT(**TINY, dropout=0.2)
    prompt = Tensor(rng.integers(0, 11, size=(2, 2)))
    tg.manual_seed(6)
    first = model.generate(prompt, 12)
    tg.manual_seed(6)
    np.testing.assert_array_equal(model.generate(prompt, 12).numpy(), first.numpy())
    third = model.generate(prompt, 12, temperature=0.8, generator=np.random.default_rng(7))
    fourth = model.generate(prompt, 12, temperature=0.8, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(third.numpy(), fourth.numpy())
    assert not np.array_equal(first.numpy(), third.numpy())
    assert not first.requires_grad and model.training
    assert first.numpy().min() >= 0 and first.numpy().max() < 11


def test_checkpoint_with_the_older_attention_names_loads(rng):
    """Before the attention moved into models/gpt.py its parameters had nn.MultiHeadAttention's
    names; such a state_dict still loads, into the same places."""
    model = randomize(GPT(**TINY).double(), rng)
    old = {torch_name(name): t.numpy() for name, t in model.state_dict().items()}
    assert "h.1.attn.in_proj_weight" in old and "h.1.attn.out_proj.bias" in old
    fresh = GPT(**TINY).double()
    fresh.load_state_dict(old)
    idx = Tensor(rng.integers(0, 11, size=(2, 6)))
    np.testing.assert_array_equal(fresh(idx).numpy(), model(idx).numpy())


def test_cache_gives_the_logits_of_the_full_forward(rng):
    """Prompt, then one token at a time, then two at once: every step's logits equal those of
    the whole sequence run without a cache (float64, to rounding)."""
    model = randomize(GPT(**TINY).double(), rng)
    idx = rng.integers(0, 11, size=(2, 6))
    full = model(Tensor(idx)).numpy()                                   # (2, 6, 11)
    cache = KVCache(model.n_layer)
    pieces = [model(Tensor(idx[:, :3]), cache=cache), model(Tensor(idx[:, 3:4]), cache=cache),
              model(Tensor(idx[:, 4:]), cache=cache)]
    assert cache.length() == 6 and cache.keys[1].shape == (2, 2, 6, 4)
    np.testing.assert_allclose(np.concatenate([p.numpy() for p in pieces], axis=1), full,
                               rtol=1e-10, atol=1e-12)


def test_cache_beyond_the_block_size_names_the_cached_length():
    model = GPT(**TINY)
    cache = KVCache(model.n_layer)
    model(Tensor(np.zeros((1, 5), dtype=np.int64)), cache=cache)
    with pytest.raises(ValueError, match=r"GPT.*T=7 \(5 cached\).*block_size=6"):
        model(Tensor(np.zeros((1, 2), dtype=np.int64)), cache=cache)


@pytest.mark.parametrize("top_k", [None, 3])
def test_cached_generation_gives_the_same_tokens_as_uncached(rng, top_k):
    """With the same seed, past the block size too (where the window slides and the cache is
    filled afresh); float32, the default."""
    model = randomize(GPT(**TINY), rng, scale=0.3)
    prompt = Tensor(rng.integers(0, 11, size=(3, 2)))
    tg.manual_seed(8)
    cached = model.generate(prompt, 15, top_k=top_k, use_cache=True).numpy()
    tg.manual_seed(8)
    uncached = model.generate(prompt, 15, top_k=top_k, use_cache=False).numpy()
    np.testing.assert_array_equal(cached, uncached)
    assert len(np.unique(cached[:, 2:])) > 3   # really sampled, not one repeated token
