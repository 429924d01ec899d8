# %% [markdown]
# # Lesson 19: pre-training, then fine-tuning, in full and with LoRA
#
# Large language models are made in two stages. **Pre-training** teaches a model on a huge,
# general text; **fine-tuning** then continues from those weights on a small, specialised
# text. What the general text taught (here: Python's syntax, indentation, common names) does
# not have to be learnt again, so fine-tuning needs far fewer steps and far less data than
# starting from random weights.
#
# Fine-tuning every weight still needs memory for every weight's gradient and optimizer
# state, and every fine-tuned copy is as large as the model. **LoRA** (Hu et al., 2021) keeps
# the pre-trained weight W frozen and learns a low-rank correction instead:
#
#     y = x Wᵀ + b + (alpha / r) · x Aᵀ Bᵀ,     A (r × in) random, B (out × r) zero at first
#
# so each adapted layer trains r·(in + out) numbers instead of in·out, and since B starts at
# zero the model's output is unchanged until training moves it.
#
# The experiment, in miniature: pre-train a tiny character GPT on the standard library with
# the `email` package held out entirely, then fine-tune on `email`.
#
# Run it:  python lessons/19_pretraining_and_finetuning.py
# Check the exercises at the end:  python lessons/19_pretraining_and_finetuning.py --check
#
# Read along: `tinygrad_edu/train/finetune.py::stdlib_without`,
# `tinygrad_edu/train/finetune.py::train_language_model`, `tinygrad_edu/nn/lora.py::LoRALinear`,
# `tinygrad_edu/nn/lora.py::apply_lora` and `tinygrad_edu/nn/lora.py::merge_lora`.

# %%
from _exercises import run_check_if_asked

run_check_if_asked()

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.data import CharVocab
from tinygrad_edu.models import GPT
from tinygrad_edu.nn.utils import apply_lora, lora_state_dict, merge_lora
from tinygrad_edu.train.finetune import (LORA_TARGETS, package_text, stdlib_without,
                                         train_language_model, train_val_ids)

# %% [markdown]
# ## Two texts: the library without `email/`, and `email/`

# %%
general_text = stdlib_without("email", max_chars=400_000)
email_text = package_text("email")
print(f"pre-training text: {len(general_text):,} characters; email/: {len(email_text):,}")
for word in ("charset", "Content-Type"):
    rates = [text.count(word) / len(text) * 1e6 for text in (general_text, email_text)]
    print(f"  {word!r}: {rates[0]:.0f} per million characters elsewhere, {rates[1]:.0f} in email/")
assert email_text.count("charset") / len(email_text) > \
    10 * general_text.count("charset") / len(general_text)

vocab = CharVocab.ascii()
CONFIG = dict(vocab_size=96, block_size=32, n_layer=1, n_head=2, n_embd=48)
general = train_val_ids(general_text, vocab, CONFIG["block_size"])
email = train_val_ids(email_text, vocab, CONFIG["block_size"])

# %% [markdown]
# ## Pre-training

# %%
tg.manual_seed(0)
pretrained = GPT(**CONFIG)
curve = train_language_model(pretrained, *general, steps=300, lr=3e-3, eval_every=100)
print("pre-training, validation loss:", [round(p["val_loss"], 3) for p in curve])
assert curve[-1]["val_loss"] < curve[0]["val_loss"] - 1.0
base_state = pretrained.state_dict()


def from_pretrained():
    model = GPT(**CONFIG)
    model.load_state_dict(base_state)
    return model


# %% [markdown]
# ## LoRA changes nothing until it trains

# %%
lora_model = apply_lora(from_pretrained(), rank=4, alpha=8.0, target_modules=LORA_TARGETS)
print(lora_model.h[0].attn)
idx = Tensor(vocab.encode("def send(msg):\n")[None, :])
assert np.array_equal(lora_model(idx).numpy(), pretrained(idx).numpy())
trainable = sum(p.size for p in lora_model.parameters() if p.requires_grad)
print(f"LoRA trains {trainable:,} of {pretrained.num_parameters():,} parameters "
      f"({trainable / pretrained.num_parameters():.1%})")

# %% [markdown]
# ## Fine-tuning on `email/`, three ways, 150 steps each

