"""Tensors, in the style of PyTorch's "Tensors" tutorial: creation, shapes, dtypes, reductions."""
import numpy as np
import torch

torch.manual_seed(0)
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
assert x_data.dtype == torch.int64
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
assert torch.equal(x_np, x_data)
x_ones = torch.ones_like(x_data)
x_rand = torch.rand_like(x_data, dtype=torch.float)
assert x_ones.shape == x_rand.shape == (2, 2) and x_rand.dtype == torch.float32

shape = (2, 3,)
rand_tensor, ones_tensor, zeros_tensor = torch.rand(shape), torch.ones(shape), torch.zeros(shape)
assert rand_tensor.size() == torch.Size([2, 3]) and zeros_tensor.sum().item() == 0
assert torch.full((2, 2), 4).dtype == torch.int64 and torch.empty(3, 4).numel() == 12

tensor = torch.ones(4, 4)
tensor[:, 1] = 0
assert tensor[:, 1].sum().item() == 0 and tensor[..., -1].tolist() == [1.0] * 4
t1 = torch.cat([tensor, tensor, tensor], dim=1)
assert t1.size(1) == 12 and t1.size().numel() == 48
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
assert torch.allclose(y1, y2)
z1 = tensor * tensor
z2 = tensor.mul(tensor)
assert torch.equal(z1, z2)
agg = tensor.sum()
agg_item = agg.item()
assert isinstance(agg_item, float) and agg_item == 12.0
tensor.add_(5)
assert tensor[0, 0].item() == 6.0

x = torch.arange(12).view(3, 4)
assert x.view(-1, 6).shape == (2, 6) and x.flatten().shape == (12,)
assert x.float().mean().item() == 5.5 and (x ** 0.5).dtype == torch.float32
assert x.exp().dtype == torch.float32 and (x / 2).dtype == torch.float32
assert torch.max(x).item() == 11 and x.max(dim=0).values.tolist() == [8, 9, 10, 11]
assert x.argmax(dim=1).tolist() == [3, 3, 3] and torch.argmin(x).item() == 0
assert x.unsqueeze(0).shape == (1, 3, 4) and x.unsqueeze(0).squeeze(0).shape == (3, 4)
assert x.transpose(0, 1).shape == (4, 3) and x.permute(1, 0).contiguous().shape == (4, 3)
assert (x % 5).tolist()[2] == [3, 4, 0, 1] and (x // 5).max().item() == 2
assert torch.equal(x & 1, x % 2) and (~torch.tensor([5])).item() == -6
assert torch.stack([x, x]).shape == (2, 3, 4) and torch.stack([x, x], dim=2).shape == (3, 4, 2)
double = torch.tensor([1.0, 2.0], dtype=torch.float64)
assert (double + torch.tensor([1.0, 2.0])).dtype == torch.float64
assert torch.linspace(0, 1, steps=5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
assert sorted(torch.randperm(5).tolist()) == [0, 1, 2, 3, 4]
r = torch.randint(0, 10, (3, 3))
assert r.dtype == torch.int64 and 0 <= r.min().item() and r.max().item() < 10
v = torch.tensor([1.0, 3.0])
assert v.var().item() == 2.0 and v.var(unbiased=False).item() == 1.0
assert torch.tril(torch.ones(3, 3)).sum().item() == 6 and torch.ones(3, 3).triu(1).sum() == 3
assert torch.einsum("ij,jk->ik", y1, y1).shape == (4, 4)
assert torch.where(v > 2, v, torch.zeros_like(v)).tolist() == [0.0, 3.0]
assert torch.clamp(v, min=1.5).tolist() == [1.5, 3.0]
print("tensors: ok")
