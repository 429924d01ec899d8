"""The layers added for PyTorch parity: each loads PyTorch's state_dict unchanged and then gives
PyTorch's output and input gradient; containers register what they hold; nn.MultiheadAttention
returns PyTorch's (output, weights) pair."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from strategies import leaf

torch = pytest.importorskip("torch")


def load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.double()


LAYERS = {   # name: (ours, theirs, input shape)
    "Conv1d": (lambda m: m.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 9)),
    "ConvTranspose2d": (lambda m: m.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1,
                                                    output_padding=1, groups=2), (2, 4, 3, 4)),
    "AdaptiveAvgPool2d": (lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    "MaxPool2d_options": (lambda m: m.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
                          (1, 2, 7, 7)),
    "AvgPool2d_options": (lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                count_include_pad=False), (1, 2, 6, 6)),
    "ELU": (lambda m: m.ELU(0.5), (3, 4)),
    "SELU": (lambda m: m.SELU(), (3, 4)),
    "SiLU": (lambda m: m.SiLU(), (3, 4)),
    "Mish": (lambda m: m.Mish(), (3, 4)),
    "Hardtanh": (lambda m: m.Hardtanh(-0.5, 0.5), (3, 4)),
    "LogSigmoid": (lambda m: m.LogSigmoid(), (3, 4)),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.1), (3, 4)),
    "Identity": (lambda m: m.Identity(), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name, rng):
    make, shape = LAYERS[name]
    theirs = make(torch.nn).double()
    ours = load_from_torch(make(nn), theirs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    x = rng.uniform(-2, 2, size=shape)
    a, t = leaf(x), torch.tensor(x, requires_grad=True)
    out, expected = ours(a), theirs(t)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = rng.standard_normal(expected.shape)
    out.backward(tg.Tensor(seed))
    expected.backward(torch.from_numpy(seed))
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_layers_have_torchs_parameter_shapes_and_init_range():
    conv = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert conv.weight.shape == (4, 3, 3, 3) and conv.bias.shape == (6,)
    bound = 1 / np.sqrt(3 * 9)   # fan_in = out_channels / groups · KH · KW, as in PyTorch
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert nn.Conv1d(2, 5, 4, bias=False).weight.shape == (5, 2, 4)
    assert nn.Conv1d(2, 5, 3)(tg.zeros(2, 7)).shape == (5, 5)   # unbatched input


def test_losses_as_modules_match_torch(rng):
    p = rng.uniform(0.1, 0.9, size=(4,))
    y = (rng.uniform(size=4) > 0.5).astype(np.float64)
    assert np.isclose(nn.BCELoss()(tg.Tensor(p), tg.Tensor(y)).item(),
                      torch.nn.BCELoss()(torch.tensor(p), torch.tensor(y)).item())
    assert np.isclose(nn.SmoothL1Loss(beta=0.3)(tg.Tensor(p), tg.Tensor(y)).item(),
                      torch.nn.SmoothL1Loss(beta=0.3)(torch.tensor(p), torch.tensor(y)).item())


def test_module_dict_registers_its_modules():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 2)})
    heads["box"] = nn.Linear(4, 4)
    model = nn.Sequential(nn.Linear(3, 4))
    model.heads = heads
    assert list(heads) == ["cls", "box"] and "box" in heads and len(heads) == 2
    assert "heads.box.weight" in model.state_dict()
    assert len(list(model.parameters())) == 6
    assert [k for k, _ in heads.items()] == list(heads.keys())
    heads.pop("cls")
    assert list(heads.keys()) == ["box"]
    with pytest.raises(TypeError, match="ModuleDict"):
        heads["x"] = 3


def test_parameter_list_registers_and_wraps():
    scales = nn.ParameterList([tg.ones(3), nn.Parameter(tg.zeros(2))])
    scales.append(tg.ones(1))
    assert len(scales) == 3 and all(isinstance(p, nn.Parameter) for p in scales)
    assert scales[0].requires_grad
    holder = nn.Module()
    holder.scales = scales
    assert sorted(holder.state_dict()) == ["scales.0", "scales.1", "scales.2"]
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(3))])
    assert list(theirs.state_dict()) == ["0"] and list(nn.ParameterList([tg.ones(3)])
                                                        .state_dict()) == ["0"]


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first, rng):
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = load_from_torch(nn.MultiheadAttention(8, 2, batch_first=batch_first), theirs)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    x = rng.standard_normal(shape)
    padding = np.zeros((3, 5), bool)
    padding[1, -2:] = True
    future = np.triu(np.ones((5, 5), bool), 1)
    a, t = leaf(x), torch.tensor(x, requires_grad=True)
    out, weights = ours(a, a, a, key_padding_mask=tg.Tensor(padding), attn_mask=tg.Tensor(future))
    expected, expected_weights = theirs(t, t, t, key_padding_mask=torch.from_numpy(padding),
                                        attn_mask=torch.from_numpy(future))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights.detach().numpy(), atol=1e-12)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    fast, none = ours(a, a, a, need_weights=False, attn_mask=tg.Tensor(future),
                      is_causal=True)
    slow, per_head = ours(a, a, a, attn_mask=tg.Tensor(future), average_attn_weights=False)
    assert none is None and per_head.shape == (3, 2, 5, 5)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_gradcheck(rng):
    layer = nn.MultiheadAttention(4, 2).double()
    x = leaf(rng.standard_normal((3, 2, 4)))
    assert tg.gradcheck(lambda q: layer(q, q, q)[0], [x])
    assert tg.gradcheck(lambda q: layer(q, q, q)[1], [x])
