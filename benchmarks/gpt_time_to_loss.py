"""Time to 1.5 nats/char: the GPT recipe of ``tinygrad-edu train gpt``, run by tinygrad_edu and
by PyTorch, side by side on the CPU with the same number of threads.

    python -m benchmarks.gpt_time_to_loss                  # both, 2 threads, seed 0
    python -m benchmarks.gpt_time_to_loss --only torch --steps 1000 --seed 1
    python -m benchmarks.gpt_time_to_loss --until-target    # stop each once at 1.5 nats/char

**The recipe, the same in both** (tinygrad_edu/train/text.py): Python's standard library source
reduced to 96 symbols, 90% of it for training and every tenth of 100 runs held out for
validation; a GPT of 4 layers, 4 heads, width 128 and context 64 (``tg.models.GPT``; PyTorch's
twin in ``torch_workloads.GPT``, loaded with the same starting weights); batches of 16 random
windows; AdamW (lr 3e-3, betas 0.9 and 0.99, weight decay 0.1 on the matrices only), the
gradient norm clipped at 1.0, a linear warm-up over the first 100 steps (a tenth of a shorter
run) and a cosine decay to lr/10 at the last step. The recipe plans its steps from a time
limit; here ``--steps`` fixes them, so that both follow the same schedule.

**What is measured.** Every ``--eval-every`` steps (and before the first) the validation loss is
measured on the recipe's fixed validation windows (20 batches of 16, the same for both),
untimed, since it only reports; the clock counts training alone: batches, forward, backward,
clipping, update. The table gives, for each implementation, the step and the training seconds
at which the validation loss first reached 1.5 nats/char (so to within ``--eval-every`` steps),
and the loss at the end; both as wall-clock seconds and as CPU seconds of the process
(``time.process_time``, all threads together). On a machine shared with other programs the
wall clock also counts the time the others had the cores, and the CPU seconds are the better
measure.

**Honest timing.** The windows of each step are drawn by the recipe's NumPy code (from the
generator seeded by (seed, 0, step)) outside the clock, so both train on exactly the same
characters. They run one after the other, PyTorch in a worker process of its own started with
the environment this script was given (``pytorch_process.py``: in one process the two would
share one OpenMP runtime and its one wait policy, which slows one of them); a machine that
other programs keep busy makes both slower, not necessarily alike, so the script prints the
load average before and after. It also checks that the two learn alike: the loss of the
first step (the same weights on the same batch) and the largest gap between the two
validation curves.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from . import pytorch_process
from .common import default_threads, limit_threads, wanted_environment
from .mnist_time_to_accuracy import lr_at

TARGET = 1.5
_RESTARTED = "TINYGRAD_EDU_TTL_RESTARTED"


def recipe_settings(seed: int) -> dict:
    """The settings of ``tinygrad-edu train gpt`` (its defaults) with ``seed``."""
    from tinygrad_edu.train.recipes import DEFAULTS
    return {**DEFAULTS["gpt"], "seed": seed}


def training_batches(train_ids, settings: dict, steps: range) -> list:
    """The recipe's windows of each step in ``steps``, x and y int64 (B, T) NumPy arrays."""
    import numpy as np
    from tinygrad_edu.data import random_text_batches
    from tinygrad_edu.train.text import SEQUENCE_LENGTH
    return [random_text_batches(train_ids, SEQUENCE_LENGTH, settings["batch_size"],
                                np.random.default_rng([settings["seed"], 0, step]))
            for step in steps]


def validation_batches(val_ids, settings: dict) -> list:
    """The recipe's fixed validation windows: batch k drawn from (seed, 1, k)."""
    import numpy as np
    from tinygrad_edu.data import random_text_batches
    from tinygrad_edu.train.text import SEQUENCE_LENGTH
    return [random_text_batches(val_ids, SEQUENCE_LENGTH, settings["batch_size"],
                                np.random.default_rng([settings["seed"], 1, k]))
            for k in range(settings["eval_batches"])]


