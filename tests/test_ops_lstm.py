"""The fused LSTM layer (ops/lstm.py, ``LSTMLayer``) and ``nn.LSTM`` running on it.

Float64 gradient checks of the operation itself (every h_t and c_t w.r.t. x, h_0, c_0, the
weights and biases) and of nn.LSTM through it (two layers, both layouts, with and without bias,
a single step); fused against the composed reference cells (``LSTM.fused = False``): same
outputs and gradients, also when the loss uses only h_n or only c_n; against torch.nn.LSTM,
gradients included; second derivatives (through the reference); float32; reusing a graph."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.ops.lstm import LSTMLayer, lstm_layer, lstm_reference


def leaves(rng, device, *shapes, scale=1.0):
    return [tg.Tensor(rng.standard_normal(shape) * scale, requires_grad=True, device=device)
            for shape in shapes]


def layer_inputs(rng, device, steps=3, batch=2, inputs=2, hidden=3, bias=True):
    """x, h0, c0, w_ih, w_hh (and b_ih, b_hh) in float64, requiring grad."""
    shapes = [(steps, batch, inputs), (batch, hidden), (batch, hidden), (4 * hidden, inputs),
              (4 * hidden, hidden)] + [(4 * hidden,)] * (2 if bias else 0)
    return leaves(rng, device, *shapes)


def functions(tensor) -> list:
    """The Functions of the graph that made ``tensor``, each once."""
    found, stack, seen = [], [tensor], set()
    while stack:
        fn = stack.pop().grad_fn
        if fn is not None and id(fn) not in seen:
            seen.add(id(fn))
            found.append(fn)
            stack.extend(fn.inputs)
    return found


def lstm_pair(rng, layers=2, batch_first=False, bias=True, device="cpu"):
    """The same float64 nn.LSTM(2, 3) twice: fused and composed."""
    fused = nn.LSTM(2, 3, num_layers=layers, bias=bias, batch_first=batch_first).double()
    for p in fused.parameters():
        p.data = rng.standard_normal(p.shape)
    composed = nn.LSTM(2, 3, num_layers=layers, bias=bias, batch_first=batch_first).double()
    composed.load_state_dict({k: v.numpy() for k, v in fused.state_dict().items()})
    composed.fused = False
    return fused.to(device), composed.to(device)


# ----------------------------------------------------------------------------- the operation

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("steps", [1, 4])
def test_layer_gradcheck_every_input(rng, device, bias, steps):
    """Full Jacobian of all h_t and c_t w.r.t. every input."""
    inputs = layer_inputs(rng, device, steps=steps, bias=bias)
    assert isinstance(lstm_layer(*inputs).grad_fn, LSTMLayer)
    assert tg.gradcheck(lambda *t: lstm_layer(*t), inputs)


def test_layer_gradcheck_saturated_gates(rng):
    """Large weights push gates towards 0 and 1, where σ(1 - σ) and 1 - tanh² are tiny."""
    inputs = layer_inputs(rng, "cpu", steps=5)
    for w in inputs[3:5]:
        w.data = w.data * 3
    assert tg.gradcheck(lambda *t: lstm_layer(*t), inputs)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_equals_reference(rng, device, bias):
    inputs = layer_inputs(rng, device, steps=6, batch=3, inputs=4, hidden=5, bias=bias)
    fused, composed = lstm_layer(*inputs), lstm_reference(*inputs)
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12, atol=1e-14)
    upstream = tg.Tensor(rng.standard_normal(fused.shape), device=device)
    for got, want in zip(tg.grad(fused, inputs, upstream), tg.grad(composed, inputs, upstream)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-13)


def test_second_derivatives_go_through_the_reference(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = layer_inputs(rng, "cpu", steps=2, batch=1, hidden=2)
    assert tg.gradgradcheck(lambda *t: lstm_layer(*t, b_ih, b_hh), [x, h0, c0, w_ih, w_hh])
    upstream = tg.Tensor(rng.standard_normal((2, 2, 1, 2)))
    inputs = [x, h0, c0, w_ih, w_hh, b_ih, b_hh]
    out = lstm_layer(*inputs)
    plain = tg.grad(out, inputs, upstream, retain_graph=True)
    recorded = tg.grad(out, inputs, upstream, create_graph=True)
    assert all(g.requires_grad for g in recorded)
    for a, b in zip(plain, recorded):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_a_graph_can_be_differentiated_twice(rng):
    """backward keeps what forward saved intact, so a second pass gives the same gradients."""
    inputs = layer_inputs(rng, "cpu")
    out = lstm_layer(*inputs)
    upstream = tg.Tensor(rng.standard_normal(out.shape))
    first = [g.numpy() for g in tg.grad(out, inputs, upstream, retain_graph=True)]
    second = [g.numpy() for g in tg.grad(out, inputs, upstream)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_float32_stays_float32(rng, device):
    inputs = [tg.Tensor(t.numpy().astype(np.float32), requires_grad=True, device=device)
              for t in layer_inputs(rng, device)]
    out = lstm_layer(*inputs)
    out.sum().backward()
    assert out.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in inputs)


def test_layer_shape_errors(rng):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = layer_inputs(rng, "cpu")
    with pytest.raises(tg.ShapeError, match=r"lstm_layer: expected x \(T, B, I\)"):
        lstm_layer(x, h0, c0, w_ih, w_ih)                       # w_hh of the wrong shape
    with pytest.raises(tg.ShapeError, match="both or no biases"):
        lstm_layer(x, h0, c0, w_ih, w_hh, b_ih)
    with pytest.raises(tg.ShapeError, match=r"T >= 1"):
        lstm_layer(x[:0], h0, c0, w_ih, w_hh)


# ----------------------------------------------------------------------------- nn.LSTM

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("steps", [1, 3])
def test_module_gradcheck(rng, device, batch_first, bias, steps):
    """Two stacked fused layers: full Jacobians w.r.t. x, h_0, c_0, parameters by random
    directions; every output (the sequence, h_n and c_n) is checked."""
    lstm, _ = lstm_pair(rng, 2, batch_first, bias, device)
    x_shape = (2, steps, 2) if batch_first else (steps, 2, 2)
    x, h0, c0 = leaves(rng, device, x_shape, (2, 2, 3), (2, 2, 3))

    def run(x, h0, c0, *params):
        output, (h_n, c_n) = lstm(x, (h0, c0))
        return output, h_n, c_n

    assert sum(isinstance(fn, LSTMLayer) for fn in functions(lstm(x)[0])) == 2
    assert tg.gradcheck(run, [x, h0, c0])
    assert tg.gradcheck(run, [x, h0, c0] + list(lstm.parameters()), fast=True)


LOSSES = {"output": lambda out, h_n, c_n: (out * out).sum(),
          "h_n": lambda out, h_n, c_n: (h_n * h_n).sum(),
          "c_n": lambda out, h_n, c_n: (c_n * c_n).sum(),
          "all": lambda out, h_n, c_n: out.sum() + (h_n * c_n).sum()}


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_equals_composed(rng, device, loss, batch_first, bias):
    fused, composed = lstm_pair(rng, 2, batch_first, bias, device)
    x = rng.standard_normal((3, 5, 2) if batch_first else (5, 3, 2))
    state = rng.standard_normal((2, 2, 3, 3))
    results = []
    for lstm in (fused, composed):
        x_t, h0, c0 = (tg.Tensor(a, requires_grad=True, device=device) for a in (x, *state))
        out, (h_n, c_n) = lstm(x_t, (h0, c0))
        inputs = [x_t, h0, c0] + list(lstm.parameters())
        grads = tg.grad(LOSSES[loss](out, h_n, c_n), inputs, allow_unused=True)
        results.append([out.numpy(), h_n.numpy(), c_n.numpy()]
                       + [np.zeros(t.shape) if g is None else g.numpy()
                          for t, g in zip(inputs, grads)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_with_gradients(rng, batch_first, bias):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LSTM(2, 3, num_layers=2, bias=bias, batch_first=batch_first).double()
    ours = nn.LSTM(2, 3, num_layers=2, bias=bias, batch_first=batch_first).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2))
    h0, c0 = rng.standard_normal((2, 2, 3, 3))
    weights = [rng.standard_normal(shape) for shape in ((3, 4, 3) if batch_first else (4, 3, 3),
                                                        (2, 3, 3), (2, 3, 3))]

    def loss(out, h_n, c_n, make):
        return sum((a * make(w)).sum() for a, w in zip((out, h_n, c_n), weights))

    ours_in = [tg.Tensor(a, requires_grad=True) for a in (x, h0, c0)]
    out, (h_n, c_n) = ours(ours_in[0], tuple(ours_in[1:]))
    loss(out, h_n, c_n, tg.Tensor).backward()
    theirs_in = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    t_out, (t_h, t_c) = theirs(theirs_in[0], tuple(theirs_in[1:]))
    loss(t_out, t_h, t_c, torch.tensor).backward()
    for a, b in zip((out, h_n, c_n), (t_out, t_h, t_c)):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_module_second_derivatives(rng):
    lstm, _ = lstm_pair(rng, layers=1)
    x = tg.Tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    assert tg.gradgradcheck(lambda x: lstm(x)[0], [x])


def test_switching_off_the_fused_path_builds_the_composed_graph(rng):
    """One node per layer when fused; the unrolled cells (some 18 nodes a step) when not."""
    fused, composed = lstm_pair(rng, layers=1)
    x = tg.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    fused_graph, composed_graph = functions(fused(x)[0]), functions(composed(x)[0])
    assert sum(isinstance(fn, LSTMLayer) for fn in fused_graph) == 1
    assert len(fused_graph) < 5
    assert not any(isinstance(fn, LSTMLayer) for fn in composed_graph)
    assert len(composed_graph) > 4 * 15
    assert nn.LSTM.fused and not composed.fused


# --- the Numba kernels of the steps (kernels/lstm_cpu.py) ---------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_forward_step_kernel_agrees_with_the_reference(dtype):
    from tinygrad_edu.kernels import lstm_cpu
    from tinygrad_edu.ops.lstm import lstm_cell_forward
    rng = np.random.default_rng(4)
    batch, hidden = 3, 5
    tanh_a = np.tanh(rng.standard_normal((batch, 4 * hidden))).astype(dtype)
    scale = rng.random(4 * hidden).astype(dtype)
    shift = rng.standard_normal(4 * hidden).astype(dtype)
    c_prev = rng.standard_normal((2 * batch, hidden)).astype(dtype)[::2]   # a strided view
    results = []
    for step in (lstm_cpu.lstm_cell_forward, lstm_cell_forward):
        a, c = tanh_a.copy(), np.full((batch, hidden), np.nan, dtype)
        step(a, scale, shift, c_prev, c)
        results.append((a, c))
    (a, c), (a_ref, c_ref) = results
    np.testing.assert_array_equal(a, a_ref)                      # one multiply-add: exact
    i, f, g = (a_ref[:, k * hidden:(k + 1) * hidden] for k in range(3))
    np.testing.assert_allclose(c_ref, f * c_prev + i * g, rtol=1e-6)
    np.testing.assert_allclose(c, c_ref, rtol=1e-6 if dtype == np.float32 else 1e-15)

@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_the_backward_step_kernel_agrees_with_the_reference(dtype, rtol):
    from tinygrad_edu.kernels import lstm_cpu
    from tinygrad_edu.ops.lstm import lstm_cell_backward
    rng = np.random.default_rng(3)
    batch, hidden = 3, 5
    arrays = [rng.standard_normal((batch, hidden)).astype(dtype) for _ in range(4)]
    gates = rng.random((batch, 4 * hidden)).astype(dtype)             # i, f, g, o side by side
    tanh_c, c_prev = (np.tanh(rng.standard_normal((batch, hidden))).astype(dtype) for _ in "ab")
    results = []
    for step in (lstm_cpu.lstm_cell_backward, lstm_cell_backward):
        da = np.full((batch, 4 * hidden), np.nan, dtype)
        dc_next = step(*arrays, gates, tanh_c, c_prev, da)
        results.append((da, dc_next))
    (da, dc), (da_ref, dc_ref) = results
    assert da.dtype == dc.dtype == dtype and not np.isnan(da).any()
    np.testing.assert_allclose(da, da_ref, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dc, dc_ref, rtol=rtol, atol=rtol)


def test_the_layer_gives_the_same_gradients_with_the_kernel_and_the_reference(rng):
    from tinygrad_edu.kernels import lstm_cpu
    shapes = [(4, 2, 3), (2, 5), (2, 5), (20, 3), (20, 5), (20,), (20,)]
    leaves = [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    upstream = tg.Tensor(rng.standard_normal((2, 4, 2, 5)))
    with_kernel = tg.grad(lstm_layer(*leaves, impl=lstm_cpu), leaves, upstream)
    reference = tg.grad(lstm_layer(*leaves), leaves, upstream)
    for a, b in zip(with_kernel, reference):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-13)
    assert tg.gradcheck(lambda *t: lstm_layer(*t, impl=lstm_cpu), leaves)
