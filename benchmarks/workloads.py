"""The workloads W1-W5: their data, their settings, and the tinygrad_edu training step of each.

Every training workload is one step of: forward, loss, backward, optimizer update, in float32.

| id | workload |
|---|---|
| W1 | MLP 784-256-256-10, ReLU, batch 128, cross-entropy, SGD with momentum |
| W2 | LeNet-5 on 1x28x28, batch 64, cross-entropy, Adam |
| W3 | GPT: vocab 96, 4 layers, 4 heads, width 128, context 64, batch 16, AdamW |
| W4 | char LSTM: vocab 96, embedding 64, hidden 256, 64 steps, batch 32, clipping at 1.0, Adam |
| W5 | overhead: a scalar through 100 rounds of tanh(y * 1.01 + 0.01), forward and backward |

The PyTorch twins (``torch_workloads.py``) and the hand-written baselines (``handwritten.py``)
start from the *same* weights: the tinygrad_edu model is built first, with a fixed seed, and its
``state_dict`` is handed to the others (parameter names follow PyTorch, so it loads unchanged).
The first step's loss, shown in the table, should therefore agree across implementations up to
float32 rounding: a quick check that they really compute the same thing.

A step function returns the loss (anything ``float()`` accepts after ``.item()``), so the caller
can show it; it keeps no other reference to the step's graph.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.kernels  # noqa: F401  (tg.kernels: the conv/attention kernel switch)
from tinygrad_edu import Tensor, models, nn, optim
import tinygrad_edu.nn.functional as F

SEED = 0

# The settings each implementation shares.
MLP_SIZES, MLP_BATCH, SGD_LR, SGD_MOMENTUM = [784, 256, 256, 10], 128, 0.01, 0.9
LENET_BATCH, LENET_CLASSES, ADAM_LR = 64, 10, 1e-3
GPT_CONFIG = dict(vocab_size=96, block_size=64, n_layer=4, n_head=4, n_embd=128)
GPT_BATCH, ADAMW_LR, ADAMW_WEIGHT_DECAY = 16, 3e-4, 0.1
LSTM_CONFIG = dict(vocab_size=96, embed_dim=64, hidden_size=256)
LSTM_BATCH, LSTM_STEPS, LSTM_LR, CLIP_NORM = 32, 64, 2e-3, 1.0
OVERHEAD_ROUNDS, OVERHEAD_START = 100, 0.5


@dataclass
class Workload:
    """One benchmark: its id, a title for the table, whether it runs through the conv/attention
    kernels (then it is timed once per kernel choice), its data and its tinygrad_edu step."""
    id: str
    title: str
    uses_kernels: bool
    make_data: Callable[[], dict]
    make_step: Callable[[dict, str], tuple]   # (data, device) -> (step, model or None)


# ----------------------------------------------------------------------------- data

def _classification_data(input_shape: tuple, classes: int) -> dict:
    rng = np.random.default_rng(SEED)
    return {"x": rng.standard_normal(input_shape, dtype=np.float32),
            "y": rng.integers(0, classes, size=input_shape[0], dtype=np.int64)}


def _token_data(batch: int, steps: int, vocab: int) -> dict:
    """Random token ids and, as targets, the same sequence shifted left by one."""
    ids = np.random.default_rng(SEED).integers(0, vocab, size=(batch, steps + 1), dtype=np.int64)
    return {"idx": ids[:, :-1].copy(), "targets": ids[:, 1:].copy()}


def mlp_data() -> dict:
    return _classification_data((MLP_BATCH, MLP_SIZES[0]), MLP_SIZES[-1])


def lenet_data() -> dict:
    return _classification_data((LENET_BATCH, 1, 28, 28), LENET_CLASSES)


def gpt_data() -> dict:
    return _token_data(GPT_BATCH, GPT_CONFIG["block_size"], GPT_CONFIG["vocab_size"])


def lstm_data() -> dict:
    return _token_data(LSTM_BATCH, LSTM_STEPS, LSTM_CONFIG["vocab_size"])


def overhead_data() -> dict:
    return {"start": OVERHEAD_START}


# ----------------------------------------------------------------------------- tinygrad_edu steps

def _training_step(model, optimizer, compute_loss: Callable[[], Tensor], clip: float | None = None):
    """The step every training workload shares: loss, zero_grad, backward, (clip), update."""
    def step():
        loss = compute_loss()
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss
    return step


def mlp_step(data: dict, device: str):
    model = models.MLP(MLP_SIZES).to(device)
    optimizer = optim.SGD(model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM)
    x, y = Tensor(data["x"], device=device), Tensor(data["y"], device=device)   # (N, 784), (N,)
    return _training_step(model, optimizer, lambda: F.cross_entropy(model(x), y)), model


def lenet_step(data: dict, device: str):
    model = models.CNN(in_channels=1, num_classes=LENET_CLASSES, image_size=28).to(device)
    optimizer = optim.Adam(model.parameters(), lr=ADAM_LR)
    x, y = Tensor(data["x"], device=device), Tensor(data["y"], device=device)   # (N, 1, 28, 28)
    return _training_step(model, optimizer, lambda: F.cross_entropy(model(x), y)), model


def gpt_step(data: dict, device: str):
    model = models.GPT(**GPT_CONFIG).to(device)
    optimizer = optim.AdamW(model.parameters(), lr=ADAMW_LR, weight_decay=ADAMW_WEIGHT_DECAY)
    idx = Tensor(data["idx"], device=device)                 # (B, T)
    targets = Tensor(data["targets"], device=device)         # (B, T)
    return _training_step(model, optimizer, lambda: model(idx, targets)[1]), model


def lstm_step(data: dict, device: str):
    model = models.CharRNN(cell="lstm", **LSTM_CONFIG).to(device)
    optimizer = optim.Adam(model.parameters(), lr=LSTM_LR)
    idx = Tensor(data["idx"], device=device)                 # (B, T)
    flat_targets = Tensor(data["targets"].reshape(-1), device=device)   # (B·T,)

    def compute_loss():
        logits, _ = model(idx)                               # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, LSTM_CONFIG["vocab_size"]), flat_targets)

    return _training_step(model, optimizer, compute_loss, clip=CLIP_NORM), model


def overhead_step(data: dict, device: str):
    """100 tiny operations in a chain: the time is almost all framework overhead per op."""
    x = Tensor(data["start"], requires_grad=True, device=device)   # () float32

    def step():
        y = x
        for _ in range(OVERHEAD_ROUNDS):
            y = (y * 1.01 + 0.01).tanh()
        x.grad = None
        y.backward()
        return y

    return step, None


WORKLOADS = [
    Workload("W1", "MLP 784-256-256-10, batch 128, SGD momentum", False, mlp_data, mlp_step),
    Workload("W2", "LeNet-5, 1x28x28, batch 64, Adam", True, lenet_data, lenet_step),
    Workload("W3", "GPT 4x4x128, context 64, batch 16, AdamW", True, gpt_data, gpt_step),
    Workload("W4", "char LSTM 64-256, 64 steps, batch 32, clip 1.0, Adam", False, lstm_data,
             lstm_step),
    Workload("W5", "overhead: 100 x tanh(y * 1.01 + 0.01), scalar", False, overhead_data,
             overhead_step),
]


def initial_state(workload: Workload, data: dict) -> dict | None:
    """The seeded starting weights of ``workload`` as NumPy arrays, by PyTorch's names."""
    tg.manual_seed(SEED)
    _, model = workload.make_step(data, "cpu")
    if model is None:
        return None
    return {name: tensor.numpy().copy() for name, tensor in model.state_dict().items()}


def build_tinygrad(workload: Workload, data: dict, device: str):
    """A fresh tinygrad_edu step for ``workload`` on ``device``, from the seeded weights."""
    tg.manual_seed(SEED)
    step, _ = workload.make_step(data, device)
    return step


# ----------------------------------------------------------------------------- kernel choice

def kernel_choices() -> list[str]:
    """The kernel implementations to time for W2 and W3: "numpy" (the reference in ops/) and
    "numba" (tinygrad_edu.kernels); only the reference when there is no kernel switch."""
    return list(tg.kernels.CHOICES) if hasattr(tg.kernels, "set_default") else []


def use_kernels(choice: str | None) -> None:
    """Select the conv/pool/attention kernels for the following steps (None: leave as is)."""
    if choice is not None:
        tg.kernels.set_default(choice)


def restore_kernels() -> None:
    """Back to the automatic kernel choice."""
    if kernel_choices():
        tg.kernels.set_default("auto")


def warm_up_kernels() -> None:
    """Compile the Numba kernels now, so that compilation is never part of a timed step."""
    warmup = getattr(tg.kernels, "warmup", None)
    if warmup is not None:
        warmup()
