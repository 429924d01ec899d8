"""Training: the loop, checkpoints, pictures, and ready-made runs (``import tinygrad_edu.train``).

Reading order:

- ``loop.py``        :func:`fit`, the training loop: batches, the five lines of a step, gradient
                     clipping, a schedule, progress, evaluation, checkpoints, Ctrl-C, resuming;
                     :func:`evaluate`, the mean loss and accuracy over a dataset.
- ``checkpoint.py``  what a checkpoint holds, and how a model is rebuilt from one.
- ``plots.py``       the learning curves and the grid of misclassified images (PNG files).
- ``images.py``, ``text.py``  the recipes for the four models: data, model, optimizer, schedule.
- ``recipes.py``     :func:`train_model`, what ``tinygrad-edu train MODEL`` runs.

This package is not imported by ``import tinygrad_edu``: it brings tqdm and, when it draws,
matplotlib, which the engine itself does not need.
"""
from .checkpoint import (CheckpointMismatchError, SettingsError, build_model, load_checkpoint,
                         save_checkpoint)
from .loop import TrainResult, evaluate, fit
from .plots import plot_history, plot_misclassified
from .recipes import DEFAULTS, train_model
from .gradient_flow import GradientFlow, gradient_norms

__all__ = ["CheckpointMismatchError", "SettingsError", "build_model", "load_checkpoint",
           "save_checkpoint", "TrainResult", "evaluate", "fit", "plot_history",
           "plot_misclassified", "DEFAULTS", "train_model", "GradientFlow", "gradient_norms"]
