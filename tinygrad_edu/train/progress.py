"""What a training run shows while it runs: a bar for a person watching, lines for a log file.

- **On a terminal** (the stream is a TTY): a tqdm bar with the running loss, accuracy and
  learning rate, and an estimate of the time left. The bar appears once the first step is done,
  so its estimate is not thrown off by that step's one-time costs (kernels compiling, caches
  warming up), which can make step 1 take a thousand times longer than the others.
- **Redirected to a file or a pipe**: one line every few seconds,
  ``step 120/4600 (3%): train_loss 0.41, train_accuracy 0.88, 12.3 steps/s, 6m04s left``,
  instead of a bar redrawn with carriage returns (a log would collect every redraw).
- **Messages** (evaluations, samples) go to standard output, above the bar when there is one.

Nothing is shown when ``enabled`` is false, except the messages.
"""
from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

LINE_INTERVAL = 5.0   # seconds between two progress lines when the output is not a terminal
SHOWN = ("train_loss", "train_accuracy", "lr")


def duration(seconds: float) -> str:
    """``3h05m``, ``6m04s`` or ``42s``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class Progress:
    """Shows the progress of a run of ``total`` steps (None: not known yet) from ``step``."""

    def __init__(self, total, step: int, enabled: bool = True, stream=None,
                 clock=time.perf_counter, interval: float = LINE_INTERVAL):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.clock, self.interval = enabled, clock, interval
        self.terminal = enabled and self.stream.isatty()
        self.total, self.bar, self.metrics = total, None, {}
        self.first = None   # (step, time) when the first step of this run was done

    def update(self, step: int, total, record: dict) -> None:
        """Step ``step`` of ``total`` is done; ``record``: metrics logged at this step, if any."""
        self.total = total
        self.metrics.update({key: record[key] for key in SHOWN if key in record})
        if not self.enabled:
            return
        now = self.clock()
        if self.first is None:   # the clock of the estimate starts after the first step
            self.first, self.last_line = (step, now), now
            if self.terminal:
                self.bar = tqdm(total=total, initial=step, unit="step", file=self.stream,
                                dynamic_ncols=True)
            return
        if self.bar is not None:
            if self.bar.total != total:
                self.bar.total = total
            self.bar.set_postfix({key: f"{value:.4g}" for key, value in self.metrics.items()},
                                 refresh=False)
            self.bar.update(step - self.bar.n)
        elif now - self.last_line >= self.interval:
            self.last_line = now
            print(self.line(step, now), file=self.stream, flush=True)

    def line(self, step: int, now: float) -> str:
        """One progress line: where the run is, its metrics, its speed and the time left."""
        first_step, first_time = self.first
        rate = (step - first_step) / max(now - first_time, 1e-9)   # steps per second
        where = f"step {step}/{self.total} ({step / self.total:.0%})" if self.total else f"step {step}"
        parts = [f"{key} {value:.4g}" for key, value in self.metrics.items()]
        parts.append(f"{rate:.3g} steps/s")
        if self.total and rate > 0:
            parts.append(f"{duration((self.total - step) / rate)} left")
        return f"{where}: " + ", ".join(parts)

    def say(self, text: str) -> None:
        """Print a message on standard output without breaking the bar."""
        if self.bar is not None:
            tqdm.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
