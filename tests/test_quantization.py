"""tg.quantization: symmetric int8 round trips within scale/2, int32 accumulation without
overflow, the quantized Linear and Conv2d against the float computation they approximate,
checkpoints of int8 and scales, fake quantization's straight-through gradient; compared with
PyTorch's quantizers where they agree."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn
from tinygrad_edu.models import CNN, MLP
from tinygrad_edu.quantization import (QMAX, QuantizedConv2d, QuantizedLinear, dequantize,
                                       fake_quantize, fake_quantize_per_channel, int8_matmul,
                                       quantize_dynamic, quantize_per_channel,
                                       quantize_per_tensor)
from tinygrad_edu.quantization.int8 import MAX_INT32_FEATURES


@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 5, 5), (1, 9)])
def test_per_channel_round_trip_error_is_at_most_half_a_scale(rng, shape):
    w = (rng.standard_normal(shape) * rng.uniform(0.01, 3, size=(shape[0],) + (1,) *
                                                  (len(shape) - 1))).astype(np.float32)
    q, scales = quantize_per_channel(w, np, axis=0)
    assert q.dtype == np.int8 and scales.shape == (shape[0],) and scales.dtype == np.float32
    assert np.abs(q).max() == QMAX                   # each channel's largest weight uses the range
    error = np.abs(dequantize(q, scales, axis=0) - w)
    assert np.all(error <= scales.reshape((-1,) + (1,) * (len(shape) - 1)) / 2 * (1 + 1e-6))


def test_per_tensor_round_trip_and_an_all_zero_tensor(rng):
    x = rng.standard_normal((6, 8)).astype(np.float32) * 5
    q, scale = quantize_per_tensor(x, np)
    assert scale.shape == () and np.all(np.abs(dequantize(q, scale) - x) <= scale / 2 * (1 + 1e-6))
    q, scale = quantize_per_tensor(np.zeros((2, 3), np.float32), np)
    assert scale == 1 and np.all(q == 0)


def test_per_channel_codes_match_torch_quantize_per_channel(rng):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((6, 10)).astype(np.float32)
    q, scales = quantize_per_channel(w, np, axis=0)
    theirs = torch.quantize_per_channel(torch.from_numpy(w), torch.from_numpy(scales.astype(
        np.float64)), torch.zeros(6, dtype=torch.int64), 0, torch.qint8)
    np.testing.assert_array_equal(theirs.int_repr().numpy(), q)


def test_int32_accumulation_is_exact_at_the_extremes_of_the_layers_used():
    """The widest layer of the MLP/CNN recipes takes 784 inputs; every product at -127·-127
    is the worst case. int8 would overflow at once; int32 holds the exact sum."""
    assert MAX_INT32_FEATURES > 100_000 > 784
    q = np.full((2, 784), -QMAX, np.int8)
    out = int8_matmul(q, np.full((3, 784), -QMAX, np.int8))
    assert out.dtype == np.int32 and np.all(out == 784 * QMAX * QMAX)
    assert (q[0].astype(np.int8) * q[0]).max() != QMAX * QMAX     # what int8 arithmetic gives


def test_int8_matmul_equals_the_exact_integer_product(rng):
    a = rng.integers(-127, 128, size=(5, 33)).astype(np.int8)
    b = rng.integers(-127, 128, size=(4, 33)).astype(np.int8)
    np.testing.assert_array_equal(int8_matmul(a, b), a.astype(np.int64) @ b.astype(np.int64).T)


def test_int8_matmul_refuses_a_width_that_could_overflow():
    with pytest.raises(ValueError, match="int8_matmul: 200000 features could overflow int32"):
        int8_matmul(np.zeros((1, 200_000), np.int8), np.zeros((1, 200_000), np.int8))


def test_quantized_linear_is_the_product_of_the_dequantized_operands(rng):
    linear = nn.Linear(12, 5)
    x = rng.standard_normal((3, 4, 12)).astype(np.float32)
    layer = QuantizedLinear(linear)
    q_x, s_x = quantize_per_tensor(x, np)
    expected = (dequantize(q_x, s_x).astype(np.float64)
                @ dequantize(layer.weight_int8.numpy(), layer.weight_scale.numpy(), 0).T
                + linear.bias.numpy())
    out = layer(Tensor(x))
    assert out.shape == (3, 4, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    float_out = linear(Tensor(x)).numpy()
    assert np.abs(out.numpy() - float_out).max() < 0.02 * np.abs(float_out).max()


@pytest.mark.parametrize("settings", [dict(), dict(stride=2, padding=1),
                                      dict(padding=2, dilation=2), dict(groups=2, padding=1)])
def test_quantized_conv2d_is_the_convolution_of_the_dequantized_operands(rng, settings):
    conv = nn.Conv2d(4, 6, 3, **settings)
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    layer = QuantizedConv2d(conv)
    q_x, s_x = quantize_per_tensor(x, np)
    w = dequantize(layer.weight_int8.numpy(), layer.weight_scale.numpy(), 0)
    expected = F.conv2d(Tensor(dequantize(q_x, s_x).astype(np.float64)),
                        Tensor(w.astype(np.float64)), Tensor(conv.bias.numpy().astype(np.float64)),
                        **settings).numpy()
    out = layer(Tensor(x))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_matches_torch_dynamic_quantization_to_the_rounding_of_its_scheme(rng):
    """PyTorch quantizes the input asymmetrically to uint8, so the two differ by rounding
    only: both stay within a small fraction of the float output's range."""
    torch = pytest.importorskip("torch")
    linear = nn.Linear(32, 8)
    reference = torch.nn.Sequential(torch.nn.Linear(32, 8))
    reference[0].weight.data = torch.from_numpy(linear.weight.numpy())
    reference[0].bias.data = torch.from_numpy(linear.bias.numpy())
    theirs = torch.ao.quantization.quantize_dynamic(
        reference, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig})
    x = rng.standard_normal((16, 32)).astype(np.float32)
    ours = quantize_dynamic(nn.Sequential(linear))(Tensor(x)).numpy()
    exact = linear(Tensor(x)).numpy()
    with torch.no_grad():
        torch_out = theirs(torch.from_numpy(x)).numpy()
    spread = np.abs(exact).max()
    assert np.abs(ours - exact).max() < 0.02 * spread
    assert np.abs(ours - torch_out).max() < 0.03 * spread


