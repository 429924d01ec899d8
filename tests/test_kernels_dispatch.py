"""The kernel switch (tinygrad_edu.kernels): defaults, set_default, the ``use`` context manager
(restored afterwards, also after an error), per-op choices, and that ``F.conv2d``,
``F.max_pool2d`` and ``F.scaled_dot_product_attention`` give the same values and gradients
whichever implementation runs them."""
import ast
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import kernels
from tinygrad_edu.kernels import attention_cpu, conv_cpu, lstm_cpu, pool_cpu
from tinygrad_edu.ops.fused_attention import FusedAttention


@pytest.fixture(autouse=True)
def restore_switch():
    """Every test starts from the automatic choice and leaves it that way."""
    with kernels.use("auto"):
        yield


def test_auto_picks_numba_on_cpu_and_the_reference_on_cuda():
    assert kernels.select("conv2d", "cpu") is conv_cpu
    assert kernels.select("max_pool2d", "cpu") is pool_cpu
    assert kernels.select("attention", "cpu") is attention_cpu
    assert all(kernels.current(op, "cuda") == "numpy" for op in kernels.OPS)
    assert all(kernels.select(op, "cuda") is None for op in kernels.OPS)


def test_auto_runs_attention_fused_only_for_long_sequences(monkeypatch):
    """Below AUTO_ATTENTION_MIN_KEYS the reference is faster; an explicit choice still wins."""
    long, short = kernels.AUTO_ATTENTION_MIN_KEYS, kernels.AUTO_ATTENTION_MIN_KEYS - 1
    assert kernels.select("attention", "cpu", keys=long) is attention_cpu
    assert kernels.select("attention", "cpu", keys=short) is None
    with kernels.use("numba"):
        assert kernels.select("attention", "cpu", keys=short) is attention_cpu
    calls, original = [], FusedAttention.apply
    monkeypatch.setattr(FusedAttention, "apply",
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    q = tg.randn(1, short, 4)
    F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert not calls
    q = tg.randn(1, long, 4)
    F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert calls


def test_set_default_switches_every_op_until_changed_again():
    kernels.set_default("numpy")
    assert all(kernels.select(op, "cpu") is None for op in kernels.OPS)
    kernels.set_default("numba", ops=["conv2d"])
    assert kernels.select("conv2d", "cpu") is conv_cpu
    assert kernels.select("attention", "cpu") is None
    kernels.set_default("auto")
    assert kernels.current("attention", "cpu") == "numba"


def test_use_restores_the_previous_choice_after_the_block():
    kernels.set_default("numpy", ops="attention")
    with kernels.use("numba"):
        assert all(kernels.current(op) == "numba" for op in kernels.OPS)
        with kernels.use("numpy", ops=["max_pool2d"]):
            assert kernels.current("max_pool2d") == "numpy"
            assert kernels.current("conv2d") == "numba"
        assert kernels.current("max_pool2d") == "numba"
    assert kernels.current("attention") == "numpy"
    assert kernels.current("conv2d") == "numba"          # auto


def test_use_restores_the_choice_when_the_block_raises():
    with pytest.raises(KeyError):
        with kernels.use("numpy"):
            raise KeyError("inside")
    assert kernels.current("conv2d") == "numba"


def test_bad_choices_and_ops_are_errors():
    with pytest.raises(ValueError, match="unknown choice 'cython'"):
        kernels.set_default("cython")
    with pytest.raises(ValueError, match="unknown op 'conv3d'"):
        kernels.set_default("numpy", ops=["conv3d"])
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        kernels.select("conv2d", "tpu")


def _values_and_grads(fn, arrays):
    tensors = [tg.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(tg.Tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(out.dtype)))
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_functional_results_do_not_depend_on_the_choice(rng, dtype, tolerance):
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    q, k, v = (rng.standard_normal((2, 2, 11, 4)).astype(dtype) for _ in range(3))
    cases = [(lambda x, w: F.conv2d(x, w, padding=1, stride=(1, 2)), [x, w]),
             (lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [x]),
             (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v])]
    for fn, arrays in cases:
        with kernels.use("numpy"):
            expected = _values_and_grads(fn, arrays)
        with kernels.use("numba"):
            got = _values_and_grads(fn, arrays)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype
            assert np.abs(a - b).max() <= tolerance * np.abs(b).max()


