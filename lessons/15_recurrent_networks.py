# %% [markdown]
# # Lesson 15: recurrent networks, vanishing gradients through time, and the LSTM
#
# A recurrent network reads a sequence one step at a time and carries a hidden state:
#
#     h_t = tanh(x_t W_ihᵀ + b_ih + h_(t-1) W_hhᵀ + b_hh)
#
# The same weights at every step; unrolled over T steps this is an ordinary (deep) graph, and
# `backward()` on it is **backpropagation through time**. The gradient that step t's input
# receives from the last step is a product of T - t Jacobians,
#
#     dh_T/dh_t = Π_(s=t+1..T) diag(1 - h_s²) · W_hh,
#
# so it shrinks (or grows) geometrically with the distance: a plain RNN cannot learn what
# happened 50 steps ago. The **LSTM** adds a memory cell updated only by a gate and a sum,
#
#     c_t = σ(f)·c_(t-1) + σ(i)·tanh(g),     h_t = σ(o)·tanh(c_t),
#
# whose gradient along c is multiplied by σ(f) alone at each step: if the forget gate stays
# open (σ(f) ≈ 1), the gradient survives. Explosion, the opposite failure, is handled by
# **clipping** the gradient's total norm before the step.
#
# Run it:  python lessons/15_recurrent_networks.py
# Check the exercises at the end:  python lessons/15_recurrent_networks.py --check
#
# Read along: `tinygrad_edu/nn/recurrent.py::RNN.cell`, `tinygrad_edu/ops/lstm.py::lstm_cell`,
# `tinygrad_edu/nn/utils.py::clip_grad_norm_` and `tinygrad_edu/models/char_rnn.py::CharRNN`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.data.text import CharVocab, load_text, random_text_batches, split_train_val
from tinygrad_edu.models import CharRNN
from tinygrad_edu.nn import functional as F

T, B, I, H = 50, 8, 8, 32                                           # steps, batch, input, hidden
rng = np.random.default_rng(0)
sequence = rng.standard_normal((T, B, I)).astype(np.float32)       # (T, B, I)

# %% [markdown]
# ## 1. An RNN cell by hand equals `nn.RNN`

# %%
tg.manual_seed(0)
rnn = nn.RNN(I, H)
w_ih, w_hh = rnn.weight_ih_l0.numpy(), rnn.weight_hh_l0.numpy()     # (H, I), (H, H)
b_ih, b_hh = rnn.bias_ih_l0.numpy(), rnn.bias_hh_l0.numpy()         # (H,), (H,)
h = np.zeros((B, H), dtype=np.float32)
by_hand = []
for x_t in sequence:                                                # x_t (B, I)
    h = np.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)            # (B, H)
    by_hand.append(h)
output, h_n = rnn(Tensor(sequence))                                 # (T, B, H), (1, B, H)
assert np.allclose(np.stack(by_hand), output.numpy(), atol=1e-5)
assert np.allclose(h_n.numpy()[0], by_hand[-1], atol=1e-5)
print(f"a loop of h = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) over {T} steps equals nn.RNN")

# %% [markdown]
# ## 2. How much gradient reaches each step
#
# The loss reads the last hidden state only; ‖dL/dx_t‖ says how much step t can still learn.
# The LSTM is shown twice: with PyTorch's initialisation (all biases small, so σ(f) ≈ 0.5 and
# the memory halves at every step) and with the forget gate's bias raised by 2 (σ(f) ≈ 0.88),
# the common remedy (Gers et al. 2000, Jozefowicz et al. 2015).

# %%
def gradient_per_step(layer) -> np.ndarray:
    x = Tensor(sequence, requires_grad=True)                        # (T, B, I)
    out, _ = layer(x)                                               # (T, B, H)
    out[-1].sum().backward()                                        # L = Σ h_T
    return np.linalg.norm(x.grad.numpy(), axis=(1, 2))              # (T,)


def lstm(forget_bias: float):
    tg.manual_seed(0)
    layer = nn.LSTM(I, H)
    layer.bias_hh_l0.data[H:2 * H] += forget_bias                   # gate order i, f, g, o
    return layer


flows = {"RNN (tanh)": gradient_per_step(rnn), "LSTM": gradient_per_step(lstm(0.0)),
         "LSTM, forget bias +2": gradient_per_step(lstm(2.0))}
print("\n‖dL/dx_t‖ at t = 1, 10, 20, 30, 40, 50:")
for name, flow in flows.items():
    print(f"  {name:22s}", " ".join(f"{flow[t]:8.1e}" for t in (0, 9, 19, 29, 39, 49)))
rnn_kept = flows["RNN (tanh)"][0] / flows["RNN (tanh)"][-1]
lstm_kept = flows["LSTM, forget bias +2"][0] / flows["LSTM, forget bias +2"][-1]
print(f"fraction reaching 50 steps back: RNN {rnn_kept:.1e}, LSTM with an open forget gate "
      f"{lstm_kept:.2f}")
assert rnn_kept < 1e-8 and lstm_kept > 0.02
assert flows["LSTM"][0] / flows["LSTM"][-1] < 1e-6                  # a half-closed gate forgets too

figure, axis = plt.subplots(figsize=(7, 4))
for name, flow in flows.items():
    axis.semilogy(range(1, T + 1), flow, label=name)
axis.set_xlabel("input step t (the loss reads step 50)")
axis.set_ylabel("‖dL/dx_t‖")
axis.legend()
figure.tight_layout()
figure.savefig("lesson15_gradient_through_time.png", dpi=80)
print("saved lesson15_gradient_through_time.png")