def test_quantize_dynamic_copies_and_replaces_every_layer(rng):
    model = CNN(image_size=8)
    quantized = quantize_dynamic(model)
    assert isinstance(model.conv1, nn.Conv2d) and isinstance(model.fc3, nn.Linear)
    assert isinstance(quantized.conv1, QuantizedConv2d) and isinstance(quantized.fc3,
                                                                       QuantizedLinear)
    assert list(quantized.parameters()) == []
    only_linear = quantize_dynamic(model, {nn.Linear})
    assert isinstance(only_linear.conv1, nn.Conv2d) and isinstance(only_linear.fc1,
                                                                  QuantizedLinear)
    x = Tensor(rng.random((4, 1, 8, 8)).astype(np.float32))
    assert np.abs(quantized(x).numpy() - model(x).numpy()).max() < 0.05 * np.abs(
        model(x).numpy()).max()


def test_quantize_dynamic_keeps_the_order_of_a_sequential(rng):
    model = MLP([10, 16, 16, 4])
    quantized = quantize_dynamic(model)
    assert [type(m).__name__ for m in quantized.layers] == [
        "QuantizedLinear", "ReLU", "QuantizedLinear", "ReLU", "QuantizedLinear"]
    x = Tensor(rng.random((5, 10)).astype(np.float32))
    assert np.abs(quantized(x).numpy() - model(x).numpy()).max() < 0.02 * np.abs(
        model(x).numpy()).max()


