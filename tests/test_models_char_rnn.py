"""tg.models.CharRNN: forward against NumPy and PyTorch, state carrying, gradients against finite
differences, training on a tiny batch, saving and loading, and generation."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models import CharRNN
from overfit import assert_overfits

CELLS = ["rnn", "lstm", "gru"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_char_lstm(weights, idx):
    """Embedding, a one-layer batch-first LSTM (gates i, f, g, o) and the head, in NumPy."""
    x = weights["embedding.weight"][idx]                                  # (B, T, E)
    hidden = weights["rnn.weight_hh_l0"].shape[1]
    h = c = np.zeros((idx.shape[0], hidden))
    outputs = []
    for t in range(idx.shape[1]):
        gates = (x[:, t] @ weights["rnn.weight_ih_l0"].T + weights["rnn.bias_ih_l0"]
                 + h @ weights["rnn.weight_hh_l0"].T + weights["rnn.bias_hh_l0"])
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    logits = np.stack(outputs, axis=1) @ weights["head.weight"].T + weights["head.bias"]
    return logits, (h, c)


def char_rnn_parameter_count(vocab, embed, hidden, cell, layers):
    recurrent = sum(GATES[cell] * hidden * ((embed if layer == 0 else hidden) + hidden + 2)
                    for layer in range(layers))
    return vocab * embed + recurrent + (hidden + 1) * vocab


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 3])
def test_parameter_count_matches_formula(cell, layers):
    model = CharRNN(96, 64, 256, cell=cell, num_layers=layers)
    assert model.num_parameters() == char_rnn_parameter_count(96, 64, 256, cell, layers)


def test_forward_matches_numpy_lstm(device, rng):
    tg.manual_seed(0)
    model = CharRNN(11, 5, 7, cell="lstm").double().to(device)
    idx = rng.integers(0, 11, size=(3, 6))
    logits, (h, c) = model(Tensor(idx, device=device))
    assert logits.shape == (3, 6, 11) and h.shape == c.shape == (1, 3, 7)
    expected, (h_ref, c_ref) = numpy_char_lstm({k: v.numpy() for k, v in
                                                model.state_dict().items()}, idx)
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.numpy()[0], h_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.numpy()[0], c_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_matches_torch_model_with_the_same_names(cell, rng):
    torch = pytest.importorskip("torch")
    torch_cells = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    reference = torch.nn.Module()
    reference.embedding = torch.nn.Embedding(13, 6)
    reference.rnn = torch_cells[cell](6, 8, num_layers=2, batch_first=True)
    reference.head = torch.nn.Linear(8, 13)
    reference.double()
    model = CharRNN(13, 6, 8, cell=cell, num_layers=2)
    reference.load_state_dict({name: torch.from_numpy(t.numpy().astype(np.float64))
                               for name, t in model.state_dict().items()})
    model.double()
    idx = rng.integers(0, 13, size=(2, 5))
    out, state = reference.rnn(reference.embedding(torch.from_numpy(idx)))
    expected = reference.head(out).detach().numpy()
    logits, final_state = model(Tensor(idx))
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-10, atol=1e-12)
    h, h_ref = (final_state[0], state[0]) if cell == "lstm" else (final_state, state)
    np.testing.assert_allclose(h.numpy(), h_ref.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_carrying_the_state_equals_one_long_call(cell, rng):
    tg.manual_seed(1)
    model = CharRNN(9, 4, 5, cell=cell, num_layers=2).double()
    idx = rng.integers(0, 9, size=(2, 7))
    whole, _ = model(Tensor(idx))
    first, state = model(Tensor(idx[:, :3]))
    second, _ = model(Tensor(idx[:, 3:]), state)
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], axis=1),
                               whole.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_gradcheck_every_parameter(cell, rng):
    """Through embedding, two stacked recurrent layers unrolled over 4 steps, and the head;
    the initial state is checked too (it is differentiable)."""
    tg.manual_seed(2)
    model = CharRNN(6, 3, 4, cell=cell, num_layers=2).double()
    idx = Tensor(rng.integers(0, 6, size=(2, 4)))
    h0 = Tensor(rng.standard_normal((2, 2, 4)) * 0.5, requires_grad=True)
    c0 = Tensor(rng.standard_normal((2, 2, 4)) * 0.5, requires_grad=True)

    def logits(h0, c0, *params):
        return model(idx, (h0, c0) if cell == "lstm" else h0)[0]

    assert tg.gradcheck(logits, [h0, c0, *model.parameters()], fast=True)


@pytest.mark.parametrize("cell", CELLS)
def test_overfits_a_tiny_batch_with_adam(cell, rng):
    """Learn to predict the next character of 4 fixed random strings of 12 characters (distinct
    first characters, so that it is possible)."""
    tg.manual_seed(3)
    model = CharRNN(10, 16, 32, cell=cell)
    text = rng.integers(0, 10, size=(4, 13))
    text[:, 0] = rng.choice(10, size=4, replace=False)
    inputs, targets = Tensor(text[:, :-1]), Tensor(text[:, 1:])
    optimizer = optim.Adam(model.parameters(), lr=2e-2)
    assert_overfits(model, optimizer, lambda: F.cross_entropy(
        model(inputs)[0].reshape(-1, 10), targets.reshape(-1)))


def test_save_load_round_trip_is_exact(tmp_path, rng):
    tg.manual_seed(4)
    model = CharRNN(12, 6, 8, cell="gru", num_layers=2)
    tg.save(model.state_dict(), tmp_path / "char_rnn.npz")
    tg.manual_seed(5)
    fresh = CharRNN(12, 6, 8, cell="gru", num_layers=2)
    idx = Tensor(rng.integers(0, 12, size=(2, 5)))
    assert not np.array_equal(fresh(idx)[0].numpy(), model(idx)[0].numpy())
    fresh.load_state_dict(tg.load(tmp_path / "char_rnn.npz"))
    np.testing.assert_array_equal(fresh(idx)[0].numpy(), model(idx)[0].numpy())


def greedy_by_rereading_the_prefix(model, idx, steps):
    """Argmax decoding that reruns the whole sequence each step (no state carried)."""
    for _ in range(steps):
        logits, _ = model(Tensor(idx))
        idx = np.concatenate([idx, logits.numpy()[:, -1].argmax(axis=1)[:, None]], axis=1)
    return idx


@pytest.mark.parametrize("cell", CELLS)
def test_generate_top_k_one_is_greedy_decoding(cell, rng):
    tg.manual_seed(6)
    model = CharRNN(15, 8, 12, cell=cell, num_layers=2)
    for p in model.rnn.parameters():   # larger recurrent weights: the history changes the argmax
        p.data = p.data * 4
    prompt = rng.integers(0, 15, size=(3, 4))
    out = model.generate(Tensor(prompt), 10, top_k=1)
    assert out.shape == (3, 14)
    np.testing.assert_array_equal(out.numpy()[:, :4], prompt)
    np.testing.assert_array_equal(out.numpy(), greedy_by_rereading_the_prefix(model, prompt, 10))


def test_generate_is_reproducible_and_leaves_no_graph_and_the_mode_unchanged(rng):
    model = CharRNN(20, 8, 16, dropout=0.3)
    prompt = Tensor(rng.integers(0, 20, size=(2, 3)))
    tg.manual_seed(7)
    first = model.generate(prompt, 30)
    tg.manual_seed(7)
    second = model.generate(prompt, 30)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    third = model.generate(prompt, 30, generator=np.random.default_rng(8))
    fourth = model.generate(prompt, 30, generator=np.random.default_rng(8))
    np.testing.assert_array_equal(third.numpy(), fourth.numpy())
    assert not np.array_equal(first.numpy(), third.numpy())
    assert first.dtype == np.int64 and not first.requires_grad and model.training
    assert first.numpy().min() >= 0 and first.numpy().max() < 20


@pytest.mark.parametrize("idx", [np.zeros((2, 3, 1), dtype=np.int64), np.zeros(4, dtype=np.int64),
                                 np.zeros((2, 3))])
def test_wrong_input_names_the_model_and_the_shape(idx):
    with pytest.raises(ValueError, match=r"CharRNN.*\(B, T\).*" + r"\(" + ", ".join(
            map(str, idx.shape))):
        CharRNN(5, 3, 4)(Tensor(idx))


def test_unknown_cell_raises():
    with pytest.raises(ValueError, match="CharRNN.*'transformer'"):
        CharRNN(5, 3, 4, cell="transformer")
