"""What a run shows and how it keeps time: the re-planned time limit (on a fake clock), the
progress bar and log lines, the notice while kernels compile, how many evaluations print."""
import io

import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.data import DataLoader, TensorDataset, make_moons
from tinygrad_edu.models import MLP
from tinygrad_edu.train import FitSettings, fit
from tinygrad_edu.train import recipes
from tinygrad_edu.train.progress import Progress, duration

pytestmark = pytest.mark.usefixtures("one_thread")


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def moons(batch_size=16):
    tg.manual_seed(0)
    points, labels = make_moons(96, noise=0.1, seed=1)
    loader = DataLoader(TensorDataset(points, labels), batch_size=batch_size, shuffle=True, seed=0)
    model = MLP([2, 8, 2])
    return model, optim.SGD(model.parameters(), lr=0.1), loader


def test_a_time_limit_replans_so_the_schedule_ends_with_the_time():
    """Steps take 10 ms for the first second, then 20 ms: 100 + 50 steps fit in 2 s. Planned
    from the first speed the run would stop at step 150 of 200, its schedule a quarter short
    of the end; re-planned, the schedule's last step is the run's last step."""
    model, optimizer, loader = moons()
    scheduler = optim.lr_scheduler.WarmupCosineLR(optimizer, warmup_steps=10, total_steps=200,
                                                  min_lr=0.001)
    clock = FakeClock()

    def one_step_passes(step, loss):
        clock.now += 0.01 if clock.now < 1.0 - 1e-9 else 0.02

    result = fit(model, optimizer, loader, FitSettings(time_limit=2.0, progress=False),
                 scheduler=scheduler, on_step=one_step_passes, clock=clock)
    assert result.stopped_by_time_limit and not result.interrupted
    assert 145 <= result.step <= 151, result.step
    assert scheduler.total_steps == result.step
    final_lr = optimizer.param_groups[0]["lr"]   # the schedule's end: within 1% of its range
    assert 0.001 <= final_lr <= 0.001 + 0.01 * (0.1 - 0.001), final_lr
    after_warmup = [record["lr"] for record in result.history if record["step"] > 10]
    assert all(later <= earlier + 1e-12 for earlier, later in zip(after_warmup, after_warmup[1:]))


def test_steps_stay_the_upper_bound_under_a_time_limit():
    model, optimizer, loader = moons()
    clock = FakeClock()

    def one_step_passes(step, loss):
        clock.now += 0.001

    result = fit(model, optimizer, loader, FitSettings(steps=30, time_limit=60.0, progress=False),
                 on_step=one_step_passes, clock=clock)
    assert result.step == 30 and not result.stopped_by_time_limit


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_lines_when_the_output_is_not_a_terminal():
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(100, 0, stream=stream, clock=clock, interval=5.0)
    for step in range(1, 101):
        clock.now += 1.0 if step > 1 else 40.0      # step 1 compiles for 40 s
        progress.update(step, 100, {"train_loss": 1.0 / step})
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert 15 <= len(lines) <= 21                    # one line every 5 s of 99 s, not 100
    assert lines[0].startswith("step 6/100 (6%): train_loss 0.1667")
    assert "1 steps/s" in lines[0] and "1m34s left" in lines[0]   # step 1's 40 s are not counted


def test_a_bar_on_a_terminal_starts_after_the_first_step():
    clock, stream = FakeClock(), Terminal()
    progress = Progress(10, 0, stream=stream, clock=clock)
    progress.update(1, 10, {})
    assert progress.bar is not None and progress.bar.n == 1
    progress.update(5, 12, {"train_loss": 0.5})       # a re-planned total
    assert progress.bar.total == 12 and progress.bar.n == 5
    progress.close()


def test_nothing_is_shown_when_disabled():
    stream = io.StringIO()
    progress = Progress(10, 0, enabled=False, stream=stream, clock=FakeClock())
    for step in range(1, 11):
        progress.update(step, 10, {"train_loss": 1.0})
    assert stream.getvalue() == ""


def test_duration():
    assert [duration(s) for s in (42, 364, 11100)] == ["42s", "6m04s", "3h05m"]


def test_about_ten_evaluations_are_printed_unless_verbose(capsys):
    for verbose, expected in ((False, 10), (True, 60)):
        model, optimizer, loader = moons()
        fit(model, optimizer, loader, FitSettings(epochs=60, progress=False, verbose=verbose),
            eval_data=loader)
        printed = [line for line in capsys.readouterr().out.splitlines()
                   if line.startswith("step ")]
        assert len(printed) == expected, printed
        assert printed[-1].startswith("step 360: val_loss")


def test_a_slow_kernel_compilation_is_announced(monkeypatch):
    said, compiled = [], []
    monkeypatch.setattr(recipes.kernels, "warmup",
                        lambda dtypes, ops: compiled.append(ops) or __import__("time").sleep(1.5))
    recipes.compile_kernels("cnn", "cpu", say=said.append)
    assert said == [recipes.COMPILING]
    assert compiled == [["conv2d", "max_pool2d", "adam"]]   # only what the recipe runs
    said.clear()
    monkeypatch.setattr(recipes.kernels, "warmup", lambda dtypes, ops: compiled.append(ops))
    recipes.compile_kernels("cnn", "cpu", say=said.append)   # loaded from the cache: no word
    with recipes.kernels.use("numpy"):
        recipes.compile_kernels("mlp", "cpu", say=said.append)   # the reference: no kernels
    recipes.compile_kernels("gpt", "cuda", say=said.append)      # none on the GPU
    assert said == [] and len(compiled) == 2
