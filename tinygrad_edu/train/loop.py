"""The training loop: the five lines of a training step, and what a real run needs around them.

Every training step is the same five lines (lesson 06 writes them out by hand):

    logits = model(x)                    forward: predictions for a batch
    loss = loss_fn(logits, y)            how wrong they are, one number
    optimizer.zero_grad()                forget the previous step's gradients
    loss.backward()                      dloss/dparameter for every parameter
    optimizer.step()                     move each parameter a little way downhill

:func:`fit` repeats them and adds what turns a loop into a training run:

- **Data.** ``train_data`` is a ``DataLoader`` (epochs over a dataset: images) or a function
  ``step -> (x, y)`` (random windows of a text). Either way the batch of step s depends only on
  s and a seed: the loader's order for epoch e is drawn from ``[seed, e]``, and a text batch
  function draws its windows from a generator seeded by the step. That is what lets a resumed
  run see exactly the batches the uninterrupted run would have seen.
- **Gradient clipping** (``max_grad_norm``): the gradients are scaled down when their total
  norm exceeds the limit, so one unlucky batch cannot throw the weights far away.
- **A schedule** (``scheduler``): the learning rate is changed after every step.
- **Progress**: a tqdm bar with the running loss, accuracy and steps per second.
- **Evaluation** every ``eval_every`` steps on ``eval_data`` (in ``model.eval()`` mode and
  without recording a graph), and a **history**: one dict of metrics per logged step.
- **Checkpoints** at every evaluation, at the end, and when you press Ctrl-C: the run stops
  after saving, with a message saying where, instead of a traceback.
- **Resuming** (``resume``): the model, optimizer, schedule, step counter, random generator and
  history are restored from a checkpoint, and training continues as if never stopped.

Two details make "as if never stopped" exact. Dropout and augmentation draw from the library's
random generator, so a checkpoint stores the generator's state as it was right after the last
complete step (and an evaluation, which may sample text, puts the state back afterwards). And
Ctrl-C is held back while the optimizer updates the parameters: an interrupt lands either
before the update (the step is redone after resuming) or after it, never half-way.

A language model fits the same loop: its logits (B, T, V) are B·T classifications of the next
character, so they are flattened to (B·T, V) against targets (B·T,) before the loss.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ..autograd import no_grad
from ..nn.losses import cross_entropy
from ..nn.utils import clip_grad_norm_
from .checkpoint import CheckpointMismatchError, make_checkpoint, rng_state, save_checkpoint, set_rng_state


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


def logits_and_targets(output, targets):
    """A model's output as (N, C) logits against (N,) targets.

    CharRNN returns ``(logits, state)``; a language model's logits (B, T, V) are B·T separate
    next-character predictions, so they are flattened together with the targets (B, T)."""
    logits = output[0] if isinstance(output, tuple) else output
    if logits.ndim > 2:
        logits = logits.reshape(-1, logits.shape[-1])   # (B·T, V)
        targets = targets.reshape(-1)                   # (B·T,)
    return logits, targets


def count_correct(logits, targets) -> int:
    """How many rows of ``logits`` (N, C) give their highest score to the right class."""
    return int((logits.data.argmax(axis=-1) == targets.data).sum())


@no_grad()
def evaluate(model, data, loss_fn=cross_entropy) -> dict:
    """Mean loss and accuracy over every batch of ``data`` (an iterable of (x, y) batches),
    in evaluation mode (no dropout, BatchNorm's running statistics); the mode is restored."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for x, y in data:
            logits, targets = logits_and_targets(model(x), y)
            total_loss += float(loss_fn(logits, targets).item()) * len(targets)
            correct += count_correct(logits, targets)
            count += len(targets)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the evaluation data gave no batches")
    return {"loss": total_loss / count, "accuracy": correct / count}


def batch_stream(train_data, start_step: int):
    """Batches for steps ``start_step``, ``start_step + 1``, ..., as ``(epoch, batch)`` pairs.

    For a DataLoader the epoch and the place in it come from the step; the batches of the
    epoch already done before a resume are fetched and dropped (this happens here, at once, so
    that the caller can put the random generator back afterwards)."""
    if callable(train_data):
        def text_batches():
            step = start_step
            while True:
                yield None, train_data(step)
                step += 1
        return text_batches()
    epoch, done_in_epoch = divmod(start_step, len(train_data))
    train_data.set_epoch(epoch)
    current = iter(train_data)
    for _ in range(done_in_epoch):
        next(current)

    def loader_batches():
        nonlocal epoch, current
        while True:
            for batch in current:
                yield epoch, batch
            epoch += 1
            train_data.set_epoch(epoch)
            current = iter(train_data)
    return loader_batches()


class RunningMetrics:
    """The training loss (and accuracy) averaged over the steps since the last log record."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.loss, self.correct, self.count, self.steps = 0.0, 0, 0, 0
        self.start = time.perf_counter()

    def add(self, loss: float, correct: int, count: int) -> None:
        self.loss += loss * count
        self.correct += correct
        self.count += count
        self.steps += 1

    def record(self, optimizer, accuracy: bool) -> dict:
        """The averages as a history record, with the learning rate and the speed."""
        record = {"train_loss": self.loss / self.count,
                  "lr": float(optimizer.param_groups[0]["lr"]),
                  "steps_per_second": self.steps / max(time.perf_counter() - self.start, 1e-9)}
        if accuracy:
            record["train_accuracy"] = self.correct / self.count
        self.reset()
        return record


def restore(resume: dict, model, optimizer, scheduler, steps_per_epoch) -> tuple:
    """Load a checkpoint's states into the run's objects; returns (step, seconds, history)."""
    saved = resume["progress"]
    if saved.get("steps_per_epoch") != steps_per_epoch:
        raise CheckpointMismatchError(
            f"fit: the checkpoint was made with {saved.get('steps_per_epoch')} steps per epoch, "
            f"this data gives {steps_per_epoch}; resume with the same data and batch size")
    model.load_state_dict(resume["model"])
    optimizer.load_state_dict(resume["optimizer"])
    if scheduler is not None and resume.get("scheduler") is not None:
        scheduler.load_state_dict(resume["scheduler"])
    return int(saved["step"]), float(saved["time"]), list(resume["history"])


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C back until the block is done, then raise it.

    The parameter update must happen for all parameters or for none: a checkpoint taken after
    half an update would hold weights that no training run ever had."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or handler is None:
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
    if received:
        raise KeyboardInterrupt


def fit(model, optimizer, train_data, *, steps=None, epochs=None, loss_fn=cross_entropy,
        scheduler=None, eval_data=None, eval_every=None, log_every=10, max_grad_norm=None,
        accuracy=True, checkpoint_path=None, checkpoint_meta=None, resume=None,
        time_limit=None, on_eval=None, on_step=None, progress=True) -> TrainResult:
    """Train ``model`` for ``steps`` optimizer steps (or ``epochs`` passes over a DataLoader).

    ``eval_data``: an iterable of (x, y) batches, evaluated every ``eval_every`` steps (default:
    once per epoch for a loader) and at the end. ``checkpoint_path`` and ``checkpoint_meta``
    (``model_name``, ``model_config``, optional ``vocab`` and ``settings``): where and what to
    save. ``resume``: a checkpoint from ``load_checkpoint`` to continue from. ``time_limit``:
    stop (and save) after this many seconds of training; evaluations, samples and checkpoints
    are not counted. ``on_eval(model, record)`` may return text to print
    (generated samples); ``on_step(step, loss)`` is called after every step.
    """
    steps_per_epoch = None if callable(train_data) else len(train_data)
    if steps_per_epoch == 0:
        raise ValueError("fit: the DataLoader gives no batches (fewer samples than batch_size "
                         "with drop_last=True?)")
    if steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("fit: give steps=..., or epochs=... together with a DataLoader")
        steps = epochs * steps_per_epoch
    if eval_every is None:
        eval_every = steps_per_epoch or max(1, steps // 10)
    parameters = list(model.parameters())
    say = tqdm.write if progress else print

    step, elapsed_before, history = 0, 0.0, []
    if resume is not None:
        step, elapsed_before, history = restore(resume, model, optimizer, scheduler,
                                                steps_per_epoch)
    batches = batch_stream(train_data, step)
    if resume is not None:
        set_rng_state(resume["rng"])   # after the replayed batches, so the next ones match

    def save(rng: str) -> str | None:
        if checkpoint_path is None:
            return None
        progress_state = {"step": step, "steps_per_epoch": steps_per_epoch,
                          "time": elapsed_before + training_seconds()}
        save_checkpoint(checkpoint_path, make_checkpoint(model, optimizer, scheduler,
                                                         progress_state, rng, history,
                                                         checkpoint_meta or {}))
        return str(checkpoint_path)

    result = TrainResult(step=step, history=history)
    bar = tqdm(total=steps, initial=step, unit="step", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    start, seconds_not_training = time.perf_counter(), 0.0

    def training_seconds() -> float:
        return time.perf_counter() - start - seconds_not_training
    running = RunningMetrics()
    model.train()
    rng_now = rng_state()   # the generator's state that belongs with `step` in a checkpoint
    try:
        while step < steps:
            epoch, (x, y) = next(batches)
            logits, targets = logits_and_targets(model(x), y)
            loss = loss_fn(logits, targets)
            optimizer.zero_grad()
            loss.backward()
            if max_grad_norm is not None:
                clip_grad_norm_(parameters, max_grad_norm)
            with interrupts_deferred():   # all of the update, or none of it
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                step += 1
            rng_now = rng_state()
            loss_value = float(loss.item())
            running.add(loss_value, count_correct(logits, targets) if accuracy else 0,
                        len(targets))
            bar.update(1)
            if on_step is not None:
                on_step(step, loss_value)

            record = {}
            if step % log_every == 0 or step == steps:
                record.update(running.record(optimizer, accuracy))
                bar.set_postfix({key: f"{record[key]:.4g}" for key in
                                 ("train_loss", "train_accuracy", "lr") if key in record})
            out_of_time = time_limit is not None and training_seconds() >= time_limit
            evaluating = eval_data is not None and (step % eval_every == 0 or step == steps
                                                    or out_of_time)
            if evaluating:
                evaluation_start = time.perf_counter()
                metrics = evaluate(model, eval_data, loss_fn)
                record["val_loss"] = metrics["loss"]
                if accuracy:
                    record["val_accuracy"] = metrics["accuracy"]
            if record:
                record = {"step": step, **({"epoch": step / steps_per_epoch}
                                           if steps_per_epoch else {}), **record}
                history.append(record)
            if evaluating:
                say(f"step {step}: " + ", ".join(f"{key} {value:.4f}" for key, value in
                                                   record.items() if key.startswith("val_")))
                text = on_eval(model, record) if on_eval is not None else None
                if text:
                    say(text)
                set_rng_state(rng_now)   # evaluating must not change the course of training
                result.checkpoint_path = save(rng_now) or result.checkpoint_path
                seconds_not_training += time.perf_counter() - evaluation_start
            if out_of_time:
                result.stopped_by_time_limit = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    result.step = step
    result.checkpoint_path = save(rng_now) or result.checkpoint_path
    return result
