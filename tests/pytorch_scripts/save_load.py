"""Saving and loading a state_dict, as in PyTorch's "Save and load the model" tutorial."""
import os
import tempfile

import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
x = torch.randn(5, 4)
expected = model(x)
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model_weights.pth")
    torch.save(model.state_dict(), path)
    restored = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    assert not torch.allclose(restored(x), expected)
    restored.load_state_dict(torch.load(path, weights_only=True))
    restored.eval()
    assert torch.allclose(restored(x), expected)
    assert list(restored.state_dict().keys()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert restored.state_dict()["0.weight"].shape == (8, 4)
print("save_load: ok")
