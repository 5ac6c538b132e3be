"""The training loop: a cat/dog ResNet18 trainer meant to be read top to bottom.

Laid out like torchvision's references/classification/train.py:

- train(cfg): check the data and settings -> seed -> pick device, AMP and speed settings -> build
  loaders, model, optimizer, schedule -> (resume) -> for each epoch: train_one_epoch, evaluate,
  log, checkpoint -> digest and plot;
- train_one_epoch(...): the optimizer steps of one epoch (and, with target_accuracy, the
  evaluations every eval_every_steps steps that can stop the run early);
- evaluate(...): mean loss and accuracy on the validation set;
- _resume(...) / _checkpoint_state(...): what a checkpoint restores and saves.

Speed habits, and why:
- no per-step host synchronisation: losses and correct counts stay on the device and are read
  once per epoch (a `.item()` per step stalls the GPU queue every step);
- settings chosen per device (speed_settings): channels_last + AMP on CUDA (bf16 on compute
  capability 8.0+, else fp16 with a GradScaler) and cuDNN autotuning, since the input size is
  fixed; on a CPU, contiguous NCHW and fp32 unless it computes bfloat16 in hardware (measured:
  channels_last is slower on a CPU without it), and no loader workers on 2 or fewer cores;
- uint8 batches copied with pin_memory/non_blocking, normalised on the device;
- zero_grad(set_to_none=True).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from reference_train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from reference_train.config import (  # noqa: F401  (TrainConfig and validate_config are used from here too)
    MAX_BATCH_SIZE,
    MAX_IMAGE_SIZE,
    MAX_SEED,
    MIN_IMAGE_SIZE,
    TrainConfig,
    validate_config,
)
from reference_train.data import IMAGENET_MEAN, IMAGENET_STD, build_loaders, default_workers, usable_cpus
from reference_train.datacheck import check_imagefolder
from reference_train.errors import OutOfMemory, TrainError
from reference_train.model import build_model
from reference_train.plotting import plot_history
from reference_train.seeding import (
    capture_rng_state,
    enable_determinism,
    preserved_torch_flags,
    restore_rng_state,
    seed_everything,
)

_NOT_SAVED = ("on_progress",)  # TrainConfig fields a checkpoint does not store (a callback)
WARMUP_STEPS = 3  # first steps of a run (cuDNN autotune, allocator, worker start) are not timed
# Settings a checkpoint must share with the run resuming it, or the continuation is not the same run.
RESUME_MUST_MATCH = ("batch_size", "image_size", "optimizer", "scheduler", "seed")


@dataclass
class TrainResult:
    epochs: list[dict]
    step_losses: list[float]
    best_val_acc: float
    final_val_acc: float  # of the last evaluation (an epoch end or an eval_every_steps one)
    checkpoint_path: Path | None
    best_model_path: Path | None
    metrics_path: Path | None
    plot_path: Path | None
    state_digest: str
    images_per_sec: float  # training steps after the first WARMUP_STEPS of this run, all epochs
    peak_memory_bytes: int | None
    device: str
    amp_dtype: str | None
    steps: int
    class_names: list[str] = field(default_factory=list)
    # memory_format, workers, amp_dtype, cudnn_benchmark and `why` (speed_settings)
    settings: dict = field(default_factory=dict)
    stopped_early: bool = False  # target_accuracy was reached before the epochs (or max_steps) ran out
    target_reached_at_step: int | None = None
    # every evaluation in order: {"epoch", "step", "val_loss", "val_acc", "seconds"} (seconds since train() began)
    evaluations: list[dict] = field(default_factory=list)


def train(cfg: TrainConfig) -> TrainResult:
    validate_config(cfg)
    data_dir = Path(cfg.data_dir)
    if cfg.verify_data:
        _check_data(data_dir)
    elif not (data_dir / "train").is_dir() or not (data_dir / "val").is_dir():
        raise TrainError(f"{data_dir} needs train/ and val/ sub-folders with one folder per class; check --data.")

    # train() is also called in-process (envcheck smoke-train): global torch flags are left as found.
    with preserved_torch_flags():
        # Determinism first: CUBLAS_WORKSPACE_CONFIG only works if set before CUDA starts.
        if cfg.deterministic:
            enable_determinism()
        device = _resolve_device(cfg.device)
        try:
            return _train(cfg, data_dir, device)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
            if device.type != "cuda" or not _is_out_of_memory(exc):
                raise
        # Out of the except block the failed run's tensors are released, so the free memory
        # reported below is what a retry would find.
        raise OutOfMemory(_out_of_memory_message(device, cfg))


def _train(cfg: TrainConfig, data_dir: Path, device: torch.device) -> TrainResult:
    run_start = time.perf_counter()
    amp_dtype = amp_dtype_for(device, cfg.amp)
    settings = speed_settings(device, amp_dtype, cfg.channels_last, cfg.workers, cfg.deterministic)
    _prepare_device(device, settings)
    shuffle_generator = seed_everything(cfg.seed)

    # ---- data
    try:
        train_loader, val_loader, train_sampler, class_names, val_classes = build_loaders(
            data_dir, cfg.image_size, cfg.batch_size, settings["workers"], device.type, cfg.seed, shuffle_generator
        )
    except (FileNotFoundError, RuntimeError) as exc:  # ImageFolder: no classes / no images
        raise TrainError(f"cannot load images from {data_dir} ({exc}); run `envcheck check-data {data_dir}`.") from None
    if val_classes != class_names:
        raise TrainError(f"train/ classes {class_names} differ from val/ classes {val_classes}; give both the same class folders.")
    steps_per_epoch = len(train_loader)
    memory_format = torch.channels_last if settings["memory_format"] == "channels_last" else torch.contiguous_format
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255

    def to_model_input(images: torch.Tensor) -> torch.Tensor:
        images = images.to(device, non_blocking=True).float()
        return ((images - mean) / std).contiguous(memory_format=memory_format)

    # ---- model, loss, optimizer, schedule, AMP
    model = build_model(len(class_names), cfg.weights).to(device, memory_format=memory_format)
    step_model = torch.compile(model) if cfg.compile else model
    criterion = nn.CrossEntropyLoss()
    optimizer = _build_optimizer(cfg, model)
    scheduler = _build_scheduler(cfg, optimizer, steps_per_epoch)
    scaler = make_grad_scaler(enabled=amp_dtype == torch.float16)  # fp16 needs loss scaling, bf16 does not

    def autocast():
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=amp_dtype)

    # ---- output files
    out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "checkpoint.pth" if out_dir is not None and cfg.save_checkpoints else None
    best_model_path = out_dir / "best_model.pth" if out_dir is not None and cfg.save_checkpoints else None
    metrics_path = out_dir / "metrics.jsonl" if out_dir is not None else None
    writer = _tensorboard_writer(out_dir) if cfg.tensorboard else None

    # ---- resume
    if cfg.resume is not None:
        loop = _resume(cfg, model, optimizer, scheduler, scaler, shuffle_generator)
    else:
        loop = _LoopState()
        if metrics_path is not None and metrics_path.exists():
            metrics_path.unlink()  # a fresh run starts a fresh log

    evaluations: list[dict] = []

    def run_evaluation(epoch: int) -> tuple[float, float]:
        val_loss, val_acc = evaluate(step_model, val_loader, to_model_input, criterion, autocast, device)
        evaluations.append({"epoch": epoch, "step": loop.step, "val_loss": val_loss, "val_acc": val_acc,
                            "seconds": time.perf_counter() - run_start})
        loop.final_val_acc = val_acc
        progress.evaluated(loop.step, val_loss, val_acc)
        if cfg.target_accuracy is not None and val_acc >= cfg.target_accuracy and loop.target_reached_at_step is None:
            loop.target_reached_at_step = loop.step
        return val_loss, val_acc

    epochs_run: list[dict] = []
    step_losses: list[float] = []
    timer = _ThroughputTimer(device)
    progress = _Progress(cfg.progress, cfg.on_progress)
    stopped_early = False

    for epoch in range(loop.start_epoch, cfg.epochs):
        if cfg.max_steps is not None and loop.step >= cfg.max_steps:
            break
        # Checkpoints store the shuffle state from *before* this epoch's permutation is drawn.
        epoch_start_shuffle_state = shuffle_generator.get_state()
        train_sampler.set_epoch(epoch, skip_samples=loop.skip_batches * cfg.batch_size)
        progress.start_epoch(epoch, cfg.epochs, steps_per_epoch, already_done=loop.skip_batches)

        stats = train_one_epoch(
            step_model, criterion, optimizer, scheduler, scaler, train_loader, to_model_input, autocast, device,
            cfg, loop, timer, progress, steps_per_epoch, evaluate_mid_epoch=lambda: run_evaluation(epoch),
        )
        loop.skip_batches = 0
        stopped_mid_epoch = stats["batches_done"] < steps_per_epoch
        step_losses.extend(stats["losses"])
        row = {
            "epoch": epoch,
            "train_loss": stats["loss_sum"] / stats["seen"] if stats["seen"] else math.nan,
            "train_acc": stats["correct"] / stats["seen"] if stats["seen"] else math.nan,
            "val_loss": None,
            "val_acc": None,
            "lr": optimizer.param_groups[0]["lr"],
            "images_per_sec": stats["seen"] / stats["seconds"] if stats["seconds"] > 0 else 0.0,
            "seconds": stats["seconds"],
            "steps": loop.step,
            "batches": stats["batches_done"],
            "complete": not stopped_mid_epoch,
        }

        # ---- evaluate (not timed: the throughput timer is paused until the next epoch starts)
        if stats["stop"] == "target":
            row["val_loss"], row["val_acc"] = stats["val"]
        elif (cfg.eval_every_epoch or cfg.target_accuracy is not None or epoch == cfg.epochs - 1
              or stopped_mid_epoch):
            row["val_loss"], row["val_acc"] = run_evaluation(epoch)
        reached = cfg.target_accuracy is not None and row["val_acc"] is not None and row["val_acc"] >= cfg.target_accuracy
        more_to_do = stopped_mid_epoch or (epoch < cfg.epochs - 1 and (cfg.max_steps is None or loop.step < cfg.max_steps))
        stopped_early = reached and more_to_do
        progress.end_epoch(row)

        # ---- log and checkpoint
        loop.history.append(row)
        epochs_run.append(row)
        if metrics_path is not None:
            with metrics_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        if writer is not None:
            _log_tensorboard(writer, row, stats["losses"], loop.step - len(stats["losses"]))
        if row["val_acc"] is not None and row["val_acc"] > loop.best_val_acc:
            loop.best_val_acc = row["val_acc"]
            if best_model_path is not None:
                save_checkpoint(best_model_path, model.state_dict())
        if checkpoint_path is not None:
            state = _checkpoint_state(cfg, loop, epoch, stats["batches_done"], stopped_mid_epoch, model, optimizer,
                                      scheduler, scaler, shuffle_generator, class_names)
            if stopped_mid_epoch:
                # Resuming redraws this epoch's order from its start and skips the batches done.
                state["rng"]["dataloader"] = epoch_start_shuffle_state
            save_checkpoint(checkpoint_path, state)
        if stopped_mid_epoch or stopped_early:
            break

    progress.close()
    if writer is not None:
        writer.close()
    plot_path = None
    if cfg.plot and out_dir is not None and loop.history:
        plot_path = plot_history(loop.history, out_dir / "curves.png")
        if plot_path is None and cfg.progress:
            print("note: matplotlib is not installed, so no curves.png; pip install matplotlib", file=sys.stderr)

    return TrainResult(
        epochs=epochs_run,
        step_losses=step_losses,
        best_val_acc=loop.best_val_acc,
        final_val_acc=loop.final_val_acc,
        checkpoint_path=checkpoint_path if checkpoint_path is not None and checkpoint_path.exists() else None,
        best_model_path=best_model_path if best_model_path is not None and best_model_path.exists() else None,
        metrics_path=metrics_path if metrics_path is not None and metrics_path.exists() else None,
        plot_path=plot_path,
        state_digest=state_digest(model),
        images_per_sec=timer.images_per_sec,
        peak_memory_bytes=torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None,
        device=str(device),
        amp_dtype=settings["amp_dtype"],
        steps=loop.step,
        class_names=list(class_names),
        settings=settings,
        stopped_early=stopped_early,
        target_reached_at_step=loop.target_reached_at_step,
        evaluations=evaluations,
    )


@dataclass
class _LoopState:
    """What carries over from epoch to epoch, and what a checkpoint restores."""

    start_epoch: int = 0
    step: int = 0  # optimizer steps so far, across resumes
    skip_batches: int = 0  # batches of start_epoch already trained before a mid-epoch stop
    best_val_acc: float = 0.0
    final_val_acc: float = 0.0
    history: list = field(default_factory=list)
    target_reached_at_step: int | None = None


def train_one_epoch(model, criterion, optimizer, scheduler, scaler, loader, to_model_input, autocast, device,
                    cfg: TrainConfig, loop: _LoopState, timer: _ThroughputTimer, progress: _Progress,
                    steps_per_epoch: int, evaluate_mid_epoch) -> dict:
    """One pass over `loader` (minus the batches a resumed run already did).

    Stops early at cfg.max_steps, or, with cfg.eval_every_steps, when an evaluation after such a
    step reaches cfg.target_accuracy. Returns the epoch's sums (read from the device once, here at
    the end), the batches done, why it stopped ("max_steps", "target" or None) and the evaluation
    that stopped it.
    """
    model.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, batches_done, stop, stop_val = 0, loop.skip_batches, None, None
    device_losses: list[torch.Tensor] = []
    eval_seconds = 0.0
    started = time.perf_counter()
    timer.resume()
    for images, labels in loader:
        inputs = to_model_input(images)
        labels = labels.to(device, non_blocking=True)
        with autocast():
            logits = model(inputs)
            loss = criterion(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # a disabled scaler (fp32, bf16) passes the loss through
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        loop.step += 1
        batches_done += 1

        batch = labels.shape[0]  # known on the host: no sync
        detached = loss.detach()
        device_losses.append(detached)
        loss_sum += detached * batch
        correct += (logits.detach().argmax(1) == labels).sum()
        seen += batch
        timer.step_done(batch)
        progress.advance(batch)
        if cfg.max_steps is not None and loop.step >= cfg.max_steps:
            stop = "max_steps"
            break
        if cfg.eval_every_steps and loop.step % cfg.eval_every_steps == 0 and batches_done < steps_per_epoch:
            # Mid-epoch evaluation (the epoch-end one is the caller's), outside the timed window.
            timer.pause()
            eval_started = time.perf_counter()
            stop_val = evaluate_mid_epoch()
            eval_seconds += time.perf_counter() - eval_started
            model.train()
            if cfg.target_accuracy is not None and stop_val[1] >= cfg.target_accuracy:
                stop = "target"
                break
            timer.resume()
    timer.pause()  # also the one host sync of the epoch (on CUDA)
    return {
        "loss_sum": loss_sum.item(),
        "correct": correct.item(),
        "seen": seen,
        "losses": torch.stack(device_losses).float().cpu().tolist() if device_losses else [],
        "batches_done": batches_done,
        "seconds": time.perf_counter() - started - eval_seconds,
        "stop": stop,
        "val": stop_val,
    }


def evaluate(model, loader, to_model_input, criterion, autocast, device) -> tuple[float, float]:
    """Mean loss and accuracy over the validation set; no autograd, one host sync at the end."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    with torch.inference_mode():
        for images, labels in loader:
            labels = labels.to(device, non_blocking=True)
            with autocast():
                logits = model(to_model_input(images)).float()
            loss_sum += criterion(logits, labels) * labels.shape[0]
            correct += (logits.argmax(1) == labels).sum()
            seen += labels.shape[0]
    model.train()
    return loss_sum.item() / max(seen, 1), correct.item() / max(seen, 1)