def tinygrad_edu_runner(state, settings):
    """(train_step, validation_loss) with the recipe's own model and optimizer."""
    import tinygrad_edu as tg
    from tinygrad_edu.nn.functional import cross_entropy
    from tinygrad_edu.nn.utils import clip_grad_norm_
    from tinygrad_edu.train.evaluation import logits_and_targets
    from tinygrad_edu.train.text import MAX_GRAD_NORM, build_language_model

    tg.kernels.warmup(("float32",))   # compile before the clock starts
    model, optimizer, _ = build_language_model("gpt", settings)
    model.load_state_dict(state)

    def train_step(x, y, lr):
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits, targets = logits_and_targets(model(tg.Tensor(x)), tg.Tensor(y))   # (B·T, V)
        loss = cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        return loss.item()

    @tg.no_grad()
    def validation_loss(batches):
        model.eval()
        losses = [model(tg.Tensor(x), tg.Tensor(y))[1].item() for x, y in batches]
        model.train()
        return sum(losses) / len(losses)   # batches of equal size: the mean over characters

    return train_step, validation_loss


def torch_runner(state, settings, threads, gpt_config):
    """The same with PyTorch: its twin of the GPT (``gpt_config``: the recipe's), AdamW with the
    recipe's groups."""
    import numpy as np
    import torch

    from tinygrad_edu.train.text import MAX_GRAD_NORM
    from .torch_workloads import GPT

    torch.set_num_threads(threads)
    config = {key: value for key, value in gpt_config.items() if key != "dropout"}
    if gpt_config.get("dropout", 0.0) != 0.0:
        raise ValueError(f"gpt_time_to_loss: the PyTorch twin has no dropout, the recipe asks "
                         f"for {gpt_config['dropout']}")
    model = GPT(**config)
    model.load_state_dict({name: torch.tensor(np.asarray(value)) for name, value in state.items()})
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": matrices, "weight_decay": settings["weight_decay"]},
                                   {"params": others, "weight_decay": 0.0}],
                                  lr=settings["lr"], betas=(0.9, 0.99))

    def train_step(x, y, lr):
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = model(torch.from_numpy(x), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        return loss.item()

    @torch.no_grad()
    def validation_loss(batches):
        model.eval()
        losses = [model(torch.from_numpy(x), torch.from_numpy(y)).item() for x, y in batches]
        model.train()
        return sum(losses) / len(losses)

    return train_step, validation_loss


def run(name, runner, train_ids, validation, settings, steps, eval_every, until_target=False,
        target=TARGET) -> dict:
    """Train with ``runner`` for ``steps`` steps of the recipe's schedule. Returns a dict:
    ``first_loss`` (the training loss of step 0), ``curve`` [(step, validation loss)],
    ``reached`` (step, wall s, CPU s) of the first evaluation at or below ``target`` (or None),
    ``final_loss`` (the last validation loss), ``seconds`` (wall, CPU) of training in all."""
    train_step, validation_loss = runner
    warmup, total = min(settings["warmup"], steps // 10), max(steps, 2)
    seconds, cpu_seconds, reached, first_loss = 0.0, 0.0, None, None
    curve = [(0, validation_loss(validation))]
    for begin in range(0, steps, eval_every):
        part = range(begin, min(begin + eval_every, steps))
        batches = training_batches(train_ids, settings, part)
        start, cpu_start = time.perf_counter(), time.process_time()
        for step, (x, y) in zip(part, batches):
            loss = train_step(x, y, lr_at(step, warmup, total, settings["lr"], settings["lr"] / 10))
            first_loss = loss if first_loss is None else first_loss
        seconds += time.perf_counter() - start
        cpu_seconds += time.process_time() - cpu_start
        curve.append((part[-1] + 1, validation_loss(validation)))
        if reached is None and curve[-1][1] <= target:
            reached = (curve[-1][0], seconds, cpu_seconds)
        print(f"  {name}: step {curve[-1][0]}, {seconds:.1f} s of training ({cpu_seconds:.1f} "
            f"CPU s), training loss {loss:.4f}, validation loss {curve[-1][1]:.4f}", flush=True)
        if until_target and reached is not None:
            break
    return {"first_loss": first_loss, "curve": curve, "reached": reached,
            "final_loss": curve[-1][1], "seconds": (seconds, cpu_seconds)}


def agreement(results: dict) -> list[str]:
    """Lines saying how closely the implementations' losses track each other."""
    if len(results) < 2:
        return []
    (name_a, a), (name_b, b) = list(results.items())[:2]
    shared = dict(b["curve"])
    gaps = [(step, abs(loss - shared[step])) for step, loss in a["curve"] if step in shared]
    worst_step, worst = max(gaps, key=lambda gap: gap[1])
    return [f"first-step training loss: {name_a} {a['first_loss']:.6f}, {name_b} "
            f"{b['first_loss']:.6f} (difference {abs(a['first_loss'] - b['first_loss']):.1e})",
            f"validation loss before training: difference {gaps[0][1]:.1e}; largest difference "
            f"over {len(gaps)} shared evaluations {worst:.1e} (at step {worst_step})"]


def run_torch(state, gpt_config, train_ids, validation, settings, steps, eval_every, threads,
              until_target, target) -> dict:
    """``run`` for PyTorch (in its worker process, which is sent the GPT's configuration)."""
    return run("torch", torch_runner(state, settings, threads, gpt_config), train_ids,
               validation, settings, steps, eval_every, until_target, target)


def compare(names, state, train_ids, val_ids, settings, steps, eval_every, threads,
            until_target=False, target=TARGET) -> dict:
    """{name: run's dict} for each implementation in ``names``, from the same ``state``;
    PyTorch's run goes to a worker process of its own."""
    from tinygrad_edu.train.text import CONFIGS
    validation = validation_batches(val_ids, settings)
    results = {}
    for name in names:
        if name == "torch":
            results[name] = pytorch_process.run_in_worker(
                run_torch, state, CONFIGS["gpt"], train_ids, validation, settings, steps,
                eval_every, threads, until_target, target)
        else:
            results[name] = run(name, tinygrad_edu_runner(state, settings), train_ids,
                                validation, settings, steps, eval_every, until_target, target)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpt_time_to_loss",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000,
                        help="steps of the schedule (default 2000)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--only", choices=("tinygrad_edu", "torch"))
    parser.add_argument("--until-target", action="store_true",
                        help=f"stop each implementation as soon as it reaches {TARGET} nats/char")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.eval_every < 1:
        parser.error(f"--steps and --eval-every must be at least 1, got {args.steps} and "
                     f"{args.eval_every}")
    wanted = wanted_environment(args.threads, system_allocator=False)
    if not os.environ.get(_RESTARTED) and any(os.environ.get(k) != v for k, v in wanted.items()):
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks.gpt_time_to_loss",
                                   *(argv if argv is not None else sys.argv[1:])],
                  {**os.environ, **wanted, _RESTARTED: "1"})
    limit_threads(args.threads)

    import tinygrad_edu as tg
    from tinygrad_edu.models import GPT
    from tinygrad_edu.train.text import CONFIGS, load_corpus

    settings = recipe_settings(args.seed)
    _, train_ids, val_ids = load_corpus(settings)
    tg.manual_seed(args.seed)
    state = {name: value.numpy() for name, value in GPT(**CONFIGS["gpt"]).state_dict().items()}
    print(f"GPT recipe, {args.steps} steps, validation every {args.eval_every}, seed "
          f"{args.seed}, {args.threads} threads; load average before: {os.getloadavg()[0]:.2f}")
    results = compare([args.only] if args.only else ["tinygrad_edu", "torch"], state, train_ids,
                      val_ids, settings, args.steps, args.eval_every, args.threads,
                      args.until_target)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for line in agreement(results):
        print(line)
    print(f"| implementation | step, training s to {TARGET} nats/char (CPU s) | last validation "
          f"loss (step) | training s in all (CPU s) |\n|---|---|---|---|")
    for name, result in results.items():
        reached = result["reached"]
        shown = (f"{reached[0]}, {reached[1]:.0f} ({reached[2]:.0f})" if reached is not None
                 else "not reached")
        seconds, cpu_seconds = result["seconds"]
        print(f"| {name} | {shown} | {result['final_loss']:.4f} ({result['curve'][-1][0]}) | "
              f"{seconds:.0f} ({cpu_seconds:.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