def test_quantize_dynamic_names_what_it_cannot_quantize():
    with pytest.raises(ValueError, match=r"quantize_dynamic: cannot quantize \['LayerNorm'\]"):
        quantize_dynamic(MLP([4, 3]), {nn.LayerNorm})


@pytest.mark.parametrize("make", [lambda: MLP([64, 256, 256, 10]), lambda: MLP([784, 256, 256, 10]),
                                  lambda: CNN(image_size=8), lambda: CNN()])
def test_checkpoint_holds_int8_and_scales_under_30_percent_of_float32(tmp_path, rng, make):
    """The MLP and the CNN of the digits and of MNIST, untrained: the int8 checkpoint, deflated
    as ``tinygrad-edu quantize`` writes it, is at most 30% of the float32 one as ``tg.save``
    writes it. Stored without deflate the 8x8 digits CNN (21,386 parameters) would come to 34%:
    each saved array costs a few hundred bytes of headers, whatever its size."""
    model = make()
    quantized = quantize_dynamic(model)
    state = quantized.state_dict()
    assert {t.dtype for name, t in state.items() if name.endswith("weight_int8")} == {np.dtype(np.int8)}
    tg.save(model.state_dict(), tmp_path / "float.npz")
    tg.save(state, tmp_path / "int8.npz", compress=True)
    ratio = (tmp_path / "int8.npz").stat().st_size / (tmp_path / "float.npz").stat().st_size
    assert ratio <= 0.30, ratio
    fresh = quantize_dynamic(make())
    fresh.load_state_dict(tg.load(tmp_path / "int8.npz"))
    shape = (3, model.sizes[0]) if isinstance(model, MLP) else (3, 1) + (model.image_size,) * 2
    x = Tensor(rng.random(shape).astype(np.float32))
    np.testing.assert_array_equal(fresh(x).numpy(), quantized(x).numpy())


def test_fake_quantize_rounds_to_the_grid_with_a_straight_through_gradient():
    x = Tensor(np.array([-3.0, -1.3, -0.261, 0.0, 0.5049, 1.26, 2.0]), requires_grad=True)
    y = fake_quantize(x, 0.01)
    np.testing.assert_allclose(y.numpy(), [-1.27, -1.27, -0.26, 0.0, 0.50, 1.26, 1.27])
    (y * Tensor(np.arange(1.0, 8.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 3, 4, 5, 6, 0])   # identity inside


def test_fake_quantize_matches_torch_values_and_gradient(rng):
    torch = pytest.importorskip("torch")
    values = rng.uniform(-2, 2, size=50)
    x = Tensor(values, requires_grad=True)
    fake_quantize(x, 0.012).sum().backward()
    t = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    theirs = torch.fake_quantize_per_tensor_affine(t, 0.012, 0, -127, 127)
    theirs.sum().backward()
    np.testing.assert_allclose(fake_quantize(Tensor(values), 0.012).numpy(),
                               theirs.detach().numpy(), atol=1e-6)
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_per_channel_fake_quantize_lets_every_weight_learn(rng):
    w = Tensor(rng.standard_normal((4, 6)), requires_grad=True)
    y = fake_quantize_per_channel(w)
    q, scales = quantize_per_channel(w.numpy(), np)
    np.testing.assert_allclose(y.numpy(), q * scales[:, None], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((4, 6)))   # the largest ones too


def test_quantized_layers_name_a_wrong_input_shape():
    with pytest.raises(ValueError, match=r"QuantizedLinear: expected input of shape \(\.\.\., 4\)"):
        QuantizedLinear(nn.Linear(4, 2))(Tensor(np.zeros((3, 5), np.float32)))
    with pytest.raises(ValueError, match=r"QuantizedConv2d: expected input of shape \(N, 3"):
        QuantizedConv2d(nn.Conv2d(3, 2, 3))(Tensor(np.zeros((1, 2, 5, 5), np.float32)))
