"""ImageFolder loading built so that a run can stop anywhere and resume bit for bit.

Two choices make that possible:

- The shuffle order of an epoch is one torch.randperm drawn from the shuffling generator when the
  epoch starts. Saving the generator state from *before* that draw lets a resumed run redraw the
  same order and skip the batches it already trained on, without decoding them.
- Random augmentation (the horizontal flip) is decided by a seed derived from (run seed, epoch,
  sample index), not by the worker's global RNG. So the result does not depend on the number of
  workers, on persistent workers carrying RNG state across epochs, or on where a run was resumed.

Workers only decode and resize (uint8 tensors: four times less to copy than float32); the
trainer converts to float and normalises on the device.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

# ImageNet statistics: right for --weights imagenet, and harmless for a model trained from scratch.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SeededImageFolder(Dataset):
    """ImageFolder returning uint8 CHW tensors; indexed by (sample index, epoch) so augmentation is reproducible."""

    def __init__(self, root: Path, image_size: int, augment: bool, seed: int):
        from torchvision import datasets, transforms

        self.folder = datasets.ImageFolder(
            str(root),
            transform=transforms.Compose([transforms.Resize((image_size, image_size)), transforms.PILToTensor()]),
        )
        self.augment = augment
        self.seed = seed
        self.classes = self.folder.classes

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        image, label = self.folder[index]
        if image.shape[0] == 1:  # greyscale files become 3 channels like everything else
            image = image.expand(3, -1, -1)
        elif image.shape[0] == 4:
            image = image[:3]
        if self.augment and random.Random(f"{self.seed}-{epoch}-{index}").random() < 0.5:
            image = image.flip(-1)
        return image, label


class EpochSampler(Sampler):
    """Yields (index, epoch): a fresh permutation per epoch from `generator`, optionally skipping a prefix."""

    def __init__(self, length: int, generator: torch.Generator | None, shuffle: bool):
        self.length = length
        self.generator = generator
        self.shuffle = shuffle
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip_samples: int = 0) -> None:
        self.epoch = epoch
        self.skip = skip_samples

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self.length, generator=self.generator).tolist()
        else:
            order = list(range(self.length))
        for index in order[self.skip :]:
            yield (index, self.epoch)

    def __len__(self) -> int:
        return self.length - self.skip


def usable_cpus() -> int:
    """The CPUs this process may use (not os.cpu_count(): containers and taskset give fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(device_type: str, cpus: int | None = None) -> int:
    """DataLoader workers for `device_type` given the usable CPUs (default: usable_cpus())."""
    cpus = usable_cpus() if cpus is None else cpus
    if device_type == "cuda":
        # The GPU does the math, so every spare core can decode; beyond 8 a ResNet18 gains nothing.
        return min(8, max(1, cpus - 1))
    # On the CPU the same cores also run the model. With 2 or fewer, a worker process only competes
    # with the compute threads, so loading stays in-process; with more, one decoder per four cores
    # overlaps loading with compute and leaves the rest to the model.
    if cpus <= 2:
        return 0
    return min(4, max(1, cpus // 4))


def build_loaders(
    data_dir: Path,
    image_size: int,
    batch_size: int,
    workers: int,
    device_type: str,
    seed: int,
    shuffle_generator: torch.Generator,
):
    """Return (train_loader, val_loader, train_sampler, train class names, val class names)."""
    from reference_train.seeding import worker_init_fn

    train_set = SeededImageFolder(Path(data_dir) / "train", image_size, augment=True, seed=seed)
    val_set = SeededImageFolder(Path(data_dir) / "val", image_size, augment=False, seed=seed)
    train_sampler = EpochSampler(len(train_set), shuffle_generator, shuffle=True)
    val_sampler = EpochSampler(len(val_set), None, shuffle=False)
    # Worker base seeds come from their own generator, so creating an iterator never consumes the
    # shuffling generator (whose state the checkpoint records).
    worker_seed_generator = torch.Generator()
    worker_seed_generator.manual_seed(seed + 1)
    common = dict(
        num_workers=workers,
        pin_memory=device_type == "cuda",
        persistent_workers=workers > 0,
        worker_init_fn=worker_init_fn if workers > 0 else None,
        generator=worker_seed_generator,
    )
    # BatchNorm cannot train on a batch of one, so a ragged last batch is dropped, unless the
    # whole training set is smaller than one batch.
    train_loader = DataLoader(
        train_set, batch_size=batch_size, sampler=train_sampler, drop_last=len(train_set) >= batch_size, **common
    )
    val_loader = DataLoader(val_set, batch_size=batch_size, sampler=val_sampler, **common)
    return train_loader, val_loader, train_sampler, train_set.classes, val_set.classes
