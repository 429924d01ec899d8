"""The multilayer perceptron of an introductory article: two hidden layers with ReLU, trained
with Adam and cross-entropy on a toy problem (XOR of the signs of two coordinates)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
X = torch.randn(400, 2)
y = (X[:, 0] * X[:, 1] > 0).long()


class MLP(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super(MLP, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, hidden_size)
        self.fc3 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = MLP(2, 32, 2)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)
for epoch in range(200):
    optimizer.zero_grad()
    outputs = model(X)
    loss = criterion(outputs, y)
    loss.backward()
    optimizer.step()

with torch.no_grad():
    _, predicted = model(X).max(1)
    accuracy = (predicted == y).float().mean().item()
    probabilities = torch.softmax(model(X[:3]), dim=1)
assert torch.allclose(probabilities.sum(dim=1), torch.ones(3))
assert accuracy > 0.95, f"accuracy {accuracy}, loss {loss.item()}"
print(f"mlp: ok, accuracy {accuracy:.3f}")
