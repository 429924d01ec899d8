"""RNN, LSTM, GRU: forward against NumPy loops of the gate equations (and PyTorch with the same
state_dict), float64 gradient checks through time w.r.t. input, initial state and parameters,
shape errors."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numpy_cell(kind, x, state, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step of each cell, straight from the equations (PyTorch's gate layouts)."""
    h = state[0] if kind == "LSTM" else state
    gx, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "RNN":
        return np.tanh(gx + gh) if nonlinearity == "tanh" else np.maximum(gx + gh, 0)
    if kind == "LSTM":
        i, f, g, o = np.split(gx + gh, 4, axis=-1)
        c = sigmoid(f) * state[1] + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    r_x, z_x, n_x = np.split(gx, 3, axis=-1)
    r_h, z_h, n_h = np.split(gh, 3, axis=-1)
    r, z = sigmoid(r_x + r_h), sigmoid(z_x + z_h)
    n = np.tanh(n_x + r * n_h)
    return (1 - z) * n + z * h


def numpy_recurrent(kind, module, x, state, **cell_kwargs):
    """The whole stacked layer in NumPy; x (T, B, I), state per layer; returns (output, finals)."""
    params = {name: p.numpy() for name, p in module.named_parameters()}
    inputs, finals = list(x), []
    for layer in range(module.num_layers):
        s = state[layer]
        outputs = []
        for x_t in inputs:
            s = numpy_cell(kind, x_t, s, params[f"weight_ih_l{layer}"],
                           params[f"weight_hh_l{layer}"], params.get(f"bias_ih_l{layer}", 0.0),
                           params.get(f"bias_hh_l{layer}", 0.0), **cell_kwargs)
            outputs.append(s[0] if kind == "LSTM" else s)
        inputs, finals = outputs, finals + [s]
    return np.stack(inputs), finals


KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def random_state(rng, kind, layers, batch, hidden):
    shape = (layers, batch, hidden)
    return (rng.standard_normal(shape), rng.standard_normal(shape)) if kind == "LSTM" \
        else rng.standard_normal(shape)


def to_tensors(state, requires_grad=False):
    if isinstance(state, tuple):
        return tuple(tg.Tensor(s, requires_grad=requires_grad) for s in state)
    return tg.Tensor(state, requires_grad=requires_grad)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_numpy_equations(rng, kind, batch_first, bias):
    module = KINDS[kind](3, 4, num_layers=2, bias=bias, batch_first=batch_first).double()
    x = rng.standard_normal((5, 2, 3))                                  # (T, B, I)
    state = random_state(rng, kind, 2, 2, 4)
    per_layer = [(state[0][k], state[1][k]) if kind == "LSTM" else state[k] for k in range(2)]
    expected, finals = numpy_recurrent(kind, module, x, per_layer)
    given = x.transpose(1, 0, 2) if batch_first else x
    output, final = module(tg.Tensor(given), to_tensors(state))
    got = output.numpy().transpose(1, 0, 2) if batch_first else output.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(final[0].numpy(), [f[0] for f in finals], rtol=1e-12)
        np.testing.assert_allclose(final[1].numpy(), [f[1] for f in finals], rtol=1e-12)
    else:
        np.testing.assert_allclose(final.numpy(), finals, rtol=1e-12)


