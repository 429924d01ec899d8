"""Module machinery (registration, traversal, tied weights, state_dict, train/eval, zero_grad,
repr, containers) and the Linear layer (forward vs NumPy and PyTorch, gradient checks, errors)."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(tg.ones(4))
        self.not_a_parameter = tg.ones(2)        # a plain tensor attribute is not registered
        self.register_buffer("offset", tg.zeros(4))

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale + self.offset


class TiedNet(nn.Module):
    """An embedding and an output layer that share one weight (as GPT ties them)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


def test_registration_and_traversal():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "norm.weight", "norm.bias"]
    assert [name for name, _ in block.named_buffers()] == [
        "offset", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert [name for name, _ in block.named_children()] == ["fc", "norm"]
    assert [type(m).__name__ for m in block.modules()] == ["Block", "Linear", "BatchNorm1d"]
    assert all(p.requires_grad for p in block.parameters())
    assert block.not_a_parameter.shape == (2,)
    del block.scale
    assert "scale" not in dict(block.named_parameters())


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\)"):
        Broken()


def test_tied_parameters_appear_once_but_under_both_names_in_the_state_dict():
    net = TiedNet()
    assert [name for name, _ in net.named_parameters()] == ["embed.weight"]
    assert list(net.state_dict()) == ["embed.weight", "head.weight"]
    tokens = np.array([1, 3])
    F.cross_entropy(net.head(net.embed(tokens)), tokens).backward()
    assert net.embed.weight.grad is net.head.weight.grad   # one parameter, one gradient


def test_state_dict_round_trip_and_detached_values(rng):
    source, target = Block(), Block()
    state = source.state_dict()
    assert all(not value.requires_grad for value in state.values())
    target.load_state_dict(state)
    x = tg.Tensor(rng.standard_normal((6, 3)).astype(np.float32))
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())
    # values are copied: changing the source afterwards leaves the target alone
    kept = target.fc.weight
    source.fc.weight.data[...] = 0
    assert target.fc.weight is kept and np.any(target.fc.weight.numpy() != 0)


def test_load_state_dict_errors_list_every_problem():
    block = Block()
    state = dict(block.state_dict())
    del state["fc.bias"]
    state["extra.weight"] = np.ones(3)
    state["scale"] = np.ones(5)
    with pytest.raises(tg.ShapeError) as error:
        block.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: ['fc.bias']" in message
    assert "unexpected keys: ['extra.weight']" in message
    assert "scale: checkpoint (5,) vs model (4,)" in message
    before = block.fc.weight.numpy().copy()
    state["scale"] = np.full(4, 2.0)
    state["fc.weight"] = np.zeros((4, 3))
    block.load_state_dict(state, strict=False)       # missing and unexpected keys tolerated
    np.testing.assert_array_equal(block.scale.numpy(), np.full(4, 2.0, np.float32))
    assert not np.array_equal(before, block.fc.weight.numpy())
    state["scale"] = np.ones(5)
    with pytest.raises(tg.ShapeError, match="wrong shapes"):   # a wrong shape is always an error
        block.load_state_dict(state, strict=False)


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(Block(), nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 2)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad(rng):
    model = Block()
    model(tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_repr_shows_the_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1))
    assert repr(model) == ("Sequential(\n"
                           "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                           "  (1): ReLU()\n"
                           "  (2): Dropout(p=0.1)\n"
                           ")")


def test_sequential_and_module_list(rng):
    layers = [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and model[2] is layers[2] and list(model) == layers
    x = tg.Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_array_equal(model(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())
    stack = nn.ModuleList([nn.Linear(2, 2)]).append(nn.Linear(2, 2))
    assert len(stack) == 2 and [n for n, _ in stack.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias"]


# ----------------------------------------------------------------------------- Linear

def test_linear_forward_matches_numpy(rng, device):
    layer = nn.Linear(4, 3).to(device)
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)   # any number of leading axes
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    out = layer(tg.Tensor(x, device=device))
    assert out.shape == (2, 5, 3) and out.dtype == np.float32 and out.device == device
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    no_bias = nn.Linear(4, 3, bias=False)
    assert [name for name, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(no_bias(tg.Tensor(x)).numpy(), x @ no_bias.weight.numpy().T,
                               rtol=1e-5, atol=1e-6)


def test_linear_gradcheck_input_and_parameters(rng, device):
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True, device=device)
    weight = tg.Tensor(rng.standard_normal((2, 4)), requires_grad=True, device=device)
    bias = tg.Tensor(rng.standard_normal(2), requires_grad=True, device=device)
    assert tg.gradcheck(F.linear, [x, weight, bias])
    assert tg.gradcheck(lambda x, w: F.linear(x, w) ** 2, [x, weight])
    layer = nn.Linear(4, 2).to(device).double()
    assert tg.gradcheck(lambda x, w, b: layer(x).tanh(), [x, layer.weight, layer.bias])


def test_linear_parameter_gradients_by_hand(rng):
    layer = nn.Linear(3, 2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    upstream = rng.standard_normal((4, 2)).astype(np.float32)
    layer(tg.Tensor(x)).backward(tg.Tensor(upstream))
    np.testing.assert_allclose(layer.weight.grad.numpy(), upstream.T @ x, rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.numpy(), upstream.sum(axis=0), rtol=1e-5)


def test_linear_wrong_input_shape_names_the_layer_and_both_shapes():
    with pytest.raises(tg.ShapeError, match=r"Linear: expected input of shape \(\.\.\., 4\), got \(2, 3\)"):
        nn.Linear(4, 2)(tg.ones(2, 3))
    with pytest.raises(tg.ShapeError, match=r"got \(\)"):
        nn.Linear(4, 2)(tg.Tensor(1.0))


def test_linear_matches_torch_through_its_state_dict(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(5, 3).double()
    ours = nn.Linear(5, 3).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4, 5))
    x_ours, x_theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-12)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


def test_double_and_float_convert_floating_state_only():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model(tg.ones(4, 3)).sum().backward()
    assert model.double() is model
    state = model.state_dict()
    assert all(state[name].dtype == np.float64 for name in ("0.weight", "1.running_var"))
    assert state["1.num_batches_tracked"].dtype == np.int64
    assert model[0].weight.grad.dtype == np.float64
    model.float()
    assert model[0].weight.dtype == np.float32 and model[1].running_mean.dtype == np.float32


def test_load_state_dict_names_an_entry_that_is_not_numbers():
    block = Block()
    before = block.scale.numpy().copy()
    state = dict(block.state_dict())
    state["scale"] = np.array(["a", "b", "c", "d"])   # the right shape, but text
    with pytest.raises(tg.ShapeError, match=r"not numbers: \['scale \(dtype <U1\)'\]"):
        block.load_state_dict(state)
    np.testing.assert_array_equal(block.scale.numpy(), before)   # nothing was changed
