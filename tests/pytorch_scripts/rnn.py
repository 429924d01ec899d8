"""The recurrent network of an introductory article: nn.RNN with batch_first=True, the last
time step fed to a linear layer. The task: is the sum of a sequence positive?"""
import torch
import torch.nn as nn

torch.manual_seed(0)
sequences = torch.randn(256, 10, 1)
targets = (sequences.sum(dim=1) > 0).float()      # (256, 1)


class RNNModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNNModel, self).__init__()
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), self.hidden_size)
        out, hn = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


model = RNNModel(1, 16, 1)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(150):
    optimizer.zero_grad()
    loss = criterion(model(sequences), targets)
    loss.backward()
    optimizer.step()

with torch.no_grad():
    predictions = (torch.sigmoid(model(sequences)) > 0.5).float()
accuracy = (predictions == targets).float().mean().item()
assert accuracy > 0.9, f"accuracy {accuracy}, loss {loss.item()}"
print(f"rnn: ok, accuracy {accuracy:.3f}")