# %% [markdown]
# ## 3. Explosion, and clipping
#
# Scale the recurrent weights up 4x and the products grow instead. `clip_grad_norm_` measures the
# total norm over all parameters and rescales every gradient by the same factor when it exceeds
# `max_norm`: the direction is kept, only the length is capped.

# %%
tg.manual_seed(0)
wild = nn.RNN(I, H)
wild.weight_hh_l0.data *= 4
out, _ = wild(Tensor(sequence))
out[-1].sum().backward()
grads_before = [p.grad.numpy().copy() for p in wild.parameters()]
norm = nn.utils.clip_grad_norm_(wild.parameters(), max_norm=1.0).item()
norm_after = np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in wild.parameters()))
print(f"\nrecurrent weights x4: gradient norm {norm:.1f}, after clip_grad_norm_(1.0) {norm_after:.4f}")
assert norm > 100 and abs(norm_after - 1.0) < 1e-3
for before, p in zip(grads_before, wild.parameters()):
    assert np.allclose(p.grad.numpy(), before / norm, rtol=1e-4)    # same direction, shorter

# %% [markdown]
# ## 4. A character LSTM on Python's own source code
#
# `CharRNN` is an embedding, an LSTM and a Linear layer to 96 character logits. 150 steps of
# 16 windows of 48 characters, from the standard library's text, with clipping at 1.0.

# %%
vocab = CharVocab.ascii()                                           # 96 symbols
train_ids, val_ids = split_train_val(vocab.encode(load_text(max_chars=300_000)))
tg.manual_seed(0)
model = CharRNN(len(vocab), embed_dim=32, hidden_size=96)
optimizer = optim.Adam(model.parameters(), lr=1e-2)
batches = np.random.default_rng(0)
losses = []
for step in range(150):
    x, y = random_text_batches(train_ids, 48, 16, batches)          # (16, 48) each
    logits, _ = model(Tensor(x))                                    # (16, 48, 96)
    loss = F.cross_entropy(logits.reshape(-1, len(vocab)), Tensor(y.reshape(-1)))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
with tg.no_grad():
    x, y = random_text_batches(val_ids, 48, 64, np.random.default_rng(1))
    val_loss = F.cross_entropy(model(Tensor(x))[0].reshape(-1, len(vocab)),
                               Tensor(y.reshape(-1))).item()
print(f"\nloss: start {losses[0]:.2f} (ln 96 = {np.log(96):.2f}), last 10 steps "
      f"{np.mean(losses[-10:]):.2f}, validation {val_loss:.2f} nats per character")
prompt = Tensor(vocab.encode("def ")[None])                         # (1, 4)
sample = model.generate(prompt, 160, temperature=0.8, generator=np.random.default_rng(0))
print("a sample at temperature 0.8:\n" + vocab.decode(sample.numpy()[0]))
assert losses[0] > 4.0 and np.mean(losses[-10:]) < 2.5 and val_loss < 2.8

print("\nLesson 15 done: through time, the RNN's gradient fades; the LSTM's open gate keeps it.")

# %% [markdown]
# ## Exercises
#
# 1. **One RNN step.** `exercise_rnn_step(x, h, w_ih, w_hh, b_ih, b_hh)` returns the next hidden
#    state (NumPy) with PyTorch's layout: `w_ih` (H, I), `w_hh` (H, H).
# 2. **Clipping.** `exercise_clip_grad_norm(grads, max_norm)` takes a list of NumPy gradients and
#    returns them clipped as `clip_grad_norm_` does: one total norm over all of them, and every
#    gradient scaled by max_norm / total when the total is larger.
#
# Check your answers: `python lessons/15_recurrent_networks.py --check`.

# %% tags=["exercises"]
import types

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn


def exercise_rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) for x (B, I), h (B, H)."""
    raise NotImplementedError("exercise rnn_step: one line with two matrix products")


def exercise_clip_grad_norm(grads, max_norm):
    """The gradients rescaled so that their total 2-norm is at most max_norm."""
    raise NotImplementedError("exercise clip_grad_norm: one norm over all the gradients")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    rng = np.random.default_rng(0)
    tg.manual_seed(0)
    layer = nn.RNN(3, 4)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    expected = layer(Tensor(x[None]).float(), Tensor(h[None]).float())[0].numpy()[0]
    weights = [p.numpy().astype(np.float64) for p in
               (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)]
    got = np.asarray(solution.exercise_rnn_step(x, h, *weights))
    assert np.allclose(got, expected, atol=1e-5), (
        f"rnn_step differs from nn.RNN by {np.abs(got - expected).max():.3f}: PyTorch's weights "
        f"are (out, in), so the products are x @ W_ihᵀ and h @ W_hhᵀ")
    grads = [rng.standard_normal((3, 3)) * 3, rng.standard_normal(5) * 0.1]
    params = [nn.Parameter(Tensor(np.zeros_like(g))) for g in grads]
    for p, g in zip(params, grads):
        p.grad = Tensor(g.copy())
    nn.utils.clip_grad_norm_(params, 1.0)
    clipped = solution.exercise_clip_grad_norm([g.copy() for g in grads], 1.0)
    for p, mine in zip(params, clipped):
        assert np.allclose(mine, p.grad.numpy(), rtol=1e-5), (
            "clip_grad_norm differs from nn.utils.clip_grad_norm_: clip by the norm of all the "
            "gradients together, not of each one alone")
    small = solution.exercise_clip_grad_norm([g * 0.01 for g in grads], 1.0)
    assert all(np.allclose(s, g * 0.01) for s, g in zip(small, grads)), \
        "clip_grad_norm must leave gradients whose total norm is under max_norm alone"
    print("all exercises pass")
