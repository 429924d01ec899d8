"""tg.models.MLP: forward against NumPy, gradients against finite differences, training, saving."""
import numpy as np
import pytest
from scipy.special import erf

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models import MLP
from overfit import assert_overfits

NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "gelu": lambda z: 0.5 * z * (1 + erf(z / np.sqrt(2))),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
}


def numpy_mlp(model, x, activation):
    """The same network written directly in NumPy from the model's weights."""
    linears = [layer for layer in model.layers if isinstance(layer, tg.nn.Linear)]
    h = x
    for i, layer in enumerate(linears):
        h = h @ layer.weight.numpy().T + layer.bias.numpy()
        if i < len(linears) - 1:
            h = NUMPY_ACTIVATIONS[activation](h)
    return h


@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
def test_forward_matches_numpy(activation, device, rng):
    tg.manual_seed(0)
    model = MLP([5, 7, 6, 3], activation=activation).double().to(device)
    x = rng.standard_normal((4, 5))
    out = model(Tensor(x, device=device))
    assert out.shape == (4, 3) and out.device == device
    np.testing.assert_allclose(out.numpy(), numpy_mlp(model, x, activation), rtol=1e-12, atol=1e-12)


def test_layers_alternate_linear_and_activation_with_no_activation_last():
    model = MLP([4, 8, 8, 2], activation="tanh")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in model.layers
            if isinstance(layer, tg.nn.Linear)] == [(4, 8), (8, 8), (8, 2)]


@pytest.mark.parametrize("sizes", [[784, 256, 256, 10], [3, 1], [10, 20, 30, 40, 5]])
def test_parameter_count_matches_formula(sizes):
    expected = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    model = MLP(sizes)
    assert model.num_parameters() == expected
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
def test_gradcheck_full_jacobian_input_and_parameters(activation, rng):
    """The parameters are leaf tensors, so they can be gradcheck inputs themselves: the checker
    perturbs them in place and the closure simply calls the model."""
    tg.manual_seed(1)
    model = MLP([3, 4, 2], activation=activation).double()
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, *params: model(x), [x, *model.parameters()])


def test_gradcheck_fast_at_a_larger_size(rng):
    tg.manual_seed(2)
    model = MLP([20, 32, 32, 10], activation="gelu").double()
    x = Tensor(rng.standard_normal((8, 20)), requires_grad=True)
    assert tg.gradcheck(lambda x, *params: model(x), [x, *model.parameters()], fast=True)


def test_overfits_a_tiny_batch_with_adam(rng):
    """Memorising 16 random labels fails if any gradient is wrong or missing."""
    tg.manual_seed(3)
    model = MLP([10, 32, 32, 4])
    x = Tensor(rng.standard_normal((16, 10)).astype(np.float32))
    y = Tensor(rng.integers(0, 4, size=16))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    assert_overfits(model, optimizer, lambda: F.cross_entropy(model(x), y))
    assert (model(x).numpy().argmax(axis=1) == y.numpy()).all()


def test_save_load_round_trip_is_exact(tmp_path, rng):
    tg.manual_seed(4)
    model = MLP([6, 5, 3], activation="sigmoid")
    tg.save(model.state_dict(), tmp_path / "mlp.npz")
    tg.manual_seed(5)
    fresh = MLP([6, 5, 3], activation="sigmoid")
    x = Tensor(rng.standard_normal((3, 6)).astype(np.float32))
    assert not np.array_equal(fresh(x).numpy(), model(x).numpy())
    fresh.load_state_dict(tg.load(tmp_path / "mlp.npz"))
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_matches_torch_sequential(rng):
    torch = pytest.importorskip("torch")
    model = MLP([5, 8, 8, 3], activation="gelu")
    reference = torch.nn.Module()   # a container, so the names are "layers.0.weight", ...
    reference.layers = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.GELU(),
                                           torch.nn.Linear(8, 8), torch.nn.GELU(),
                                           torch.nn.Linear(8, 3)).double()
    reference.load_state_dict({name: torch.from_numpy(t.numpy().astype(np.float64))
                               for name, t in model.state_dict().items()})
    model.double()
    x = rng.standard_normal((4, 5))
    expected = reference.layers(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(Tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_wrong_input_shape_names_the_model_and_both_shapes():
    model = MLP([784, 10])
    with pytest.raises(ValueError, match=r"MLP.*\(N, 784\).*\(2, 28, 28\)"):
        model(tg.zeros(2, 28, 28))


@pytest.mark.parametrize("sizes, activation", [([5], "relu"), ([5, 0, 2], "relu"),
                                                ([5, 2], "swish")])
def test_bad_construction_arguments_raise(sizes, activation):
    with pytest.raises(ValueError, match="MLP"):
        MLP(sizes, activation=activation)
