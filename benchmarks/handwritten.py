"""Hand-written baselines: the same step with no framework at all, the "speed of light".

**W1 in NumPy.** The MLP step with every derivative worked out by hand. For logits z (N, K),
targets t and p = softmax(z), the mean cross-entropy L = -1/N Σ_n log p[n, t_n] has

    dL/dz = (p - onehot(t)) / N                                   (N, K)

and each layer h_out = relu(a), a = h_in Wᵀ + b, passes the gradient back as

    dL/da = dL/dh_out ⊙ [a > 0],  dL/dW = dL/daᵀ · h_in,  dL/db = Σ_n dL/da,  dL/dh_in = dL/da · W

followed by SGD with momentum, v ← μ·v + g, p ← p - lr·v (PyTorch's rule). A framework can
at best match this: the same matrix products, nothing else.

**W5 in Python floats.** y_{i+1} = tanh(1.01·y_i + 0.01), so dy_{i+1}/dy_i = 1.01·(1 - y_{i+1}²);
the backward pass multiplies those factors from the last round to the first.
"""
from __future__ import annotations

import math

import numpy as np

from . import workloads as W


def mlp_step(data: dict, state: dict, device: str):
    if device != "cpu":
        raise ValueError(f"the hand-written NumPy MLP runs on the CPU only, not {device!r}")
    x, targets = data["x"], data["y"]                                  # (N, 784), (N,)
    weights = [state[f"layers.{i}.weight"].copy() for i in (0, 2, 4)]  # (out, in) each
    biases = [state[f"layers.{i}.bias"].copy() for i in (0, 2, 4)]
    velocities = [np.zeros_like(p) for p in weights + biases]
    rows = np.arange(len(targets))

    def step():
        activations, h = [x], x
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = h @ w.T + b                                            # (N, out)
            if i < len(weights) - 1:
                np.maximum(h, 0, out=h)                                # relu in place
            activations.append(h)
        logits = activations.pop()                                     # (N, K)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)                          # (N, 1)
        loss = np.log(sums[:, 0]).mean() - shifted[rows, targets].mean()

        grad = exp / sums                                              # softmax (N, K)
        grad[rows, targets] -= 1
        grad /= len(targets)                                           # dL/dz
        weight_grads, bias_grads = [], []
        for i in reversed(range(len(weights))):
            h_in = activations[i]                                      # (N, in)
            weight_grads.append(grad.T @ h_in)                         # (out, in)
            bias_grads.append(grad.sum(axis=0))                        # (out,)
            if i > 0:
                grad = grad @ weights[i]                               # (N, in)
                grad *= h_in > 0                                       # through the relu
        grads = weight_grads[::-1] + bias_grads[::-1]
        for param, velocity, g in zip(weights + biases, velocities, grads):
            velocity *= W.SGD_MOMENTUM
            velocity += g
            param -= W.SGD_LR * velocity
        return loss

    return step


def overhead_step(data: dict, state: None, device: str):
    def step():
        y, outputs = data["start"], []
        for _ in range(W.OVERHEAD_ROUNDS):
            y = math.tanh(y * 1.01 + 0.01)
            outputs.append(y)
        grad = 1.0
        for out in reversed(outputs):
            grad *= 1.01 * (1.0 - out * out)
        return y

    return step


STEPS = {"W1": mlp_step, "W5": overhead_step}
LABELS = {"W1": "NumPy by hand", "W5": "Python floats by hand"}
