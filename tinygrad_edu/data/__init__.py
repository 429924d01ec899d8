"""Data: datasets, the DataLoader, image transforms, and ready-made data to learn on.

Reading order: dataset.py (samples, batches, ``TensorDataset``) -> loader.py (``DataLoader``) ->
transforms.py (augmentation) -> splits.py (training, validation, test) -> the data itself: toy.py (2-D point sets), digits.py (8x8 digits
shipped with scikit-learn), mnist.py (the IDX files of MNIST), text.py (character corpora),
sequences.py (synthetic copy/reverse/sort/addition tasks).

Everything here works on NumPy arrays on the host; the DataLoader and ``TextBatches`` turn the
batches into Tensors on the device you train on.
"""
from . import transforms
from .dataset import (Dataset, LabeledImages, Subset, TensorDataset, TrainTest, default_collate,
                      make_generator, random_split)
from .digits import load_digits
from .distributed_sampler import DistributedSampler
from .loader import DataLoader, to_tensors
from .mnist import DataNotFoundError, IDXError, load_mnist, read_idx, write_idx
from .splits import every_kth_of_each_class, split_validation
from .sequences import (ADDITION_SYMBOLS, addition_task, copy_task, decode_addition, reverse_task,
                        sort_task)
from .text import (ASCII_CHARS, CharVocab, TextBatches, load_text, random_text_batches,
                   split_train_val, to_ascii)
from .toy import make_circles, make_moons, make_spirals
