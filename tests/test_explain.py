"""Explainability: saliency and integrated gradients against closed forms and PyTorch, the
completeness of integrated gradients, attention maps against the model's own attention, and
the gradient-flow recorder."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import explain, nn
from tinygrad_edu.train import GradientFlow, gradient_norms


class Quadratic(nn.Module):
    """F(x) = ‖W x‖², one "class": saliency 2 WᵀW x, integrated gradients x ⊙ WᵀW x (baseline 0)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(tg.Tensor(weight))

    def forward(self, x):
        return ((x @ self.weight.T) ** 2).sum(axis=1, keepdims=True)   # (N, 1)


@pytest.fixture
def quadratic(rng):
    weight = rng.standard_normal((3, 5))
    return Quadratic(weight), weight.T @ weight, rng.standard_normal((4, 5))


def test_saliency_is_the_closed_form_gradient(quadratic):
    model, gram, x = quadratic
    np.testing.assert_allclose(explain.saliency(model, x, 0).numpy(), 2 * x @ gram, rtol=1e-12)


def test_integrated_gradients_closed_form_and_baseline(quadratic, rng):
    model, gram, x = quadratic
    got, gap = explain.integrated_gradients(model, x, 0, steps=4, return_convergence_delta=True)
    np.testing.assert_allclose(got.numpy(), x * (x @ gram), rtol=1e-12)
    assert np.abs(gap.numpy()).max() < 1e-10
    baseline = rng.standard_normal(5)
    # along x' + α(x - x'): ∂F/∂x = 2 G (x' + α d), integral = 2 G (x' + d/2) = G (x + x')
    got = explain.integrated_gradients(model, x, 0, baseline=baseline, steps=3).numpy()
    np.testing.assert_allclose(got, (x - baseline) * ((x + baseline) @ gram), rtol=1e-10)


def test_integrated_gradients_are_complete_within_one_percent(rng):
    tg.manual_seed(0)
    model = tg.models.MLP([16, 32, 32, 4], activation="tanh").double()
    x = rng.uniform(0, 1, (6, 16))
    targets = rng.integers(0, 4, 6)
    attributions = explain.integrated_gradients(model, x, targets, steps=50)
    with tg.no_grad():
        logits, zero = model(tg.Tensor(x)).numpy(), model(tg.zeros(6, 16, dtype=np.float64)).numpy()
    change = logits[np.arange(6), targets] - zero[np.arange(6), targets]
    total = attributions.numpy().sum(axis=1)
    np.testing.assert_allclose(total, change, rtol=0.01)
    one_step = explain.integrated_gradients(model, x, targets, steps=1).numpy().sum(axis=1)
    assert not np.allclose(one_step, change, rtol=0.01), "the test cannot tell steps apart"


def test_integrated_gradients_of_a_relu_network_converge(rng):
    """A ReLU network's path integrand jumps at every kink, so the gap shrinks like 1/steps."""
    tg.manual_seed(0)
    model = tg.models.MLP([16, 32, 32, 4], activation="relu").double()
    x = rng.uniform(0, 4, (6, 16))
    gaps = [np.abs(explain.integrated_gradients(model, x, 1, steps=steps,
                                                return_convergence_delta=True)[1].numpy()).mean()
            for steps in (2, 20, 200)]
    assert gaps[0] > gaps[1] > gaps[2], gaps


def test_saliency_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    tg.manual_seed(1)
    model = tg.models.MLP([6, 10, 3], activation="tanh").double()
    x = rng.standard_normal((5, 6))
    targets = np.array([0, 1, 2, 1, 0])
    ours = explain.saliency(model, x, targets).numpy()
    weights = [torch.tensor(p.numpy()) for p in model.parameters()]
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"], names
    tx = torch.tensor(x, requires_grad=True)
    logits = torch.tanh(tx @ weights[0].T + weights[1]) @ weights[2].T + weights[3]
    logits[torch.arange(5), torch.tensor(targets)].sum().backward()
    np.testing.assert_allclose(ours, tx.grad.numpy(), rtol=1e-10)


def test_explain_restores_the_mode_and_checks_targets(quadratic):
    model, _, x = quadratic
    model.train()
    explain.saliency(model, x, 0)
    assert model.training
    with pytest.raises(ValueError, match="target classes .3, 3, 3, 3. out of range for 1 classes"):
        explain.saliency(model, x, 3)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        explain.integrated_gradients(model, x, 0, steps=0)