def test_relu_rnn_and_zero_initial_state(rng):
    module = nn.RNN(2, 3, nonlinearity="relu").double()
    x = rng.standard_normal((4, 2, 2))
    expected, _ = numpy_recurrent("RNN", module, x, [np.zeros((2, 3))], nonlinearity="relu")
    output, h_n = module(tg.Tensor(x))
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(h_n.numpy()[0], expected[-1], rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch(rng, kind, batch_first):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, batch_first=batch_first).double()
    ours = KINDS[kind](3, 4, num_layers=2, batch_first=batch_first).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    state = random_state(rng, kind, 2, 2, 4)
    torch_state = tuple(map(torch.tensor, state)) if kind == "LSTM" else torch.tensor(state)
    output, final = ours(tg.Tensor(x), to_tensors(state))
    expected, expected_final = theirs(torch.tensor(x), torch_state)
    np.testing.assert_allclose(output.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    finals = zip(final, expected_final) if kind == "LSTM" else [(final, expected_final)]
    for ours_part, theirs_part in finals:
        np.testing.assert_allclose(ours_part.numpy(), theirs_part.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_gradcheck_through_time(rng, kind, batch_first):
    """Full Jacobians w.r.t. the input and initial state; parameters by random directions."""
    module = KINDS[kind](2, 3, num_layers=2, batch_first=batch_first).double()
    steps, batch = 3, 2
    x_shape = (batch, steps, 2) if batch_first else (steps, batch, 2)
    x = tg.Tensor(rng.standard_normal(x_shape), requires_grad=True)
    state = to_tensors(random_state(rng, kind, 2, batch, 3), True)
    states = list(state) if kind == "LSTM" else [state]

    def run(x, *rest):
        initial = tuple(rest[:2]) if kind == "LSTM" else rest[0]
        output, final = module(x, initial)
        return (output,) + (tuple(final) if kind == "LSTM" else (final,))

    params = list(module.parameters())
    assert tg.gradcheck(lambda *inputs: run(*inputs), [x] + states)
    for seed in range(3):
        assert tg.gradcheck(lambda *inputs: run(*inputs), [x] + states + params, fast=True,
                            seed=seed)


def test_gradcheck_parameters_full_jacobian_small(rng):
    lstm = nn.LSTM(1, 2).double()
    x = tg.Tensor(rng.standard_normal((3, 1, 1)), requires_grad=True)
    assert tg.gradcheck(lambda x, *p: lstm(x)[0], [x] + list(lstm.parameters()))
    gru = nn.GRU(1, 2).double()
    assert tg.gradcheck(lambda x, *p: gru(x)[0], [x] + list(gru.parameters()))


def test_parameter_names_shapes_and_init():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2)
    shapes = {k: v.shape for k, v in lstm.named_parameters()}
    assert shapes == {"weight_ih_l0": (20, 3), "weight_hh_l0": (20, 5), "bias_ih_l0": (20,),
                      "bias_hh_l0": (20,), "weight_ih_l1": (20, 5), "weight_hh_l1": (20, 5),
                      "bias_ih_l1": (20,), "bias_hh_l1": (20,)}
    assert nn.GRU(3, 5).weight_hh_l0.shape == (15, 5) and nn.RNN(3, 5).weight_ih_l0.shape == (5, 3)
    values = np.concatenate([p.numpy().ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(5)
    assert np.all(np.abs(values) <= bound) and values.std() > bound / 3
    assert not any("bias" in name for name, _ in nn.GRU(3, 5, bias=False).named_parameters())


def test_shape_errors_name_the_layer():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(tg.ShapeError, match=r"LSTM: expected input of shape \(T, B, input_size\) "
                                            r"with input_size=3, got \(5, 2, 4\)"):
        lstm(tg.zeros(5, 2, 4))
    with pytest.raises(tg.ShapeError, match=r"GRU: expected input of shape \(B, T, input_size\)"):
        nn.GRU(3, 4, batch_first=True)(tg.zeros(5, 3))
    with pytest.raises(tg.ShapeError, match=r"LSTM: expected an initial state of 2 × shape "
                                            r"\(2, 2, 4\).*got \[\(2, 2, 4\), \(1, 2, 4\)\]"):
        lstm(tg.zeros(5, 2, 3), (tg.zeros(2, 2, 4), tg.zeros(1, 2, 4)))
    with pytest.raises(tg.ShapeError, match=r"RNN: expected an initial state of shape "
                                            r"\(1, 2, 4\).*got \(2, 4\)"):
        nn.RNN(3, 4)(tg.zeros(5, 2, 3), tg.zeros(2, 4))
    with pytest.raises(TypeError, match=r"LSTM: the initial state must be a pair \(h_0, c_0\)"):
        lstm(tg.zeros(5, 2, 3), tg.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
