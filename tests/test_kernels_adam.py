"""The Numba Adam/AdamW step (kernels/adam_cpu.py) against the array code of optim/adam.py:
the same numbers to the last bit, step after step, and the cases left to the reference."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import kernels, optim
from tinygrad_edu.kernels import adam_cpu


def train(choice, optimizer_class, dtype, steps=5, **settings):
    """``steps`` updates of three parameters on fixed gradients with the kernel or the reference;
    returns the parameters and the optimizer's state after each step."""
    rng = np.random.default_rng(0)
    params = [tg.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in ((7, 5), (3,), (adam_cpu.PARALLEL_FROM + 3,))]   # serial and parallel
    optimizer = optimizer_class(params, lr=0.01, **settings)
    history = []
    with kernels.use(choice, ops="adam"):
        for _ in range(steps):
            for p in params:
                p.grad = tg.Tensor(rng.standard_normal(p.shape).astype(dtype) * 3)
            optimizer.step()
            history.append([p.numpy().copy() for p in params] +
                           [a.copy() for s in optimizer.state.values()
                            for a in (s["exp_avg"], s["exp_avg_sq"])])
    return history


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_class, weight_decay", [(optim.Adam, 0.0), (optim.Adam, 0.1),
                                                           (optim.AdamW, 0.0), (optim.AdamW, 0.1)])
def test_the_kernel_gives_the_references_numbers_to_the_last_bit(optimizer_class, weight_decay,
                                                                   dtype):
    fast = train("numba", optimizer_class, dtype, weight_decay=weight_decay, betas=(0.8, 0.95))
    slow = train("numpy", optimizer_class, dtype, weight_decay=weight_decay, betas=(0.8, 0.95))
    for step_fast, step_slow in zip(fast, slow):
        for a, b in zip(step_fast, step_slow):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fast[0][0], fast[-1][0])      # the parameters did move


def test_the_kernel_runs_for_plain_float_parameters_only(monkeypatch):
    calls = []
    monkeypatch.setattr(adam_cpu, "adam_step", lambda *args: calls.append(args[0].dtype))
    plain = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    strided = tg.Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    strided.data = strided.data[::2]                         # not contiguous: the reference
    for p in (plain, strided):
        p.grad = tg.Tensor(np.ones(p.shape, np.float32))
    with kernels.use("numba", ops="adam"):
        optim.Adam([plain, strided]).step()
        optim.Adam([plain], amsgrad=True).step()
        optim.Adam([plain], maximize=True).step()
    assert calls == [np.float32]