def _resume(cfg: TrainConfig, model, optimizer, scheduler, scaler, shuffle_generator) -> _LoopState:
    """Load cfg.resume into the model, optimizer, schedule, scaler and RNGs; return where to continue.

    The checkpoint is loaded onto the CPU whatever the training device: load_state_dict copies
    weights into the parameters where they live, and Optimizer.load_state_dict moves its state to
    each parameter's device (torch 2.1 and later), while the RNG states must stay CPU tensors
    (torch.set_rng_state takes only a CPU ByteTensor, .numpy() refuses GPU tensors).
    """
    try:
        state = load_checkpoint(Path(cfg.resume), map_location="cpu")
    except CheckpointError as exc:
        raise TrainError(str(exc)) from None
    _check_resume_config(cfg, state)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise TrainError(
            f"checkpoint {cfg.resume} does not fit this model/optimizer ({str(exc).splitlines()[0][:120]}); "
            "resume only with the data classes and settings it was written with."
        ) from None
    if scaler.is_enabled() and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    # The shuffle generator goes back to where the checkpoint's epoch started (see data.py).
    restore_rng_state(state["rng"], shuffle_generator)
    history = list(state.get("history", []))
    return _LoopState(
        start_epoch=state["epoch"],
        step=state["step"],
        skip_batches=state.get("batches_done", 0),
        best_val_acc=state["best_val_acc"],
        final_val_acc=history[-1]["val_acc"] if history and history[-1].get("val_acc") is not None else 0.0,
        history=history,
    )


