"""How much arithmetic one training step is: FLOPs counted from the shapes, and the machine's peak.

Only the products count (matrix multiplications and convolutions), as in nanoGPT's "model FLOPs
utilisation": they are almost all of a step's arithmetic, and the only part a CPU can run near
its peak. A product of an (m, k) by a (k, n) matrix is 2·m·k·n FLOPs (one multiply and one add
per term). Its backward pass is two products of the same size,

    dL/dA = dL/dC · Bᵀ   and   dL/dB = Aᵀ · dL/dC,

except that no framework computes dL/dA when A is the input data (the first layer of a network
needs only its weight gradient). So a layer costs 3x its forward FLOPs per step, the first 2x.

A convolution is the same product in disguise: every output pixel is a dot product of a
(C_in/groups · KH · KW) window with one filter, 2·N·OH·OW·C_out·(C_in/groups)·KH·KW FLOPs.

Attention adds two products per head that have no weights: S = q kᵀ and out = P v, each
2·T·T·d per head and sequence, so 4·B·T²·C per layer forward (counted in full, as nanoGPT
counts it, although a causal kernel may skip the masked half).

:func:`step_flops` gives the count for each workload; :func:`measure_peak_gflops` measures what
the machine reaches on one large float32 matrix product, the ceiling the fraction is taken of.
"""
from __future__ import annotations

import time

from . import workloads as W


def linear_flops(rows: int, fan_in: int, fan_out: int, input_needs_grad: bool = True) -> int:
    """Forward + backward FLOPs of ``rows`` vectors through a (fan_in -> fan_out) product."""
    forward = 2 * rows * fan_in * fan_out
    return forward * (3 if input_needs_grad else 2)


def conv_flops(batch: int, out_pixels: int, c_in: int, c_out: int, kernel: int,
               input_needs_grad: bool = True) -> int:
    """Forward + backward FLOPs of a square-kernel convolution with ``out_pixels`` outputs."""
    forward = 2 * batch * out_pixels * c_out * c_in * kernel * kernel
    return forward * (3 if input_needs_grad else 2)


def mlp_flops(sizes=W.MLP_SIZES, rows: int = W.MLP_BATCH) -> int:
    return sum(linear_flops(rows, a, b, input_needs_grad=i > 0)
               for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


def lenet_flops() -> int:
    n = W.LENET_BATCH
    return (conv_flops(n, 28 * 28, 1, 6, 5, input_needs_grad=False)      # conv1, pad 2
            + conv_flops(n, 10 * 10, 6, 16, 5)                           # conv2
            + linear_flops(n, 400, 120) + linear_flops(n, 120, 84)
            + linear_flops(n, 84, W.LENET_CLASSES))


def gpt_flops(config=W.GPT_CONFIG, batch: int = W.GPT_BATCH) -> int:
    c, t, v = config["n_embd"], config["block_size"], config["vocab_size"]
    rows = batch * t                                                     # tokens per step
    per_layer = (linear_flops(rows, c, 3 * c) + linear_flops(rows, c, c)  # qkv, projection
                 + linear_flops(rows, c, 4 * c) + linear_flops(rows, 4 * c, c)  # MLP
                 + 3 * 4 * batch * t * t * c)                            # q kᵀ and P v
    return config["n_layer"] * per_layer + linear_flops(rows, c, v)      # + tied lm_head


def lstm_flops() -> int:
    i, h, v = W.LSTM_CONFIG["embed_dim"], W.LSTM_CONFIG["hidden_size"], W.LSTM_CONFIG["vocab_size"]
    rows = W.LSTM_BATCH * W.LSTM_STEPS
    return (linear_flops(rows, i, 4 * h)        # input to the four gates, every step
            + linear_flops(rows, h, 4 * h)      # hidden state to the gates, every step
            + linear_flops(rows, h, v))         # the output head


STEP_FLOPS = {"W1": mlp_flops, "W2": lenet_flops, "W3": gpt_flops, "W4": lstm_flops}


def step_flops(workload_id: str) -> int | None:
    """FLOPs of one training step of a workload (None for W5, which has no products)."""
    count = STEP_FLOPS.get(workload_id)
    return None if count is None else count()


def measure_peak_gflops(size: int = 1024, repeat: int = 10, torch_module=None) -> float:
    """The best float32 matrix-product rate, in GFLOP/s, that NumPy's BLAS (and PyTorch's, when
    given) reach on (size, size) @ (size, size) with the current thread settings."""
    import numpy as np
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    products = [lambda: a @ a]
    if torch_module is not None:
        t = torch_module.from_numpy(a)
        products.append(lambda: t @ t)
    best = float("inf")
    for product in products:
        product()                                  # warm up the BLAS thread pool
        for _ in range(repeat):
            start = time.perf_counter()
            product()
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9
