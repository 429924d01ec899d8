"""tg.models.CNN (LeNet-5): shapes at both image sizes, forward against NumPy, gradients against
finite differences, training on a tiny batch, saving and loading."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, optim
from tinygrad_edu.models import CNN
from overfit import assert_overfits


def numpy_conv2d(x, weight, bias, padding):
    """Cross-correlation as a sum over every 5x5 window: (N, C, H, W) -> (N, O, H', W')."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(x, weight.shape[2:], axis=(2, 3))   # (N, C, H', W', kh, kw)
    return np.einsum("nchwij,ocij->nohw", windows, weight) + bias[None, :, None, None]


def numpy_max_pool2(x):
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def relu(z):
    return np.maximum(z, 0)


def numpy_lenet(model, x, conv2_padding):
    """LeNet-5 from the model's weights, in NumPy."""
    w = {name: t.numpy() for name, t in model.state_dict().items()}
    h = numpy_max_pool2(relu(numpy_conv2d(x, w["conv1.weight"], w["conv1.bias"], 2)))
    h = numpy_max_pool2(relu(numpy_conv2d(h, w["conv2.weight"], w["conv2.bias"], conv2_padding)))
    h = h.reshape(len(x), -1)
    h = relu(h @ w["fc1.weight"].T + w["fc1.bias"])
    h = relu(h @ w["fc2.weight"].T + w["fc2.bias"])
    return h @ w["fc3.weight"].T + w["fc3.bias"]


def lenet_parameter_count(in_channels, num_classes, flattened, width=1):
    c1, c2, h1, h2 = 6 * width, 16 * width, 120 * width, 84 * width
    return ((in_channels * 25 + 1) * c1 + (c1 * 25 + 1) * c2
            + (flattened * width + 1) * h1 + (h1 + 1) * h2 + (h2 + 1) * num_classes)


@pytest.mark.parametrize("image_size, flattened", [(28, 400), (8, 64), (32, 400 * 36 // 25)])
def test_parameter_count_and_flattened_size(image_size, flattened):
    model = CNN(1, 10, image_size)
    assert model.fc1.in_features == flattened
    assert model.num_parameters() == lenet_parameter_count(1, 10, flattened)


def test_mnist_lenet_has_the_classic_61706_parameters():
    assert CNN().num_parameters() == lenet_parameter_count(1, 10, 400) == 61706


def test_width_multiplies_every_layer():
    """CNN(width=2), the distillation experiments' teacher: 6w, 16w channels, 120w, 84w units."""
    for image_size, flattened, parameters in [(28, 400, 244_362), (8, 64, 83_082)]:
        model = CNN(1, 10, image_size, width=2)
        assert (model.conv1.out_channels, model.conv2.out_channels) == (12, 32)
        assert (model.fc1.in_features, model.fc1.out_features, model.fc2.out_features) == (
            2 * flattened, 240, 168)
        assert model.num_parameters() == lenet_parameter_count(1, 10, flattened, 2) == parameters
    assert "width=2" in repr(CNN(width=2)) and "width" not in repr(CNN())


@pytest.mark.parametrize("width", [0, -1, 1.5, True])
def test_width_must_be_a_positive_integer(width):
    with pytest.raises(ValueError, match=f"CNN: width must be a positive integer, got {width}"):
        CNN(width=width)


@pytest.mark.parametrize("in_channels, image_size, conv2_padding, width",
                         [(1, 28, 0, 1), (1, 8, 2, 1), (3, 12, 0, 1), (1, 8, 2, 2)])
def test_forward_matches_numpy(in_channels, image_size, conv2_padding, width, device, rng):
    tg.manual_seed(0)
    model = CNN(in_channels, 7, image_size, width=width).double().to(device)
    x = rng.standard_normal((2, in_channels, image_size, image_size))
    out = model(Tensor(x, device=device))
    assert out.shape == (2, 7) and out.device == device
    np.testing.assert_allclose(out.numpy(), numpy_lenet(model, x, conv2_padding), rtol=1e-10, atol=1e-12)


def test_gradcheck_full_jacobian_wrt_the_input(rng):
    tg.manual_seed(1)
    model = CNN(1, 3, image_size=8).double()
    x = Tensor(rng.standard_normal((1, 1, 8, 8)), requires_grad=True)
    assert tg.gradcheck(model, [x])


def test_gradcheck_fast_wrt_input_and_every_parameter(rng):
    tg.manual_seed(2)
    model = CNN(2, 4, image_size=8).double()
    x = Tensor(rng.standard_normal((2, 2, 8, 8)), requires_grad=True)
    assert tg.gradcheck(lambda x, *params: model(x), [x, *model.parameters()], fast=True)


def test_overfits_a_tiny_batch_with_adam(rng):
    """16 random 8x8 images with random labels, memorised: fails if any gradient is off."""
    tg.manual_seed(3)
    model = CNN(1, 10, image_size=8)
    x = Tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    y = Tensor(rng.integers(0, 10, size=16))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    assert_overfits(model, optimizer, lambda: F.cross_entropy(model(x), y))


def test_save_load_round_trip_is_exact(tmp_path, rng):
    tg.manual_seed(4)
    model = CNN(1, 10, image_size=8)
    tg.save(model.state_dict(), tmp_path / "cnn.npz")
    tg.manual_seed(5)
    fresh = CNN(1, 10, image_size=8)
    x = Tensor(rng.standard_normal((3, 1, 8, 8)).astype(np.float32))
    assert not np.array_equal(fresh(x).numpy(), model(x).numpy())
    fresh.load_state_dict(tg.load(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())


def test_matches_torch_lenet(rng):
    torch = pytest.importorskip("torch")

    class TorchLeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = torch.nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = (torch.nn.Linear(400, 120), torch.nn.Linear(120, 84),
                                            torch.nn.Linear(84, 10))

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)
            return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    model = CNN().double()
    reference = TorchLeNet().double()
    reference.load_state_dict({name: torch.from_numpy(t.numpy()) for name, t
                               in model.state_dict().items()})
    x = rng.standard_normal((2, 1, 28, 28))
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(Tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 28, 28), (2, 3, 28, 28), (2, 1, 8, 8)])
def test_wrong_input_shape_names_the_model_and_both_shapes(shape):
    given = r"\(" + ", ".join(map(str, shape)) + r"\)"
    with pytest.raises(ValueError, match=r"CNN.*\(N, 1, 28, 28\).*" + given):
        CNN()(tg.zeros(*shape))


def test_too_small_image_size_raises():
    with pytest.raises(ValueError, match="CNN.*image_size"):
        CNN(image_size=3)
