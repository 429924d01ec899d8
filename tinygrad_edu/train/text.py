"""Recipes for the character-level language models: an LSTM (CharRNN) and GPT.

The data is a long text, by default Python's own standard library source (5 million
characters that every Python installation has), reduced to 96 symbols: newline and printable
ASCII. 90% of it is for training and 10% for validation: every tenth of 100 equal runs of the
text (``data.split_train_val``), so that validation holds the same mix of code as training. A
training batch is B random windows of T + 1 characters; the model reads the first T and
predicts each next one.

The shapes are the benchmark ones:

    GPT      4 layers, 4 heads, width 128, context T = 64, batch 16;
             AdamW (weight decay on the matrices only), warm-up then cosine decay
    CharRNN  LSTM, embedding 64, hidden 256, T = 64 steps, batch 32; Adam with the same schedule

and both clip the gradient norm at 1.0.

Reproducible batches: the windows of step s are drawn from a generator seeded by (seed, s), so
the batch of any step can be drawn again after a restart; the validation windows are drawn
once, from (seed, 1, k), so every evaluation measures the same characters.

The loss is cross-entropy in nats per character: ln 96 ≈ 4.56 for a model that knows nothing,
about 3.3 for one that has learnt the character frequencies, and lower as it learns words and
the shape of Python code. At each evaluation (and at the end) the model writes a sample.

How long: without ``--steps`` a run has a time limit (60 seconds of training unless
``--time-limit`` says otherwise; evaluations and samples come on top). A throwaway copy of the
model is timed for a few steps first, which gives the first plan (and the length of the
warm-up); the training loop then re-plans the remaining steps from the measured speed as it
goes, so that the learning-rate schedule ends when the time does, even on a machine that gets
slower or faster during the run.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import optim
from ..data import CharVocab, load_text, random_text_batches, split_train_val, to_tensors
from ..data.mnist import DataNotFoundError
from ..models import GPT, CharRNN
from ..nn.losses import cross_entropy
from ..tensor import Tensor
from .checkpoint import SettingsError
from .loop import logits_and_targets
from .plots import plot_history

CONFIGS = {
    "gpt": {"vocab_size": 96, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128,
            "dropout": 0.0},
    "rnn": {"vocab_size": 96, "embed_dim": 64, "hidden_size": 256, "cell": "lstm",
            "num_layers": 1, "dropout": 0.0},
}
SEQUENCE_LENGTH = 64
MAX_GRAD_NORM = 1.0
SAMPLE_TEMPERATURE = 0.8
SAMPLE_PROMPT = "def "
CALIBRATION_STEPS = 12


def load_corpus(settings: dict):
    """(vocabulary, train ids, validation ids) of the chosen text."""
    source = settings["data"]
    if source != "stdlib" and not Path(source).is_file():
        raise DataNotFoundError(f"--data {source}: no such text file (give a path to a text "
                                f"file, or 'stdlib' for Python's standard library source)")
    text = load_text() if source == "stdlib" else load_text(source)
    vocab = CharVocab.ascii()
    ids = vocab.encode(text, errors="replace")                    # (number of characters,)
    train_ids, val_ids = split_train_val(ids)
    if min(len(train_ids), len(val_ids)) <= SEQUENCE_LENGTH:
        raise SettingsError(f"--data {source}: {len(ids)} characters are too few; the text "
                            f"needs more than {10 * (SEQUENCE_LENGTH + 1)} so that both the "
                            f"training and the validation part hold a window of "
                            f"{SEQUENCE_LENGTH + 1}")
    return vocab, train_ids, val_ids


def build_language_model(kind: str, settings: dict):
    """Model and optimizer for "gpt" or "rnn" (not yet on a device)."""
    config = dict(CONFIGS[kind])
    if kind == "gpt":
        model = GPT(**config)
        matrices = [p for p in model.parameters() if p.ndim >= 2]
        others = [p for p in model.parameters() if p.ndim < 2]   # biases, LayerNorm: no decay
        optimizer = optim.AdamW([{"params": matrices, "weight_decay": settings["weight_decay"]},
                                 {"params": others, "weight_decay": 0.0}],
                                lr=settings["lr"], betas=(0.9, 0.99))
    else:
        model = CharRNN(**config)
        optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
    return model, optimizer, config


def text_batches(ids, settings: dict, device: str):
    """The function step -> (x, y) of the training loop: windows drawn from (seed, 0, step)."""
    def batch_at(step: int):
        generator = np.random.default_rng([settings["seed"], 0, step])
        x, y = random_text_batches(ids, SEQUENCE_LENGTH, settings["batch_size"], generator)
        return to_tensors((x, y), device)                         # (B, T), (B, T)
    return batch_at


def steps_for_time_limit(kind: str, settings: dict, device: str, batch_at) -> int:
    """How many steps fit in ``settings["time_limit"]``, timed on a throwaway model."""
    model, optimizer, _ = build_language_model(kind, settings)
    model.to(device)
    durations = []
    for step in range(CALIBRATION_STEPS):
        start = time.perf_counter()
        x, y = batch_at(step)
        logits, targets = logits_and_targets(model(x), y)
        optimizer.zero_grad()
        cross_entropy(logits, targets).backward()
        optimizer.step()
        durations.append(time.perf_counter() - start)
    seconds_per_step = float(np.median(durations[2:]))   # the first ones also warm caches up
    return max(1, int(settings["time_limit"] / seconds_per_step))


def sample_text(model, vocab: CharVocab, prompt: str, length: int, temperature: float = 1.0,
                top_k: int | None = None, generator=None, device: str = "cpu") -> str:
    """``prompt`` followed by ``length`` characters drawn from the model.

    An empty prompt starts from a newline, which is then left out of the text returned."""
    start = prompt or "\n"
    ids = vocab.encode(start, errors="replace")[None, :]         # (1, len(start))
    out = model.generate(Tensor(ids, device=device), length, temperature=temperature,
                         top_k=top_k, generator=generator)       # (1, len(start) + length)
    text = vocab.decode(out.numpy()[0])
    return text if prompt else text[1:]


def prepare_text(kind: str, settings: dict, device: str) -> dict:
    """Model, optimizer, schedule, batches and checkpoint metadata for "rnn" or "gpt"."""
    vocab, train_ids, val_ids = load_corpus(settings)
    batch_at = text_batches(train_ids, settings, device)
    steps = settings["steps"]
    if steps is None:
        steps = steps_for_time_limit(kind, settings, device, batch_at)
    model, optimizer, config = build_language_model(kind, settings)
    model.to(device)
    scheduler = optim.lr_scheduler.WarmupCosineLR(
        optimizer, warmup_steps=min(settings["warmup"], steps // 10), total_steps=max(steps, 2),
        min_lr=settings["lr"] / 10)
    eval_batches = [to_tensors(random_text_batches(val_ids, SEQUENCE_LENGTH,
                                                   settings["batch_size"],
                                                   np.random.default_rng([settings["seed"], 1, k])),
                               device) for k in range(settings["eval_batches"])]

    def on_eval(model, record) -> str | None:
        if not settings["sample_length"]:
            return None
        generator = np.random.default_rng([settings["seed"], 2, record["step"]])
        text = sample_text(model, vocab, SAMPLE_PROMPT, settings["sample_length"],
                           SAMPLE_TEMPERATURE, generator=generator, device=device)
        return f"--- sample at step {record['step']} ---\n{text}\n---"

    return {"model": model, "optimizer": optimizer, "scheduler": scheduler,
            "train_data": batch_at, "eval_data": eval_batches, "steps": steps,
            "fit_options": {"log_every": max(1, min(25, steps // 20)),
                            "eval_every": max(1, min(settings["eval_every"], steps)),
                            "max_grad_norm": MAX_GRAD_NORM, "accuracy": False},
            "on_eval": on_eval,
            "meta": {"model_name": kind, "model_config": config, "vocab": vocab.to_array()},
            "vocab": vocab}


def finish_text(recipe: dict, result, out_dir: Path) -> list[str]:
    """Save the curves and a final sample; return lines for the run's summary."""
    settings = recipe["meta"]["settings"]
    val_loss = result.last_eval.get("val_loss")
    curves = plot_history(result.history, out_dir / "curves.png",
                          title=f"{recipe['meta']['model_name']}: validation loss "
                                f"{val_loss:.3f} nats/char" if val_loss is not None else "")
    lines = [f"validation loss: {val_loss:.4f} nats/char" if val_loss is not None else
             "validation loss: not measured", f"learning curves: {curves}"]
    if settings["sample_length"]:
        device = next(iter(recipe["model"].parameters())).device
        text = sample_text(recipe["model"], recipe["vocab"], SAMPLE_PROMPT,
                           settings["sample_length"], SAMPLE_TEMPERATURE,
                           generator=np.random.default_rng([settings["seed"], 3]), device=device)
        samples = out_dir / "sample.txt"
        samples.write_text(text + "\n")
        lines = [f"--- sample ---\n{text}\n---", *lines, f"sample: {samples}"]
    return lines
