"""Complete models built from ``tinygrad_edu.nn``, one readable file each.

- ``MLP``      (mlp.py):      Linear layers with a nonlinearity between them.
- ``CNN``      (cnn.py):      LeNet-5, convolution and pooling for small images.
- ``CharRNN``  (char_rnn.py): a character-level language model on an RNN, LSTM or GRU.
- ``GPT``      (gpt.py):      a decoder-only Transformer with nanoGPT's names.

``sampling.py`` holds the temperature / top-k sampling that both language models use.
"""
from .mlp import MLP
from .cnn import CNN
from .char_rnn import CharRNN
from .gpt import GPT
