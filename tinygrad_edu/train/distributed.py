"""``mpirun -n N tinygrad-edu train MODEL --distributed``: a ready-made recipe split over N ranks.

Every rank builds the same recipe with the same seed (recipes.py), so every
rank draws the same global batch of step s, with the same augmentation noise. Rank r then keeps
only its slice of that batch, rows r·B/N .. (r+1)·B/N, and the model is wrapped in
``DistributedDataParallel``, which averages the gradients. The run is therefore the
single-process run on the same batches, up to rounding, only with each rank doing 1/N of the
forward and backward work; the optimizer step is repeated on every rank (that part does not
shrink). Loading the whole batch on every rank and cutting it is wasteful for big data, where a
``DistributedSampler`` would give each rank its own indices, but it makes the equality with one
process plain to see.

Only rank 0 prints, draws and saves the checkpoint; it is an ordinary checkpoint of the model
(without DDP's ``module.`` prefix) that ``sample`` and ``--resume`` read as usual.

Every rank must take the same number of steps, or the others wait in an all-reduce forever, so
the text models need ``--steps`` here (the single-process default times a few steps and picks a
step count, which would differ between ranks) and ``--time-limit`` is refused.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from .. import backend
from ..distributed import process_group as dist
from ..nn.parallel import DistributedDataParallel
from .checkpoint import TEXT_MODELS, SettingsError, history_path, load_checkpoint
from .images import finish_images, prepare_images
from .loop import FitSettings, fit
from .recipes import resolve_settings
from .text import finish_text, prepare_text


class CheckpointableDDP(DistributedDataParallel):
    """DDP whose ``state_dict`` is the wrapped model's, so a distributed run's checkpoint is the
    same file a single-process run writes; other attributes (``generate``, to sample text at an
    evaluation) are the wrapped model's too."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["module"], name)

    def state_dict(self):
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        self.module.load_state_dict(state_dict, strict)


def share_of(batch, rank: int, world_size: int):
    """Rank ``rank``'s rows of a batch (x, y): a contiguous 1/world_size of them."""
    x, y = batch
    n = len(x)
    if n < world_size:
        raise ValueError(f"train --distributed: a batch of {n} samples cannot be split over "
                         f"{world_size} ranks")
    rows = slice(rank * n // world_size, (rank + 1) * n // world_size)
    return x[rows], y[rows]


class ShardedLoader:
    """A DataLoader whose every batch is cut down to this rank's share (same epochs, same order)."""

    def __init__(self, loader, rank: int, world_size: int):
        self.loader, self.rank, self.world_size = loader, rank, world_size

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __iter__(self):
        return (share_of(batch, self.rank, self.world_size) for batch in self.loader)


def shard(train_data, rank: int, world_size: int):
    """The recipe's training data (a DataLoader or a function step -> batch), this rank's share."""
    if callable(train_data):
        return lambda step: share_of(train_data(step), rank, world_size)
    return ShardedLoader(train_data, rank, world_size)


def check_distributed_settings(kind: str, given: dict, world_size: int, settings: dict) -> None:
    if kind in TEXT_MODELS and given.get("steps") is None:
        raise SettingsError(f"train {kind} --distributed needs --steps, so that every rank "
                            f"runs the same number of steps")
    if given.get("time_limit") is not None:
        raise SettingsError("--time-limit cannot be used with --distributed: the ranks would "
                            "stop at different steps")
    if settings["batch_size"] % world_size:
        raise SettingsError(f"--batch-size {settings['batch_size']} must be divisible by the "
                            f"number of ranks, {world_size}")


def train_distributed(kind: str, given: dict, device: str = "cpu", out_dir=None, resume=None,
                      progress: bool = True, verbose: bool = False):
    """Like ``train_model``, on every rank of an ``mpirun`` job; returns (TrainResult, lines),
    the lines empty on every rank but 0."""
    if not dist.is_available():
        raise SettingsError("--distributed needs mpi4py and an MPI library: pip install -e "
                            "\".[distributed]\", then start it with mpirun -n N")
    if not dist.is_initialized():
        dist.init_process_group()
    rank, world_size = dist.get_rank(), dist.get_world_size()
    checkpoint = load_checkpoint(resume, expected_model=kind, device=device) if resume else None
    settings = resolve_settings(kind, given, checkpoint["settings"] if checkpoint else None)
    check_distributed_settings(kind, given, world_size, settings)
    out_dir = Path(out_dir or (Path(resume).parent if resume else Path("runs") / kind))
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    backend.manual_seed(settings["seed"])   # the same on every rank: the same batches and noise
    prepare, finish = ((prepare_text, finish_text) if kind in TEXT_MODELS
                       else (prepare_images, finish_images))
    recipe = prepare(kind, settings, device)
    settings["steps"] = recipe["steps"]
    recipe["meta"]["settings"] = settings
    model = CheckpointableDDP(recipe["model"])
    checkpoint_path = out_dir / "checkpoint.npz" if rank == 0 else None
    quiet = contextlib.nullcontext() if rank == 0 else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        options = FitSettings(steps=recipe["steps"], checkpoint_path=checkpoint_path,
                              checkpoint_meta=recipe["meta"], progress=progress and rank == 0,
                              verbose=verbose, **recipe["fit_options"])
        result = fit(model, recipe["optimizer"], shard(recipe["train_data"], rank, world_size),
                     options, scheduler=recipe["scheduler"], eval_data=recipe["eval_data"],
                     resume=checkpoint, on_eval=recipe.get("on_eval"))
    dist.barrier()
    if rank != 0:
        return result, []
    lines = [f"ranks: {world_size}, each on {settings['batch_size'] // world_size} of every "
             f"{settings['batch_size']} samples", f"checkpoint: {checkpoint_path}",
             f"history: {history_path(checkpoint_path)}"]
    if result.interrupted:
        return result, [f"interrupted at step {result.step} of {recipe['steps']}", *lines]
    return result, [*lines, *finish(recipe, result, out_dir)]
