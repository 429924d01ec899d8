"""nn.init: fans, gains, the distributions' ranges and moments, in-place semantics, layer defaults."""
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import init


def empty(*shape, dtype="float32", device="cpu", requires_grad=False):
    return tg.zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def test_fans_of_linear_and_convolution_weights():
    assert init.fan_in_and_fan_out(empty(7, 3)) == (3, 7)
    assert init.fan_in_and_fan_out(empty(8, 4, 3, 5)) == (4 * 15, 8 * 15)
    with pytest.raises(ValueError, match=r"fan_in_and_fan_out: .*\(5,\)"):
        init.fan_in_and_fan_out(empty(5))


@pytest.mark.parametrize("nonlinearity, param, expected", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75)])
def test_calculate_gain(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.3),
                        ("selu", None), ("conv1d", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param), rel=1e-12)
    with pytest.raises(ValueError, match="calculate_gain: unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def check_uniform(values, bound):
    """Inside [-bound, bound], centred, with the variance bound²/3 of U(-bound, bound)."""
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound   # the range is used
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.size)
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def check_normal(values, std, mean=0.0):
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(values.size)
    assert values.std() == pytest.approx(std, rel=0.03)
    # about 31.7% of normal draws lie more than one standard deviation from the mean
    assert np.mean(np.abs(values - mean) > std) == pytest.approx(0.3173, abs=0.02)


def test_uniform_and_normal(device):
    tensor = empty(200, 300, device=device)
    assert init.uniform_(tensor, -2.0, 4.0) is tensor
    values = tensor.numpy()
    assert values.min() >= -2.0 and values.max() <= 4.0
    check_uniform(values - 1.0, 3.0)
    init.normal_(tensor, 1.5, 0.5)
    check_normal(tensor.numpy(), 0.5, mean=1.5)


def test_xavier(device):
    tensor = empty(300, 200, device=device)
    init.xavier_uniform_(tensor, gain=2.0)
    check_uniform(tensor.numpy(), 2.0 * math.sqrt(6 / 500))
    init.xavier_normal_(tensor)
    check_normal(tensor.numpy(), math.sqrt(2 / 500))


def test_kaiming(device):
    tensor = empty(64, 16, 5, 5, device=device)   # fan_in 400, fan_out 1600
    init.kaiming_uniform_(tensor, a=math.sqrt(5))   # PyTorch's Linear/Conv default
    check_uniform(tensor.numpy(), 1 / math.sqrt(400))
    init.kaiming_uniform_(tensor, nonlinearity="relu")
    check_uniform(tensor.numpy(), math.sqrt(3) * math.sqrt(2) / math.sqrt(400))
    init.kaiming_normal_(tensor, mode="fan_out", nonlinearity="relu")
    check_normal(tensor.numpy(), math.sqrt(2) / math.sqrt(1600))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(tensor, mode="fan_avg")


def test_constant_fills_and_in_place_semantics(device):
    parameter = nn.Parameter(empty(3, 4, dtype="float64", device=device))
    array_before = parameter.data
    init.ones_(parameter)
    np.testing.assert_array_equal(parameter.numpy(), np.ones((3, 4)))
    init.constant_(parameter, 0.25)
    np.testing.assert_array_equal(parameter.numpy(), np.full((3, 4), 0.25))
    init.xavier_uniform_(parameter)
    assert parameter.data is array_before          # written into the same array
    assert parameter.dtype == np.float64 and parameter.device == device
    assert parameter.requires_grad and parameter.grad_fn is None
    init.zeros_(parameter)
    np.testing.assert_array_equal(parameter.numpy(), np.zeros((3, 4)))


def test_float32_draws_stay_float32():
    tensor = empty(10)
    init.normal_(tensor)
    assert tensor.dtype == np.float32


def test_manual_seed_repeats_the_draws(device):
    a, b = empty(5, 5, device=device), empty(5, 5, device=device)
    tg.manual_seed(3)
    init.kaiming_normal_(a)
    tg.manual_seed(3)
    init.kaiming_normal_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_integer_tensors_are_rejected():
    with pytest.raises(TypeError, match="uniform_: needs a floating-point tensor, got dtype int64"):
        init.uniform_(tg.zeros(3, dtype="int64"))


def test_layer_defaults_follow_pytorch():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    check_uniform(layer.weight.numpy(), 1 / math.sqrt(400))
    bias = layer.bias.numpy()
    assert np.abs(bias).max() <= 1 / math.sqrt(400) and bias.std() > 0.5 / math.sqrt(3 * 400)
    table = nn.Embedding(500, 100)
    check_normal(table.weight.numpy(), 1.0)
