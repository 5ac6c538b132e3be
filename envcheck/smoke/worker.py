"""The child process that imports torch and runs smoke-train's single-device phases.

Run as `python -m envcheck.smoke.worker CONFIG.json`. It writes one JSON object per line on its
original stdout: {"event": "start", "phase": ...} when a phase begins, {"event": "progress",
"phase": ..., "kind": "step" | "eval" | "epoch", ...} while the learning and throughput runs train
(reference_train's TrainConfig.on_progress, see envcheck.smoke.progress), and {"event": "result",
...} when it ends. Everything else anything prints (torch warnings, a library writing to fd 1) is
sent to stderr, which the parent keeps in a log, so the protocol stream stays parseable. The worker
writes its own lines there too (each starting "smoke-worker:"): a phase's start and end, and one
per progress event, so the log shows where a slow or hung phase was.

The parent owns the timeouts: if a phase hangs it kills this process's group and starts a fresh
worker for the phases left. A CUDA error that poisons the context (illegal address, device-side
assert) makes the worker exit after reporting, for the same reason.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from envcheck.i18n import N_, _
from envcheck.smoke.phases import clauses, get_phase, phase
from envcheck.smoke.progress import WORKER_LOG_PREFIX, log_line, step_in_epoch

# Tolerance of the numerics check, as max|device - float64 reference| / max|reference|. FP32 with
# K-term sums keeps that near sqrt(K) * 2^-24 (about 1e-6 for K=512); TF32 (10-bit mantissa) gives
# about 5e-4, and a broken kernel is off by O(1); 5e-5 separates them with margin.
NUMERICS_TOLERANCE = 5e-5

# Messages after which the CUDA context is unusable, so later phases need a fresh process.
_FATAL_CUDA = re.compile(r"CUDA error|CUBLAS_STATUS|cuDNN error|device-side assert|illegal memory access|NCCL error", re.I)


class PhaseFailed(Exception):
    """A check that ran and found a problem; carries the numbers measured so far."""

    def __init__(self, message: str, numbers: dict[str, Any] | None = None):
        super().__init__(message)
        self.numbers = numbers or {}


def kernels_for(capability: tuple[int, int], arch_list: list[str]) -> tuple[bool, str]:
    """Whether a torch build compiled for `arch_list` has code that runs on a GPU of `capability`,
    and why, in words. The rule is the doctor's (knowledge.covers, the torch.arch check): SASS for
    sm_XY runs on the same major with minor >= Y (torch's own _check_cubins compares majors the same
    way), PTX compute_XY is JIT-compiled for any newer GPU, sm_90a-style code only on its capability.
    """
    from envcheck.knowledge import covers

    major, minor = capability
    name = f"sm_{major * 10 + minor}"
    how = covers(arch_list, f"{major}.{minor}")
    if how == "cubin":
        if name in arch_list or f"{name}a" in arch_list:
            return True, _("the build has {arch} kernels").format(arch=name)
        return True, _("{arch} runs the build's kernels of the same major version").format(arch=name)
    if how == "ptx":
        return True, _("{arch} has no compiled kernels; the build's PTX is JIT-compiled (slow first start)").format(arch=name)
    built = " ".join(arch_list) or _("no CUDA architectures")
    return False, _(
        "this torch build has no kernels for {arch} (it was built for: {built}); install a torch build "
        "whose CUDA version supports this GPU (see `{command}`)"
    ).format(arch=name, built=built, command="envcheck doctor --only torch")


def compare_to_reference(result, reference) -> dict[str, float]:
    """Errors of a float32 result against its float64 reference, both torch tensors on the CPU."""
    diff = (result.double() - reference).abs()
    max_abs = float(diff.max())
    scale = float(reference.abs().max())
    finite = bool(result.isfinite().all())
    return {
        "max_abs_err": max_abs if finite else math.inf,
        "max_rel_err": (max_abs / scale if scale else max_abs) if finite else math.inf,
    }


class Worker:
    def __init__(self, config: dict[str, Any], emit: Callable[[dict[str, Any]], None]):
        self.config = config
        self.emit = emit
        self.out_dir = Path(config["out_dir"])
        self.device = config["device"]
        self.learning_result = None  # reused by the throughput phase when it ran in this process

    # -- helpers -------------------------------------------------------------------------------

    def train_config(self, name: str, small: bool, **overrides):
        from reference_train.train import TrainConfig

        cfg = self.config
        fields = dict(
            data_dir=Path(cfg["small_data_dir"] if small else cfg["data_dir"]),
            out_dir=self.out_dir / name,
            epochs=cfg["epochs"],
            batch_size=cfg["small_batch_size"] if small else cfg["batch_size"],
            image_size=cfg.get("small_image_size", cfg["image_size"]) if small else cfg["image_size"],
            seed=cfg["seed"],
            deterministic=cfg["deterministic"],
            amp=cfg["amp"],
            device=self.device,
            # The small set is a few dozen images: loading in-process beats starting worker processes.
            workers=0 if small else cfg.get("workers"),
            progress=False,
            plot=False,
            tensorboard=False,
            save_checkpoints=False,
            verify_data=False,  # the parent checked the data before starting
        )
        fields.update(overrides)
        return TrainConfig(**fields)

    def early_stop_fields(self, threshold: float) -> dict[str, Any]:
        """Stop the learning run as soon as it meets its bar, evaluating a few times an epoch
        (--epochs stays the cap)."""
        images = int(self.config.get("train_images") or 0)
        steps_per_epoch = max(1, math.ceil(images / self.config["batch_size"])) if images else 1
        per_epoch = int(self.config.get("evaluations_per_epoch") or 3)
        return {"target_accuracy": threshold, "eval_every_steps": max(1, steps_per_epoch // per_epoch)}

    def progress_listener(self, phase_name: str) -> Callable[[dict[str, Any]], None]:
        """TrainConfig.on_progress for a run of `phase_name`: each event goes to the parent on the
        protocol stream and as a short line to stderr (the worker's log).

        Evaluation events get the epoch count, steps per epoch and step within the epoch from the
        run's step events, so a line can say "epoch 1/3 step 62/125". A failure in here never
        fails the run it reports on."""
        shape: dict[str, Any] = {}

        def listen(event: dict[str, Any]) -> None:
            try:
                event = dict(event)
                kind = event.get("kind")
                if kind in ("step", "epoch"):
                    shape.update({k: event[k] for k in ("epochs", "steps_per_epoch") if k in event})
                elif kind == "eval":
                    for key in ("epochs", "steps_per_epoch"):
                        if key in shape:
                            event.setdefault(key, shape[key])
                    within = step_in_epoch(event, shape.get("steps_per_epoch"))
                    if within is not None:
                        event.setdefault("step_in_epoch", within)
                self.emit({"event": "progress", "phase": phase_name, **event})
                print(log_line(phase_name, event), file=sys.stderr, flush=True)
            except Exception as exc:  # noqa: BLE001 - progress is a courtesy, the run is the check
                print(f"{WORKER_LOG_PREFIX} progress report failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            _test_hook_hang(phase_name, event)

        return listen

    def synchronize(self) -> None:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    # -- phases --------------------------------------------------------------------------------

    @phase("device", N_("Device"), 180)
    def phase_device(self) -> tuple[dict[str, Any], str]:
        start = time.monotonic()
        import torch

        numbers: dict[str, Any] = {"torch": torch.__version__, "import_seconds": round(time.monotonic() - start, 2)}
        if self.device == "cpu":
            numbers["threads"] = torch.get_num_threads()
            numbers["cpu_count"] = os.cpu_count()
            x = torch.arange(1024, dtype=torch.float32)
            if float(x.sum()) != 1024 * 1023 / 2:
                raise PhaseFailed(_("a sum of 0..1023 on the CPU came out wrong"), numbers)
            return numbers, _("torch {version} on the CPU, {threads} threads").format(version=torch.__version__,
                                                                                      threads=numbers["threads"])

        numbers["cuda_build"] = torch.version.cuda
        if torch.version.cuda is None:
            raise PhaseFailed(
                _("torch {version} is a CPU-only build; install a CUDA build (the command is on {url})").format(
                    version=torch.__version__, url="https://pytorch.org/get-started/locally/"),
                numbers,
            )
        if not torch.cuda.is_available():
            raise PhaseFailed(
                _("torch.cuda.is_available() is False although a GPU was selected; run `envcheck doctor` "
                  "to see whether the driver is too old for this torch build or the device files are missing"),
                numbers,
            )
        numbers["visible_devices"] = torch.cuda.device_count()
        props = torch.cuda.get_device_properties(0)
        capability = (props.major, props.minor)
        arch_list = torch.cuda.get_arch_list()
        numbers.update(
            name=props.name,
            capability=f"{props.major}.{props.minor}",
            arch_list=arch_list,
            memory_gib=round(props.total_memory / 2**30, 1),
            cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        )
        try:
            version = torch.cuda.nccl.version()  # a tuple in recent torch, an int (2708) in old ones
            numbers["nccl"] = ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
        except Exception:  # noqa: BLE001 - NCCL is absent from some builds; that is only a number
            numbers["nccl"] = None
        ok, why = kernels_for(capability, arch_list)
        numbers["kernels"] = why
        if not ok:
            raise PhaseFailed(why, numbers)
        x = torch.arange(1024, dtype=torch.float32, device=self.device)
        total = float(x.sum())
        torch.cuda.synchronize()
        if total != 1024 * 1023 / 2:
            raise PhaseFailed(_("a sum of 0..1023 on {name} came out as {total}").format(name=props.name, total=total),
                              numbers)
        summary = f"{props.name} (sm_{props.major}{props.minor}), torch {torch.__version__} CUDA {torch.version.cuda}"
        note = self.memory_note(numbers)
        return numbers, clauses(summary, why, note or "")

    def memory_note(self, numbers: dict[str, Any]) -> str | None:
        """Free/total device memory into `numbers`, and a warning (not a failure) when the free
        memory is clearly below what the learning run needs: a 4-8 GB laptop GPU, a small MIG
        slice, a GPU mostly used by someone else."""
        memory = device_memory(self.device)
        if memory is None:
            return None
        free, total = memory
        cfg = self.config
        from reference_train.train import estimate_training_memory_bytes

        amp = cfg.get("amp")
        needed = estimate_training_memory_bytes(batch_size=cfg["batch_size"], image_size=cfg["image_size"],
                                                amp=True if amp is None else bool(amp))  # None: on for GPUs
        numbers.update(free_mib=round(free / 2**20), total_mib=round(total / 2**20),
                       learning_needs_mib=round(needed / 2**20))
        if free >= needed:
            return None
        note = _(
            "only {free} GiB of {total} GiB is free on this GPU and the learning run needs about "
            "{needed} GiB (batch {batch}, {size} px): it may run out of memory; "
            "use a smaller --batch-size or --image-size, or a GPU other processes are not using"
        ).format(free=f"{free / 2**30:.2f}", total=f"{total / 2**30:.2f}", needed=f"{needed / 2**30:.2f}",
                 batch=cfg["batch_size"], size=cfg["image_size"])
        numbers["memory_note"] = note
        return note

    @phase("numerics", N_("Numerics"), 120)
    def phase_numerics(self) -> tuple[dict[str, Any], str]:
        import torch
        import torch.nn.functional as F

        generator = torch.Generator().manual_seed(self.config["seed"])
        a = torch.randn(256, 512, generator=generator)
        b = torch.randn(512, 256, generator=generator)
        images = torch.randn(8, 16, 32, 32, generator=generator)
        kernel = torch.randn(32, 16, 3, 3, generator=generator)

        matmul_ref = a.double() @ b.double()
        conv_ref = F.conv2d(images.double(), kernel.double(), padding=1)
        # TF32 would trade precision for speed and fail the tolerance by design: measure FP32.
        saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        try:
            matmul_out = (a.to(self.device) @ b.to(self.device)).cpu()
            conv_out = F.conv2d(images.to(self.device), kernel.to(self.device), padding=1).cpu()
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[:2]
            torch.set_float32_matmul_precision(saved[2])
        matmul = compare_to_reference(matmul_out, matmul_ref)
        conv = compare_to_reference(conv_out, conv_ref)
        numbers = {
            "matmul_max_abs_err": matmul["max_abs_err"],
            "matmul_max_rel_err": matmul["max_rel_err"],
            "conv_max_abs_err": conv["max_abs_err"],
            "conv_max_rel_err": conv["max_rel_err"],
            "tolerance_rel": NUMERICS_TOLERANCE,
            "shapes": "matmul 256x512 @ 512x256; conv2d 8x16x32x32 * 32x16x3x3",
        }
        worst = max(matmul["max_rel_err"], conv["max_rel_err"])
        summary = _("fp32 vs float64: matmul rel err {matmul}, conv rel err {conv} (tolerance {tolerance})").format(
            matmul=f"{matmul['max_rel_err']:.1e}", conv=f"{conv['max_rel_err']:.1e}", tolerance=f"{NUMERICS_TOLERANCE:.0e}")
        if not worst <= NUMERICS_TOLERANCE:
            if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"):
                message = _("results differ from the float64 reference: {summary} (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE is "
                            "set, which forces TF32 matmuls; unset it to measure FP32)")
            else:
                message = _("results differ from the float64 reference: {summary}")
            raise PhaseFailed(message.format(summary=summary), numbers)
        return numbers, summary

    @phase("learning", N_("Learning"), 900)
    def phase_learning(self) -> tuple[dict[str, Any], str]:
        from reference_train.train import train

        threshold = self.config["accuracy_threshold"]
        early = self.early_stop_fields(threshold)
        cfg = self.train_config("learning", small=False, plot=True, save_checkpoints=True,
                                on_progress=self.progress_listener("learning"), **early)
        result = train(cfg)
        self.learning_result = result
        numbers = {
            "final_val_acc": round(result.final_val_acc, 4),
            "best_val_acc": round(result.best_val_acc, 4),
            "threshold": threshold,
            "epochs": len(result.epochs),
            "steps": result.steps,
            "first_train_loss": round(result.epochs[0]["train_loss"], 4) if result.epochs else None,
            "last_train_loss": round(result.epochs[-1]["train_loss"], 4) if result.epochs else None,
            "classes": result.class_names,
            "plot": str(result.plot_path) if result.plot_path else None,
            "metrics": str(result.metrics_path) if result.metrics_path else None,
            "max_epochs": self.config["epochs"],
            "eval_every_steps": early["eval_every_steps"],
            "stopped_early": result.stopped_early,
            "target_reached_at_step": result.target_reached_at_step,
        }
        figures = dict(accuracy=f"{result.final_val_acc:.1%}", epochs=len(result.epochs), step=result.steps,
                       needs=f"{threshold:.0%}", first=numbers["first_train_loss"], last=numbers["last_train_loss"])
        if numbers["stopped_early"]:
            summary = _("val accuracy {accuracy} after {epochs} epoch(s), stopped early at step {step} once the bar was "
                        "met (needs >= {needs}); train loss {first} -> {last}").format(**figures)
        else:
            summary = _("val accuracy {accuracy} after {epochs} epoch(s) (needs >= {needs}); train loss {first} -> "
                        "{last}").format(**figures)
        if not result.final_val_acc >= threshold:
            raise PhaseFailed(_("the model did not learn: {summary}").format(summary=summary), numbers)
        return numbers, summary

    @phase("determinism", N_("Determinism"), 300)
    def phase_determinism(self) -> tuple[dict[str, Any], str]:
        from reference_train.train import train

        steps = self.config["short_steps"]
        runs = []
        for name in ("determinism_a", "determinism_b"):
            runs.append(train(self.train_config(name, small=True, deterministic=True, epochs=self.config["resume_epochs"],
                                                max_steps=steps, eval_every_epoch=False)))
        first, second = runs[0].step_losses, runs[1].step_losses
        differing = [i for i, (x, y) in enumerate(zip(first, second)) if x != y]
        max_diff = max((abs(x - y) for x, y in zip(first, second)), default=0.0)
        numbers = {
            "steps": len(first),
            "identical_losses": not differing and len(first) == len(second),
            "first_differing_step": differing[0] if differing else None,
            "max_loss_diff": max_diff,
            "same_state_digest": runs[0].state_digest == runs[1].state_digest,
            "mode": "bitwise, deterministic algorithms on",
        }
        if not first:
            raise PhaseFailed(_("the runs recorded no step losses to compare"), numbers)
        if differing or len(first) != len(second):
            raise PhaseFailed(
                _("two runs with seed {seed} diverged at step {step} (largest loss difference {difference})").format(
                    seed=self.config["seed"], step=numbers["first_differing_step"], difference=f"{max_diff:.3g}"),
                numbers,
            )
        if not numbers["same_state_digest"]:
            raise PhaseFailed(_("the step losses matched but the final weights differ between the two runs"), numbers)
        return numbers, _("two seeded runs gave bitwise-identical losses over {steps} steps and identical weights").format(
            steps=len(first))

    @phase("checkpoint", N_("Checkpoint"), 300)
    def phase_checkpoint(self) -> tuple[dict[str, Any], str]:
        import torch
        from reference_train.checkpoint import REQUIRED_KEYS
        from reference_train.train import train

        total = self.config["resume_epochs"]
        stop_at = self.config["resume_stop_step"]
        full = train(self.train_config("checkpoint_full", small=True, deterministic=True, epochs=total, eval_every_epoch=False))
        first = train(self.train_config("checkpoint_resume", small=True, deterministic=True, epochs=total,
                                        max_steps=stop_at, save_checkpoints=True, eval_every_epoch=False))
        numbers: dict[str, Any] = {"steps_uninterrupted": full.steps, "stopped_at_step": first.steps}
        if first.checkpoint_path is None or not Path(first.checkpoint_path).is_file():
            raise PhaseFailed(_("the run stopped at step {step} wrote no checkpoint").format(step=stop_at), numbers)
        # The checkpoint must load with the safe unpickler, as anyone downloading it should load it.
        state = torch.load(first.checkpoint_path, map_location="cpu", weights_only=True)
        missing = [key for key in REQUIRED_KEYS if key not in state]
        numbers["weights_only_load"] = True
        numbers["checkpoint_step"] = state.get("step")
        numbers["checkpoint_bytes"] = Path(first.checkpoint_path).stat().st_size
        if missing:
            raise PhaseFailed(_("the checkpoint lacks {keys}").format(keys=", ".join(missing)), numbers)
        resumed = train(self.train_config("checkpoint_resume", small=True, deterministic=True, epochs=total,
                                          resume=Path(first.checkpoint_path), eval_every_epoch=False))
        numbers["steps_after_resume"] = resumed.steps
        numbers["same_state_digest"] = resumed.state_digest == full.state_digest
        # The resumed run records only the steps after the checkpoint: they must be the uninterrupted run's.
        numbers["same_loss_tail"] = resumed.step_losses == full.step_losses[stop_at:]
        if not numbers["same_state_digest"]:
            raise PhaseFailed(
                _("stopping at step {step} and resuming gave different final weights than an uninterrupted "
                  "{steps}-step run").format(step=stop_at, steps=full.steps),
                numbers,
            )
        if not numbers["same_loss_tail"]:
            raise PhaseFailed(_("resumed step losses differ from the uninterrupted run's"), numbers)
        return numbers, _(
            "stopped at step {step}, resumed to step {resumed}: same weights as an uninterrupted run; "
            "checkpoint loads with weights_only=True"
        ).format(step=stop_at, resumed=resumed.steps)

    @phase("amp", N_("Mixed precision"), 180)
    def phase_amp(self) -> tuple[dict[str, Any], str]:
        from reference_train.train import train

        result = train(self.train_config("amp", small=True, amp=True, max_steps=2, eval_every_epoch=False))
        losses = list(result.step_losses)
        numbers = {"amp_dtype": result.amp_dtype, "losses": losses, "steps": result.steps}
        if not result.amp_dtype:
            raise PhaseFailed(_("autocast was requested but the run used no reduced precision"), numbers)
        if not losses or not all(math.isfinite(x) for x in losses):
            raise PhaseFailed(_("mixed-precision ({dtype}) steps gave a non-finite loss: {losses}").format(
                dtype=result.amp_dtype, losses=losses), numbers)
        return numbers, _("{dtype} autocast: {steps} step(s), finite loss {loss}").format(
            dtype=result.amp_dtype, steps=len(losses), loss=f"{losses[-1]:.4f}")

    @phase("throughput", N_("Throughput"), 600)
    def phase_throughput(self) -> tuple[dict[str, Any], str]:
        from reference_train.train import train

        result = self.learning_result
        source = "learning run"
        if result is None or not (math.isfinite(result.images_per_sec) and result.images_per_sec > 0):
            # No learning run in this process, or one too short to time past its warm-up.
            source = "own run"
            # Enough steps past the warm-up for a steady rate, without a whole epoch of a big --data set.
            steps = self.config["throughput_steps"]
            images = int(self.config.get("train_images") or 0)
            per_epoch = max(1, math.ceil(images / self.config["batch_size"])) if images else steps
            # As many epochs as a small data set needs to reach the steps (the timer runs across epochs).
            result = train(self.train_config("throughput", small=False, epochs=max(1, math.ceil(steps / per_epoch)),
                                             max_steps=steps, eval_every_epoch=False,
                                             on_progress=self.progress_listener("throughput")))
        numbers: dict[str, Any] = {
            "images_per_sec": round(result.images_per_sec, 1),
            "batch_size": self.config["batch_size"],
            "image_size": self.config["image_size"],
            "amp_dtype": result.amp_dtype,
            "source": source,
        }
        # The speed settings reference_train chose for this device (memory format, loader workers,
        # cuDNN autotuning) and why: a rate means little without them.
        chosen = dict(result.settings)
        numbers["settings"] = chosen
        loading = None
        if "workers" in chosen:
            loading = (_("{count} loader workers").format(count=chosen["workers"]) if chosen.get("workers")
                       else _("in-process loading"))
        how = ", ".join(str(part) for part in (
            {"channels_last": "channels_last", "contiguous": "NCHW"}.get(str(chosen.get("memory_format")), chosen.get("memory_format")),
            loading,
            _("cuDNN autotune") if chosen.get("cudnn_benchmark") else None,
        ) if part)
        if result.peak_memory_bytes is not None:
            numbers["peak_device_memory_mib"] = round(result.peak_memory_bytes / 2**20, 1)
            memory = _("peak GPU memory {mib} MiB").format(mib=f"{numbers['peak_device_memory_mib']:.0f}")
        else:
            import resource

            # The CPU has no separate device memory: the process's peak resident size stands in.
            numbers["peak_process_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            memory = _("peak process RSS {mib} MiB").format(mib=f"{numbers['peak_process_rss_mib']:.0f}")
        if not (math.isfinite(result.images_per_sec) and result.images_per_sec > 0):
            raise PhaseFailed(_("no throughput was measured ({rate} images/s)").format(rate=result.images_per_sec), numbers)
        figures = dict(rate=f"{result.images_per_sec:.0f}", size=self.config["image_size"],
                       batch=self.config["batch_size"], how=how, memory=memory)
        if how:
            # TRANSLATORS: {how}: the speed settings, e.g. "channels_last, 2 loader workers, cuDNN autotune";
            # {memory}: "peak GPU memory 1234 MiB" or "peak process RSS 812 MiB".
            return numbers, _("{rate} images/s training ({size} px, batch {batch}, {how}, warm-up excluded); "
                              "{memory}").format(**figures)
        return numbers, _("{rate} images/s training ({size} px, batch {batch}, warm-up excluded); {memory}").format(**figures)

    # -- driver --------------------------------------------------------------------------------

    def run_phase(self, name: str) -> bool:
        """Run one phase and emit its result; returns False when this process must not go on."""
        self.emit({"event": "start", "phase": name})
        print(f"{WORKER_LOG_PREFIX} {name} phase started", file=sys.stderr, flush=True)
        start = time.monotonic()
        record: dict[str, Any] = {"event": "result", "phase": name, "passed": False, "numbers": {}, "summary": "", "error": None}
        fatal = False
        try:
            with preserved_flags():
                _test_hook_sleep(name)
                numbers, summary = get_phase(name).run(self)
            record.update(passed=True, numbers=numbers, summary=summary)
        except PhaseFailed as exc:
            record.update(numbers=exc.numbers, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure is this check's result, not a crash
            if is_out_of_memory(exc):
                error, numbers = self.out_of_memory_report(name, exc)
                record.update(numbers=numbers, error=error)
            else:
                traceback.print_exc(file=sys.stderr)
                message = " ".join(str(exc).split()) or type(exc).__name__
                record["error"] = f"{type(exc).__name__}: {message[:400]}"
                fatal = bool(_FATAL_CUDA.search(f"{type(exc).__name__} {exc}"))
        record["seconds"] = round(time.monotonic() - start, 2)
        outcome = "pass" if record["passed"] else f"FAIL: {record['error']}"
        print(f"{WORKER_LOG_PREFIX} {name} phase: {outcome} ({record['seconds']:.1f} s)", file=sys.stderr, flush=True)
        self.emit(record)
        return not fatal

    def out_of_memory_report(self, name: str, exc: BaseException) -> tuple[str, dict[str, Any]]:
        """One line for an out-of-memory failure: free/total memory of the GPU and what to change."""
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        # The failed step's tensors are referenced from the traceback's frames: release them, so
        # "free" is what the GPU has with this run at rest (what other processes leave us).
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        import gc

        gc.collect()
        numbers: dict[str, Any] = {"out_of_memory": True, "batch_size": self.config.get("batch_size"),
                                   "image_size": self.config.get("image_size")}
        memory = device_memory(self.device, empty_cache=True)
        if memory is not None:
            free, total = memory
            numbers.update(free_mib=round(free / 2**20), total_mib=round(total / 2**20))
            where = _("{free} GiB of {total} GiB free on {device}").format(
                free=f"{free / 2**30:.2f}", total=f"{total / 2**30:.2f}", device=self.device)
        else:
            where = _("free memory of {device} unknown").format(device=self.device)
        error = _(
            "out of memory in the {phase} phase ({where}; batch {batch}, {size} px): "
            "rerun with a smaller --batch-size or --image-size, or choose a GPU other processes are not using (--gpu N)"
        ).format(phase=name, where=where, batch=numbers["batch_size"], size=numbers["image_size"])
        return error, numbers


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's CUDA OOM (torch.cuda.OutOfMemoryError), or reference_train's OutOfMemory wrapping it."""
    if "torch" not in sys.modules:  # the failure came before torch was imported
        return False
    import torch
    from reference_train.errors import OutOfMemory

    return isinstance(exc, (torch.cuda.OutOfMemoryError, OutOfMemory))


def device_memory(device: str, empty_cache: bool = False) -> tuple[int, int] | None:
    """(free, total) bytes of a CUDA device as the driver reports them (other processes' use
    included), or None for the CPU or when it cannot be read."""
    if not device.startswith("cuda"):
        return None
    try:
        import torch

        if empty_cache:
            torch.cuda.empty_cache()
        index = torch.device(device).index or 0
        free, total = torch.cuda.mem_get_info(index)
        return int(free), int(total)
    except Exception:  # noqa: BLE001 - a number for the report, never a second failure
        return None


@contextlib.contextmanager
def preserved_flags():
    """Keep torch's process-wide switches (deterministic mode, cuDNN, TF32) as each phase found them."""
    if "torch" not in sys.modules:
        # The first phase imports torch (and times that): nothing has been set that could leak yet.
        yield
        return
    from reference_train.seeding import preserved_torch_flags

    with preserved_torch_flags():
        yield


def _test_hook_sleep(phase: str) -> None:
    """ENVCHECK_SMOKE_TEST_SLEEP="learning=60": make a phase hang, so tests can prove timeouts work."""
    spec = os.environ.get("ENVCHECK_SMOKE_TEST_SLEEP", "")
    for item in spec.split(","):
        name, _, seconds = item.partition("=")
        if name.strip() == phase and seconds:
            print(f"test hook: {phase} phase sleeps {seconds} s", file=sys.stderr, flush=True)
            time.sleep(float(seconds))


def _test_hook_hang(phase: str, event: dict[str, Any]) -> None:
    """ENVCHECK_SMOKE_TEST_HANG="learning@eval=60": sleep in the phase's progress listener at its
    first event of that kind (after training started), so tests can prove that a phase timing out
    mid-run reports the figures it had reached."""
    spec = os.environ.get("ENVCHECK_SMOKE_TEST_HANG", "")
    for item in spec.split(","):
        where, _, seconds = item.partition("=")
        name, _, kind = where.partition("@")
        if name.strip() == phase and kind.strip() == event.get("kind") and seconds:
            print(f"test hook: {phase} phase hangs {seconds} s at its first {kind} event", file=sys.stderr, flush=True)
            time.sleep(float(seconds))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text())
    # Keep the protocol on a private copy of stdout; point fd 1 at stderr for everyone else.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(record: dict[str, Any]) -> None:
        protocol.write(json.dumps(record, default=str) + "\n")
        protocol.flush()

    worker = Worker(config, emit)
    for name in config["phases"]:
        if not worker.run_phase(name):
            return 3
    return 0


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy: the phase registry holds the imported
    # module's functions, whose PhaseFailed must be the one run_phase catches.
    from envcheck.smoke.worker import main as imported_main

    sys.exit(imported_main())
