"""``tinygrad_edu.utils``: PyTorch's ``torch.utils`` path, so ``from torch.utils.data import
DataLoader`` carries over with only the package name changed."""
from . import data
