"""Pre-training, then fine-tuning: the command ``tinygrad-edu finetune`` and its pieces.

A language model pre-trained on a large, general text has learnt what is common to all of it
(here: Python's syntax, indentation, common names). Fine-tuning continues training on a small,
specialised text, starting from those weights instead of random ones, so it needs far fewer
steps and far less data to model the new text well.

The experiment this module serves (``benchmarks/techniques.py``, README): pre-train the
character GPT on the standard library with one package held out entirely, ``email/``, then
fine-tune on that package. ``email/`` is chosen because it is ordinary Python code of a few
hundred KB (378,000 characters: enough for a validation part), with a vocabulary of its own
(headers, MIME types, charsets, RFC numbers) that the rest of the library hardly uses, so that
fine-tuning has something to learn; ``json/`` (48 KB) would be too small to measure on.

Fine-tuning comes in two kinds:

- **full**: every weight trains, with a small learning rate, from the pre-trained values;
- **LoRA** (``--lora RANK``): the pre-trained weights stay frozen and only low-rank adapters in
  the attention and MLP projections train (``nn/lora.py``); the checkpoint written holds the
  adapters alone and loads onto the base checkpoint (``load_lora_checkpoint``).

Data: ``--data stdlib:email`` (any standard-library package by name, its ``test`` folders left
out) or the path of a text file; 10% of it is held out for validation by
``data.split_train_val``.
"""
from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np

from .. import optim
from ..data import CharVocab, random_text_batches, split_train_val, to_tensors
from ..data.text import load_text, stdlib_sources, to_ascii
from ..nn.utils import apply_lora, clip_grad_norm_, load_lora_state_dict, lora_state_dict
from ..serialization import CheckpointError, load, save
from ..autograd import no_grad
from .checkpoint import SettingsError, build_model, load_checkpoint, make_checkpoint, \
    rng_state, save_checkpoint

HELD_OUT_PACKAGE = "email"
LORA_TARGETS = ("c_attn", "attn.c_proj", "c_fc", "mlp.c_proj")   # every Linear but lm_head
LORA_FORMAT = "tinygrad_edu.lora"
MAX_GRAD_NORM = 1.0


def _package_dir(package: str) -> Path:
    return Path(sysconfig.get_paths()["stdlib"]) / package


def _in_package(file: Path, package: str) -> bool:
    return _package_dir(package) in file.parents


def package_text(package: str) -> str:
    """The source of one standard-library package (its ``.py`` files in corpus order)."""
    files = [file for file in stdlib_sources() if _in_package(file, package)]
    if not files:
        raise SettingsError(f"--data stdlib:{package}: the standard library has no package "
                            f"{package!r} (try stdlib:email)")
    return "".join(to_ascii(file.read_text(encoding="utf-8", errors="replace")) + "\n"
                   for file in files)


def stdlib_without(package: str, max_chars: int) -> str:
    """The default corpus with ``package`` left out entirely: what pre-training sees."""
    pieces, total = [], 0
    for file in stdlib_sources():
        if total >= max_chars:
            break
        if not _in_package(file, package):
            piece = to_ascii(file.read_text(encoding="utf-8", errors="replace")) + "\n"
            pieces.append(piece)
            total += len(piece)
    return "".join(pieces)[:max_chars]


def load_finetune_text(source: str) -> str:
    """``stdlib:PACKAGE`` or the path of a text file."""
    if source.startswith("stdlib:"):
        return package_text(source.split(":", 1)[1])
    if not Path(source).is_file():
        raise SettingsError(f"--data {source}: no such text file (give a path, or "
                            f"stdlib:PACKAGE such as stdlib:email)")
    return load_text(source)


def train_val_ids(text: str, vocab: CharVocab, block_size: int):
    """The encoded text split 90/10, checked to hold a window of block_size + 1 in each part."""
    train_ids, val_ids = split_train_val(vocab.encode(text, errors="replace"))
    if min(len(train_ids), len(val_ids)) <= block_size:
        raise SettingsError(f"the fine-tuning text has {len(text)} characters, too few for a "
                            f"validation window of {block_size + 1}")
    return train_ids, val_ids


@no_grad()
def validation_loss(model, batches) -> float:
    """Mean cross-entropy (nats per character) over fixed validation batches."""
    was_training = model.training
    model.eval()
    losses = [model(x, y)[1].item() for x, y in batches]
    model.train(was_training)
    return float(np.mean(losses))


