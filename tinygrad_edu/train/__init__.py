"""Training: the loop, checkpoints, pictures, and ready-made runs (``import tinygrad_edu.train``).

Reading order:

- ``loop.py``        :func:`fit`, the training loop: the five lines of a step, and
                     :class:`FitSettings`, how long to train and what to record.
- ``evaluation.py``  :func:`evaluate`, the mean loss and accuracy over a dataset.
- ``bookkeeping.py`` what fit does around the step: batches, history, evaluation, checkpoints,
                     the time limit and its re-planning, Ctrl-C, resuming.
- ``progress.py``    the bar on a terminal, a line every few seconds in a log.
- ``checkpoint.py``  what a checkpoint holds, and how a model is rebuilt from one.
- ``plots.py``       the learning curves and the grid of misclassified images (PNG files).
- ``images.py``, ``text.py``  the recipes for the four models: data, model, optimizer, schedule.
- ``recipes.py``     :func:`train_model`, what ``tinygrad-edu train MODEL`` runs.

This package is not imported by ``import tinygrad_edu``: it brings tqdm and, when it draws,
matplotlib, which the engine itself does not need.
"""
from .checkpoint import (CheckpointMismatchError, SettingsError, build_model, load_checkpoint,
                         save_checkpoint)
from .loop import FitSettings, TrainResult, evaluate, fit
from .plots import plot_history, plot_misclassified
from .recipes import DEFAULTS, train_model
from .gradient_flow import GradientFlow, gradient_norms

__all__ = ["CheckpointMismatchError", "SettingsError", "build_model", "load_checkpoint",
           "save_checkpoint", "FitSettings", "TrainResult", "evaluate", "fit", "plot_history",
           "plot_misclassified", "DEFAULTS", "train_model", "GradientFlow", "gradient_norms"]
