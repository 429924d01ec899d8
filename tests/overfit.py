"""The overfit check every model test uses: memorise one tiny batch with the model's optimizer.

If any gradient is wrong or missing, the loss does not reach near zero in the given steps, or some
parameter never gets a gradient; both are asserted here, so each model test states only its data.
"""
import numpy as np


def assert_overfits(model, optimizer, compute_loss, steps=100, below=0.05) -> float:
    """Run ``steps`` updates of ``compute_loss()``; assert the final loss is under ``below`` and
    every parameter received a non-zero gradient. Returns the final loss."""
    for _ in range(steps):
        optimizer.zero_grad()
        loss = compute_loss()
        loss.backward()
        optimizer.step()
    assert loss.item() < below, f"loss {loss.item():.4g} after {steps} steps, wanted < {below}"
    silent = [name for name, p in model.named_parameters()
              if p.grad is None or not np.abs(p.grad.numpy()).max() > 0]
    assert not silent, f"parameters without gradient: {silent}"
    return loss.item()
