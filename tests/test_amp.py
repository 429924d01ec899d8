"""Mixed precision: autocast's dtype per operation and its float32 accumulation, and
GradScaler's skip / halve / grow schedule, step by step."""
import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.amp import GradScaler


def test_matmul_and_conv_compute_in_float16_inside_autocast(rng):
    x = tg.Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    a, b = tg.randn(3, 4), tg.randn(4, 5)
    with tg.autocast("cpu"):
        assert tg.is_grad_enabled()
        assert (a @ b).dtype == np.float16
        assert F.linear(a, b.T).dtype == np.float16                  # no bias: stays half
        assert F.linear(a, b.T, tg.zeros(5)).dtype == np.float32     # + float32 bias: promoted
        assert F.conv2d(x, w).dtype == np.float16
        assert (a * 2).dtype == (a.exp()).dtype == a.sum().dtype == np.float32   # untouched
        assert a.softmax(-1).dtype == np.float32
        with tg.autocast("cpu", enabled=False):
            assert (a @ b).dtype == np.float32
        assert (a @ b).dtype == np.float16
    assert (a @ b).dtype == np.float32
    with tg.autocast("cuda"):                                        # another device: no effect
        assert (a @ b).dtype == np.float32


def test_autocast_as_decorator_and_state():
    @tg.autocast("cpu")
    def product(a, b):
        return a @ b
    assert product(tg.ones(2, 2), tg.ones(2, 2)).dtype == np.float16
    assert not tg.amp.is_autocast_enabled("cpu")
    with tg.autocast("cpu"):
        assert tg.amp.get_autocast_dtype("cpu") == np.float16
    assert tg.amp.get_autocast_dtype("cpu") is None


def test_products_accumulate_in_float32():
    # 4096 ones: a float16 running sum sticks at 2048 (2048 + 1 rounds back to 2048)
    ones = tg.ones(1, 4096)
    with tg.autocast("cpu"):
        total = ones @ ones.T
    assert total.item() == 4096.0


def test_autocast_matmul_equals_rounded_float32_product(rng):
    a = rng.standard_normal((8, 50)).astype(np.float32)
    b = rng.standard_normal((50, 7)).astype(np.float32)
    with tg.autocast("cpu"):
        got = (tg.Tensor(a) @ tg.Tensor(b)).numpy()
    expected = (a.astype(np.float16).astype(np.float32) @ b.astype(np.float16).astype(np.float32))
    assert np.array_equal(got, expected.astype(np.float16))
    assert not np.array_equal(got, (a @ b).astype(np.float16)), "the inputs were not rounded"


