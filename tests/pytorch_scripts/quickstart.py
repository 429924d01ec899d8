"""A training loop in the style of PyTorch's quickstart: TensorDataset and DataLoader, a model
class, SGD with StepLR, gradient clipping, and accuracy by torch.max(outputs.data, 1)."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
centers = torch.randn(3, 8) * 3
labels = torch.randint(0, 3, (300,))
features = centers[labels] + torch.randn(300, 8)
train_loader = DataLoader(TensorDataset(features[:240], labels[:240]), batch_size=32, shuffle=True)
test_loader = DataLoader(TensorDataset(features[240:], labels[240:]), batch_size=32)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8, 32),
            nn.ReLU(),
            nn.Linear(32, 3),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for X, y in dataloader:
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        optimizer.zero_grad()
    return loss.item()


def test(dataloader, model):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in dataloader:
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return correct / total


before = test(test_loader, model)
for epoch in range(4):
    last_loss = train(train_loader, model, loss_fn, optimizer)
    scheduler.step()
accuracy = test(test_loader, model)
assert abs(optimizer.param_groups[0]["lr"] - 0.025) < 1e-12
assert accuracy >= 0.9, f"accuracy {accuracy} (before training {before})"
print(f"quickstart: ok, accuracy {accuracy:.2f}")
