"""Ready-made training runs, one per model: what ``tinygrad-edu train MODEL`` does.

:func:`train_model` takes the model's name and a few settings, builds everything with the
recipe of images.py (mlp, cnn) or text.py (rnn, gpt), runs :func:`fit`, and leaves in the
output directory:

    checkpoint.npz      model, optimizer, schedule, counters, generator state, settings
    history.json        the metrics, one dict per logged step
    curves.png          loss (and accuracy) against the step, training and validation
    misclassified.png   image models: the test images the model got wrong
    sample.txt          text models: a sample of generated text

Settings come from three places, the later ones winning: the defaults below, the settings
saved in the checkpoint being resumed, and the ones given explicitly. So ``--resume`` repeats
the original run's data, batch size and seed unless told otherwise.
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path

from .. import backend, kernels
from .checkpoint import TEXT_MODELS, SettingsError, history_path, load_checkpoint
from .images import finish_images, prepare_images
from .loop import FitSettings, fit
from .text import finish_text, prepare_text

# the Numba kernels each recipe runs (all of them train with Adam or AdamW)
KERNEL_OPS = {"mlp": ("adam",), "cnn": ("conv2d", "max_pool2d", "adam"),
              "rnn": ("lstm", "adam"), "gpt": ("attention", "gelu", "layer_norm", "adam")}
COMPILING = ("compiling the Numba kernels once, up to a minute; later runs load them from the "
             "cache")

_IMAGE = {"data": "digits", "data_dir": None, "epochs": None, "steps": None, "batch_size": 64,
          "weight_decay": 0.01, "seed": 0, "time_limit": None}
_TEXT = {"data": "stdlib", "data_dir": None, "epochs": None, "steps": None, "time_limit": 60.0,
         "warmup": 100, "eval_every": 250, "eval_batches": 20, "sample_length": 300, "seed": 0}
DEFAULTS = {
    "mlp": {**_IMAGE, "lr": 5e-3, "noise": 0.3},
    "cnn": {**_IMAGE, "lr": 5e-3, "noise": 0.2, "width": 1},
    "rnn": {**_TEXT, "batch_size": 32, "lr": 1e-2, "weight_decay": 0.0},
    "gpt": {**_TEXT, "batch_size": 16, "lr": 3e-3, "weight_decay": 0.1},
}


def resolve_settings(kind: str, given: dict, saved: dict | None = None) -> dict:
    """The defaults, overridden by a resumed run's ``saved`` settings, then by ``given`` ones
    that are not None. Checks the combinations that cannot work."""
    if kind not in DEFAULTS:
        raise SettingsError(f"unknown model {kind!r}; choose one of {', '.join(DEFAULTS)}")
    settings = dict(DEFAULTS[kind])
    settings.update(saved or {})
    given = {key: value for key, value in given.items() if value is not None}
    if kind in TEXT_MODELS:
        if "epochs" in given:
            raise SettingsError(f"{kind} trains for a number of --steps (random windows of the "
                             f"text), not --epochs")
        if "time_limit" in given and "steps" not in given and saved is None:
            settings["steps"] = None         # the time limit decides how many steps fit
        if "steps" in given and "time_limit" not in given:
            settings["time_limit"] = None    # an explicit step count runs to the end
    elif "epochs" in given and "steps" not in given:
        settings["steps"] = None       # --epochs replaces a step count saved earlier
    if "width" in given and kind != "cnn":
        raise SettingsError(f"--width widens the cnn; {kind} has no width setting")
    settings.update(given)
    for key in ("steps", "epochs", "batch_size", "width"):
        if settings.get(key) is not None and settings[key] < 1:
            raise SettingsError(f"--{key.replace('_', '-')} must be at least 1, got {settings[key]}")
    if settings.get("sample_length", 0) < 0:
        raise SettingsError(f"--sample-length must be >= 0, got {settings['sample_length']}")
    if settings.get("time_limit") is not None and not 0 < settings["time_limit"] < math.inf:
        raise SettingsError(f"--time-limit must be a positive number of seconds, got "
                            f"{settings['time_limit']}")
    if not 0 < settings["lr"] < math.inf:
        raise SettingsError(f"--lr must be a positive number, got {settings['lr']}")
    if settings["seed"] < 0:
        raise SettingsError(f"--seed must be >= 0, got {settings['seed']}")
    return settings


def output_directory(out_dir) -> Path:
    """``out_dir``, created if missing; a clear error if it cannot hold the run's files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SettingsError(f"--out {out_dir}: this is a file; name a directory (it is "
                            f"created if missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(f"--out {out_dir}: cannot create this directory "
                            f"({error.strerror}); name another one") from error
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise SettingsError(f"--out {out_dir}: this directory is not writable; name another one")
    return out_dir


