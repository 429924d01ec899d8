"""Checkpoints: everything needed to stop a training run and carry on later, in one file.

A model's ``state_dict()`` alone is not enough to *continue* training. The checkpoint written
here is one ``tg.save`` archive (``.npz``, no pickle) holding:

    model            the parameters and buffers (``model.state_dict()``)
    model_name       which model it is ("mlp", "cnn", "rnn", "gpt")
    model_config     the constructor arguments, so the model can be rebuilt: MODELS[name](**config)
    optimizer        the optimizer's state: Adam's running averages, step counts, settings
    scheduler        the learning-rate schedule's position (or None)
    progress         the counters: optimizer steps done, steps per epoch, seconds trained
    rng              the library's CPU random generator (dropout, augmentation), as JSON
    history          the metrics so far (a list of dicts, as JSON)
    vocab            for text models: the characters, as code points (or None)
    settings         the run's settings (data, batch size, lr...), so ``--resume`` repeats them

Resuming rebuilds the model from ``model_name`` and ``model_config``, loads the three states,
and sets the counters and the random generator back. Because the training data is drawn as a
function of the step (or the epoch) and the seed, the resumed run sees exactly the batches the
uninterrupted run would have seen, and its next loss is the same number.

A checkpoint for another model, a file that is not a training checkpoint at all, or one whose
entries are missing or of the wrong kind (no optimizer state, a damaged generator state, a
weight that is not numbers) raises :class:`CheckpointMismatchError` (or ``CheckpointError`` for
an unreadable file) with a message that names the file and the entry; ``source`` in the
returned dict names the file, so that later errors (a weight of the wrong shape) can name it
too. The history is written next to the checkpoint, atomically like the checkpoint itself.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .. import backend
from ..models import CNN, GPT, MLP, CharRNN
from ..serialization import CheckpointError, load, remove_stale_temporaries, save, write_atomically

FORMAT = "tinygrad_edu.train"
VERSION = 1
MODELS = {"mlp": MLP, "cnn": CNN, "rnn": CharRNN, "gpt": GPT}
TEXT_MODELS = ("rnn", "gpt")
HISTORY_FILE = "history.json"


class CheckpointMismatchError(CheckpointError):
    """A readable file that is not a training checkpoint, or one for another model."""


class SettingsError(ValueError):
    """Training settings that cannot work together (the message names them)."""


def rng_state() -> str:
    """The CPU generator's exact position as JSON (PCG64's 128-bit numbers fit in JSON ints)."""
    return json.dumps(backend.generator("cpu").bit_generator.state)


def set_rng_state(state: str) -> None:
    """Put the CPU generator back where :func:`rng_state` found it."""
    backend.generator("cpu").bit_generator.state = json.loads(state)


def make_checkpoint(model, optimizer, scheduler, progress: dict, rng: str, history: list,
                    meta: dict) -> dict:
    """The dict that :func:`save_checkpoint` writes. ``meta`` holds ``model_name``,
    ``model_config`` and optionally ``vocab`` and ``settings``."""
    return {"format": FORMAT, "version": VERSION,
            "model_name": meta["model_name"], "model_config": meta["model_config"],
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "progress": dict(progress), "rng": rng, "history": json.dumps(history),
            "vocab": meta.get("vocab"), "settings": meta.get("settings")}


def history_path(checkpoint_path) -> Path:
    """Where the metrics go as JSON: ``history.json`` next to the checkpoint."""
    return Path(checkpoint_path).parent / HISTORY_FILE


def save_checkpoint(path, checkpoint: dict) -> None:
    """Write the checkpoint (atomically, via ``tg.save``) and its history as readable JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(checkpoint, path)
    text = json.dumps(json.loads(checkpoint["history"]), indent=1) + "\n"
    write_atomically(history_path(path), lambda file: file.write(text.encode()),
                     "save_checkpoint")


def load_checkpoint(path, expected_model: str | None = None, device: str = "cpu") -> dict:
    """Read and check a training checkpoint; ``expected_model`` (e.g. "gpt") must match it.

    Tensors come back on ``device``; ``history`` comes back as a list of dicts, ``source`` is
    the file's name. Temporary files left by a save that was killed are removed."""
    where = repr(os.fspath(path))
    checkpoint = load(path, device=device)
    remove_stale_temporaries(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointMismatchError(
            f"{where} is not a tinygrad-edu training checkpoint (it has no {FORMAT!r} marker; "
            f"a bare state_dict can be loaded with tg.load instead)")
    if checkpoint.get("version") != VERSION:
        raise CheckpointMismatchError(f"{where} is a checkpoint of version "
                                      f"{checkpoint.get('version')}, this library reads {VERSION}")
    name = checkpoint.get("model_name")
    if name not in MODELS:
        raise CheckpointMismatchError(f"{where} holds an unknown model {name!r}; "
                                      f"known models: {', '.join(MODELS)}")
    if expected_model is not None and name != expected_model:
        raise CheckpointMismatchError(f"{where} is a checkpoint of the {name!r} "
                                      f"model, not of {expected_model!r}")
    _check_entries(checkpoint, where)
    checkpoint["history"] = json.loads(checkpoint["history"])
    checkpoint["source"] = os.fspath(path)
    return checkpoint


def _check_entries(checkpoint: dict, where: str) -> None:
    """Every entry a resumed run or a rebuilt model needs is there and of the right kind."""
    def damaged(entry: str, problem: str):
        return CheckpointMismatchError(f"{where} is damaged: its {entry} {problem}")

    for entry in ("model", "model_config", "optimizer", "progress"):
        if not isinstance(checkpoint.get(entry), dict):
            raise damaged(f"{entry!r} entry", "is missing or not a dict")
    for key, value in checkpoint["model"].items():
        values = np.asarray(backend.asnumpy(getattr(value, "data", value)))
        if values.dtype.kind not in "biuf":
            raise damaged(f"weight {key!r}", f"holds {values.dtype} data, not numbers")
    progress = checkpoint["progress"]
    if not isinstance(progress.get("step"), int) or progress["step"] < 0 or \
            not isinstance(progress.get("time", 0.0), (int, float)):
        raise damaged("'progress' entry", "lacks a step count (or its time is not a number)")
    try:
        history = json.loads(checkpoint.get("history"))
        state = json.loads(checkpoint.get("rng"))
        np.random.Generator(np.random.PCG64()).bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise damaged("'history' or 'rng' entry", f"cannot be read ({error})") from error
    if not isinstance(history, list):
        raise damaged("'history' entry", "is not a list")


def build_model(checkpoint: dict, device: str = "cpu"):
    """The model a checkpoint describes, with its saved weights, on ``device``."""
    where = repr(checkpoint.get("source", "the checkpoint"))
    try:
        model = MODELS[checkpoint["model_name"]](**checkpoint["model_config"])
        model.load_state_dict(checkpoint["model"])
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointMismatchError(f"{where}: its model cannot be rebuilt from the saved "
                                      f"configuration and weights ({error})") from error
    return model.to(device)
