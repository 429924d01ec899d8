"""A text classifier from embeddings and an LSTM, as in PyTorch's sequence-model tutorials:
nn.Embedding, nn.LSTM(batch_first=True), the final hidden state h_n[-1] to a linear layer. The
task: does token 1 occur in the sequence?"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
vocab_size, seq_len = 10, 8
tokens = torch.randint(2, vocab_size, (256, seq_len))
labels = torch.randint(0, 2, (256,))
positions = torch.randint(0, seq_len, (256,))
for i in range(256):
    if labels[i].item() == 1:
        tokens[i, positions[i].item()] = 1


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, num_classes)

    def forward(self, text):
        embedded = self.embedding(text)               # (B, T, E)
        output, (hidden, cell) = self.lstm(embedded)  # hidden: (num_layers, B, H)
        return self.fc(hidden[-1])


model = LSTMClassifier(vocab_size, 16, 32, 2)
optimizer = optim.Adam(model.parameters(), lr=0.01)
for epoch in range(60):
    model.train()
    optimizer.zero_grad()
    log_probs = F.log_softmax(model(tokens), dim=1)
    loss = F.nll_loss(log_probs, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()

model.eval()
with torch.no_grad():
    predicted = model(tokens).argmax(dim=1)
accuracy = (predicted == labels).float().mean().item()
assert accuracy > 0.9, f"accuracy {accuracy}, loss {loss.item()}"
print(f"lstm_classifier: ok, accuracy {accuracy:.3f}")