def test_attention_is_fused_only_without_mask_or_dropout(rng):
    q = tg.Tensor(rng.standard_normal((1, 5, 4)), requires_grad=True)
    with kernels.use("numba"):
        assert isinstance(F.scaled_dot_product_attention(q, q, q, is_causal=True).grad_fn,
                          FusedAttention)
        keep = np.tril(np.ones((5, 5), bool))
        assert not isinstance(F.scaled_dot_product_attention(q, q, q, attn_mask=keep).grad_fn,
                              FusedAttention)
        assert not isinstance(F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).grad_fn,
                              FusedAttention)
    with kernels.use("numpy"):
        assert not isinstance(F.scaled_dot_product_attention(q, q, q).grad_fn, FusedAttention)


def test_layers_follow_the_switch(rng):
    """nn layers call F at call time, so the switch reaches them too."""
    conv = tg.nn.Conv2d(2, 3, 3, padding=1)
    x = tg.Tensor(rng.standard_normal((1, 2, 6, 6)).astype(np.float32))
    with kernels.use("numpy"):
        expected = conv(x).numpy()
    with kernels.use("numba"):
        np.testing.assert_allclose(conv(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_warmup_compiles_every_cpu_kernel():
    seconds = kernels.warmup(dtypes=("float64",))
    assert seconds >= 0
    for module, names in ((conv_cpu.direct, ["forward", "grad_input", "grad_weight"]),
                          (conv_cpu.im2col, ["forward", "backward"]),
                          (pool_cpu, ["_forward", "_backward"])):
        for name in names:
            assert getattr(module, name).signatures, f"{module.__name__}.{name} not compiled"
    for name in ("_forward", "_backward"):                  # compiled per dtype, on first use
        assert (name, np.dtype(np.float64)) in attention_cpu._compiled, f"{name} not compiled"


@pytest.mark.parametrize("name, given, expected", [
    ("OMP_WAIT_POLICY", None, "PASSIVE"), ("OMP_WAIT_POLICY", "ACTIVE", "ACTIVE"),
    ("GOMP_SPINCOUNT", None, str(kernels.NUMBA_SPIN_ROUNDS)), ("GOMP_SPINCOUNT", "0", "0")])
def test_idle_openmp_workers_spin_briefly_unless_the_user_says_otherwise(name, given, expected):
    # Numba workers spinning 3 ms after each loop took the cores from the BLAS between parallel
    # loops (W4: 615 ms a step instead of 70); sleeping at once, each loop paid a 75-100 us
    # wake-up. So importing the package asks libgomp for a short spin, then sleep.
    env = {k: v for k, v in os.environ.items() if k != name}
    if given is not None:
        env[name] = given
    result = subprocess.run([sys.executable, "-c", "import os, tinygrad_edu; "
                             f"print(os.environ[{name!r}])"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected]


def test_the_lstm_step_kernels_run_on_one_thread():
    # Each step's loop sits between two BLAS products; a parallel loop's idle workers spin on
    # the core the next product needs (W4's step took 1.4x as long with the backward loop
    # parallel), so neither kernel may be compiled parallel.
    for kernel in (lstm_cpu._cell_forward, lstm_cpu._cell_backward):
        assert not kernel.targetoptions.get("parallel"), kernel.__name__


@pytest.mark.parametrize("given, expected", [(None, "20"), ("25", "25")])
def test_idle_openblas_workers_sleep_soon_even_when_numpy_came_first(given, expected):
    # OpenBLAS's idle workers spun 0.1 s after each product and took a core from the Numba
    # kernel that followed (a GELU pass: 5.7 ms instead of 0.33). NumPy loads OpenBLAS before
    # the package can set OPENBLAS_THREAD_TIMEOUT, so the loaded library must be told again.
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if given is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = given
    script = """
import numpy as np
a = np.random.default_rng(0).standard_normal((300, 300), dtype=np.float32)
before = a @ a                                   # NumPy's OpenBLAS is loaded and its workers run
import tinygrad_edu
from threadpoolctl import ThreadpoolController
print([lib.dynlib.openblas_thread_timeout() for lib in ThreadpoolController().lib_controllers
       if lib.internal_api == "openblas" and hasattr(lib.dynlib, "openblas_thread_timeout")])
print(bool(np.array_equal(a @ a, before)))       # the restarted workers compute the same product
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    timeouts, same_product = result.stdout.splitlines()
    found = ast.literal_eval(timeouts)
    if not found:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS with a thread timeout")
    assert found == [int(expected)] * len(found)
    assert same_product == "True"