def test_conv_under_autocast_is_close_to_float32(rng):
    x = tg.Tensor(rng.standard_normal((2, 3, 7, 7)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    reference = F.conv2d(x, w, padding=1)
    reference.sum().backward()
    grads = x.grad.numpy(), w.grad.numpy()
    x.grad = w.grad = None
    with tg.autocast("cpu"):
        half = F.conv2d(x, w, padding=1)
    half.sum().backward()
    assert x.grad.dtype == w.grad.dtype == np.float32           # cast back to the master dtype
    np.testing.assert_allclose(half.numpy(), reference.numpy(), rtol=0, atol=2e-2)
    np.testing.assert_allclose(w.grad.numpy(), grads[1], rtol=2e-3, atol=2e-2)
    np.testing.assert_allclose(x.grad.numpy(), grads[0], rtol=2e-3, atol=2e-2)


@pytest.mark.skipif(tg.bfloat16 is None, reason="bfloat16 needs the ml_dtypes package")
def test_bfloat16_autocast():
    a = tg.Tensor([[1.0, 2.0, 3.0]])
    with tg.autocast("cpu", dtype=tg.bfloat16):
        out = a @ a.T
    assert out.dtype == tg.bfloat16 and float(out.numpy()[0, 0]) == 14.0


def test_autocast_bad_arguments():
    with pytest.raises(ValueError, match="autocast: device_type.*'tpu'"):
        tg.autocast("tpu")
    with pytest.raises(ValueError, match="autocast: dtype must be float16.*float64"):
        tg.autocast("cpu", dtype=tg.float64)


def tiny_loss(w, scale=None):
    """A loss whose gradient at the float16 product is 1e-8: below float16's smallest number."""
    with tg.autocast("cpu"):
        y = tg.ones(1, 4) @ w                                   # (1, 1), float16
    loss = y.sum().float() * 1e-8
    return loss if scale is None else scale.scale(loss)


def test_small_gradients_underflow_without_scaling_and_survive_with_it():
    w = tg.ones(4, 1, requires_grad=True)
    tiny_loss(w).backward()
    assert np.all(w.grad.numpy() == 0), "1e-8 should have underflowed in float16"
    w.grad = None
    scaler = GradScaler()
    tiny_loss(w, scaler).backward()
    scaler.unscale_(optim.SGD([w], lr=1.0))
    np.testing.assert_allclose(w.grad.numpy(), 1e-8, rtol=1e-3)


def make_problem(scaler):
    w = nn.Parameter(tg.ones(3))
    optimizer = optim.SGD([w], lr=0.1)
    return w, optimizer


def scaled_step(scaler, w, optimizer, gradient):
    """One step whose (unscaled) gradient is ``gradient``; returns the step's return value."""
    optimizer.zero_grad()
    scaler.scale((w * tg.Tensor(gradient)).sum()).backward()
    out = scaler.step(optimizer)
    scaler.update()
    return out


def test_grad_scaler_skip_halve_grow_schedule():
    scaler = GradScaler(init_scale=8.0, growth_interval=3)
    w, optimizer = make_problem(scaler)
    good = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    expected_scales, expected_w = [], w.numpy().copy()
    for step, gradient in enumerate([good, good, np.array([np.inf, 0, 0], np.float32), good,
                                     good, good, np.array([np.nan, 1, 1], np.float32), good]):
        before = w.numpy().copy()
        scaled_step(scaler, w, optimizer, gradient)
        if np.isfinite(gradient).all():
            expected_w = before - 0.1 * gradient         # the true gradient, unscaled
            np.testing.assert_allclose(w.numpy(), expected_w, rtol=1e-6)
        else:
            assert np.array_equal(w.numpy(), before), f"step {step} with inf/NaN was not skipped"
        expected_scales.append(scaler.get_scale())
    # good, good, inf (halve, reset), good x3 (grow after the third), NaN (halve), good
    assert expected_scales == [8.0, 8.0, 4.0, 4.0, 4.0, 8.0, 4.0, 4.0]


def test_grad_scaler_grows_after_interval():
    scaler = GradScaler(init_scale=1.0, growth_factor=4.0, growth_interval=2)
    w, optimizer = make_problem(scaler)
    scales = []
    for _ in range(5):
        scaled_step(scaler, w, optimizer, np.ones(3, np.float32))
        scales.append(scaler.get_scale())
    assert scales == [1.0, 4.0, 4.0, 16.0, 16.0]


def test_grad_scaler_unscale_twice_and_disabled_and_state():
    scaler = GradScaler()
    w, optimizer = make_problem(scaler)
    scaler.scale(w.sum()).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="unscale_.*already"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    restored = GradScaler()
    restored.load_state_dict({**scaler.state_dict(), "scale": 3.0})
    assert restored.get_scale() == 3.0 and restored.state_dict()["_growth_tracker"] == 1
    off = GradScaler(enabled=False)
    loss = w.sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(ValueError, match="GradScaler.*backoff_factor"):
        GradScaler(backoff_factor=1.5)


def test_gpt_under_autocast_stays_close_to_float32():
    tg.manual_seed(0)
    gpt = tg.models.GPT(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=32)
    idx = tg.Tensor(np.random.default_rng(0).integers(0, 20, (4, 16)))
    _, reference = gpt(idx, idx)
    reference.backward()
    expected = gpt.wte.weight.grad.numpy()

    def scaled_gradient(scale):
        gpt.zero_grad()
        with tg.autocast("cpu"):
            logits, loss = gpt(idx, idx)
        assert logits.dtype == loss.dtype == np.float16   # the tied head has no float32 bias
        with np.errstate(over="ignore", invalid="ignore"):
            GradScaler(init_scale=scale).scale(loss).backward()
        return loss, gpt.wte.weight.grad.numpy() / scale

    # a float16 loss's own gradient is S, and 2**16 = 65536 is past float16's 65504: the first
    # step would be skipped and the scale halved, which is what GradScaler is for
    assert not np.isfinite(scaled_gradient(2.0 ** 16)[1]).all()
    loss, got = scaled_gradient(2.0 ** 15)
    assert abs(loss.item() - reference.item()) < 1e-2
    np.testing.assert_allclose(got, expected, atol=2e-2 * np.abs(expected).max())
