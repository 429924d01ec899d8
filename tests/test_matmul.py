"""Matrix multiplication ``a @ b``: 1-D, 2-D and batched operands with broadcast batch axes,
forward against ``np.matmul``, first and second derivatives against finite differences."""
import numpy as np
import pytest

import tinygrad_edu as tg
from strategies import leaf, make_array

SHAPES = [
    ((3,), (3,)),               # dot product -> scalar
    ((3,), (3, 2)),             # row vector @ matrix
    ((2, 3), (3,)),             # matrix @ column vector
    ((2, 3), (3, 4)),           # matrix @ matrix
    ((1, 3), (3, 1)),           # size-1 sides
    ((2, 2, 3), (2, 3, 4)),     # batched
    ((2, 1, 2, 3), (3, 3, 2)),  # batch axes broadcast: (2, 1) with (3,)
    ((4, 2, 3), (3, 2)),        # batched @ one matrix
    ((3,), (2, 3, 4)),          # vector @ batched
    ((2, 2, 3), (3,)),          # batched @ vector
]


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("shape_a,shape_b", SHAPES)
def test_matmul_forward_and_gradients(shape_a, shape_b, layout, device, rng):
    a = leaf(make_array(rng, shape_a, layout), device)
    b = leaf(make_array(rng, shape_b, layout), device)
    out = a @ b
    expected = np.matmul(a.numpy(), b.numpy())
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tg.matmul(a, b).numpy(), expected, rtol=1e-12, atol=1e-14)
    fn = lambda x, y: x @ y   # noqa: E731
    assert tg.gradcheck(fn, [a, b])
    assert tg.gradgradcheck(fn, [a, b])


def test_matmul_with_one_constant_operand(device, rng):
    a = leaf(make_array(rng, (2, 3)), device)
    w = leaf(make_array(rng, (3, 4)), device, requires_grad=False)
    assert tg.gradcheck(lambda x, y: x @ y, [a, w])
    (a @ w).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((2, 4)) @ w.numpy().T)
    assert w.grad is None


def test_matmul_with_a_numpy_operand_on_either_side(rng):
    a = tg.Tensor(make_array(rng, (2, 3)), requires_grad=True)
    m = make_array(rng, (3, 2))
    np.testing.assert_allclose((a @ m).numpy(), a.numpy() @ m)
    np.testing.assert_allclose((m @ a).numpy(), m @ a.numpy())


def test_batched_broadcast_gradients_match_torch(rng):
    torch = pytest.importorskip("torch")
    a_np, b_np = rng.standard_normal((2, 1, 4, 3)), rng.standard_normal((5, 3, 2))
    weights = rng.standard_normal((2, 5, 4, 2))
    a, b = tg.Tensor(a_np, requires_grad=True), tg.Tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    ((a @ b) * tg.Tensor(weights)).sum().backward()
    ((ta @ tb) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)
    v_np = rng.standard_normal(2)
    v, tv = tg.Tensor(v_np, requires_grad=True), torch.tensor(v_np, requires_grad=True)
    (b @ v).sum().backward()
    (tb @ tv).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-10)


def test_matmul_float32_stays_float32(device):
    a, b = tg.randn(2, 3, device=device), tg.randn(3, 4, device=device)
    assert (a @ b).dtype == np.float32
