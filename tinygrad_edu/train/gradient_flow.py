"""Gradient flow: the size of the gradient reaching each layer, over training.

After ``loss.backward()`` every weight matrix W has a gradient; its norm ‖∂L/∂W‖ says how hard
that layer is being pushed. In a healthy network the norms of the first and the last layers are
within an order of magnitude or two of each other. When they shrink layer by layer towards the
input, the gradient is **vanishing** (deep sigmoid/tanh stacks, saturated units: each layer
multiplies the backward signal by a derivative below 1); when they grow, it is **exploding**.
A plot of the norms per layer against the step shows both at a glance, and shows whether a fix
(ReLU, a better initialisation, normalisation, residual connections) worked.

    flow = GradientFlow(model)          # which parameters: weights (ndim >= 2) by default
    for step ...:
        loss.backward()
        flow.record(step)               # after backward, before zero_grad
    flow.plot("gradient_flow.png")

The figure is drawn with matplotlib's object-oriented API and saved with the Agg renderer, as
the other plots of this package (plots.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import backend


def gradient_norms(model, weights_only: bool = True) -> dict[str, float]:
    """{parameter name: ‖grad‖₂} for the parameters that have a gradient now, in model order."""
    norms = {}
    for name, p in model.named_parameters():
        if p.grad is None or (weights_only and p.ndim < 2):
            continue
        norms[name] = float(np.linalg.norm(backend.asnumpy(p.grad.data).astype(np.float64)))
    return norms


class GradientFlow:
    """Records :func:`gradient_norms` at chosen steps and plots them, one line per layer."""

    def __init__(self, model, weights_only: bool = True):
        self.model, self.weights_only = model, weights_only
        self.steps: list[int] = []
        self.norms: dict[str, list[float]] = {}

    def record(self, step: int) -> dict[str, float]:
        """Store the current gradient norms under ``step``; returns them."""
        norms = gradient_norms(self.model, self.weights_only)
        if not norms:
            raise RuntimeError("GradientFlow.record: no parameter has a gradient; call it after "
                               "loss.backward() and before optimizer.zero_grad()")
        if self.norms and norms.keys() != self.norms.keys():
            raise RuntimeError(f"GradientFlow.record: step {step} has gradients for "
                               f"{sorted(norms)}, earlier steps for {sorted(self.norms)}")
        self.steps.append(step)
        for name, value in norms.items():
            self.norms.setdefault(name, []).append(value)
        return norms

    def plot(self, path, title: str = "gradient norm per layer") -> Path:
        """Save the norms (log scale) against the step as a PNG; layers from input (dark) to
        output (light)."""
        if not self.steps:
            raise RuntimeError("GradientFlow.plot: nothing recorded yet")
        from matplotlib import colormaps
        from matplotlib.figure import Figure
        figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
        axes = figure.subplots()
        colours = colormaps["viridis"](np.linspace(0, 0.9, len(self.norms)))
        for colour, (name, values) in zip(colours, self.norms.items()):
            axes.plot(self.steps, np.maximum(values, 1e-30), color=colour, label=name)
        axes.set_yscale("log")
        axes.set_xlabel("step")
        axes.set_ylabel("‖∂L/∂W‖")
        axes.set_title(title)
        axes.legend(fontsize=7, loc="best")
        path = Path(path)
        figure.savefig(path)
        return path
