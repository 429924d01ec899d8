"""Autograd, in the style of PyTorch's "Automatic differentiation" tutorial."""
import torch

x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward(retain_graph=True)
first = w.grad.clone()
assert w.grad.shape == (5, 3) and b.grad.shape == (3,)
loss.backward()   # the graph was retained: gradients accumulate
assert torch.allclose(w.grad, 2 * first)
try:
    loss.backward()   # now the graph has been released
    raise AssertionError("a third backward through a released graph must raise")
except RuntimeError:
    pass

z = torch.matmul(x, w) + b
assert z.requires_grad
with torch.no_grad():
    z = torch.matmul(x, w) + b
assert not z.requires_grad
z_det = (torch.matmul(x, w) + b).detach()
assert not z_det.requires_grad

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
assert torch.allclose(inp.grad, 2 * (inp.detach() + 1))
inp.grad.zero_()
out.backward(torch.ones_like(out))
assert torch.allclose(inp.grad, 2 * (inp.detach() + 1))

# second derivatives: d/dx of (dy/dx) with create_graph=True
x = torch.tensor([0.5, 2.0], requires_grad=True)
y = (x ** 3).sum()
(dy_dx,) = torch.autograd.grad(y, x, create_graph=True)
assert torch.allclose(dy_dx, 3 * x.detach() ** 2)
(d2y_dx2,) = torch.autograd.grad(dy_dx.sum(), x)
assert torch.allclose(d2y_dx2, 6 * x.detach())

# integer casts carry no gradient; a leaf that requires grad refuses in-place changes
assert not x.long().requires_grad
try:
    x.add_(1)
    raise AssertionError("in-place change of a leaf that requires grad must raise")
except RuntimeError:
    pass
with torch.no_grad():
    x.add_(1)
assert x.tolist() == [1.5, 3.0]

# pow's gradient at a zero base and a zero exponent is 0, not nan
base = torch.tensor([0.0, 2.0], requires_grad=True)
exponent = torch.tensor([0.0, 0.0], requires_grad=True)
(base ** exponent).sum().backward()
assert base.grad.tolist() == [0.0, 0.0] and abs(exponent.grad[1].item() - 0.6931) < 1e-4
print("autograd: ok")
