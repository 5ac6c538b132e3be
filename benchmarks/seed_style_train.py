"""The training setting of the beginner cat/dog script users start from (the seed's train.py), for comparison.

Our own code reproducing its choices: Resize((224, 224)), RandomHorizontalFlip, ToTensor,
Normalize(0.5, 0.5), DataLoader(batch_size=4, shuffle=True) with the default 0 workers, NCHW fp32,
Adam lr 1e-4, ResNet18 with a 2-class head, pretrained weights OFF (no download here), and a
`.item()` per step as that script does for its running loss.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, models, transforms


def measure(data_dir: Path, timed_steps: int = 40, warmup_steps: int = 3, seed: int = 0) -> float:
    """Training images per second over `timed_steps` steps, after `warmup_steps` untimed ones."""
    torch.manual_seed(seed)
    transform = transforms.Compose([
        transforms.Resize((224, 224)),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.5] * 3, [0.5] * 3),
    ])
    loader = DataLoader(datasets.ImageFolder(str(Path(data_dir) / "train"), transform), batch_size=4, shuffle=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, 2)
    model = model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    steps, images, start = 0, 0, None
    while True:
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss = loss.item() * inputs.size(0)  # noqa: F841  (the seed's per-step host sync)
            steps += 1
            if steps == warmup_steps:
                start = time.perf_counter()
            elif steps > warmup_steps:
                images += inputs.size(0)
            if steps == warmup_steps + timed_steps:
                return images / (time.perf_counter() - start)
