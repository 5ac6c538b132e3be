"""`envcheck smoke-train`: train a small model on the chosen GPU(s) and say PASS or FAIL.

This module only parses flags, refuses bad input in one sentence, picks the device and hands the
work to envcheck.smoke. It never imports torch itself (the children do), so `envcheck --help`
stays fast and a torch that hangs on CUDA start-up becomes a failed check, not a frozen command.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import sys
import signal
import tempfile
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console

from envcheck.core.errors import UserError
from envcheck.i18n import _, current_language, join, ngettext
from envcheck.util import progress
from envcheck.util.reasons import os_error

# The learning phase trains a randomly initialised ResNet18 on the built-in cat/dog set: 1000
# training images per class, 100 validation images per class, 48 px, at most 3 epochs, and stops
# as soon as the bar is met (evaluated about six times an epoch). Measured on a 2-core CPU without
# AVX-512 (GENERATOR_VERSION 2, torch 2.14.1, batch 32, Adam 1e-3 cosine, evaluation every 10
# steps): the bar was met at step 80, 70 and 60 for seeds 0, 1, 2 (45-56 s); at 64 px the same
# CPU needs 100 steps and about 80 s, as fast per image (the CPU is compute-bound at 49-62 img/s
# either way) but slower per step. With 200 images per class the run stalls near 0.65-0.70:
# from random weights, the number of optimizer steps matters.
# A model that learned nothing reaches 80% of 200 balanced validation images with probability
# below 1e-17 (binomial, p=0.5), so the bar separates "learns" from "broken" with a wide margin.
SYNTHETIC_ACCURACY = 0.80
LEARN_TRAIN_PER_CLASS = 1000
LEARN_VAL_PER_CLASS = 100
# On the user's data the bar is "clearly better than always guessing the largest class".
MARGIN_OVER_MAJORITY = 0.05
# The determinism, checkpoint and mixed-precision phases prove the stack, not the data: they run
# a few steps on a small synthetic set whatever --data says, so they take seconds everywhere.
SMALL_TRAIN_PER_CLASS = 24
SMALL_VAL_PER_CLASS = 8
SMALL_BATCH = 8  # 48 images -> 6 steps per epoch
# 32 px, the smallest ResNet18 takes: these phases check kernels, RNG and checkpoint state, which
# do not depend on the image size; it makes them about a third faster on a CPU.
SMALL_IMAGE_SIZE = 32
DEFAULT_IMAGE_SIZE = 48
EVALUATIONS_PER_EPOCH = 6
SHORT_STEPS = 8  # determinism: crosses an epoch boundary (reshuffle) at step 6
RESUME_EPOCHS = 2  # checkpoint: 12 steps uninterrupted ...
RESUME_STOP_STEP = 9  # ... or stopped mid-epoch 2 and resumed
THROUGHPUT_STEPS = 20  # when the learning run's rate is not available: 3 warm-up + 17 timed steps
# reference_train.train.WARMUP_STEPS, the untimed first steps of a run (not imported: that module
# imports torch, which this process never loads; a test keeps the two equal).
TRAIN_WARMUP_STEPS = 3
# A --data set too small for the learning and throughput verdicts to mean anything: those two
# checks are then not judged (reported as skipped, not failed), and the other checks decide.
# Both need every epoch to hold at least MIN_STEPS_PER_EPOCH optimizer steps of --batch-size images:
#   - learning evaluates EVALUATIONS_PER_EPOCH (6) times an epoch, every steps_per_epoch // 6 steps,
#     and stops at the first evaluation that meets its bar: an epoch needs at least 6 steps to hold
#     its evaluations, and --epochs 3 of 1-2 steps are a handful of updates from random weights,
#     which judges the step count, not the stack;
#   - throughput times the steps after the TRAIN_WARMUP_STEPS (3) warm-up steps, each epoch's data
#     loader start included: an epoch needs at least as many timed steps as warm-up ones (2 * 3),
#     or the rate is mostly warm-up and loader restarts.
#   MIN_STEPS_PER_EPOCH = max(EVALUATIONS_PER_EPOCH, 2 * TRAIN_WARMUP_STEPS) = 6
# The loader drops the last partial batch, so steps per epoch = floor(train images / batch size), and
#   min_train_images = MIN_STEPS_PER_EPOCH * batch_size      (192 at the default --batch-size 32).
MIN_STEPS_PER_EPOCH = max(EVALUATIONS_PER_EPOCH, 2 * TRAIN_WARMUP_STEPS)
SIZE_JUDGED_PHASES = ("learning", "throughput")
DDP_SIZE_MB = {"cuda": 64.0, "cpu": 8.0}

TORCH_INSTALL = 'pip install "envcheck[train]"'
TORCH_INSTALL_URL = "https://pytorch.org/get-started/locally/"
TORCH_INSTALL_EXAMPLE = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cu128"


def _require_torch() -> None:
    missing = []
    for name in ("torch", "torchvision"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    if missing:
        names = " and ".join(missing) if current_language() == "en" else join(missing)
        raise UserError(ngettext(
            "{names} is not installed in {python}; install it with `{install}`, or for a specific CUDA build the "
            "command from {url} (e.g. `{example}`).",
            "{names} are not installed in {python}; install them with `{install}`, or for a specific CUDA build the "
            "command from {url} (e.g. `{example}`).",
            len(missing)).format(names=names, python=sys.executable, install=TORCH_INSTALL, url=TORCH_INSTALL_URL,
                                 example=TORCH_INSTALL_EXAMPLE))
    from importlib import metadata

    from envcheck.util.support import below_floor

    for name in ("torch", "torchvision"):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:  # a source checkout on PYTHONPATH: no record to read
            continue
        problem = below_floor(name, version)
        if problem:
            raise UserError(problem)


# Upper bounds on the numbers, so a typo is refused in one line before anything starts instead of
# failing every check (a seed torch cannot take) or dying with MemoryError (a 100000-px image).
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a 64-bit value; numpy and random accept this range too
MAX_IMAGE_SIZE = 1024
MAX_BATCH_SIZE = 4096
MAX_EPOCHS = 1000
MAX_LEARN_PER_CLASS = 100_000
# A phase limit beyond this is a typo (and past threading.TIMEOUT_MAX a wait cannot even be set up).
MAX_TIMEOUT_S = 7 * 24 * 3600


def _validate_numbers(epochs: int, image_size: int, batch_size: int, timeout: float | None, seed: int = 0,
                      learn_per_class: int = LEARN_TRAIN_PER_CLASS) -> None:
    if epochs < 1:
        raise UserError(_("--epochs {epochs}: train for at least 1 epoch.").format(epochs=epochs))
    if epochs > MAX_EPOCHS:
        raise UserError(_("--epochs {epochs} is more than a smoke test needs; use at most {most}.").format(
            epochs=epochs, most=MAX_EPOCHS))
    if image_size < 32:
        raise UserError(_("--image-size {size} is too small for ResNet18 (it downsamples 32x); use 32 or more.").format(
            size=image_size))
    if image_size > MAX_IMAGE_SIZE:
        raise UserError(_("--image-size {size} is too large; use at most {most} (224 is the ImageNet standard).").format(
            size=image_size, most=MAX_IMAGE_SIZE))
    if batch_size < 1:
        raise UserError(_("--batch-size {size}: use at least 1.").format(size=batch_size))
    if batch_size > MAX_BATCH_SIZE:
        raise UserError(_("--batch-size {size} is too large; use at most {most}.").format(size=batch_size, most=MAX_BATCH_SIZE))
    if not 0 <= seed <= MAX_SEED:
        raise UserError(_("--seed {seed} is out of range; give a whole number from 0 to 2**63-1 ({most}).").format(
            seed=seed, most=MAX_SEED))
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UserError(_("--timeout {timeout}: give the seconds each phase may take, from 1e-3 to {most} "
                          "(a week), e.g. --timeout 600.").format(timeout=f"{timeout:g}", most=MAX_TIMEOUT_S))
    if not 1 <= learn_per_class <= MAX_LEARN_PER_CLASS:
        raise UserError(_("--learn-per-class {count}: use 1 to {most} images per class.").format(
            count=learn_per_class, most=MAX_LEARN_PER_CLASS))


def parse_phase_timeouts(items: list[str], default: float | None) -> dict[str, float]:
    from envcheck.smoke.phases import default_timeouts

    timeouts = {name: float(default if default is not None else seconds) for name, seconds in default_timeouts().items()}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not sep or name not in timeouts or not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT_S):
            raise UserError(_("--phase-timeout {item}: write PHASE=SECONDS (SECONDS up to {most}) with PHASE one of "
                              "{phases}.").format(item=repr(item), most=MAX_TIMEOUT_S, phases=", ".join(timeouts)))
        timeouts[name] = seconds
    return timeouts


def parse_phases(items: list[str]) -> list[str] | None:
    """--phase NAME (repeatable): run only these phases, in their usual order (tests)."""
    if not items:
        return None
    from envcheck.smoke.phases import registered

    known = [p.name for p in registered()]
    wanted = [part.strip() for item in items for part in item.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise UserError(_("--phase {names}: choose from {phases}.").format(names=",".join(unknown) or repr(""),
                                                                           phases=", ".join(known)))
    return [name for name in known if name in wanted]


def check_data_dir(data: Path) -> float:
    """Refuse a data folder ImageFolder would choke on; return the learning threshold for it."""
    return inspect_data_dir(data)[0]


def inspect_data_dir(data: Path) -> tuple[float, int]:
    """check_data_dir's refusals, in one pass over the folder; returns the learning threshold and
    the number of training images."""
    from reference_train.datacheck import check_imagefolder

    report = check_imagefolder(data)
    if not report.ok:
        # The first problems that fit in one readable line; the rest are a count and a pointer.
        shown = report.problems[:1]
        for problem in report.problems[1:]:
            if sum(map(len, shown)) + len(problem) > 300:
                break
            shown.append(problem)
        more = len(report.problems) - len(shown)
        problems = " ".join(p.rstrip() for p in shown)
        if more > 0:
            raise UserError(ngettext(
                "--data {data} cannot be used: {problems} (and {count} more problem; run `{command}` for all)",
                "--data {data} cannot be used: {problems} (and {count} more problems; run `{command}` for all)",
                more).format(data=data, problems=problems, count=more, command=f"envcheck check-data {data}"))
        raise UserError(_("--data {data} cannot be used: {problems}").format(data=data, problems=problems))
    classes = report.classes.get("train") or []
    if len(classes) < 2:
        raise UserError(_("--data {data} has {count} class folder(s); a classifier needs at least 2 (e.g. train/cat/, "
                          "train/dog/).").format(data=data, count=len(classes)))
    val_counts = report.counts.get("val") or {}
    total = sum(val_counts.values())
    majority = max(val_counts.values()) / total if total else 1.0 / len(classes)
    train_images = sum((report.counts.get("train") or {}).values())
    return min(0.99, round(majority + MARGIN_OVER_MAJORITY, 4)), train_images


def too_small_to_judge(train_images: int, batch_size: int) -> tuple[str, dict[str, Any]] | None:
    """Why a --data set is too small for the learning and throughput verdicts (see
    MIN_STEPS_PER_EPOCH), with the figures; None when it is large enough."""
    need = MIN_STEPS_PER_EPOCH * batch_size
    if train_images >= need:
        return None
    steps = train_images // batch_size if train_images >= batch_size else (1 if train_images else 0)
    numbers = {"train_images": train_images, "batch_size": batch_size, "steps_per_epoch": steps,
               "min_steps_per_epoch": MIN_STEPS_PER_EPOCH, "min_train_images": need}
    reason = ngettext(
        "the data set is too small to judge: {images} training images make {steps} step of batch {batch} an epoch; "
        "the learning and throughput checks need at least {min_steps} steps an epoch, i.e. {need} training images "
        "({min_steps} x --batch-size {batch})",
        "the data set is too small to judge: {images} training images make {steps} steps of batch {batch} an epoch; "
        "the learning and throughput checks need at least {min_steps} steps an epoch, i.e. {need} training images "
        "({min_steps} x --batch-size {batch})",
        steps).format(images=train_images, steps=steps, batch=batch_size, min_steps=MIN_STEPS_PER_EPOCH, need=need)
    return reason, numbers


def _train_images(data: Path) -> int:
    """How many training images --data has (sets how often the learning run evaluates)."""
    from reference_train.datacheck import check_imagefolder

    return sum((check_imagefolder(data).counts.get("train") or {}).values())


def _nvidia_gpus() -> tuple[list[dict[str, Any]], str | None]:
    from envcheck.core.context import Context
    from envcheck.core.runner import collect

    facts = collect(Context(), ["nvidia"])
    data = facts.data("nvidia")
    gpus = [g for g in data.get("gpus") or [] if isinstance(g, dict)]
    if gpus:
        return gpus, None
    reasons = [facts.error("nvidia"), data.get("error")]
    nvml_error = data.get("nvml_error") or {}
    if isinstance(nvml_error, dict) and nvml_error.get("message"):
        reasons.append(f"NVML: {nvml_error['message']}")
    smi = data.get("smi") or {}
    if isinstance(smi, dict) and smi.get("error"):
        reasons.append(str(smi["error"]))
    return gpus, "; ".join(str(r) for r in reasons if r) or None


def fingerprint(child_env: dict[str, str], base_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The doctor's facts about this machine (system, driver, torch), for --json and --out.

    Gathered after the phases, never beside them, and with the training children's environment
    (CUDA_VISIBLE_DEVICES = the GPUs under test, "" for --cpu), with the torch probe told to create
    no CUDA context: smoke-train touches no GPU that is not under test (another user's GPU, or an
    Exclusive-Process GPU the worker holds).
    """
    try:
        from envcheck.commands import common
        from envcheck.core.context import Context
        from envcheck.facts.torch_probe import NO_CONTEXT_ENV

        env = dict(base_env) if base_env is not None else _child_env({})
        env.update(child_env)
        env[NO_CONTEXT_ENV] = "1"
        facts, findings = common.gather(Context(env=env), only=["system", "driver", "torch"])
        return {
            "facts": {name: (result.data if result.ok else {"error": result.error}) for name, result in sorted(facts.items())},
            "findings": [{"id": f.id, "status": f.status.value, "summary": f.summary} for f in findings],
        }
    except Exception as exc:  # noqa: BLE001 - the fingerprint is context, never a reason to fail
        return {"error": f"{type(exc).__name__}: {exc}"}


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived: unwind to the command, which stops the children.

    A KeyboardInterrupt, so no `except Exception` on the way swallows it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class RunGuard:
    """Everything a smoke-train run must undo however it ends: the child processes (tracked in
    envcheck.smoke.phases.CHILDREN), the temporary folders, and the signal handlers it installs.

    SIGINT, SIGTERM and SIGHUP become Interrupted in the main thread. The children run in their
    own sessions (so a hung one can be killed with its whole group), which also means the
    terminal's Ctrl-C reaches only this process: stopping them is this class's job.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.temp_dirs: list[Path] = []
        self._saved: dict[int, Any] = {}
        self._child_tmp: Path | None = None

    def __enter__(self) -> "RunGuard":
        if threading_is_main():
            for sig in self.SIGNALS:
                self._saved[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    def _quiet(self) -> None:
        """While cleaning up, a second Ctrl-C must not cut the clean-up short."""
        for sig in self._saved:
            signal.signal(sig, signal.SIG_IGN)

    def temp_dir(self, prefix: str = "envcheck-smoke-") -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.temp_dirs.append(path)
        return path

    def child_env(self, extra: dict[str, str]) -> dict[str, str]:
        """The children's environment, with a private TMPDIR removed with the run: torchrun's
        torchelastic_* log folders and anything else a child puts in the temp folder go with it."""
        if self._child_tmp is None:
            self._child_tmp = self.temp_dir("envcheck-smoke-tmp-")
        env = _child_env(extra)
        for name in ("TMPDIR", "TMP", "TEMP"):
            env[name] = str(self._child_tmp)
        return env

    def remove_temp_dirs(self) -> list[Path]:
        removed = []
        for path in self.temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        self.temp_dirs.clear()
        self._child_tmp = None
        return removed

    def stop_everything(self, sweep: bool) -> int:
        """Stop the registered children; with sweep, also anything else still below this process
        (the fingerprint's probe, a child started just as the signal came)."""
        from envcheck.smoke.phases import CHILDREN, stop_descendants

        stopped = CHILDREN.stop_all()
        return stopped + (stop_descendants() if sweep else 0)

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None or issubclass(exc_type, (typer.Exit, SystemExit)):
                self.remove_temp_dirs()
                return False
            self._quiet()
            interrupted = issubclass(exc_type, KeyboardInterrupt)
            stopped = self.stop_everything(sweep=interrupted)
            removed = self.remove_temp_dirs()
            if interrupted:
                signum = getattr(exc, "signum", signal.SIGINT)
                name = signal.Signals(signum).name
                if removed:
                    line = ngettext("envcheck: interrupted ({signal}): stopped {count} process, removed {folders}",
                                    "envcheck: interrupted ({signal}): stopped {count} processes, removed {folders}",
                                    stopped).format(signal=name, count=stopped, folders=", ".join(map(str, removed)))
                else:
                    line = ngettext("envcheck: interrupted ({signal}): stopped {count} process, no temporary folder to remove",
                                    "envcheck: interrupted ({signal}): stopped {count} processes, no temporary folder to remove",
                                    stopped).format(signal=name, count=stopped)
                print(line, file=sys.stderr, flush=True)
                raise typer.Exit(128 + signum) from None
            return False  # an exception: children stopped and folders removed, now let it propagate
        finally:
            for sig, handler in self._saved.items():
                signal.signal(sig, handler)
            self._saved.clear()


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _path_option(flag: str, text: str | None, empty: str) -> Path | None:
    """A path option as given; an empty one is refused with the sentence `empty` (Path("") would mean
    the current folder)."""
    if text is None:
        return None
    if not text.strip():
        raise UserError(empty)
    return Path(os.path.expanduser(text))


def _out_dir_problem(out: Path) -> None:
    try:
        is_file = out.exists() and not out.is_dir()
        has_files = not is_file and out.is_dir() and any(out.iterdir())
    except OSError as exc:  # a folder on the way this user may not enter or list
        raise UserError(_("--out {out} cannot be created ({reason}); choose a folder you can write to.").format(
            out=out, reason=os_error(exc))) from None
    if is_file:
        raise UserError(_("--out {out} is a file; give a folder (it is created if missing).").format(out=out))
    if has_files:
        raise UserError(_("--out {out} is not empty; choose a new folder so no earlier run's files are overwritten.").format(
            out=out))


def _prepare_out_dir(out: Path | None, guard: RunGuard) -> tuple[Path, bool]:
    """The run folder and whether it is ours to delete at the end."""
    if out is None:
        return guard.temp_dir(), True
    _out_dir_problem(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(_("--out {out} cannot be created ({reason}); choose a folder you can write to.").format(
            out=out, reason=os_error(exc))) from None
    return out, False


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    # The children (the worker's summaries and errors, the DDP ranks') speak the language of this
    # run, chosen by --lang, ENVCHECK_LANG or the locale.
    env["ENVCHECK_LANG"] = current_language()
    return env


def command(
    # Text, parsed by parse_gpu_option: "--gpu 0,1" is then pointed at --gpus instead of "not a whole number".
    gpu_text: Optional[str] = typer.Option(None, "--gpu", metavar="<int>", help="Test this GPU, numbered as nvidia-smi numbers it (default: GPU 0 when there is one)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Test several GPUs (nvidia-smi numbers, e.g. 0,1): adds the NCCL all_reduce and DDP check."),
    cpu: bool = typer.Option(False, "--cpu", help="Test the CPU stack (no GPU needed)."),
    data_text: Optional[str] = typer.Option(None, "--data", metavar="DIR", help="Learn on this ImageFolder data set (DIR/train/<class>/, DIR/val/<class>/) instead of the built-in synthetic cat/dog set."),
    epochs: int = typer.Option(3, "--epochs", help=f"Most epochs of the learning run (1-{MAX_EPOCHS}); it stops as soon as it meets its bar."),
    seed: int = typer.Option(0, "--seed", help="Seed for data, weights and shuffling (0 to 2**63-1)."),
    image_size: int = typer.Option(DEFAULT_IMAGE_SIZE, "--image-size", help=f"Image side in pixels (32-{MAX_IMAGE_SIZE}; 224 is the ImageNet standard)."),
    batch_size: int = typer.Option(32, "--batch-size", help=f"Batch size of the learning and throughput runs (1-{MAX_BATCH_SIZE})."),
    amp: Optional[bool] = typer.Option(None, "--amp/--no-amp", help="Mixed precision in the learning run (default: on for GPUs; on the CPU only with native bfloat16)."),
    deterministic: bool = typer.Option(False, "--deterministic", help="Deterministic algorithms in the learning run too (the determinism and checkpoint checks always use them)."),
    out_text: Optional[str] = typer.Option(None, "--out", metavar="DIR", help="Keep the run's files (metrics.jsonl, curves.png, checkpoints, logs, report.json) in this new folder."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    nproc: Optional[int] = typer.Option(None, "--nproc", help="Processes for the DDP check: with --cpu, N gloo processes; with --gpus, must match the GPU count."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds each phase may take before it counts as hung (default: per phase, 120-900)."),
    phase_timeout: Optional[List[str]] = typer.Option(None, "--phase-timeout", hidden=True, help="PHASE=SECONDS for one phase (tests)."),
    only_phases: Optional[List[str]] = typer.Option(None, "--phase", hidden=True, help="Run only this phase; repeatable (tests)."),
    learn_per_class: int = typer.Option(LEARN_TRAIN_PER_CLASS, "--learn-per-class", hidden=True,
                                        help="Training images per class of the synthetic learning set (tests; the bar is measured for 1000)."),
) -> None:
    """Prove the GPU stack end to end: device, numerics, learning, determinism, checkpoint resume,
    mixed precision, throughput and (with several GPUs) NCCL/DDP, then a PASS/FAIL verdict.

    Exit status: 0 PASS, 1 FAIL, 2 bad input, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.
    """
    from envcheck.smoke.selection import parse_gpu_option

    gpu = parse_gpu_option(gpu_text)
    _validate_numbers(epochs, image_size, batch_size, timeout, seed, learn_per_class)
    data = _path_option("--data", data_text, _("--data is empty; give the folder that holds train/ and val/."))
    out = _path_option("--out", out_text, _("--out is empty; give a new folder for this run's files."))
    if out is not None:
        _out_dir_problem(out)  # before the data set is read image by image
    if gpus is not None and not gpus.strip():
        raise UserError(_("--gpus is empty; give nvidia-smi GPU numbers separated by commas (e.g. --gpus 0,1), or --cpu "
                          "for the CPU."))
    timeouts = parse_phase_timeouts(phase_timeout or [], timeout)
    selected = parse_phases(only_phases or [])

    from envcheck.smoke.selection import detect_job, job_note

    job = detect_job(os.environ)
    _require_torch()
    with RunGuard() as guard:
        if job is not None:
            code = _run_as_job_rank(job, guard, cpu=cpu, seed=seed, json_out=json_out, timeout=timeouts["ddp"], out=out)
        else:
            code = _run_alone(guard, gpu=gpu, gpus=gpus, cpu=cpu, data=data, epochs=epochs, seed=seed, image_size=image_size,
                              batch_size=batch_size, amp=amp, deterministic=deterministic, out=out, json_out=json_out,
                              nproc=nproc, timeouts=timeouts, selected=selected, learn_per_class=learn_per_class,
                              note=job_note(os.environ))
    raise typer.Exit(code)


def load_note(load: float | None = None, cpus: int | None = None, starting: bool = False) -> str | None:
    """A note when the 1-minute load average exceeds the usable CPUs: speed figures and phase
    times are then low. starting: said before the run, when all of that load is other work."""
    try:
        load = os.getloadavg()[0] if load is None else load
    except OSError:
        return None
    if cpus is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
    if load <= cpus:
        return None
    if starting:
        return ngettext(
            "The machine is busy before the run starts (load average {load} over the last minute on {cpus} CPU): "
            "other work competes for the CPUs, so timings will be slow (lower throughput, longer phases).",
            "The machine is busy before the run starts (load average {load} over the last minute on {cpus} CPUs): "
            "other work competes for the CPUs, so timings will be slow (lower throughput, longer phases).",
            cpus).format(load=f"{load:.1f}", cpus=cpus)
    return ngettext(
        "The machine was busy (load average {load} on {cpus} CPU), partly from this run: "
        "throughput and phase times are lower than on an idle machine.",
        "The machine was busy (load average {load} on {cpus} CPUs), partly from this run: "
        "throughput and phase times are lower than on an idle machine.",
        cpus).format(load=f"{load:.1f}", cpus=cpus)


def _run_alone(guard: RunGuard, *, gpu, gpus, cpu, data, epochs, seed, image_size, batch_size, amp, deterministic, out,
               json_out, nproc, timeouts, selected, learn_per_class, note) -> int:
    from envcheck.smoke.selection import plan_devices

    if cpu:
        nvidia, nvidia_error = [], None
    else:
        nvidia, nvidia_error = _nvidia_gpus()
    plan = plan_devices(
        gpu=gpu, gpus=gpus, cpu=cpu, nproc=nproc, nvidia_gpus=nvidia, nvidia_error=nvidia_error,
        visible_raw=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    # The device choice is checked before the data set, which is read image by image (minutes on a
    # big one).
    threshold, train_images = inspect_data_dir(data) if data is not None else (SYNTHETIC_ACCURACY, 2 * learn_per_class)
    # Decided here, before any slow work: a --data set too small for the learning and throughput
    # verdicts skips those two phases (not judged), and the other checks decide.
    skip: dict = {}
    small = too_small_to_judge(train_images, batch_size) if data is not None else None
    if small is not None:
        from envcheck.smoke.phases import not_judged

        reason, figures = small
        skip = {name: not_judged(name, reason, figures) for name in SIZE_JUDGED_PHASES
                if selected is None or name in selected}

    if note:
        plan.notes.append(note)
    if plan.kind == "cuda" and not os.environ.get("CUBLAS_WORKSPACE_CONFIG"):
        # Deterministic cuBLAS needs this before CUDA starts in the child (pytorch PR #41377).
        plan.child_env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"

    out_dir, temporary = _prepare_out_dir(out, guard)
    # Said at once (stderr, so --json stays clean), before minutes of slow phases: the load is
    # other work's, and the times this run measures will show it.
    busy_at_start = load_note(starting=True)
    if busy_at_start:
        progress.note(_("smoke-train: note: {note}").format(note=busy_at_start))
        plan.notes.append(busy_at_start)
    console = Console(highlight=False)
    status = (Console(stderr=True).status(_("Preparing data..."))
              if sys.stderr.isatty() and not json_out and not progress.QUIET else None)
    if status is not None:
        status.start()
    try:
        checks = _run_phases(plan, out_dir, data, threshold, epochs, seed, image_size, batch_size, amp,
                             deterministic, timeouts, status, selected, learn_per_class, log_kept=not temporary,
                             env=guard.child_env(plan.child_env), train_images=train_images, skip=skip)
    finally:
        if status is not None:
            status.stop()

    where = plan.describe()
    notes = list(plan.notes)
    notes += [str(c.numbers["memory_note"]) for c in checks if c.numbers.get("memory_note")]
    busy = None if busy_at_start else load_note()  # one load note is enough
    if busy:
        notes.append(busy)
    if temporary:
        # The run folder is deleted on exit: a path into it would point at nothing.
        for check in checks:
            for key in ("plot", "metrics"):
                check.numbers.pop(key, None)
    settings = {"epochs": epochs, "seed": seed, "image_size": image_size, "batch_size": batch_size, "amp": amp,
                "deterministic": deterministic, "data": str(data) if data else "synthetic cat/dog",
                "learn_per_class": None if data else learn_per_class,
                "accuracy_threshold": threshold, "timeouts_s": timeouts}
    from envcheck.smoke import report

    doc = None
    if json_out or not temporary:
        doc = report.report_dict(checks, plan.to_dict(), settings, fingerprint(plan.child_env, guard.child_env({})),
                                 None if temporary else str(out_dir), notes)
    if not temporary and doc is not None:
        from envcheck.util.fsutil import atomic_write_text

        atomic_write_text(out_dir / "report.json", report.render_json(doc) + "\n")
    if json_out:
        sys.stdout.write(report.render_json(doc) + "\n")
    else:
        report.render_terminal(console, checks, where, notes, None if temporary else str(out_dir))
    return 0 if report.verdict(checks) == "PASS" else 1


class PhaseFeedback:
    """What a person sees on stderr while the phases run.

    On a terminal (`status`, a rich spinner): the running phase and, inside a training phase, its
    last progress ("smoke-train: learning phase: epoch 1/3, step 40/125, 310 img/s, val acc 0.71,
    ETA 0:45 (limit 900 s)"). Without one (`lines`: CI, `> log`): one line per phase start and
    result, and one per evaluation or epoch end inside a phase, never one per step
    ("smoke-train: learning: epoch 1/3 step 62/125 val acc 0.742"), so a log shows where the time
    went. With neither (--json on a terminal), nothing.
    """

    def __init__(self, timeouts: dict[str, float], status=None, lines: bool = False, stream=None):
        self.timeouts = timeouts
        self.status = status
        self.lines = lines
        self._stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self._stream or sys.stderr, flush=True)

    @staticmethod
    def _label(name: str) -> str:
        from envcheck.smoke import phases

        return _(phases.title(name)).lower()

    def _limit(self, name: str) -> str | None:
        return f"{self.timeouts[name]:g}" if name in self.timeouts else None

    def start(self, name: str) -> None:
        label, limit = self._label(name), self._limit(name)
        if self.status is not None:
            if limit is None:
                text = _("smoke-train: {phase} phase running (no limit)...").format(phase=label)
            else:
                text = _("smoke-train: {phase} phase running (limit {seconds} s)...").format(phase=label, seconds=limit)
            self.status.update(text)
        elif self.lines:
            if limit is None:
                text = _("smoke-train: {phase} phase started (no limit)").format(phase=label)
            else:
                text = _("smoke-train: {phase} phase started (limit {seconds} s)").format(phase=label, seconds=limit)
            self._print(text)

    def progress(self, name: str, event: dict, state) -> None:
        from envcheck.smoke.progress import progress_line

        if self.status is not None:
            text = state.status_text()
            if text:
                label, limit = self._label(name), self._limit(name)
                if limit is None:
                    line = _("smoke-train: {phase} phase: {progress}").format(phase=label, progress=text)
                else:
                    line = _("smoke-train: {phase} phase: {progress} (limit {seconds} s)").format(
                        phase=label, progress=text, seconds=limit)
                self.status.update(line)
        elif self.lines:
            line = progress_line(self._label(name), event, state)
            if line is not None:
                self._print(f"smoke-train: {line}")

    def result(self, check) -> None:
        if self.lines:
            label, seconds = self._label(check.name), f"{check.seconds:.1f}"
            if check.passed:
                self._print(_("smoke-train: {phase} phase: pass in {seconds} s").format(phase=label, seconds=seconds))
            else:
                self._print(_("smoke-train: {phase} phase: FAIL in {seconds} s").format(phase=label, seconds=seconds))

    def skipped(self, checks: list) -> None:
        """Phases decided before the run not to be judged: one line per reason, at the start."""
        if not self.lines:
            return
        reasons: dict[str, list[str]] = {}
        for check in checks:
            reasons.setdefault(check.summary, []).append(self._label(check.name))
        for summary, names in reasons.items():
            phases = " and ".join(names) if current_language() == "en" else join(names)
            self._print(ngettext("smoke-train: {phases} phase skipped, {reason}",
                                 "smoke-train: {phases} phases skipped, {reason}", len(names)).format(
                phases=phases, reason=summary))


def _run_phases(plan, out_dir: Path, data: Path | None, threshold: float, epochs: int, seed: int, image_size: int,
                batch_size: int, amp: bool | None, deterministic: bool, timeouts: dict[str, float], status,
                selected: list[str] | None = None, learn_per_class: int = LEARN_TRAIN_PER_CLASS,
                log_kept: bool = True, env: dict[str, str] | None = None, train_images: int | None = None,
                skip: dict | None = None) -> list:
    """Run the selected phases; `skip` holds the CheckResults of phases not run (not judged), which
    take their place in the usual order."""
    from envcheck.smoke import phases

    skip = dict(skip or {})
    wanted = [name for name in phases.single_device_phases() if selected is None or name in selected]
    singles = [name for name in wanted if name not in skip]
    run_ddp = plan.nproc > 1 and (selected is None or phases.DDP_PHASE in selected)
    config = {
        "device": plan.device,
        "out_dir": str(out_dir),
        "epochs": epochs,
        "batch_size": batch_size,
        "small_batch_size": SMALL_BATCH,
        "small_image_size": SMALL_IMAGE_SIZE,
        "evaluations_per_epoch": EVALUATIONS_PER_EPOCH,
        "image_size": image_size,
        "seed": seed,
        "amp": amp,
        "deterministic": deterministic,
        "workers": None,
        "accuracy_threshold": threshold,
        "short_steps": SHORT_STEPS,
        "resume_epochs": RESUME_EPOCHS,
        "resume_stop_step": RESUME_STOP_STEP,
        "throughput_steps": THROUGHPUT_STEPS,
    }
    if singles:
        from reference_train.synthetic import cached_dataset

        data_dir = data if data is not None else cached_dataset(
            seed=seed, image_size=image_size, train_per_class=learn_per_class, val_per_class=LEARN_VAL_PER_CLASS
        )
        small_dir = cached_dataset(seed=seed, image_size=SMALL_IMAGE_SIZE, train_per_class=SMALL_TRAIN_PER_CLASS,
                                   val_per_class=SMALL_VAL_PER_CLASS)
        if train_images is None:
            train_images = _train_images(data) if data is not None else 2 * learn_per_class
        config.update(data_dir=str(Path(data_dir).resolve()), small_data_dir=str(small_dir), train_images=train_images)
    logs = out_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = env if env is not None else _child_env(plan.child_env)

    # On a terminal a spinner names the running phase and its progress; without one (CI, `> log`)
    # lines go to stderr (PhaseFeedback), so a log shows where the time went.
    feedback = PhaseFeedback(timeouts, status, lines=status is None and not sys.stderr.isatty() and not progress.QUIET)
    feedback.skipped([skip[name] for name in wanted if name in skip])

    ran = phases.run_worker_phases(config, singles, timeouts, env, logs, on_start=feedback.start,
                                   on_result=feedback.result, on_progress=feedback.progress,
                                   log_kept=log_kept) if singles else []
    by_name = {check.name: check for check in ran}
    checks = [skip[name] if name in skip else by_name[name] for name in wanted]
    if run_ddp:
        feedback.start(phases.DDP_PHASE)
        kind = plan.kind
        result_path = out_dir / "ddp" / "result.json"
        result_path.parent.mkdir(exist_ok=True)
        ddp_env = dict(env, ENVCHECK_DDP_DEVICE=kind)
        argv = phases.ddp_command(plan.nproc, result_path, DDP_SIZE_MB[kind], seed)
        checks.append(phases.run_ddp_phase(argv, plan.nproc, result_path, timeouts["ddp"], ddp_env, logs / "ddp.log",
                                           kind=kind, log_kept=log_kept))
        feedback.result(checks[-1])
    return checks


def _run_as_job_rank(job, guard: RunGuard, cpu: bool, seed: int, json_out: bool, timeout: float, out: Path | None) -> int:
    """Started by torchrun or srun with several ranks: be one rank of that job's DDP check."""
    from envcheck.smoke import phases, report

    out_dir, temporary = _prepare_out_dir(out / f"rank{job.rank}" if out is not None else None, guard)
    kind = "cpu" if cpu else "cuda"
    env = guard.child_env(dict(job.env))
    if cpu:
        env["ENVCHECK_DDP_DEVICE"] = "cpu"
    else:
        env.pop("ENVCHECK_DDP_DEVICE", None)
    result_path = out_dir / "result.json"
    argv = [sys.executable, "-m", "envcheck.smoke.ddp_worker", "--result", str(result_path),
            "--size-mb", str(DDP_SIZE_MB[kind]), "--seed", str(seed)]
    try:
        check = phases.run_ddp_phase(argv, job.world_size, result_path, timeout, env, out_dir / "ddp.log",
                                     expect_result=job.rank == 0, kind=kind, log_kept=not temporary)
    finally:
        if temporary:
            guard.remove_temp_dirs()
    checks = [check]
    where = _("rank {rank} of a {world}-process {source} job").format(rank=job.rank, world=job.world_size,
                                                                     source=job.source)
    notes = [_("Running as {where}: only the DDP check runs here; run smoke-train outside the job for the "
               "single-device checks.").format(where=where)]
    if job.rank == 0:
        if json_out:
            doc = report.report_dict(checks, {"kind": kind, "job": job.source, "world_size": job.world_size}, {"seed": seed},
                                     {}, None, notes)
            sys.stdout.write(report.render_json(doc) + "\n")
        else:
            report.render_terminal(Console(highlight=False), checks, where, notes, None)
    elif not check.passed:
        print(f"envcheck smoke-train: rank {job.rank}: {check.error}", file=sys.stderr)
    return 0 if check.passed else 1
