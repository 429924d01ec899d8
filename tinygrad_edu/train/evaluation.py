"""Measuring a model on a dataset: the mean loss and the accuracy, without recording a graph."""
from __future__ import annotations

from ..autograd import no_grad
from ..nn.losses import cross_entropy


def logits_and_targets(output, targets):
    """A model's output as (N, C) logits against (N,) targets.

    CharRNN returns ``(logits, state)``; a language model's logits (B, T, V) are B·T separate
    next-character predictions, so they are flattened together with the targets (B, T)."""
    logits = output[0] if isinstance(output, tuple) else output
    if logits.ndim > 2:
        logits = logits.reshape(-1, logits.shape[-1])   # (B·T, V)
        targets = targets.reshape(-1)                   # (B·T,)
    return logits, targets


def count_correct(logits, targets) -> int:
    """How many rows of ``logits`` (N, C) give their highest score to the right class."""
    return int((logits.data.argmax(axis=-1) == targets.data).sum())


@no_grad()
def evaluate(model, data, loss_fn=cross_entropy) -> dict:
    """Mean loss and accuracy over every batch of ``data`` (an iterable of (x, y) batches),
    in evaluation mode (no dropout, BatchNorm's running statistics); the mode is restored."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for x, y in data:
            logits, targets = logits_and_targets(model(x), y)
            total_loss += float(loss_fn(logits, targets).item()) * len(targets)
            correct += count_correct(logits, targets)
            count += len(targets)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the evaluation data gave no batches")
    return {"loss": total_loss / count, "accuracy": correct / count}
