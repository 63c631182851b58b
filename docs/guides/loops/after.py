"""A PyTorch training script: before.py trains by backprop, after.py by MOLE (docs/guides/your_loop.md)."""
import os

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import mole

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "20"))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 128), nn.ReLU())
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        return self.classifier(self.hidden(self.features(x)))


X, y = load_digits(return_X_y=True)
X, y = torch.tensor(X / 16, dtype=torch.float32).view(-1, 1, 8, 8), torch.tensor(y)
train = DataLoader(TensorDataset(X[:1500], y[:1500]), batch_size=64, shuffle=True,
                   generator=torch.Generator().manual_seed(0))
test = DataLoader(TensorDataset(X[1500:], y[1500:]), batch_size=256)

torch.manual_seed(0)
model = mole.LocalModel(Net(), cuts=["features", "hidden"], num_classes=10)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)

for epoch in range(EPOCHS):
    model.train()
    for x, target in train:
        loss = model(x, target=target).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()

model.eval()
correct = 0
with torch.no_grad():
    for x, target in test:
        correct += int((model(x).argmax(1) == target).sum())
print(f"test accuracy {correct / len(test.dataset):.4f}")