def train_language_model(model, train_ids, val_ids, steps: int, lr: float, batch_size: int = 16,
                         seed: int = 0, eval_every: int = 50, eval_batches: int = 4,
                         weight_decay: float = 0.0, device: str = "cpu") -> list[dict]:
    """Train the model's trainable parameters (AdamW, cosine decay to lr/10, gradient norm
    clipped at 1) on windows of ``train_ids``; returns the validation curve as
    [{"step": s, "val_loss": loss}, ...], step 0 (before training) included."""
    block = model.block_size
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1),
                                                     eta_min=lr / 10)
    val = [to_tensors(random_text_batches(val_ids, block, batch_size,
                                          np.random.default_rng([seed, 1, k])), device)
           for k in range(eval_batches)]
    curve = [{"step": 0, "val_loss": validation_loss(model, val)}]
    for step in range(1, steps + 1):
        x, y = to_tensors(random_text_batches(train_ids, block, batch_size,
                                              np.random.default_rng([seed, 0, step])), device)
        _, loss = model(x, y)                          # the five lines of a training step
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(params, MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        if step % eval_every == 0 or step == steps:
            curve.append({"step": step, "val_loss": validation_loss(model, val)})
    return curve


def save_lora_checkpoint(path, model, base_checkpoint: str, rank: int, alpha: float) -> None:
    """The adapters alone, with what is needed to put them back onto the base checkpoint."""
    save({"format": LORA_FORMAT, "base_checkpoint": str(base_checkpoint), "rank": rank,
          "alpha": alpha, "target_modules": list(LORA_TARGETS),
          "adapters": lora_state_dict(model)}, path)


def load_lora_checkpoint(path, base_checkpoint=None, device: str = "cpu"):
    """The base GPT with the saved adapters applied (``base_checkpoint`` defaults to the path
    recorded in the LoRA file)."""
    lora = load(path, device=device)
    if not isinstance(lora, dict) or lora.get("format") != LORA_FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a LoRA checkpoint written by "
                              f"'tinygrad-edu finetune --lora'")
    base = load_checkpoint(base_checkpoint or lora["base_checkpoint"], expected_model="gpt",
                           device=device)
    model = apply_lora(build_model(base, device), int(lora["rank"]), float(lora["alpha"]),
                       list(lora["target_modules"]))
    load_lora_state_dict(model, lora["adapters"])
    return model


def add_finetune_parser(commands, formatter_class) -> None:
    parser = commands.add_parser(
        "finetune", help="fine-tune a trained gpt checkpoint on new text (full or LoRA)",
        description="Continue training a GPT checkpoint on another text: every weight (full "
                    "fine-tuning) or low-rank adapters only (--lora RANK). Prints the "
                    "validation loss before and after, and where the checkpoint went.",
        formatter_class=formatter_class)
    parser.add_argument("checkpoint", help="a checkpoint written by 'tinygrad-edu train gpt'")
    parser.add_argument("--data", required=True, metavar="PATH_OR_NAME",
                        help="a text file, or stdlib:PACKAGE (e.g. stdlib:email)")
    parser.add_argument("--lora", type=int, metavar="RANK",
                        help="train rank-RANK LoRA adapters instead of every weight")
    parser.add_argument("--alpha", type=float, help="LoRA scale alpha (default: 2 x RANK)")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: 1e-3 full, "
                                                 "1e-2 LoRA)")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per step")
    parser.add_argument("--seed", type=int, default=0, help="seed for the batches")
    parser.add_argument("--out", help="output directory (default: runs/finetune)")


def run_finetune(args) -> int:
    from ..cli import UserError
    checkpoint = load_checkpoint(args.checkpoint)
    if checkpoint["model_name"] != "gpt":
        raise UserError(f"finetune: {args.checkpoint} holds a {checkpoint['model_name']!r} "
                        f"model; fine-tuning needs a gpt checkpoint")
    if args.steps < 1 or args.batch_size < 1 or (args.lora is not None and args.lora < 1):
        raise UserError("finetune: --steps, --batch-size and --lora must be at least 1")
    model = build_model(checkpoint)
    vocab = CharVocab.from_array(checkpoint["vocab"])
    train_ids, val_ids = train_val_ids(load_finetune_text(args.data), vocab, model.block_size)
    total = model.num_parameters()
    if args.lora is not None:
        alpha = args.alpha if args.alpha is not None else 2.0 * args.lora
        apply_lora(model, args.lora, alpha, LORA_TARGETS)
    trainable = sum(p.size for p in model.parameters() if p.requires_grad)
    lr = args.lr if args.lr is not None else (1e-2 if args.lora is not None else 1e-3)
    curve = train_language_model(model, train_ids, val_ids, args.steps, lr, args.batch_size,
                                 args.seed, eval_every=max(1, args.steps // 5))
    out = Path(args.out or "runs/finetune")
    out.mkdir(parents=True, exist_ok=True)
    if args.lora is not None:
        path = out / "lora.npz"
        save_lora_checkpoint(path, model, args.checkpoint, args.lora, alpha)
    else:
        path = out / "checkpoint.npz"
        meta = {"model_name": "gpt", "model_config": checkpoint["model_config"],
                "vocab": checkpoint["vocab"], "settings": checkpoint.get("settings")}
        history = [{**point, "phase": "finetune"} for point in curve]
        save_checkpoint(path, make_checkpoint(model, optim.AdamW(model.parameters()), None,
                                              {"step": args.steps}, rng_state(), history, meta))
    print(f"trainable parameters: {trainable:,} of {total:,} ({trainable / total:.2%})")
    print("validation loss: " + ", ".join(f"step {p['step']}: {p['val_loss']:.3f}"
                                          for p in curve) + " nats/char")
    print(f"{'LoRA adapters' if args.lora is not None else 'checkpoint'}: {path}")
    return 0
