"""The Numba optimizer steps (kernels/optim_cpu.py) against the array code of optim/sgd.py and
optim/adam.py: the same numbers to the last bit, step after step, and the cases left to the
array code."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import kernels, optim
from tinygrad_edu.kernels import optim_cpu


def train(choice, optimizer_class, dtype, steps=5, **settings):
    """``steps`` updates of three parameters (small ones for the serial loop, a large one for
    the parallel loop) on fixed gradients, with the kernel or the array code; returns the
    parameters and the optimizer's state arrays after each step."""
    rng = np.random.default_rng(0)
    params = [tg.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in ((7, 5), (3,), (optim_cpu.PARALLEL_FROM + 3,))]
    optimizer = optimizer_class(params, lr=0.01, **settings)
    history = []
    with kernels.use(choice, ops=["sgd", "adam"]):
        for _ in range(steps):
            for p in params:
                p.grad = tg.Tensor(rng.standard_normal(p.shape).astype(dtype) * 3)
            optimizer.step()
            history.append([p.numpy().copy() for p in params] +
                           [a.copy() for state in optimizer.state.values()
                            for a in state.values() if isinstance(a, np.ndarray)])
    return history


CASES = [(optim.Adam, dict(betas=(0.8, 0.95))), (optim.Adam, dict(weight_decay=0.1)),
         (optim.AdamW, dict()), (optim.AdamW, dict(weight_decay=0.1, eps=1e-3)),
         (optim.SGD, dict(momentum=0.9)), (optim.SGD, dict(momentum=0.9, weight_decay=0.1)),
         (optim.SGD, dict(momentum=0.8, dampening=0.3)),
         (optim.SGD, dict(momentum=0.9, nesterov=True, weight_decay=0.01))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer_class, settings", CASES)
def test_the_kernels_give_the_array_codes_numbers_to_the_last_bit(optimizer_class, settings,
                                                                    dtype):
    fast = train("numba", optimizer_class, dtype, **settings)
    slow = train("numpy", optimizer_class, dtype, **settings)
    for step_fast, step_slow in zip(fast, slow):
        assert len(step_fast) == len(step_slow) > 3
        for a, b in zip(step_fast, step_slow):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fast[0][0], fast[-1][0])      # the parameters did move


def test_the_kernels_run_for_plain_float_parameters_only(monkeypatch):
    calls = []
    for name in ("sgd_step", "adam_step"):
        monkeypatch.setattr(optim_cpu, name, lambda *args, name=name: calls.append(name))
    plain = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    strided = tg.Tensor(np.ones((4, 2), np.float32), requires_grad=True)
    strided.data = strided.data[::2]                         # not contiguous: the array code
    for p in (plain, strided):
        p.grad = tg.Tensor(np.ones(p.shape, np.float32))
    with kernels.use("numba", ops=["sgd", "adam"]):
        optim.Adam([plain, strided]).step()
        optim.Adam([plain], amsgrad=True).step()
        optim.Adam([plain], maximize=True).step()
        sgd = optim.SGD([plain], lr=0.1, momentum=0.9)
        sgd.step()                                           # creates the momentum buffer
        sgd.step()
        optim.SGD([plain], lr=0.1).step()                    # no momentum: one array operation
    assert calls == ["adam_step", "sgd_step"]
