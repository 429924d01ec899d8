"""The convolutional network of an introductory article: conv, ReLU, max pooling, then a
linear classifier on the flattened features (x.view(x.size(0), -1)). The task: tell images with
a vertical bar from images with a horizontal bar."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
n = 48
images = torch.randn(n, 1, 8, 8) * 0.3
labels = torch.randint(0, 2, (n,))
for i in range(n):
    position = int(torch.randint(1, 7, (1,)).item())
    if labels[i].item() == 1:
        images[i, 0, :, position] += 2.0
    else:
        images[i, 0, position, :] += 2.0


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc = nn.Linear(16 * 2 * 2, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))   # (N, 8, 4, 4)
        x = self.pool(F.relu(self.conv2(x)))   # (N, 16, 2, 2)
        x = x.view(x.size(0), -1)
        return self.fc(x)


model = CNN()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(6):
    for start in range(0, n, 16):
        inputs, targets = images[start:start + 16], labels[start:start + 16]
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    outputs = model(images)
    _, predicted = torch.max(outputs, 1)
    accuracy = (predicted == labels).sum().item() / labels.size(0)
assert accuracy > 0.9, f"accuracy {accuracy}, loss {loss.item()}"
print(f"cnn: ok, accuracy {accuracy:.3f}")
