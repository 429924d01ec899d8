"""Making tensors and reading them back: the factories (shape, dtype, device, requires_grad),
seeding, dtype rules of the constructor, and the Tensor attributes and conversions."""
import numpy as np
import pytest

import tinygrad_edu as tg

FILLED = {"zeros": (tg.zeros, 0.0), "ones": (tg.ones, 1.0)}


@pytest.mark.parametrize("name", sorted(FILLED))
def test_zeros_and_ones(name, device):
    make, value = FILLED[name]
    for shape_args, shape in [((2, 3), (2, 3)), (((2, 3),), (2, 3)), ((4,), (4,)), ((), ())]:
        t = make(*shape_args, device=device)
        assert t.shape == shape and t.dtype == np.float32 and t.device == device
        assert not t.requires_grad and np.all(t.numpy() == value)
    t = make(2, dtype=np.float64, requires_grad=True, device=device)
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf


def test_full_eye_arange(device):
    t = tg.full((2, 2), 3.5, device=device)
    assert t.dtype == np.float32 and t.tolist() == [[3.5, 3.5], [3.5, 3.5]]
    assert tg.full(3, 1, dtype=np.int64, device=device).tolist() == [1, 1, 1]
    np.testing.assert_array_equal(tg.eye(3, device=device).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 3, dtype=np.float64).numpy(), np.eye(2, 3))
    assert tg.arange(4, device=device).tolist() == [0, 1, 2, 3]
    assert tg.arange(4).dtype == np.int64
    assert tg.arange(1, 7, 2).tolist() == [1, 3, 5]
    half = tg.arange(0, 1, 0.25, device=device)
    assert half.dtype == np.float32 and half.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(3, dtype=np.float64, requires_grad=True).requires_grad


def test_like_factories_copy_shape_dtype_and_device(device):
    x = tg.ones(2, 3, dtype=np.float64, device=device)
    for make, check in [(tg.zeros_like, lambda a: np.all(a == 0)),
                        (tg.ones_like, lambda a: np.all(a == 1)),
                        (lambda t, **kw: tg.full_like(t, 7.0, **kw), lambda a: np.all(a == 7)),
                        (tg.rand_like, lambda a: np.all((a >= 0) & (a < 1))),
                        (tg.randn_like, lambda a: np.all(np.isfinite(a)))]:
        out = make(x)
        assert out.shape == (2, 3) and out.dtype == np.float64 and out.device == device
        assert check(out.numpy()) and not out.requires_grad
        assert make(x, requires_grad=True).requires_grad
        assert make(x, dtype=np.float32).dtype == np.float32


def test_random_factories_and_manual_seed(device):
    tg.manual_seed(123)
    a, b = tg.randn(500, device=device), tg.rand(500, device=device)
    tg.manual_seed(123)
    a2, b2 = tg.randn(500, device=device), tg.rand(500, device=device)
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    assert not np.array_equal(a.numpy(), tg.randn(500, device=device).numpy())   # it moves on
    assert a.dtype == np.float32 and tg.randn(3, dtype=np.float64).dtype == np.float64
    assert abs(a.numpy().mean()) < 0.2 and 0.8 < a.numpy().std() < 1.2
    assert b.numpy().min() >= 0 and b.numpy().max() < 1 and 0.4 < b.numpy().mean() < 0.6
    tg.manual_seed(7)
    c = tg.randn(2, 3, requires_grad=True, device=device)
    assert c.shape == (2, 3) and c.requires_grad


# ----------------------------------------------------------------------------- the constructor

def test_constructor_dtype_rules():
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32             # Python floats
    assert tg.Tensor(2.5).dtype == np.float32
    assert tg.Tensor([1, 2]).dtype == np.int64                   # Python ints
    assert tg.Tensor([True]).dtype == np.bool_
    assert tg.Tensor(np.ones(2)).dtype == np.float64             # a float64 array stays float64
    assert tg.Tensor(np.ones(2, dtype=np.float16)).dtype == np.float16
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.Tensor(np.ones(2), dtype="float32").dtype == np.float32
    assert tg.tensor([1.0], requires_grad=True).requires_grad


def test_constructor_from_a_tensor_cuts_the_graph():
    x = tg.ones(2, requires_grad=True)
    y = tg.Tensor(x * 2)
    assert not y.requires_grad and y.grad_fn is None and y.tolist() == [2.0, 2.0]


def test_attributes_and_conversions(device):
    values = np.arange(6, dtype=np.float64).reshape(2, 3)
    x = tg.Tensor(values, requires_grad=True, device=device)
    assert x.shape == (2, 3) and x.ndim == 2 and x.numel() == 6 and len(x) == 2
    assert x.size() == (2, 3) and isinstance(x.size(), tg.Size) and x.size(-1) == 3
    assert x.size().numel() == 6 and x.size().dim() == 2 and x.dim() == 2
    assert x.dtype == np.float64 and x.device == device and x.requires_grad and x.grad is None
    assert isinstance(x.numpy(), np.ndarray) and np.array_equal(x.numpy(), values)
    assert x.tolist() == values.tolist()
    assert x.data is not None and x.xp.__name__ in ("numpy", "cupy")
    assert tg.Tensor([[4.5]]).item() == 4.5 and isinstance(tg.Tensor(3).item(), int)
    assert float(tg.Tensor(2.0)) == 2.0 and bool(tg.Tensor(1.0)) and not bool(tg.Tensor(0.0))


def test_detach_to_and_cpu(device):
    x = tg.ones(3, requires_grad=True, device=device)
    d = x.detach()
    assert not d.requires_grad and d.device == device and d.data is x.data
    assert x.to(device) is x
    on_cpu = x.cpu()
    assert on_cpu.device == "cpu" and on_cpu.tolist() == [1.0, 1.0, 1.0]


def test_repr_shows_values_and_what_matters():
    assert repr(tg.Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert "requires_grad=True" in repr(tg.ones(1, requires_grad=True))
    assert "dtype=float64" in repr(tg.Tensor(np.ones(1)))
    assert "grad_fn=Mul" in repr(tg.ones(1, requires_grad=True) * 2)


def test_requires_grad_can_be_switched_on_later():
    x = tg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