# %%
tg.manual_seed(1)
runs = {"fine-tuned": (from_pretrained(), 1e-3), "LoRA": (lora_model, 1e-2),
        "from scratch": (GPT(**CONFIG), 3e-3)}
curves = {name: train_language_model(model, *email, steps=150, lr=lr, seed=1, eval_every=50)
          for name, (model, lr) in runs.items()}
for name, points in curves.items():
    print(f"{name:13s}", "  ".join(f"step {p['step']}: {p['val_loss']:.3f}" for p in points))
final = {name: points[-1]["val_loss"] for name, points in curves.items()}
assert final["fine-tuned"] < final["from scratch"] and final["LoRA"] < final["from scratch"]

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, points in curves.items():
    ax.plot([p["step"] for p in points], [p["val_loss"] for p in points], marker="o", label=name)
ax.set_xlabel("steps on email/")
ax.set_ylabel("validation loss (nats/char)")
ax.legend()
fig.tight_layout()
fig.savefig("finetuning.png")
print("saved finetuning.png")

# %% [markdown]
# ## Merging, and a checkpoint of the adapters alone
#
# After training, `merge_lora` folds each correction into its weight (W + (alpha/r)·B A), so
# inference costs nothing extra; before merging, the adapters alone are a small file that
# loads onto the base checkpoint (`nn.utils.load_lora_state_dict`).

# %%
adapters = lora_state_dict(lora_model)
before = lora_model(idx).numpy()
merge_lora(lora_model)
assert not any(isinstance(m, nn.LoRALinear) for m in lora_model.modules())
print("largest change from merging:", np.abs(lora_model(idx).numpy() - before).max())
assert np.allclose(lora_model(idx).numpy(), before, atol=1e-5)
adapter_numbers = sum(t.size for t in adapters.values())
print(f"the adapters: {adapter_numbers:,} numbers; the model: {pretrained.num_parameters():,}")
assert adapter_numbers == trainable
print("\nLesson 19 done: pre-train once, then fine-tune cheaply; LoRA trains a few percent of the weights.")

# %% [markdown]
# ## Exercises
#
# 1. `exercise_lora_parameters(in_features, out_features, rank)`: how many numbers a LoRA
#    adapter of one Linear trains.
# 2. `exercise_merge(weight, lora_A, lora_B, alpha, rank)`: the merged weight (NumPy).

# %% tags=["exercises"]
import types

import numpy as np

from tinygrad_edu import Tensor, nn


def exercise_lora_parameters(in_features, out_features, rank):
    """The size of A (rank × in) plus B (out × rank)."""
    raise NotImplementedError("exercise lora_parameters: count A and B")


def exercise_merge(weight, lora_A, lora_B, alpha, rank):
    """W + (alpha / rank) · B A."""
    raise NotImplementedError("exercise merge: fold the scaled product into the weight")


def check(solution=None):
    solution = solution or types.SimpleNamespace(**globals())
    for sizes in [(64, 192, 4), (10, 3, 1), (128, 512, 8)]:
        layer = nn.LoRALinear(nn.Linear(sizes[0], sizes[1]), rank=sizes[2])
        expected = layer.lora_A.size + layer.lora_B.size
        got = solution.exercise_lora_parameters(*sizes)
        assert got == expected, (f"lora_parameters{sizes} = {got}, expected {expected}: "
                                 f"A is rank x in, B is out x rank")
    rng = np.random.default_rng(0)
    layer = nn.LoRALinear(nn.Linear(5, 3).double(), rank=2, alpha=6.0)
    layer.lora_B.data = rng.standard_normal((3, 2))
    x = rng.standard_normal((4, 5))
    merged = np.asarray(solution.exercise_merge(layer.base_layer.weight.numpy(),
                                                layer.lora_A.numpy(), layer.lora_B.numpy(),
                                                6.0, 2))
    got = x @ merged.T + layer.base_layer.bias.numpy()
    assert merged.shape == (3, 5) and np.allclose(got, layer(Tensor(x)).numpy()), (
        "merge: the merged layer's output differs from the LoRA layer's: W + (alpha/rank)·B A, "
        "with B (out x rank) on the left")
    print("all exercises pass")
