"""Fast paths for the hot spots: Numba kernels for convolution, max pooling, attention, the
LSTM's steps, the tanh GELU, LayerNorm and the optimizers' updates; MKL's matrix products for
the linear layers and the LSTM, where MKL is installed.

The operations in ``ops/`` are written once, readably, with NumPy/CuPy array calls: that is the
*reference*, the definition of each operation. For these this package holds compiled kernels
with exactly the same array-level signatures:

| op           | CPU (``numba.njit``) | GPU (``numba.cuda``) | array functions              |
|--------------|----------------------|----------------------|------------------------------|
| "conv2d"     | ``conv_cpu``         | ``conv_cuda``        | conv2d_forward, _backward    |
| "max_pool2d" | ``pool_cpu``         | ``pool_cuda``        | max_pool2d_forward, _backward|
| "attention"  | ``attention_cpu``    | ``attention_cuda``   | attention_forward, _backward |
| "lstm"       | ``lstm_cpu``         | (the reference)      | lstm_cell_forward, _backward,|
|              |                      |                      | recurrent_product, matmul    |
| "gelu"       | ``gelu_cpu``         | (the reference)      | gelu_tanh_forward, _backward |
| "layer_norm" | ``layer_norm_cpu``   | (the reference)      | layer_norm_forward, _backward|
| "sgd"        | ``optim_cpu``        | (the reference)      | sgd_step                     |
| "adam"       | ``optim_cpu``        | (the reference)      | adam_step                    |
| "linear"     | ``mkl_gemm`` (MKL)   | (the reference)      | matmul                       |

``conv_cpu`` picks, per shape, between ``conv_cpu_direct`` (SIMD loops) and ``conv_cpu_im2col``
(columns + BLAS); ``attention_cpu`` and ``gelu_cpu`` use ``exp_cpu``, an exponential the
compiler can vectorize; kernels that call BLAS inside parallel loops keep it to one thread,
and idle BLAS workers go to sleep soon after a product, not 0.1 s later (``blas_threads``).
The attention kernels are wrapped as one differentiable operation in ``ops/fused_attention.py``.
``lstm_cpu`` runs the elementwise part of each step of the LSTM layer (``ops/lstm.py``),
forward and in backpropagation through time, as one loop instead of five or twenty small array
operations (and, with MKL installed, multiplies by the recurrent weights packed once,
``mkl_gemm``), ``gelu_cpu`` the tanh GELU in one pass instead of a dozen and
``layer_norm_cpu`` LayerNorm in one pass per row, and ``optim_cpu`` an SGD or Adam step in one
pass instead of several (``optim/`` asks for it); on a GPU, where CuPy's elementwise operations
are already cheap next to the products, the reference runs for these. ``mkl_gemm`` runs the
linear layers' products by MKL (a BLAS faster than NumPy's on their shapes) when it is
installed, and NumPy's ``@`` when not.

**Small interfaces.** The convolution and pooling functions take their arrays and one
``ConvGeometry`` (``ops/window.py``: stride, padding, dilation, groups and the output size,
computed and checked there once); the attention kernels take an ``AttentionSettings``. What
the CPU and GPU files share lives in ``common.py``, which both import (the pooling window scan
is one Python function compiled by ``njit`` and by ``cuda.jit``); the GPU launch helper is
``cuda_launch.py``. No kernel file imports a private name of another.

**The switch.** ``select(op, device)`` returns the kernel module to use, or None for the
reference; ``F.conv2d``, ``F.max_pool2d`` and ``F.scaled_dot_product_attention`` ask it on every
call. The choice is "numpy" (the reference, NumPy or CuPy) or "numba", for all ops or some:

    tg.kernels.set_default("numpy")                   # from now on, everywhere
    with tg.kernels.use("numba"): ...                 # inside the block only, then restored
    with tg.kernels.use("numpy", ops=["attention"]): ...
    tg.kernels.set_default("auto")                    # back to the automatic choice

"auto" (the default) takes the fastest path measured on the tensor's device: the Numba kernels
on the CPU (when Numba is importable; attention from ``AUTO_ATTENTION_MIN_KEYS`` keys on, since
for shorter sequences one product over the whole T×T score matrix is faster); on a GPU the
reference, because the numba.cuda kernels here are simple one-thread-per-row loops that have
not been shown to beat CuPy with cuBLAS (``python -m benchmarks.kernels --device cuda``
measures it). Every kernel is tested against the reference; a different choice changes
results only by floating-point rounding.

**Compilation and its cache.** A kernel is compiled for each dtype the first time it runs, which
takes seconds. The machine code is cached on disk (``cache=True``): in the ``__pycache__`` folder
next to this file (files ending in .nbi and .nbc), or under the folder named by the environment
variable ``NUMBA_CACHE_DIR`` when it is set (Numba also falls back to a per-user cache folder
when the package folder is read-only). Editing a kernel's source file invalidates its entries
automatically; to clear the cache by hand, delete those .nbi/.nbc files. ``warmup()`` compiles
every CPU kernel for float32 and float64 at once (``warmup(("float32",), ops=[...])`` only
some), so that a benchmark or a training loop pays the compilation before it starts the clock.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import time

import numpy as np

from .blas_threads import shorten_blas_spin

NUMBA_SPIN_ROUNDS = 10_000   # an idle Numba worker's spin before it sleeps (GOMP_SPINCOUNT)

# Numba's parallel loops run on libgomp (OpenMP) worker threads, which by default keep spinning
# for a while after each loop (about 3 ms). The BLAS calls between the loops (the LSTM's
# recurrent products, every linear layer) then share the cores with spinning threads: a W4
# training step took 615 ms instead of 70 on 2 cores. Workers that sleep at once cost a wake-up
# per loop instead: a tiny parallel loop took 75-100 µs, not 2. So an idle worker spins
# GOMP_SPINCOUNT = 10,000 rounds (0.1-0.2 ms on a 2-core Xeon) and then sleeps: awake for the
# next of a run of parallel loops (LeNet's convolutions and poolings: W2's step 0.82x as long),
# asleep before most products that follow a loop (30,000 rounds, 0.2-0.4 ms, made the GPT step
# 1.05x slower). libgomp reads both when Numba first starts its threads; a value the user set
# wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GOMP_SPINCOUNT", str(NUMBA_SPIN_ROUNDS))
shorten_blas_spin()   # and OpenBLAS's idle workers sleep after 0.4 ms, not 0.1 s (blas_threads)

OPS = ("conv2d", "max_pool2d", "attention", "lstm", "gelu", "layer_norm", "sgd", "adam",
       "linear")
CHOICES = ("numpy", "numba")
_MODULES = {"cpu": {"conv2d": "conv_cpu", "max_pool2d": "pool_cpu", "attention": "attention_cpu",
                    "lstm": "lstm_cpu", "gelu": "gelu_cpu", "layer_norm": "layer_norm_cpu",
                    "sgd": "optim_cpu", "adam": "optim_cpu", "linear": "mkl_gemm"},
            "cuda": {"conv2d": "conv_cuda", "max_pool2d": "pool_cuda",
                     "attention": "attention_cuda"}}
# "auto" on a GPU: the reference for every op, until the numba.cuda kernels are measured faster.
_AUTO_CUDA = {op: "numpy" for op in OPS}

_settings = {op: "auto" for op in OPS}   # per op: "auto", "numpy" or "numba"

# "auto" on the CPU runs the fused attention kernel from this many keys on. Below it, one BLAS
# product over the whole (T, T) score matrix is faster and still small (measured by
# benchmarks/kernels.py with 2 threads, the kernel's speed-up over the reference: 0.72x at
# T = 16, 0.88x at 32, 1.7x at 64, 2.4-2.9x at 128-256, 3.5-5.0x at 512-1024; 1.05x at 48
# before the kernel's exponential was made faster).
AUTO_ATTENTION_MIN_KEYS = 48


def numba_available() -> bool:
    """True when Numba can be imported (it is a dependency, but may be missing in odd setups)."""
    return importlib.util.find_spec("numba") is not None


def _ops(ops) -> tuple:
    if ops is None:
        return OPS
    ops = (ops,) if isinstance(ops, str) else tuple(ops)
    for op in ops:
        if op not in OPS:
            raise ValueError(f"kernels: unknown op {op!r}; expected one of {OPS}")
    return ops


def set_default(choice: str, ops=None) -> None:
    """Use ``choice`` ("numpy", "numba" or "auto") from now on, for ``ops`` (default: all)."""
    if choice not in CHOICES + ("auto",):
        raise ValueError(f"kernels: unknown choice {choice!r}; expected one of "
                         f"{CHOICES + ('auto',)}")
    if choice == "numba" and not numba_available():
        raise RuntimeError("kernels: 'numba' was requested, but Numba is not installed")
    for op in _ops(ops):
        _settings[op] = choice


@contextlib.contextmanager
def use(choice: str, ops=None):
    """``with use("numpy"): ...`` sets the choice inside the block and restores it afterwards,
    also when the block raises."""
    saved = dict(_settings)
    try:
        set_default(choice, ops)
        yield
    finally:
        _settings.update(saved)


def current(op: str, device: str = "cpu", keys: int | None = None) -> str:
    """The implementation ``op`` uses on ``device`` right now: "numpy" or "numba".
    ``keys``, the sequence length attention attends over, lets "auto" pick by size."""
    (op,) = _ops(op)
    choice = _settings[op]
    if choice == "auto":
        if device == "cuda":
            return _AUTO_CUDA[op]
        if op == "attention" and keys is not None and keys < AUTO_ATTENTION_MIN_KEYS:
            return "numpy"
        return "numba" if numba_available() else "numpy"
    return choice


@functools.cache   # imported once, then looked up: the optimizers ask for every parameter
def kernel_module(op: str, device: str):
    """The Numba kernel module for ``op`` on ``device``, whatever the switch says."""
    (op,) = _ops(op)
    if device not in _MODULES:
        raise ValueError(f"kernels: unknown device {device!r}; expected one of {tuple(_MODULES)}")
    if op not in _MODULES[device]:
        raise ValueError(f"kernels: there is no {device} kernel for {op!r}")
    return importlib.import_module(f".{_MODULES[device][op]}", __name__)


def select(op: str, device: str, keys: int | None = None):
    """The kernel module for ``op`` on ``device``, or None for the reference in ``ops/`` (also
    where ``device`` has no kernel for ``op``: the LSTM, the GELU, LayerNorm and the optimizers on a GPU)."""
    if current(op, device, keys) == "numpy" or op not in _MODULES.get(device, _MODULES["cpu"]):
        return None
    return kernel_module(op, device)   # an unknown device is an error there


def _warm_conv2d(conv, dtype):
    from ..ops.window import conv_geometry
    x, w = np.ones((1, 2, 5, 5), dtype), np.ones((2, 1, 3, 3), dtype)
    for stride in ((1, 1), (2, 2)):              # the direct and the im2col kernels
        geometry = conv_geometry(x.shape, w.shape, stride, (1, 1), (1, 1), 2)
        y = conv.conv2d_forward(x, w, geometry)
        conv.conv2d_backward(y, x, w, geometry)
        conv.conv2d_backward(y, x, w, geometry, input_grad=False)


def _warm_max_pool2d(pool, dtype):
    from ..ops.window import pool_geometry
    x = np.ones((1, 2, 5, 5), dtype)
    y, argmax = pool.max_pool2d_forward(x, pool_geometry(x.shape, (2, 2), (2, 2), (0, 0)))
    pool.max_pool2d_backward(y, argmax, x.shape)


def _warm_attention(attention, dtype):
    q = np.ones((1, 3, 2), dtype)
    out, lse = attention.attention_forward(q, q, q, True, None)
    attention.attention_backward(out, q, q, q, out, lse, True, None)


def _warm_lstm(lstm, dtype):
    h, gates = np.ones((2, 3), dtype), np.ones((2, 12), dtype)
    lstm.lstm_cell_forward(gates, gates[0], gates[0], h, h.copy())
    lstm.lstm_cell_backward(h, h, h, h, gates, h, h, np.empty((2, 12), dtype))
    lstm.recurrent_product(np.ones((3, 12), dtype)).add_to(gates, h)   # MKL, when installed


def _warm_linear(mkl_gemm, dtype):
    mkl_gemm.matmul(np.ones((2, 3), dtype), np.ones((3, 2), dtype))   # loads MKL's library


def _warm_gelu(gelu, dtype):
    x = np.ones(3, dtype)
    gelu.gelu_tanh_backward(x, gelu.gelu_tanh_forward(x))


def _warm_layer_norm(layer_norm, dtype):
    x = np.ones((2, 3), dtype)
    for parallel in (False, True):                  # the serial and the parallel loops
        y, saved = layer_norm.layer_norm_forward(x, x[0], x[0], 1e-5, parallel)
        layer_norm.layer_norm_backward(y, x, x[0], saved, parallel)


def _warm_sgd(optim, dtype):
    for size in (1, optim.PARALLEL_FROM):        # the serial and the parallel loop
        p = np.ones(size, dtype)
        optim.sgd_step(p, p.copy(), p.copy(), 0.1, 0.9, 0.0, 0.0, False)


def _warm_adam(optim, dtype):
    for size in (1, optim.PARALLEL_FROM):
        p = np.ones(size, dtype)
        optim.adam_step(p, p.copy(), p.copy(), p.copy(), 1, 1e-3, (0.9, 0.999), 1e-8, 0.0, True)


# per op: a function that runs its CPU kernels once on tiny arrays of a dtype
_WARM = {"conv2d": _warm_conv2d, "max_pool2d": _warm_max_pool2d, "attention": _warm_attention,
         "lstm": _warm_lstm, "gelu": _warm_gelu, "layer_norm": _warm_layer_norm,
         "sgd": _warm_sgd, "adam": _warm_adam, "linear": _warm_linear}


def warmup(dtypes=("float32", "float64"), ops=None) -> float:
    """Compile (or load from the cache) the CPU kernels of ``ops`` (default: all) for ``dtypes``
    on tiny inputs, so that later calls run at full speed. Returns the seconds it took."""
    start = time.perf_counter()
    for op in _ops(ops):
        for dtype in dtypes:
            _WARM[op](kernel_module(op, "cpu"), np.dtype(dtype))
    return time.perf_counter() - start
