"""``tinygrad_edu.utils.data``: the data classes at PyTorch's import path.

The classes themselves live in ``tinygrad_edu.data`` (``dataset.py``, ``loader.py``); this
module only gives them the address a PyTorch script imports them from::

    from tinygrad_edu.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
    from tinygrad_edu.utils.data import DistributedSampler   # for data-parallel training
"""
from ..data.dataset import Dataset, Subset, TensorDataset, default_collate, random_split
from ..data.distributed_sampler import DistributedSampler
from ..data.loader import DataLoader

__all__ = ["DataLoader", "Dataset", "DistributedSampler", "Subset", "TensorDataset",
           "default_collate", "random_split"]
