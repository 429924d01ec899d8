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

A checkpoint for another model, or a file that is not a training checkpoint at all, raises
:class:`CheckpointMismatchError` (or ``CheckpointError`` for an unreadable file) with a message
that names the file and what was found in it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import backend
from ..models import CNN, GPT, MLP, CharRNN
from ..serialization import CheckpointError, load, save

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
    history_file = history_path(path)
    temporary = history_file.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(json.loads(checkpoint["history"]), indent=1) + "\n")
    os.replace(temporary, history_file)


def load_checkpoint(path, expected_model: str | None = None, device: str = "cpu") -> dict:
    """Read and check a training checkpoint; ``expected_model`` (e.g. "gpt") must match it.

    Tensors come back on ``device``; ``history`` comes back as a list of dicts."""
    checkpoint = load(path, device=device)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointMismatchError(
            f"{os.fspath(path)!r} is not a tinygrad-edu training checkpoint (it has no "
            f"{FORMAT!r} marker; a bare state_dict can be loaded with tg.load instead)")
    if checkpoint.get("version") != VERSION:
        raise CheckpointMismatchError(f"{os.fspath(path)!r} is a checkpoint of version "
                                      f"{checkpoint.get('version')}, this library reads {VERSION}")
    name = checkpoint["model_name"]
    if name not in MODELS:
        raise CheckpointMismatchError(f"{os.fspath(path)!r} holds an unknown model {name!r}; "
                                      f"known models: {', '.join(MODELS)}")
    if expected_model is not None and name != expected_model:
        raise CheckpointMismatchError(f"{os.fspath(path)!r} is a checkpoint of the {name!r} "
                                      f"model, not of {expected_model!r}")
    checkpoint["history"] = json.loads(checkpoint["history"])
    return checkpoint


def build_model(checkpoint: dict, device: str = "cpu"):
    """The model a checkpoint describes, with its saved weights, on ``device``."""
    model = MODELS[checkpoint["model_name"]](**checkpoint["model_config"])
    model.load_state_dict(checkpoint["model"])
    return model.to(device)
