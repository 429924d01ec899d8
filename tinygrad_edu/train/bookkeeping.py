"""Everything :func:`fit` does around the five lines of a step, in one object: ``Run``.

A ``Run`` serves the batches, counts the steps, keeps the history, evaluates, saves
checkpoints, shows the progress, watches the clock, and turns Ctrl-C into a clean stop. The
training loop itself (loop.py) only calls it at three places: for the next batch, around the
parameter update, and after the step.

**The length of a run.** It is ``steps`` (or ``epochs`` passes over a DataLoader). With a
``time_limit`` it is re-planned after every step from the measured speed: the seconds the last
``RATE_WINDOW`` steps took say how many more steps fit into the time left, and a schedule with
a ``total_steps`` (``WarmupCosineLR``) is stretched or shrunk to end exactly there. So on a
machine that slows down half-way the learning rate still reaches its final value when the time
is up, instead of being cut off half-way down. ``steps``/``epochs``, when given too, stay the
upper bound. Evaluations, samples and checkpoints are not counted as training time.

**Evaluations** happen every ``eval_every`` steps and after the last step; each one is a
history record with the validation metrics (``val_loss``, ``val_accuracy``), and is followed by
a checkpoint. About ten of them are printed in a run (every k-th and the last); all of them
with ``verbose``.

**Exactly resumable.** The checkpoint holds the random generator's state as it was right after
the last complete step (an evaluation, which may draw samples, puts it back afterwards); a
resumed run replays the batches of the epoch already begun and draws the next ones exactly as
the uninterrupted run would have.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections import deque

from .checkpoint import (CheckpointMismatchError, make_checkpoint, rng_state, save_checkpoint,
                         set_rng_state)
from .evaluation import count_correct, evaluate
from .progress import Progress

RATE_WINDOW = 50       # steps over which the speed is measured when re-planning
PRINTED_EVALUATIONS = 10


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


def batch_stream(train_data, start_step: int):
    """Batches for steps ``start_step``, ``start_step + 1``, ... (endless).

    For a DataLoader the epoch and the place in it come from the step; the batches of the
    epoch already done before a resume are fetched and dropped here, at once, so that the
    caller can put the random generator back afterwards."""
    if callable(train_data):   # a function step -> (x, y)
        def drawn():
            step = start_step
            while True:
                yield train_data(step)
                step += 1
        return drawn()
    epoch, done_in_epoch = divmod(start_step, len(train_data))
    train_data.set_epoch(epoch)
    current = iter(train_data)
    for _ in range(done_in_epoch):
        next(current)

    def epochs():
        nonlocal epoch, current
        while True:
            yield from current
            epoch += 1
            train_data.set_epoch(epoch)
            current = iter(train_data)
    return epochs()


class RunningMetrics:
    """The training loss (and accuracy) averaged over the steps since the last log record."""

    def __init__(self, clock):
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.loss, self.correct, self.count, self.steps = 0.0, 0, 0, 0
        self.start = self.clock()

    def add(self, loss: float, correct: int, count: int) -> None:
        self.loss += loss * count
        self.correct += correct
        self.count += count
        self.steps += 1

    def record(self, optimizer, accuracy: bool) -> dict:
        """The averages as a history record, with the learning rate and the speed."""
        record = {"train_loss": self.loss / self.count,
                  "lr": float(optimizer.param_groups[0]["lr"]),
                  "steps_per_second": self.steps / max(self.clock() - self.start, 1e-9)}
        if accuracy:
            record["train_accuracy"] = self.correct / self.count
        self.reset()
        return record


class Run:
    """The bookkeeping of one call of :func:`fit` (see the module docstring)."""

    def __init__(self, model, optimizer, scheduler, train_data, eval_data, settings, *,
                 resume=None, on_eval=None, on_step=None, clock):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.eval_data, self.settings, self.clock = eval_data, settings, clock
        self.on_eval, self.on_step = on_eval, on_step
        self.steps_per_epoch = None if callable(train_data) else len(train_data)
        self.max_steps = self._max_steps()
        self.planned = self.max_steps or getattr(scheduler, "total_steps", None)
        self.eval_every = settings.eval_every or self.steps_per_epoch or max(
            1, (self.planned or 1000) // 10)
        evaluations = math.ceil((self.planned or 1000) / self.eval_every)
        self.print_every = 1 if settings.verbose else max(1, evaluations // PRINTED_EVALUATIONS)
        self.evaluations = 0

        self.step, self.seconds_before, self.history = 0, 0.0, []
        if resume is not None:
            self._restore(resume)
        self._batches = batch_stream(train_data, self.step)
        if resume is not None:
            set_rng_state(resume["rng"])   # after the replayed batches, so the next ones match
        self.rng_now = rng_state()         # the generator's state that belongs with self.step

        self.start, self.seconds_paused = clock(), 0.0
        self.recent = deque(maxlen=RATE_WINDOW)   # (step, training seconds) of the last steps
        self.running = RunningMetrics(clock)
        self.progress = Progress(self.planned, self.step, enabled=settings.progress, clock=clock)
        self.interrupted = self.out_of_time = False
        self.checkpoint_path = None
        self.done = self.finished()

    def _max_steps(self):
        settings = self.settings
        if self.steps_per_epoch == 0:
            raise ValueError("fit: the DataLoader gives no batches (fewer samples than "
                             "batch_size with drop_last=True?)")
        if settings.steps is not None:
            return settings.steps
        if settings.epochs is not None:
            if self.steps_per_epoch is None:
                raise ValueError("fit: epochs=... needs a DataLoader; give steps=... for a "
                                 "function step -> (x, y)")
            return settings.epochs * self.steps_per_epoch
        if settings.time_limit is None:
            raise ValueError("fit: give FitSettings(steps=...), epochs=... (with a DataLoader) "
                             "or time_limit=...")
        return None

    # --- the three places the loop calls ---------------------------------------------------
    def batches(self):
        """(x, y) for every step of the run, until the planned last step or the time limit."""
        while not self.done:
            yield next(self._batches)

    @contextlib.contextmanager
    def update(self):
        """Around the parameter update: Ctrl-C waits until it is done; then the step counts."""
        with interrupts_deferred():
            yield
            self.step += 1

    def after_step(self, loss, logits, targets) -> None:
        """Log, re-plan, evaluate and save as due after the step just done."""
        self.rng_now = rng_state()
        loss_value = float(loss.item())
        correct = count_correct(logits, targets) if self.settings.accuracy else 0
        self.running.add(loss_value, correct, len(targets))
        if self.on_step is not None:
            self.on_step(self.step, loss_value)
        self._replan()
        last = self.done = self.finished()
        record = {}
        if self.step % self.settings.log_every == 0 or last:
            record.update(self.running.record(self.optimizer, self.settings.accuracy))
        evaluating = self.eval_data is not None and (self.step % self.eval_every == 0 or last)
        if evaluating:
            with self.paused():
                record.update(self._evaluate())
        if record:
            epoch = {"epoch": self.step / self.steps_per_epoch} if self.steps_per_epoch else {}
            record = {"step": self.step, **epoch, **record}
            self.history.append(record)
        self.progress.update(self.step, self.planned, record)
        if evaluating:
            with self.paused():
                self._report(record, last)
                set_rng_state(self.rng_now)   # evaluating must not change the course of training
                self.save()

    # --- the clock and the plan ------------------------------------------------------------
    def training_seconds(self) -> float:
        return self.clock() - self.start - self.seconds_paused

    @contextlib.contextmanager
    def paused(self):
        """Time spent in the block is not training time."""
        start = self.clock()
        try:
            yield
        finally:
            self.seconds_paused += self.clock() - start

    def finished(self) -> bool:
        limit = self.settings.time_limit
        self.out_of_time = self.out_of_time or (limit is not None
                                                and self.training_seconds() >= limit)
        return self.out_of_time or (self.planned is not None and self.step >= self.planned)

    def _replan(self) -> None:
        """Under a time limit: as many more steps as the measured speed fits in the time left."""
        limit = self.settings.time_limit
        if limit is None:
            return
        now = self.training_seconds()
        self.recent.append((self.step, now))
        if len(self.recent) < 2:   # the first step carries one-time costs: measure from it on
            return
        (first_step, first_time), (last_step, last_time) = self.recent[0], self.recent[-1]
        seconds_per_step = (last_time - first_time) / (last_step - first_step)
        fitting = self.step + int(max(limit - now, 0.0) / max(seconds_per_step, 1e-12))
        planned = min(fitting, self.max_steps) if self.max_steps is not None else fitting
        if planned != self.planned:
            self.planned = planned
            if hasattr(self.scheduler, "total_steps"):   # the schedule ends with the plan
                warmup = getattr(self.scheduler, "warmup_steps", 0)
                self.scheduler.total_steps = max(planned, warmup + 1)

    @property
    def stopped_by_time_limit(self) -> bool:
        """Whether the time limit, not ``steps``/``epochs``, decided the length of the run."""
        return self.settings.time_limit is not None and (
            self.out_of_time or self.max_steps is None or self.step < self.max_steps)

    # --- evaluation, messages, checkpoints -------------------------------------------------
    def _evaluate(self) -> dict:
        metrics = evaluate(self.model, self.eval_data, self.settings.loss_fn)
        self.evaluations += 1
        record = {"val_loss": metrics["loss"]}
        if self.settings.accuracy:
            record["val_accuracy"] = metrics["accuracy"]
        return record

    def _report(self, record: dict, last: bool) -> None:
        if not (last or self.evaluations % self.print_every == 0):
            return
        self.progress.say(f"step {self.step}: " + ", ".join(
            f"{key} {value:.4f}" for key, value in record.items() if key.startswith("val_")))
        text = self.on_eval(self.model, record) if self.on_eval is not None else None
        if text:
            self.progress.say(text)

    def save(self) -> None:
        """Write the checkpoint (if the settings name a path) for the current step."""
        path = self.settings.checkpoint_path
        if path is None:
            return
        progress = {"step": self.step, "steps_per_epoch": self.steps_per_epoch,
                    "time": self.seconds_before + self.training_seconds()}
        save_checkpoint(path, make_checkpoint(self.model, self.optimizer, self.scheduler,
                                              progress, self.rng_now, self.history,
                                              self.settings.checkpoint_meta or {}))
        self.checkpoint_path = str(path)

    def _restore(self, resume: dict) -> None:
        """Load a checkpoint's states into the run's objects; the counters and the history."""
        saved = resume["progress"]
        source = resume.get("source", "the checkpoint")
        if saved.get("steps_per_epoch") != self.steps_per_epoch:
            raise CheckpointMismatchError(
                f"{source} was made with {saved.get('steps_per_epoch')} steps per epoch, this "
                f"data gives {self.steps_per_epoch}; resume with the same data and batch size")
        for name, target in (("model", self.model), ("optimizer", self.optimizer),
                             ("scheduler", self.scheduler)):
            if target is None or (name == "scheduler" and resume.get(name) is None):
                continue
            try:
                target.load_state_dict(resume[name])
            except (ValueError, TypeError, KeyError, IndexError) as error:
                raise CheckpointMismatchError(f"{source}: its {name} state does not fit this "
                                              f"run ({error})") from error
        self.step, self.seconds_before = int(saved["step"]), float(saved.get("time", 0.0))
        self.history = list(resume["history"])

    # --- the end ---------------------------------------------------------------------------
    def __enter__(self):
        self.model.train()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        """Close the bar; on a normal end or Ctrl-C save the last checkpoint."""
        self.progress.close()
        if kind is not None and not issubclass(kind, KeyboardInterrupt):
            return False
        self.interrupted = kind is not None
        self.save()
        return True   # Ctrl-C ends the run, not the program: fit returns normally
