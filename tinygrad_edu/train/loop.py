"""The training loop: the five lines of a training step, and what a real run needs around them.

Every training step is the same five lines (lesson 06 writes them out by hand):

    logits = model(x)                    forward: predictions for a batch
    loss = loss_fn(logits, y)            how wrong they are, one number
    optimizer.zero_grad()                forget the previous step's gradients
    loss.backward()                      dloss/dparameter for every parameter
    optimizer.step()                     move each parameter a little way downhill

:func:`fit` repeats them, and reads like that: look at its body first. Everything else a real
training run needs lives in one object around the loop, a ``Run`` (bookkeeping.py): progress,
history, evaluation, checkpoints, the time limit, Ctrl-C, resuming. How long to train and what to
record is one small dataclass, :class:`FitSettings`:

    fit(model, optimizer, train_loader, FitSettings(epochs=8, checkpoint_path="ckpt.npz"),
        scheduler=scheduler, eval_data=val_loader)

- **Data.** ``train_data`` is a ``DataLoader`` (epochs over a dataset: images) or a function
  ``step -> (x, y)`` (random windows of a text). Either way the batch of step s depends only on
  s and a seed: the loader's order for epoch e is drawn from ``[seed, e]``, and a text batch
  function draws its windows from a generator seeded by the step. That is what lets a resumed
  run see exactly the batches the uninterrupted run would have seen.
- **Gradient clipping** (``max_grad_norm``): the gradients are scaled down when their total
  norm exceeds the limit, so one unlucky batch cannot throw the weights far away.
- **A schedule** (``scheduler``): the learning rate is changed after every step.
- **Evaluation** every ``eval_every`` steps on ``eval_data`` (in ``model.eval()`` mode and
  without recording a graph): the validation metrics ``val_loss``, ``val_accuracy`` in the
  history. The test set is not for this: it is measured once, after training.
- **Checkpoints** at every evaluation, at the end, and when you press Ctrl-C: the run stops
  after saving, and ``fit`` returns with ``interrupted=True`` instead of raising.
- **Resuming** (``resume``): the model, optimizer, schedule, step counter, random generator and
  history are restored from a checkpoint, and training continues as if never stopped.
- **A time limit** (``time_limit``): the run is re-planned as it goes, so that the steps, and
  the learning-rate schedule, end when the time does.

A language model fits the same loop: its logits (B, T, V) are B·T classifications of the next
character, so they are flattened to (B·T, V) against targets (B·T,) before the loss.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..nn.losses import cross_entropy
from ..nn.utils import clip_grad_norm_
from .bookkeeping import Run
from .evaluation import count_correct, evaluate, logits_and_targets

__all__ = ["FitSettings", "TrainResult", "fit", "evaluate", "count_correct", "logits_and_targets"]


@dataclass
class FitSettings:
    """How long :func:`fit` trains, what it records, and where it saves.

    Give ``steps``, or ``epochs`` with a DataLoader, or a ``time_limit`` (seconds of training;
    with steps or epochs too, those are the most it may take)."""
    steps: int | None = None
    epochs: int | None = None
    time_limit: float | None = None
    loss_fn: Callable = cross_entropy
    max_grad_norm: float | None = None     # clip the gradients' total norm to this
    accuracy: bool = True                  # also count correct predictions (classifiers)
    log_every: int = 10                    # steps per history record of the training metrics
    eval_every: int | None = None          # steps between evaluations (default: an epoch)
    checkpoint_path: str | Path | None = None
    checkpoint_meta: dict | None = None    # model_name, model_config, optional vocab, settings
    progress: bool = True                  # a bar (on a terminal) or a line every few seconds
    verbose: bool = False                  # print every evaluation, not about ten of them


@dataclass
class TrainResult:
    """What :func:`fit` hands back: the counters it reached and the metrics on the way."""
    step: int                              # optimizer steps done in total (also before a resume)
    history: list = field(default_factory=list)   # one dict per logged or evaluated step
    interrupted: bool = False              # stopped by Ctrl-C (KeyboardInterrupt)
    stopped_by_time_limit: bool = False
    checkpoint_path: str | None = None     # the last checkpoint written, if any

    @property
    def last_eval(self) -> dict:
        """The most recent record with validation metrics (empty if none)."""
        return next((record for record in reversed(self.history) if "val_loss" in record), {})


def fit(model, optimizer, train_data, settings: FitSettings, *, scheduler=None, eval_data=None,
        resume=None, on_eval=None, on_step=None, clock=time.perf_counter) -> TrainResult:
    """Train ``model`` on ``train_data`` as ``settings`` say; returns a :class:`TrainResult`.

    ``eval_data``: an iterable of (x, y) batches (the validation set). ``resume``: a checkpoint
    from ``load_checkpoint`` to continue from. ``on_eval(model, record)`` may return text to
    print (generated samples); ``on_step(step, loss)`` is called after every step. ``clock``:
    the seconds counter that the time limit and the progress read.
    """
    run = Run(model, optimizer, scheduler, train_data, eval_data, settings, resume=resume,
              on_eval=on_eval, on_step=on_step, clock=clock)
    with run:                                   # Ctrl-C: save a checkpoint and stop
        for x, y in run.batches():              # until the planned last step or the time limit
            logits, targets = logits_and_targets(model(x), y)
            loss = settings.loss_fn(logits, targets)
            optimizer.zero_grad()
            loss.backward()
            if settings.max_grad_norm is not None:
                clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            with run.update():                  # all of the update or none of it
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()            # the learning rate of the next step
            run.after_step(loss, logits, targets)   # history, evaluation, checkpoint, progress
    return TrainResult(step=run.step, history=run.history, interrupted=run.interrupted,
                       stopped_by_time_limit=run.stopped_by_time_limit,
                       checkpoint_path=run.checkpoint_path)