def compile_kernels(kind: str, device: str, say=print) -> None:
    """Compile (or load from the cache) the Numba kernels before the clock starts, saying so
    when it takes more than a moment (a first run compiles; later ones load)."""
    ops = [op for op in KERNEL_OPS.get(kind, ()) if kernels.select(op, "cpu") is not None]
    if device != "cpu" or not ops:
        return
    notice = threading.Timer(1.0, say, [COMPILING])
    notice.start()
    try:
        kernels.warmup(("float32",), ops)
    finally:
        notice.cancel()


def train_model(kind: str, given: dict, device: str = "cpu", out_dir=None, resume=None,
                progress: bool = True, verbose: bool = False):
    """Train model ``kind`` ("mlp", "cnn", "rnn", "gpt"); returns (TrainResult, summary lines).

    ``given``: settings to override (None values are ignored). ``resume``: the path of a
    checkpoint to continue from; ``out_dir`` defaults to its directory, else ``runs/<kind>``.
    ``verbose``: print every evaluation."""
    checkpoint = load_checkpoint(resume, expected_model=kind, device=device) if resume else None
    settings = resolve_settings(kind, given, checkpoint["settings"] if checkpoint else None)
    out_dir = output_directory(out_dir or (Path(resume).parent if resume else Path("runs") / kind))
    backend.manual_seed(settings["seed"])
    prepare, finish = ((prepare_text, finish_text) if kind in TEXT_MODELS
                       else (prepare_images, finish_images))
    recipe = prepare(kind, settings, device)
    planned_by_time = settings["steps"] is None and settings["epochs"] is None and \
        settings["time_limit"] is not None and kind in TEXT_MODELS
    if not planned_by_time:   # a resumed time-limited run plans its rest afresh
        settings["steps"] = recipe["steps"]
    recipe["meta"]["settings"] = settings
    checkpoint_path = out_dir / "checkpoint.npz"
    compile_kernels(kind, device)
    options = FitSettings(steps=None if planned_by_time else recipe["steps"],
                          time_limit=settings["time_limit"], checkpoint_path=checkpoint_path,
                          checkpoint_meta=recipe["meta"], progress=progress, verbose=verbose,
                          **recipe["fit_options"])
    result = fit(recipe["model"], recipe["optimizer"], recipe["train_data"], options,
                 scheduler=recipe["scheduler"], eval_data=recipe["eval_data"],
                 resume=checkpoint, on_eval=recipe.get("on_eval"))
    lines = [f"checkpoint: {checkpoint_path}", f"history: {history_path(checkpoint_path)}"]
    if result.interrupted:
        return result, [f"interrupted at step {result.step}", *lines,
                        f"continue with: tinygrad-edu train {kind} --resume {checkpoint_path}"]
    if result.stopped_by_time_limit:
        lines.insert(0, f"the time limit of {settings['time_limit']:g} s allowed {result.step} "
                        f"steps; the learning-rate schedule was planned to end there")
    return result, [*lines, *finish(recipe, result, out_dir)]
