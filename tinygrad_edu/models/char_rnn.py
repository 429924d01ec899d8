"""``CharRNN``: a character-level language model on a recurrent network (RNN, LSTM or GRU).

The model reads a text one character id at a time and, after each one, predicts the next:

    x_t = E[idx_t]                      embedding: id -> vector          (B, T, embed_dim)
    h_t, state_t = cell(x_t, state_t-1) the recurrent core, batch_first   (B, T, hidden_size)
    logits_t = W h_t + b                a Linear to one score per char    (B, T, vocab_size)

and is trained with cross-entropy between logits_t and idx_t+1. The state carries everything
the network remembers of the past: for an LSTM a pair (h, c) of shape (num_layers, B, hidden),
for an RNN or a GRU just h. Passing the state returned by one call into the next lets a long
text be processed in chunks, and lets ``generate`` feed one new character per step without
re-reading the prefix, which is what makes recurrent sampling cheap: O(1) work per token.

Backward is backpropagation through time: the recurrent layer unrolls over T steps in the graph,
so the gradient of the loss at step t flows back through every earlier step's weights. That, and
the gates of the LSTM/GRU which keep it from vanishing, live in nn/recurrent.py.

Dropout (``dropout`` > 0, training only) is applied to the embeddings and to the recurrent output
before the head, as in PyTorch's word-language-model example.
"""
from __future__ import annotations

from ..autograd import ShapeError, no_grad
from ..ops.movement import cat
from ..tensor import Tensor
from .. import nn
from .sampling import sample_next

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """Embedding -> RNN/LSTM/GRU (``num_layers`` stacked) -> Linear to vocabulary logits.

    Submodules: ``embedding`` (nn.Embedding), ``rnn`` (the recurrent layer, PyTorch's parameter
    names ``weight_ih_l0``...), ``drop`` (nn.Dropout) and ``head`` (nn.Linear).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, cell: str = "lstm",
                 num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharRNN: unknown cell {cell!r}; expected one of {sorted(CELLS)}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        """Logits for the next character after each position, and the final recurrent state.

        ``idx``: integer ids of shape (B, T). ``state``: what an earlier call returned (or None
        for zeros). Returns (logits (B, T, vocab_size), state)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        if idx.ndim != 2 or idx.data.dtype.kind not in "iu":
            raise ShapeError(f"CharRNN: expected integer token ids of shape (B, T), got shape "
                             f"{idx.shape} and dtype {idx.dtype}")
        x = self.drop(self.embedding(idx))   # (B, T, embed_dim)
        out, state = self.rnn(x, state)      # (B, T, hidden_size)
        logits = self.head(self.drop(out))   # (B, T, vocab_size)
        return logits, state

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None) -> Tensor:
        """Continue each row of ``idx`` (B, T) by ``max_new_tokens`` sampled ids -> (B, T + n).

        The prompt is read once; afterwards each step feeds only the newest id together with the
        carried state. Runs in evaluation mode (no dropout) and restores the mode afterwards."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        was_training = self.training
        self.eval()
        try:
            logits, state = self(idx)                              # (B, T, V)
            pieces = [idx]
            for step in range(max_new_tokens):
                next_id = sample_next(logits[:, -1, :], temperature, top_k, generator,
                                      "CharRNN")                   # (B, 1)
                pieces.append(next_id)
                if step < max_new_tokens - 1:
                    logits, state = self(next_id, state)           # (B, 1, V)
        finally:
            self.train(was_training)
        return cat(pieces, axis=1)                                 # (B, T + max_new_tokens)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
