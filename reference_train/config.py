"""What a training run is asked to do (TrainConfig) and the check that refuses impossible settings.

Kept free of torch so `python -m reference_train` can refuse a bad argument in a fraction of a
second, before the slow `import torch` (train.py imports this module, not the other way round).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from reference_train.checkpoint import path_problem as checkpoint_path_problem
from reference_train.errors import TrainError

MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024
MAX_BATCH_SIZE = 4096
MAX_SEED = 2**63 - 1
# What a run writes into out_dir; finding any of them there means an earlier run's results.
RESULT_FILES = ("checkpoint.pth", "best_model.pth", "metrics.jsonl")


@dataclass
class TrainConfig:
    data_dir: Path
    out_dir: Path | None = None
    epochs: int = 10
    batch_size: int = 32
    image_size: int = 224
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" | "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    scheduler: str = "cosine"  # "cosine" | "step" | "none"
    seed: int = 0
    deterministic: bool = False
    amp: bool | None = None  # None: on for CUDA, and on a CPU with native bfloat16 (AVX512-BF16/AMX)
    channels_last: bool | None = None  # None: by device (speed_settings)
    compile: bool = False
    workers: int | None = None  # None: by device and usable CPUs (speed_settings)
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    weights: str | None = None  # None | "imagenet"
    resume: Path | None = None
    max_steps: int | None = None  # stop after this many optimizer steps in total, also across resume
    eval_every_epoch: bool = True
    progress: bool = True
    tensorboard: bool = False
    plot: bool = True
    save_checkpoints: bool = True
    verify_data: bool = True
    # A run refuses an out_dir that already holds an earlier run's results unless it resumes or this is set.
    overwrite: bool = False
    # Stop as soon as validation accuracy reaches this (epochs stay the cap); evaluated at epoch ends
    # and, with eval_every_steps, every that many optimizer steps.
    target_accuracy: float | None = None
    eval_every_steps: int | None = None
    # Called with a dict after each optimizer step (at most a few times a second) and after each
    # evaluation, for a caller that shows progress its own way (smoke-train's worker). Not saved.
    on_progress: Callable[[dict], None] | None = field(default=None, repr=False, compare=False)



def validate_config(cfg: TrainConfig) -> None:
    """Refuse settings that cannot train, with one TrainError line; checks nothing on disk but paths."""
    if cfg.optimizer not in ("adam", "sgd"):
        raise TrainError(f"unknown optimizer {cfg.optimizer!r}; use adam or sgd.")
    if cfg.scheduler not in ("cosine", "step", "none"):
        raise TrainError(f"unknown scheduler {cfg.scheduler!r}; use cosine, step or none.")
    if cfg.epochs < 1:
        raise TrainError("epochs must be at least 1.")
    if not 1 <= cfg.batch_size <= MAX_BATCH_SIZE:
        raise TrainError(f"batch size {cfg.batch_size} is out of range; use 1 to {MAX_BATCH_SIZE}.")
    if not MIN_IMAGE_SIZE <= cfg.image_size <= MAX_IMAGE_SIZE:
        raise TrainError(
            f"image size {cfg.image_size} is out of range for ResNet18; use {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} (224 is standard)."
        )
    if not (isinstance(cfg.lr, (int, float)) and math.isfinite(cfg.lr) and cfg.lr > 0):
        raise TrainError(f"learning rate {cfg.lr} must be a positive finite number (1e-3 is usual for adam).")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise TrainError(f"seed {cfg.seed} is out of range; use 0 to 2**63-1.")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise TrainError("max steps must be at least 1 (or left out).")
    if cfg.workers is not None and cfg.workers < 0:
        raise TrainError("workers must be 0 or more (0 loads data in the main process).")
    if cfg.target_accuracy is not None and not 0 < cfg.target_accuracy <= 1:
        raise TrainError(f"target accuracy {cfg.target_accuracy} must be in (0, 1], e.g. 0.8.")
    if cfg.eval_every_steps is not None and cfg.eval_every_steps < 1:
        raise TrainError("eval every steps must be at least 1 (or left out).")
    if cfg.out_dir is not None and Path(cfg.out_dir).exists() and not Path(cfg.out_dir).is_dir():
        raise TrainError(f"output folder {cfg.out_dir} is a file; pass a folder (it is created if missing) to --out-dir.")
    if cfg.out_dir is not None and cfg.resume is None and not cfg.overwrite:
        earlier = [name for name in RESULT_FILES if (Path(cfg.out_dir) / name).exists()]
        if earlier:
            raise TrainError(
                f"{cfg.out_dir} already holds an earlier run ({', '.join(earlier)}); continue it with "
                f"--resume {Path(cfg.out_dir) / 'checkpoint.pth'}, pick a new --out-dir, or pass --overwrite to replace it."
            )
    if cfg.resume is not None:
        problem = checkpoint_path_problem(Path(cfg.resume))
        if problem:
            raise TrainError(f"--resume: {problem}")
    if cfg.tensorboard and cfg.out_dir is None:
        raise TrainError("TensorBoard logs need an output folder; pass --out-dir.")