def test_attention_maps_are_the_weights_the_model_uses(rng):
    tg.manual_seed(0)
    gpt = tg.models.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8).double()
    idx = rng.integers(0, 11, (2, 6))
    maps = explain.attention_maps(gpt, idx).numpy()
    assert maps.shape == (2, 2, 2, 6, 6)
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-12)
    assert np.all(maps[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)
    # rebuild the first block's attention output from the maps and the values
    block, embed = gpt.h[0], 8
    with tg.no_grad():
        x = gpt.wte(tg.Tensor(idx)) + gpt.wpe(tg.arange(6))                   # (B, T, C)
        h = block.ln_1(x)
        expected = block.attn(h).numpy()                                       # (B, T, C)
        v = (h @ block.attn.c_attn.weight[2 * embed:].T + block.attn.c_attn.bias[2 * embed:])
        v = v.numpy().reshape(2, 6, 2, 4).transpose(0, 2, 1, 3)                # (B, H, T, D)
        heads = (maps[0] @ v).transpose(0, 2, 1, 3).reshape(2, 6, embed)       # (B, T, C)
        rebuilt = block.attn.c_proj(tg.Tensor(heads)).numpy()
    np.testing.assert_allclose(rebuilt, expected, rtol=1e-10, atol=1e-12)


def test_gradient_flow_records_norms_and_plots(tmp_path, rng):
    model = tg.models.MLP([4, 5, 3]).double()
    flow = GradientFlow(model)
    with pytest.raises(RuntimeError, match="after loss.backward"):
        flow.record(0)
    for step in range(3):
        model.zero_grad()
        (model(tg.Tensor(rng.standard_normal((2, 4)))) ** 2).sum().backward()
        norms = flow.record(step)
    expected = {name: np.linalg.norm(p.grad.numpy()) for name, p in model.named_parameters()
                if p.ndim == 2}
    assert norms.keys() == expected.keys() and flow.steps == [0, 1, 2]
    np.testing.assert_allclose(list(norms.values()), list(expected.values()), rtol=1e-12)
    assert len(gradient_norms(model, weights_only=False)) == 4
    path = flow.plot(tmp_path / "flow.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def write_checkpoint(path, name, config, model, vocab=None):
    from tinygrad_edu.train.checkpoint import make_checkpoint, rng_state, save_checkpoint
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    meta = {"model_name": name, "model_config": config, "vocab": vocab,
            "settings": {"data": "digits"} if vocab is None else None}
    save_checkpoint(path, make_checkpoint(model, optimizer, None, {"step": 0}, rng_state(), [],
                                          meta))
    return str(path)


def test_explain_command_writes_digit_and_attention_pictures(tmp_path, capsys):
    from tinygrad_edu.cli import main
    from tinygrad_edu.data import CharVocab
    config = {"sizes": [64, 16, 10], "activation": "relu"}
    mlp = write_checkpoint(tmp_path / "mlp.npz", "mlp", config, tg.models.MLP(**config))
    assert main(["explain", mlp, "--examples", "2", "--steps", "8"]) == 0
    for name in ("explain_correct.png", "explain_misclassified.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    vocab = CharVocab.ascii()
    config = {"vocab_size": len(vocab), "block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 8}
    gpt = write_checkpoint(tmp_path / "gpt.npz", "gpt", config, tg.models.GPT(**config),
                           vocab.to_array())
    assert main(["explain", gpt, "--prompt", "hello", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "attention.png").read_bytes()[:4] == b"\x89PNG"
    assert "attention.png" in capsys.readouterr().out


def test_explain_command_user_errors(tmp_path, capsys):
    from tinygrad_edu.cli import main
    from tinygrad_edu.data import CharVocab
    vocab = CharVocab.ascii()
    config = {"vocab_size": len(vocab), "embed_dim": 4, "hidden_size": 4}
    rnn = write_checkpoint(tmp_path / "rnn.npz", "rnn", config, tg.models.CharRNN(**config),
                           vocab.to_array())
    assert main(["explain", rnn]) == 2
    assert "'rnn' model" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "missing.npz")]) == 2
    assert main(["explain", rnn, "--steps", "0"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err
