"""ResNet18 with the classifier resized to the number of classes, optionally from ImageNet weights."""

from __future__ import annotations

import torch
from torch import nn

from reference_train.errors import TrainError


def build_model(num_classes: int, weights: str | None = None) -> nn.Module:
    from torchvision import models

    if weights is None:
        model = models.resnet18(weights=None)
    elif weights == "imagenet":
        model = models.resnet18(weights=None)
        model.load_state_dict(_imagenet_state_dict())
    else:
        raise TrainError(f"unknown weights {weights!r}; use --weights imagenet or leave it out to start from random weights.")
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def _imagenet_state_dict() -> dict:
    """torchvision's ResNet18_Weights.IMAGENET1K_V1 from the torch hub cache, downloading it if needed."""
    import os

    from torchvision.models import ResNet18_Weights

    weights = ResNet18_Weights.IMAGENET1K_V1
    cache = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    try:
        # Reads the cached file when present; weights_only so a tampered cache cannot run code.
        return torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True, weights_only=True)
    except Exception as exc:  # URLError offline, HTTPError, hash mismatch, truncated file, ...
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise TrainError(
            f"cannot get the ImageNet weights for resnet18 ({reason}); on a machine without internet copy "
            f"{os.path.basename(weights.url)} from {weights.url} to {cache}, or train from random weights "
            "by leaving out --weights."
        ) from None