def _checkpoint_state(cfg, loop: _LoopState, epoch: int, batches_done: int, stopped_mid_epoch: bool, model,
                      optimizer, scheduler, scaler, shuffle_generator, class_names) -> dict:
    """Everything _resume needs, as plain types that torch.load(weights_only=True) accepts."""
    return {
        # Where to continue: the same epoch (skipping `batches_done`) if stopped inside it.
        "epoch": epoch if stopped_mid_epoch else epoch + 1,
        "batches_done": batches_done if stopped_mid_epoch else 0,
        "step": loop.step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "rng": capture_rng_state(shuffle_generator),
        "config": _plain_config(cfg),
        "best_val_acc": loop.best_val_acc,
        "history": loop.history,
        "class_names": list(class_names),
    }


class _ThroughputTimer:
    """Training images per second over every step of the run after the first `warmup` steps.

    The warm-up steps (cuDNN autotuning, allocator growth, worker start) are never timed; after
    them every training step is, across epochs. pause() stops the clock (evaluation, logging,
    checkpoints) and resume() restarts it; both synchronise a CUDA device, so the window holds
    finished GPU work only.
    """

    def __init__(self, device: torch.device, warmup: int = WARMUP_STEPS, clock=time.perf_counter):
        self.device = device
        self.clock = clock
        self.warmup = warmup
        self.steps = 0  # training steps seen, timed or not
        self.images = 0  # images of timed steps
        self.seconds = 0.0
        self._started: float | None = None

    def resume(self) -> None:
        if self._started is None and self.steps >= self.warmup:
            _synchronize(self.device)
            self._started = self.clock()

    def step_done(self, batch_size: int) -> None:
        if self._started is not None:
            self.images += batch_size
        self.steps += 1
        if self.steps == self.warmup:
            self.resume()  # the window starts once the warm-up steps are done

    def pause(self) -> None:
        if self._started is not None:
            _synchronize(self.device)
            self.seconds += self.clock() - self._started
            self._started = None

    @property
    def images_per_sec(self) -> float:
        return self.images / self.seconds if self.seconds > 0 and self.images else 0.0


