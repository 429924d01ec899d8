"""LoRALinear, apply_lora, merge_lora and LoRA checkpoints: identity at initialisation, a
frozen base, gradients against finite differences, merge equality, adapters-only saving."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.models import GPT, MLP
from tinygrad_edu.nn.utils import apply_lora, load_lora_state_dict, lora_state_dict, merge_lora

TINY_GPT = dict(vocab_size=11, block_size=6, n_layer=2, n_head=2, n_embd=8)


def trained_adapters(model, rng, scale=0.3):
    """Give every adapter non-zero values, as training would."""
    for name, p in model.named_parameters():
        if name.endswith(("lora_A", "lora_B")):
            p.data = (rng.standard_normal(p.shape) * scale).astype(p.dtype)
    return model


def test_output_is_unchanged_at_initialisation_and_only_a_b_train(rng):
    linear = nn.Linear(5, 3)
    x = Tensor(rng.standard_normal((4, 5)).astype(np.float32))
    before = linear(x).numpy()
    lora = nn.LoRALinear(linear, rank=2, alpha=4.0)
    assert lora.lora_A.shape == (2, 5) and lora.lora_B.shape == (3, 2) and lora.scaling == 2.0
    assert np.all(lora.lora_B.numpy() == 0) and np.abs(lora.lora_A.numpy()).min() > 0
    np.testing.assert_array_equal(lora(x).numpy(), before)
    assert [name for name, p in lora.named_parameters() if p.requires_grad] == ["lora_A", "lora_B"]


def test_apply_lora_keeps_the_order_of_a_sequential(rng):
    """MLP runs its layers in registration order: a wrapped Linear must stay in its place."""
    tg.manual_seed(0)
    model = MLP([6, 8, 8, 3])
    x = Tensor(rng.standard_normal((4, 6)).astype(np.float32))
    before = model(x).numpy()
    apply_lora(model, rank=2)
    assert [type(m).__name__ for m in model.layers] == ["LoRALinear", "ReLU", "LoRALinear",
                                                        "ReLU", "LoRALinear"]
    np.testing.assert_array_equal(model(x).numpy(), before)
    merge_lora(model)
    assert [type(m).__name__ for m in model.layers] == ["Linear", "ReLU", "Linear", "ReLU",
                                                        "Linear"]


def test_forward_is_base_plus_scaled_low_rank_product(rng):
    lora = trained_adapters(nn.LoRALinear(nn.Linear(5, 3).double(), rank=2, alpha=3.0), rng)
    x = rng.standard_normal((4, 5))
    w, b = lora.base_layer.weight.numpy(), lora.base_layer.bias.numpy()
    a, b_lora = lora.lora_A.numpy(), lora.lora_B.numpy()
    expected = x @ w.T + b + 1.5 * x @ a.T @ b_lora.T
    np.testing.assert_allclose(lora(Tensor(x)).numpy(), expected, rtol=1e-12)


def test_gradcheck_of_the_adapters_and_the_input(rng):
    lora = trained_adapters(nn.LoRALinear(nn.Linear(4, 3).double(), rank=2, alpha=2.0), rng)
    x = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert tg.gradcheck(lambda x, a, b: lora(x), [x, lora.lora_A, lora.lora_B])
    assert tg.gradgradcheck(lambda x, a, b: lora(x), [x, lora.lora_A, lora.lora_B])


def test_training_moves_the_adapters_and_never_the_frozen_base(rng):
    tg.manual_seed(0)
    model = apply_lora(MLP([6, 8, 3]), rank=2, alpha=2.0)
    frozen = {name: p.numpy().copy() for name, p in model.named_parameters()
              if not p.requires_grad}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = optim.Adam(trainable, lr=1e-2)
    x, y = Tensor(rng.standard_normal((16, 6)).astype(np.float32)), Tensor(rng.integers(0, 3, 16))
    losses = []
    for _ in range(30):
        loss = tg.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for name, p in model.named_parameters():
        if name in frozen:
            np.testing.assert_array_equal(p.numpy(), frozen[name], err_msg=name)
            assert p.grad is None, name
    assert all(np.abs(p.numpy()).max() > 0 for p in trainable)


def test_apply_lora_wraps_the_named_linears_of_gpt_and_counts_few_parameters():
    model = apply_lora(GPT(96, 64, 4, 4, 128), rank=4, alpha=8.0, target_modules=["c_attn"])
    assert isinstance(model.h[3].attn.c_attn, nn.LoRALinear)
    assert isinstance(model.h[3].attn.c_proj, nn.Linear) and isinstance(model.lm_head, nn.Linear)
    trainable = sum(p.size for p in model.parameters() if p.requires_grad)
    assert trainable == 4 * 4 * (128 + 3 * 128)             # 4 layers x r (in + out)
    assert trainable / model.num_parameters() < 0.01


def test_apply_lora_without_a_match_names_the_linears():
    with pytest.raises(ValueError, match=r"apply_lora.*c_attnn.*h\.0\.attn\.c_attn"):
        apply_lora(GPT(**TINY_GPT), rank=2, target_modules=["c_attnn"])


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_rank_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match=f"LoRALinear: rank.*{bad}"):
        nn.LoRALinear(nn.Linear(3, 2), bad)


def test_merge_gives_the_same_outputs_and_plain_linears(rng):
    model = apply_lora(GPT(**TINY_GPT).double(), rank=2, alpha=4.0,
                       target_modules=["c_attn", "attn.c_proj", "c_fc"])
    trained_adapters(model, rng)
    idx = Tensor(rng.integers(0, 11, size=(2, 6)))
    before = model(idx).numpy()
    merge_lora(model)
    assert not any(isinstance(m, nn.LoRALinear) for m in model.modules())
    np.testing.assert_allclose(model(idx).numpy(), before, rtol=1e-10, atol=1e-12)
    assert set(model.state_dict()) == set(GPT(**TINY_GPT).state_dict())


def test_merge_keeps_a_tied_embedding_as_it_was(rng):
    model = apply_lora(GPT(**TINY_GPT).double(), rank=2, target_modules=["lm_head"])
    trained_adapters(model, rng)
    embedding = model.wte.weight.numpy().copy()
    idx = Tensor(rng.integers(0, 11, size=(1, 6)))
    before = model(idx).numpy()
    merge_lora(model)
    np.testing.assert_array_equal(model.wte.weight.numpy(), embedding)
    np.testing.assert_allclose(model(idx).numpy(), before, rtol=1e-10, atol=1e-12)


def test_lora_checkpoint_holds_the_adapters_alone_and_loads_onto_the_base(tmp_path, rng):
    tg.manual_seed(1)
    base = GPT(**TINY_GPT)
    tg.save(base.state_dict(), tmp_path / "base.npz")
    tuned = trained_adapters(apply_lora(base, rank=2, target_modules=["c_attn"]), rng)
    adapters = lora_state_dict(tuned)
    assert sorted(adapters) == [f"h.{i}.attn.c_attn.lora_{m}" for i in (0, 1) for m in "AB"]
    tg.save(adapters, tmp_path / "lora.npz")
    assert (tmp_path / "lora.npz").stat().st_size < (tmp_path / "base.npz").stat().st_size / 4
    fresh = GPT(**TINY_GPT)
    fresh.load_state_dict(tg.load(tmp_path / "base.npz"))
    apply_lora(fresh, rank=2, target_modules=["c_attn"])
    load_lora_state_dict(fresh, tg.load(tmp_path / "lora.npz"))
    idx = Tensor(rng.integers(0, 11, size=(2, 6)))
    np.testing.assert_array_equal(fresh(idx).numpy(), tuned(idx).numpy())


def test_loading_adapters_of_another_shape_names_the_keys(rng):
    tuned = apply_lora(GPT(**TINY_GPT), rank=2, target_modules=["c_fc"])
    other = apply_lora(GPT(**TINY_GPT), rank=2, target_modules=["c_attn"])
    with pytest.raises(KeyError, match=r"missing: \['h\.0\.attn\.c_attn\.lora_A'.*unexpected: "
                                       r"\['h\.0\.mlp\.c_fc\.lora_A'"):
        load_lora_state_dict(other, lora_state_dict(tuned))
