"""The PyTorch twins of W1-W5: the same models, shapes, losses and optimizers, written the way a
PyTorch user would write them (``F.cross_entropy``, ``nn.LSTM``,
``F.scaled_dot_product_attention``).

Each module uses tinygrad_edu's parameter names (which are PyTorch's), so the starting weights
load with ``load_state_dict`` from the tinygrad_edu model's state_dict, and both implementations
begin the timed run at the same point. PyTorch is not a dependency of tinygrad_edu: this module
is only imported when ``torch`` is installed.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from . import workloads as W


class MLP(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear, in a Sequential called ``layers`` as in tinygrad_edu."""

    def __init__(self, sizes):
        super().__init__()
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class LeNet(nn.Module):
    """LeNet-5 for 1x28x28 images, the layers of ``tinygrad_edu.models.CNN``."""

    def __init__(self, classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2 = nn.Linear(400, 120), nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))      # (N, 6, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))      # (N, 16, 5, 5)
        x = F.relu(self.fc1(x.flatten(1)))        # (N, 120)
        return self.fc3(F.relu(self.fc2(x)))      # (N, classes)


class SelfAttention(nn.Module):
    """Causal multi-head self-attention with nanoGPT's names, as tinygrad_edu's GPT has them."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.c_attn = nn.Linear(embed_dim, 3 * embed_dim)     # queries, keys, values
        self.c_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        batch, steps, embed = x.shape
        qkv = self.c_attn(x)                                                # (B, T, 3E)
        qkv = qkv.view(batch, steps, 3, self.num_heads, embed // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                                # (B, H, T, D) each
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)     # (B, H, T, D)
        return self.c_proj(heads.transpose(1, 2).reshape(batch, steps, embed))


class FeedForward(nn.Module):
    def __init__(self, embed_dim: int):
        super().__init__()
        self.c_fc = nn.Linear(embed_dim, 4 * embed_dim)
        self.c_proj = nn.Linear(4 * embed_dim, embed_dim)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(embed_dim), SelfAttention(embed_dim, num_heads)
        self.ln_2, self.mlp = nn.LayerNorm(embed_dim), FeedForward(embed_dim)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT-style decoder with tied token embedding and output head."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets):
        steps = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(steps, device=idx.device))   # (B, T, C)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))                                   # (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


class CharLSTM(nn.Module):
    """Embedding -> LSTM (batch_first) -> Linear, the layers of ``tinygrad_edu.models.CharRNN``."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx):
        out, _ = self.rnn(self.embedding(idx))     # (B, T, H)
        return self.head(out)                      # (B, T, V)


# ----------------------------------------------------------------------------- the steps

def _load(model: nn.Module, state: dict, device: str) -> nn.Module:
    model.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})
    return model.to(device)


def _training_step(model, optimizer, compute_loss, clip: float | None = None):
    def step():
        loss = compute_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss
    return step


def mlp_step(data: dict, state: dict, device: str):
    model = _load(MLP(W.MLP_SIZES), state, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=W.SGD_LR, momentum=W.SGD_MOMENTUM)
    x, y = torch.from_numpy(data["x"]).to(device), torch.from_numpy(data["y"]).to(device)
    return _training_step(model, optimizer, lambda: F.cross_entropy(model(x), y))


def lenet_step(data: dict, state: dict, device: str):
    model = _load(LeNet(W.LENET_CLASSES), state, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=W.ADAM_LR)
    x, y = torch.from_numpy(data["x"]).to(device), torch.from_numpy(data["y"]).to(device)
    return _training_step(model, optimizer, lambda: F.cross_entropy(model(x), y))


def gpt_step(data: dict, state: dict, device: str):
    model = _load(GPT(**W.GPT_CONFIG), state, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=W.ADAMW_LR,
                                  weight_decay=W.ADAMW_WEIGHT_DECAY)
    idx = torch.from_numpy(data["idx"]).to(device)
    targets = torch.from_numpy(data["targets"]).to(device)
    return _training_step(model, optimizer, lambda: model(idx, targets))


def lstm_step(data: dict, state: dict, device: str):
    model = _load(CharLSTM(**W.LSTM_CONFIG), state, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=W.LSTM_LR)
    idx = torch.from_numpy(data["idx"]).to(device)
    flat_targets = torch.from_numpy(data["targets"].reshape(-1)).to(device)

    def compute_loss():
        return F.cross_entropy(model(idx).reshape(-1, W.LSTM_CONFIG["vocab_size"]), flat_targets)

    return _training_step(model, optimizer, compute_loss, clip=W.CLIP_NORM)


def overhead_step(data: dict, state: None, device: str):
    x = torch.tensor(data["start"], dtype=torch.float32, device=device, requires_grad=True)

    def step():
        y = x
        for _ in range(W.OVERHEAD_ROUNDS):
            y = torch.tanh(y * 1.01 + 0.01)
        x.grad = None
        y.backward()
        return y

    return step


STEPS = {"W1": mlp_step, "W2": lenet_step, "W3": gpt_step, "W4": lstm_step, "W5": overhead_step}


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def synchronizer(device: str):
    """A function that waits for the device's queued work (None on the CPU)."""
    return torch.cuda.synchronize if device == "cuda" else None


def cuda_available() -> bool:
    return torch.cuda.is_available()


def label(device: str, threads: int) -> str:
    where = "cuda" if device == "cuda" else f"cpu, {threads} thread{'s' * (threads != 1)}"
    return f"PyTorch {torch.__version__.split('+')[0]} ({where})"

