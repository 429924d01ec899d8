"""``tinygrad_edu.utils.data`` is PyTorch's import path for the data classes: the same objects
as ``tinygrad_edu.data``, working as a PyTorch script uses them."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def test_the_names_are_the_data_classes():
    assert (DataLoader, Dataset, Subset, TensorDataset, random_split) == (
        tg.data.DataLoader, tg.data.Dataset, tg.data.Subset, tg.data.TensorDataset,
        tg.data.random_split)
    import tinygrad_edu.utils.data as data
    assert tg.utils.data is data
    assert data.DistributedSampler is tg.data.DistributedSampler


def test_a_pytorch_style_loop_over_tensor_dataset_and_random_split():
    x = tg.randn(10, 3)
    y = tg.Tensor(np.arange(10) % 2)
    train, val = random_split(TensorDataset(x, y), [0.8, 0.2], generator=0)
    assert (len(train), len(val)) == (8, 2)
    assert sorted(train.indices.tolist() + val.indices.tolist()) == list(range(10))
    seen = []
    for inputs, labels in DataLoader(train, batch_size=3, shuffle=True, num_workers=2,
                                     pin_memory=True):
        assert isinstance(inputs, tg.Tensor) and inputs.shape[1:] == (3,)
        seen.extend(labels.tolist())
    assert sorted(seen) == sorted((np.arange(10) % 2)[train.indices].tolist())


def test_a_map_style_dataset_subclass_and_subset():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), i * i

    batches = list(DataLoader(Subset(Squares(), [4, 1, 2]), batch_size=2))
    assert [b[1].tolist() for b in batches] == [[16, 1], [4]]
    with pytest.raises(ValueError, match="random_split"):
        random_split(Squares(), [2, 2])


def test_num_workers_must_be_a_count():
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(TensorDataset(np.zeros(3)), num_workers=-1)