def state_digest(model: nn.Module) -> str:
    """sha256 over the state_dict tensors in name order: two runs are identical iff this matches."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        # contiguous(): the bytes of the values, independent of channels_last strides.
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- device rules (public: smoke-train and benchmarks use them)


def amp_dtype_for(device: torch.device | str, amp: bool | None = None) -> torch.dtype | None:
    """The autocast dtype for training on `device`, or None for fp32.

    amp=None turns AMP on for CUDA and for a CPU with native bfloat16 (cpu_has_native_bf16).
    On CUDA the choice follows the *training* device's compute capability: 8.0 (Ampere) and newer
    compute bf16 in hardware -> bfloat16; older GPUs -> float16, which needs a GradScaler
    (make_grad_scaler). torch.cuda.is_bf16_supported() is not used: it asks the current device, not
    the training one, and recent torch also counts emulated bf16, which is slow on pre-Ampere GPUs.
    CPU autocast computes only bfloat16.
    """
    device = torch.device(device)
    if amp is None:
        amp = device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
    if not amp:
        return None
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return torch.bfloat16 if tuple(torch.cuda.get_device_capability(index)) >= (8, 0) else torch.float16
    if device.type == "cpu":
        return torch.bfloat16
    raise TrainError(f"mixed precision is not set up for device type {device.type!r}; use --amp false.")


def make_grad_scaler(enabled: bool):
    """A CUDA GradScaler that works on torch 2.1 and later; disabled, it passes losses and steps through.

    torch.amp.GradScaler("cuda") exists from torch 2.3; before that the class is
    torch.cuda.amp.GradScaler (deprecated, with a warning, from 2.4).
    """
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def speed_settings(device: torch.device | str, amp_dtype: torch.dtype | None, channels_last: bool | None = None,
                   workers: int | None = None, deterministic: bool = False, cpus: int | None = None) -> dict:
    """The per-device speed choices and why; explicit channels_last/workers win over the rule.

    - memory format: channels_last on CUDA (tensor cores want NHWC) and on a CPU with native bf16
      while autocast is on (oneDNN's bf16 kernels prefer it); contiguous NCHW on a CPU without
      native bf16, where channels_last measured slower (ResNet18, 224 px, batch 32, 2-core AVX2
      CPU: 8.3 img/s NCHW vs 6.4 channels_last);
    - DataLoader workers: on CUDA, all usable CPUs but one (at most 8); on the CPU, 0 (loading in
      the training process) with 2 or fewer usable CPUs, where a worker competes with the compute
      threads, else one per four CPUs (at most 4);
    - cuDNN autotuning (cudnn.benchmark) on CUDA unless deterministic: the input size is fixed.
    Returns {"memory_format", "workers", "amp_dtype", "cudnn_benchmark", "why"}.
    """
    device = torch.device(device)
    cpus = usable_cpus() if cpus is None else cpus
    why = []
    if device.type == "cuda":
        rule_channels_last, format_reason = True, "CUDA: channels_last for tensor cores"
    elif amp_dtype is not None and cpu_has_native_bf16():
        rule_channels_last, format_reason = True, "CPU with native bf16 and autocast on: channels_last"
    else:
        rule_channels_last, format_reason = False, "CPU without native bf16 autocast: NCHW (channels_last is slower here)"
    if channels_last is None:
        channels_last = rule_channels_last
        why.append(format_reason)
    else:
        why.append(f"channels_last={channels_last} as asked")
    if workers is None:
        workers = default_workers(device.type, cpus)
        if device.type == "cuda":
            why.append(f"{workers} loader worker(s) for {cpus} usable CPUs")
        elif workers == 0:
            why.append(f"{cpus} usable CPU(s): data loaded in-process (a worker would compete with compute)")
        else:
            why.append(f"{workers} loader worker(s), leaving most of {cpus} usable CPUs to compute")
    else:
        why.append(f"{workers} loader worker(s) as asked")
    amp_name = {torch.bfloat16: "bfloat16", torch.float16: "float16"}.get(amp_dtype)
    if amp_dtype == torch.float16:
        why.append("float16 autocast with a GradScaler (compute capability below 8.0)")
    elif amp_dtype is not None:
        why.append("bfloat16 autocast")
    else:
        why.append("fp32")
    cudnn_benchmark = device.type == "cuda" and not deterministic
    if cudnn_benchmark:
        why.append("cuDNN autotuning on (fixed input size)")
    return {
        "memory_format": "channels_last" if channels_last else "contiguous",
        "workers": workers,
        "amp_dtype": amp_name,
        "cudnn_benchmark": cudnn_benchmark,
        "why": "; ".join(why),
    }


# Rough GPU memory model of ResNet18 training (estimate_training_memory_bytes). Activations kept
# for backward, measured with torch.autograd.graph.saved_tensors_hooks on torch 2.14: about 22 MiB
# per 224 px image in fp32 and half that under autocast; doubled for the gradients of activations
# alive during backward and allocator slack. Parameters: weights, gradients and two Adam moments
# (4 copies of 11.2 M fp32 values). Fixed: CUDA context, cuBLAS/cuDNN workspaces.
_RESNET18_PARAMETERS = 11_200_000
_ACTIVATION_BYTES_PER_224PX_IMAGE = {False: 44 * 2**20, True: 24 * 2**20}
_FIXED_OVERHEAD_BYTES = 768 * 2**20


def estimate_training_memory_bytes(batch_size: int, image_size: int, amp: bool) -> int:
    """Rough GPU memory to train ResNet18 at this batch and image size (amp: bf16/fp16 autocast).

    bytes = 768 MiB fixed + 16 bytes x 11.2 M parameters
            + batch_size x (image_size / 224)^2 x (44 MiB fp32 | 24 MiB with AMP).
    Within a factor of about 1.5 either way; good for "clearly too small", not for tuning.
    """
    if batch_size < 1 or image_size < 1:
        raise ValueError("batch_size and image_size must be at least 1")
    activations = batch_size * (image_size / 224) ** 2 * _ACTIVATION_BYTES_PER_224PX_IMAGE[bool(amp)]
    return int(_FIXED_OVERHEAD_BYTES + 16 * _RESNET18_PARAMETERS + activations)


def _is_out_of_memory(exc: BaseException) -> bool:
    # cuDNN and cuBLAS report a failed workspace allocation as a plain RuntimeError.
    return isinstance(exc, torch.cuda.OutOfMemoryError) or any(
        marker in str(exc) for marker in ("CUDNN_STATUS_NOT_ENOUGH_MEMORY", "CUBLAS_STATUS_ALLOC_FAILED", "CUDA out of memory")
    )


def _out_of_memory_message(device: torch.device, cfg: TrainConfig) -> str:
    try:
        torch.cuda.empty_cache()  # give back the failed run's cached blocks before measuring
        free, total = torch.cuda.mem_get_info(device)
        memory = f"{free / 2**30:.1f} GiB free of {total / 2**30:.1f} GiB"
    except Exception:  # a broken CUDA state after the error: say what is known
        memory = "free memory unknown"
    return (
        f"{device} ran out of memory training batch {cfg.batch_size} at {cfg.image_size} px ({memory} with this run "
        f"stopped); use a smaller --batch-size or --image-size, or another GPU (`nvidia-smi` shows which processes "
        "use its memory)."
    )


# ---------------------------------------------------------------- setup helpers


def _build_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    # Schedules step once per optimizer step, so a run stopped mid-epoch resumes with the right lr.
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, cfg.epochs * steps_per_epoch))
    if cfg.scheduler == "step":
        # Halve every 2 epochs: a fixed shape that does not depend on --epochs, so extending a
        # finished run with --resume --epochs N continues the same curve.
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=2 * steps_per_epoch, gamma=0.5)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def _check_data(data_dir: Path) -> None:
    report = check_imagefolder(data_dir)
    if not report.ok:
        more = f" (and {len(report.problems) - 1} more problem(s): run `envcheck check-data {data_dir}`)" if len(report.problems) > 1 else ""
        raise TrainError(report.problems[0].rstrip(".") + more + ".")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        index = name.partition(":")[2]
        if index and not (index.isascii() and index.isdigit()):
            raise TrainError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N (N a GPU number).")
        if not torch.cuda.is_available():
            raise TrainError(
                f"device {name} was requested but CUDA is not available to PyTorch here; run `envcheck doctor` "
                "to see why, or use --device cpu."
            )
        if index and int(index) >= torch.cuda.device_count():
            raise TrainError(
                f"device {name} does not exist: PyTorch sees {torch.cuda.device_count()} GPU(s) "
                "(numbered from 0, after CUDA_VISIBLE_DEVICES); pick one of those."
            )
        return torch.device(name if index else "cuda:0")
    raise TrainError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N.")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX-BF16).

    There, bf16 autocast is about twice as fast as fp32 for ResNet18 training (measured on an
    AVX512-BF16 EPYC: 31.6 vs 14.8 img/s at 224 px, batch 32, channels_last); without it, bf16
    is emulated and slower, so autocast stays off.
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def _prepare_device(device: torch.device, settings: dict) -> None:
    """Per-run device switches (train() restores the global flags when it returns)."""
    if settings["cudnn_benchmark"]:
        torch.backends.cudnn.benchmark = True  # fixed input size: autotuning pays off after the first steps
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)  # report this run's peak, not an earlier run's in this process


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _plain_config(cfg: TrainConfig) -> dict:
    """The config as plain types (weights_only=True refuses Path objects and dataclasses)."""
    plain = {}
    for item in dataclasses.fields(cfg):
        if item.name in _NOT_SAVED:
            continue
        value = getattr(cfg, item.name)
        plain[item.name] = str(value) if isinstance(value, Path) else value
    return plain


def _check_resume_config(cfg: TrainConfig, state: dict) -> None:
    saved = state.get("config", {})
    for key in RESUME_MUST_MATCH:
        if key in saved and saved[key] != getattr(cfg, key):
            flag = "--" + key.replace("_", "-")
            raise TrainError(
                f"the checkpoint was written with {key}={saved[key]!r} but this run has {getattr(cfg, key)!r}; "
                f"resume with {flag} {saved[key]} (or start a new run without --resume)."
            )
    if cfg.scheduler == "cosine" and saved.get("epochs") not in (None, cfg.epochs):
        warnings.warn(
            f"the cosine schedule of the checkpoint ran over {saved['epochs']} epochs and this run over "
            f"{cfg.epochs}: training continues, but not on the curve of an uninterrupted {cfg.epochs}-epoch run.",
            RuntimeWarning,
            stacklevel=3,
        )


def _tensorboard_writer(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TrainError(
            "--tensorboard needs the tensorboard package, which is not installed; run `pip install tensorboard` "
            "or leave out --tensorboard."
        ) from None
    return SummaryWriter(log_dir=str(out_dir / "tensorboard"))


def _log_tensorboard(writer, row: dict, losses: list[float], first_step: int) -> None:
    for offset, value in enumerate(losses):
        writer.add_scalar("train/step_loss", value, first_step + offset + 1)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "images_per_sec"):
        if row.get(key) is not None:
            writer.add_scalar(f"epoch/{key}", row[key], row["epoch"] + 1)


class _Progress:
    """A rich progress bar on a terminal, one line per epoch on stderr otherwise, nothing when disabled.

    Independently of that, `listener` (TrainConfig.on_progress) gets plain dicts: {"kind": "step"}
    at most every `every_s` seconds with the epoch, step, images/s and an ETA for the remaining
    epochs, {"kind": "eval"} after each evaluation and {"kind": "epoch"} at each epoch end.
    """

    def __init__(self, enabled: bool, listener=None, every_s: float = 1.0):
        self.enabled = enabled
        self.listener = listener
        self.every_s = every_s
        self.bar = None
        self.task = None
        self.epoch = self.epochs = self.steps = self.done = 0
        self.step_seconds = 0.0  # training time of this epoch so far, evaluations left out
        self.window_start = self.window_images = 0
        self.last_emit = 0.0
        if enabled and sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

                self.bar = Progress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True,
                )
                self.bar.start()
            except ImportError:
                self.bar = None

    def start_epoch(self, epoch: int, epochs: int, steps: int, already_done: int) -> None:
        self.epoch, self.epochs, self.steps, self.done = epoch, epochs, steps, already_done
        self.step_seconds = 0.0
        self._new_window()
        if self.bar is not None:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.task = self.bar.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, completed=already_done)

    def advance(self, images: int = 0) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.task)
        if self.listener is None:
            return
        self.window_images += images
        now = time.perf_counter()
        if now - self.last_emit >= self.every_s or self.done == self.steps:
            self.last_emit = now
            seconds = now - self.window_start
            self.step_seconds += seconds
            remaining = (self.steps - self.done) + (self.epochs - self.epoch - 1) * self.steps
            per_step = self.step_seconds / max(1, self.done)
            self.listener({
                "kind": "step", "epoch": self.epoch + 1, "epochs": self.epochs, "step_in_epoch": self.done,
                "steps_per_epoch": self.steps,
                "images_per_sec": self.window_images / seconds if seconds > 0 else 0.0,
                "eta_s": remaining * per_step,
            })
            self._new_window()

    def evaluated(self, step: int, val_loss: float, val_acc: float) -> None:
        if self.listener is not None:
            self.listener({"kind": "eval", "epoch": self.epoch + 1, "step": step, "val_loss": val_loss, "val_acc": val_acc})
        self._new_window()  # the evaluation's time is not training time

    def _new_window(self) -> None:
        self.window_start = time.perf_counter()
        self.window_images = 0

    def end_epoch(self, row: dict) -> None:
        if self.listener is not None:
            self.listener({"kind": "epoch", **{k: row[k] for k in ("train_loss", "train_acc", "val_acc", "images_per_sec", "seconds")},
                           "epoch": row["epoch"] + 1, "epochs": self.epochs})
        if not self.enabled:
            return
        val = f" val_loss {row['val_loss']:.4f} val_acc {row['val_acc']:.3f}" if row["val_acc"] is not None else ""
        line = (
            f"epoch {row['epoch'] + 1}: train_loss {row['train_loss']:.4f} train_acc {row['train_acc']:.3f}{val} "
            f"lr {row['lr']:.2e} {row['images_per_sec']:.1f} img/s"
        )
        if self.bar is not None:
            self.bar.console.print(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
