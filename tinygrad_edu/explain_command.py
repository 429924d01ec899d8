"""``tinygrad-edu explain CHECKPOINT``: pictures of what a trained model looks at.

For a digit classifier (mlp, cnn) it takes test images the model gets right and ones it gets
wrong, and draws for each the image, its saliency |∂F_c/∂x| and its integrated gradients (red:
pixels that raised the score of the predicted class c, blue: pixels that lowered it), into
``explain_correct.png`` and ``explain_misclassified.png``. For a GPT it draws the attention
weights of every layer and head over a prompt into ``attention.png``. The attributions come from
tinygrad_edu/explain.py; this file only chooses the examples and draws.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DEFAULT_PROMPT = "def forward(self, x):"


def add_explain_parser(commands) -> None:
    from tinygrad_edu.cli import HelpFormatter
    explain = commands.add_parser(
        "explain", help="draw saliency, integrated-gradient and attention maps of a checkpoint",
        description="Digit classifiers (mlp, cnn): saliency and integrated-gradient maps of test "
                    "images the model gets right and wrong. GPT: attention heat maps of every "
                    "layer and head over a prompt. Writes PNG files.",
        formatter_class=HelpFormatter)
    explain.add_argument("checkpoint", help="a checkpoint written by 'tinygrad-edu train'")
    explain.add_argument("--out", help="directory for the PNG files (default: the "
                                       "checkpoint's directory)")
    explain.add_argument("--examples", type=int, default=4,
                         help="images per picture (correct ones, and misclassified ones)")
    explain.add_argument("--steps", type=int, default=50,
                         help="integration points of integrated gradients")
    explain.add_argument("--prompt", default=DEFAULT_PROMPT, help="GPT: the text to look at")


def run_explain(args) -> int:
    from tinygrad_edu.cli import UserError
    from tinygrad_edu.train.checkpoint import build_model, load_checkpoint
    if args.examples < 1 or args.steps < 1:
        raise UserError(f"explain: --examples and --steps must be at least 1, got "
                        f"{args.examples} and {args.steps}")
    checkpoint = load_checkpoint(args.checkpoint)
    out_dir = Path(args.out or Path(args.checkpoint).parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, kind = build_model(checkpoint), checkpoint["model_name"]
    if kind in ("mlp", "cnn"):
        paths = explain_digits(model, kind, checkpoint.get("settings") or {}, out_dir,
                               args.examples, args.steps)
    elif kind == "gpt":
        paths = [explain_attention(model, checkpoint, args.prompt, out_dir, UserError)]
    else:
        raise UserError(f"explain: {args.checkpoint} holds a {kind!r} model; explain draws "
                        f"image classifiers (mlp, cnn) and GPT attention")
    print("\n".join(f"wrote {path}" for path in paths))
    return 0


def explain_digits(model, kind: str, settings: dict, out_dir: Path, examples: int,
                   steps: int) -> list[Path]:
    """Saliency and integrated gradients of correct and misclassified test images."""
    from tinygrad_edu import explain
    from tinygrad_edu.autograd import no_grad
    from tinygrad_edu.tensor import Tensor
    from tinygrad_edu.train.images import load_images
    _, _, (images, labels) = load_images({"data": "digits", **settings})   # the test images
    inputs = images.reshape(len(images), -1) if kind == "mlp" else images   # (N, ...)
    model.eval()
    with no_grad():
        predictions = model(Tensor(inputs)).numpy().argmax(axis=1)
    paths = []
    for name, chosen in (("correct", np.flatnonzero(predictions == labels)),
                         ("misclassified", np.flatnonzero(predictions != labels))):
        chosen = chosen[:examples]
        if len(chosen) == 0:
            continue
        x, c = inputs[chosen], predictions[chosen]
        maps = (np.abs(explain.saliency(model, x, c).numpy()),
                explain.integrated_gradients(model, x, c, steps=steps).numpy())
        titles = [f"{labels[i]} -> {predictions[i]}" for i in chosen]
        paths.append(plot_attributions(images[chosen], maps, titles,
                                       out_dir / f"explain_{name}.png",
                                       f"{name} test images (true -> predicted)"))
    return paths


def plot_attributions(images, maps, titles, path, title: str) -> Path:
    """One column per image (N, C, H, W): the image, |saliency|, integrated gradients."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(1.7 * len(images), 5.4), dpi=100, layout="constrained")
    figure.suptitle(title)
    axes = figure.subplots(3, len(images), squeeze=False)
    side = images.shape[-2:]
    for column, (image, heading) in enumerate(zip(images, titles)):
        saliency, integrated = (m[column].reshape(-1, *side).sum(axis=0) for m in maps)
        bound = np.abs(integrated).max() or 1.0
        axes[0, column].imshow(image[0], cmap="gray_r")
        axes[0, column].set_title(heading, fontsize=9)
        axes[1, column].imshow(saliency, cmap="magma")
        axes[2, column].imshow(integrated, cmap="bwr", vmin=-bound, vmax=bound)
    for row, label in enumerate(("image", "|saliency|", "integrated\ngradients")):
        axes[row, 0].set_ylabel(label)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    path = Path(path)
    figure.savefig(path)
    return path


def explain_attention(gpt, checkpoint: dict, prompt: str, out_dir: Path, error) -> Path:
    """Attention heat maps of every layer and head over ``prompt``."""
    from tinygrad_edu import explain
    from tinygrad_edu.data import CharVocab
    vocab = CharVocab.from_array(checkpoint["vocab"])
    ids = vocab.encode(prompt, errors="replace")[-gpt.block_size:]
    if len(ids) < 2:
        raise error("explain: --prompt needs at least 2 characters")
    maps = explain.attention_maps(gpt, ids[None, :]).numpy()[:, 0]    # (L, H, T, T)
    return plot_attention(maps, vocab.decode(ids), out_dir / "attention.png")


def plot_attention(maps, text: str, path) -> Path:
    """A grid of heat maps, layers down and heads across; row i = what position i looks at."""
    from matplotlib.figure import Figure
    layers, heads = maps.shape[:2]
    size = max(2.2, 0.18 * len(text))
    figure = Figure(figsize=(size * heads, size * layers), dpi=100, layout="constrained")
    axes = figure.subplots(layers, heads, squeeze=False)
    ticks = np.arange(len(text))
    labels = [repr(ch)[1:-1] for ch in text]
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            ax.imshow(maps[layer, head], cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"layer {layer}, head {head}", fontsize=9)
            ax.set_xticks(ticks, labels, fontsize=6, rotation=90)
            ax.set_yticks(ticks, labels, fontsize=6)
    figure.suptitle("attention: row = query position, column = position attended to")
    path = Path(path)
    figure.savefig(path)
    return path
