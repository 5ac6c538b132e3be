"""Which device(s) smoke-train uses, decided without torch and without a GPU.

Pure functions of the flags, the nvidia facts and the user's CUDA_VISIBLE_DEVICES, so every rule
below is tested with recorded GPU lists.

The rules (also in docs/smoke-train.md):
- `--gpu N` / `--gpus A,B` are nvidia-smi numbers (physical GPUs), whatever CUDA_VISIBLE_DEVICES says.
- The children that train get CUDA_DEVICE_ORDER=PCI_BUS_ID and CUDA_VISIBLE_DEVICES set to the
  chosen GPUs' UUIDs before torch loads; a UUID names one GPU whatever the ordering
  (NVIDIA recommends UUIDs for that reason: https://docs.nvidia.com/deploy/topics/topic_5_2_1.html),
  so cuda:0 is GPU N.
- When the user already set CUDA_VISIBLE_DEVICES, we only narrow it: a GPU it hides is refused
  (with the list it leaves visible and how to override), never silently used.
- No flag: the first GPU CUDA would use (GPU 0, or the first one CUDA_VISIBLE_DEVICES lists);
  the CPU, with a note, when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from envcheck.core.errors import UserError
from envcheck.facts.visible_devices import parse_visible_devices
from envcheck.i18n import _, ngettext


MAX_NPROC = 64  # DDP check processes; one per GPU, and a handful of gloo processes prove the CPU stack


@dataclass
class DevicePlan:
    kind: str  # "cuda" or "cpu"
    physical: list[int] = field(default_factory=list)  # nvidia-smi indices, cuda:0 first
    gpus: list[dict[str, Any]] = field(default_factory=list)  # the nvidia facts of those GPUs
    child_env: dict[str, str] = field(default_factory=dict)  # set in every training child
    nproc: int = 1  # processes for the DDP check; 1 means no DDP check
    notes: list[str] = field(default_factory=list)

    @property
    def device(self) -> str:
        """The torch device the single-device phases use inside the child."""
        return "cuda:0" if self.kind == "cuda" else "cpu"

    def describe(self) -> str:
        if self.kind == "cpu":
            return _("CPU ({count} processes for DDP)").format(count=self.nproc) if self.nproc > 1 else "CPU"
        return ngettext("GPU {gpus}", "GPUs {gpus}", len(self.gpus)).format(gpus=", ".join(gpu_label(g) for g in self.gpus))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "physical_gpus": list(self.physical),
            "gpu_names": [g.get("name") for g in self.gpus],
            "child_env": dict(self.child_env),
            "nproc": self.nproc,
            "notes": list(self.notes),
        }


def gpu_label(gpu: Mapping[str, Any]) -> str:
    name = gpu.get("name") or _("unknown model")
    return f"{gpu.get('index')} ({name})"


def _list_gpus(gpus: list[Mapping[str, Any]]) -> str:
    return ", ".join(gpu_label(g) for g in gpus) or _("none")


def parse_gpu_list(text: str) -> list[int]:
    """"0,1" -> [0, 1]; anything else is a UserError naming the expected form."""
    parts = [p.strip() for p in text.split(",")]
    # isascii: str.isdigit() is also true of '²' and other digits int() refuses or reads otherwise.
    if not parts or any(not (p.isascii() and p.isdigit()) for p in parts):
        raise UserError(_("--gpus {text}: give nvidia-smi GPU numbers separated by commas, e.g. --gpus 0,1.").format(
            text=repr(text)))
    indices = [int(p) for p in parts]
    if len(set(indices)) != len(indices):
        raise UserError(_("--gpus {text} lists a GPU twice; list each GPU once, e.g. --gpus 0,1.").format(text=repr(text)))
    return indices


def parse_gpu_option(text: str | None) -> int | None:
    """--gpu's value: one nvidia-smi GPU number, or None when --gpu was not given. A list
    ("0,1", as CUDA_VISIBLE_DEVICES is written) is pointed at --gpus; anything else is a UserError."""
    if text is None:
        return None
    value = text.strip()
    if "," in value:
        raise UserError(_("--gpu {text} names several GPUs, and --gpu takes one; use {gpus} to test several.").format(
            text=repr(text), gpus=f"--gpus {value}"))
    if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
        raise UserError(_("--gpu {gpu}: GPU numbers start at 0 (as nvidia-smi numbers them).").format(gpu=value))
    if not (value.isascii() and value.isdigit()):
        raise UserError(_("--gpu {text}: give one GPU number as nvidia-smi numbers it, e.g. --gpu 0.").format(
            text=repr(text)))
    return int(value)


def _is_mig_enabled(gpu: Mapping[str, Any]) -> bool:
    mode = str(gpu.get("mig_mode") or gpu.get("mig_mode_current") or "").strip().lower()
    return mode == "enabled" or bool(gpu.get("mig_devices"))


def plan_devices(
    *,
    gpu: int | None,
    gpus: str | None,
    cpu: bool,
    nproc: int | None,
    nvidia_gpus: list[dict[str, Any]] | None,
    nvidia_error: str | None,
    visible_raw: str | None,
) -> DevicePlan:
    """Turn the device flags into a plan, or raise UserError with one clear sentence.

    nvidia_gpus: the "gpus" list of the nvidia facts (None or [] when no driver answered);
    visible_raw: the user's CUDA_VISIBLE_DEVICES (None when unset).
    """
    if cpu and (gpu is not None or gpus):
        raise UserError(_("--cpu cannot be combined with --gpu/--gpus; choose the CPU or GPUs, not both."))
    if gpu is not None and gpus:
        raise UserError(_("--gpu and --gpus cannot be used together; use --gpu N for one GPU or --gpus 0,1 for several."))
    if gpu is not None and gpu < 0:
        raise UserError(_("--gpu {gpu}: GPU numbers start at 0 (as nvidia-smi numbers them).").format(gpu=gpu))
    if nproc is not None and nproc < 1:
        raise UserError(_("--nproc {nproc}: give at least 1 process.").format(nproc=nproc))
    if nproc is not None and nproc > MAX_NPROC:
        raise UserError(_("--nproc {nproc} is more processes than a DDP check needs; use at most {most}.").format(
            nproc=nproc, most=MAX_NPROC))

    if cpu:
        # An empty CUDA_VISIBLE_DEVICES keeps CUDA from initialising at all in the children, so a
        # CPU run cannot touch (or be slowed by) a GPU.
        return DevicePlan("cpu", child_env={"CUDA_VISIBLE_DEVICES": ""}, nproc=nproc or 1)

    requested = [gpu] if gpu is not None else (parse_gpu_list(gpus) if gpus else [])
    known = [g for g in (nvidia_gpus or []) if isinstance(g, dict) and isinstance(g.get("index"), int)]
    if not known:
        if requested:
            if nvidia_error:
                message = _("no NVIDIA GPU was found ({reason}); run `{doctor}` to see why, or check the CPU stack with "
                            "`{cpu}`.")
            else:
                message = _("no NVIDIA GPU was found; run `{doctor}` to see why, or check the CPU stack with `{cpu}`.")
            raise UserError(message.format(reason=nvidia_error, doctor="envcheck doctor --only driver",
                                           cpu="envcheck smoke-train --cpu"))
        plan = DevicePlan("cpu", child_env={"CUDA_VISIBLE_DEVICES": ""}, nproc=nproc or 1)
        if nvidia_error:
            note = _("No NVIDIA GPU was found ({reason}), so this run checks the CPU; pass --gpu N to test a GPU.")
        else:
            note = _("No NVIDIA GPU was found, so this run checks the CPU; pass --gpu N to test a GPU.")
        plan.notes.append(note.format(reason=nvidia_error))
        return plan

    by_index = {g["index"]: g for g in known}
    flag = "--gpu" if gpu is not None else "--gpus"
    for index in requested:
        if index not in by_index:
            if flag == "--gpu":
                message = _("GPU {index} does not exist; this machine has GPU {gpus}: pass one of those numbers to {flag}.")
            else:
                message = _("GPU {index} does not exist; this machine has GPU {gpus}: pass those numbers to {flag}.")
            raise UserError(message.format(index=index, gpus=_list_gpus(sorted(known, key=lambda g: g["index"])),
                                           flag=flag))

    visible = parse_visible_devices(visible_raw, known) if visible_raw is not None else None
    mig_by_parent: dict[int, str] = {}
    if visible is not None:
        for entry in visible.entries:
            if entry.kind == "mig" and entry.mig_uuid in visible.visible_mig and entry.physical_index is not None:
                mig_by_parent.setdefault(entry.physical_index, entry.mig_uuid)
        usable = list(visible.visible) + [i for i in mig_by_parent if i not in visible.visible]
    else:
        usable = [g["index"] for g in sorted(known, key=lambda g: g["index"])]

    notes: list[str] = []
    if not requested:
        if not usable:
            plan = DevicePlan("cpu", child_env={"CUDA_VISIBLE_DEVICES": ""}, nproc=nproc or 1)
            plan.notes.append(_(
                "CUDA_VISIBLE_DEVICES={value} hides every GPU, so this run checks the CPU; "
                "unset it or pass --gpu N after fixing it to test a GPU."
            ).format(value=repr(visible_raw)))
            return plan
        requested = [usable[0]]
        if visible is not None and usable[0] != 0:
            notes.append(_("No --gpu given: using GPU {index}, the first one CUDA_VISIBLE_DEVICES={value} shows.").format(
                index=usable[0], value=repr(visible_raw)))

    if visible is not None:
        hidden = [i for i in requested if i not in usable]
        if hidden:
            shown = [by_index[i] for i in usable if i in by_index]
            if shown:
                message = _("GPU {hidden} is hidden by your CUDA_VISIBLE_DEVICES={value}, which leaves only GPU {visible} "
                            "visible; pick a visible GPU, or override it for this run with `{command}`.")
            else:
                message = _("GPU {hidden} is hidden by your CUDA_VISIBLE_DEVICES={value}, which hides every GPU; "
                            "pick a visible GPU, or override it for this run with `{command}`.")
            raise UserError(message.format(
                hidden=",".join(map(str, hidden)), value=repr(visible_raw), visible=_list_gpus(shown),
                command=f"env -u CUDA_VISIBLE_DEVICES envcheck smoke-train {flag} {','.join(map(str, requested))}"))

    chosen = [by_index[i] for i in requested]
    names: list[str] = []
    for g in chosen:
        if _is_mig_enabled(g):
            if g["index"] in mig_by_parent and len(chosen) == 1:
                names.append(mig_by_parent[g["index"]])
                notes.append(_("GPU {index} is in MIG mode: testing the MIG instance {instance} your CUDA_VISIBLE_DEVICES "
                               "selects.").format(index=g["index"], instance=mig_by_parent[g["index"]]))
                continue
            raise UserError(_(
                "GPU {gpu} is in MIG mode, and CUDA can only use one MIG instance of it per process; "
                "choose one from `nvidia-smi -L` and run `{command}`."
            ).format(gpu=gpu_label(g), command=f"CUDA_VISIBLE_DEVICES=MIG-<uuid> envcheck smoke-train --gpu {g['index']}"))
        uuid = str(g.get("uuid") or "")
        if uuid.startswith("GPU-"):
            names.append(uuid)
        else:
            # Without a UUID the PCI-ordered index is the next best name: CUDA_DEVICE_ORDER=PCI_BUS_ID
            # makes CUDA count like nvidia-smi in practice (CUDA Programming Guide, CUDA_DEVICE_ORDER).
            names.append(str(g["index"]))
            notes.append(_("GPU {index} has no UUID in the driver facts; selecting it by its PCI-ordered index.").format(
                index=g["index"]))

    if nproc is not None and nproc != len(chosen) and not (nproc == 1 and len(chosen) == 1):
        raise UserError(ngettext(
            "--nproc {nproc} does not match the {count} GPU chosen; "
            "DDP runs one process per GPU: drop --nproc, or list that many GPUs with --gpus.",
            "--nproc {nproc} does not match the {count} GPUs chosen; "
            "DDP runs one process per GPU: drop --nproc, or list that many GPUs with --gpus.",
            len(chosen)).format(nproc=nproc, count=len(chosen)))
    if gpus and len(chosen) == 1:
        notes.append(_("Only one GPU was listed, so the DDP check (which needs 2 or more) is skipped."))

    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ",".join(names)}
    return DevicePlan("cuda", physical=requested, gpus=chosen, child_env=env, nproc=len(chosen), notes=notes)


@dataclass
class JobRank:
    """This process's place in a distributed job someone else launched (torchrun or SLURM)."""

    rank: int
    world_size: int
    local_rank: int
    source: str  # "torchrun" or "slurm"
    env: dict[str, str]  # RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT for torch.distributed


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# Step ids SLURM gives steps that are not a set of tasks launched by srun (slurm.h: SLURM_BATCH_SCRIPT,
# SLURM_EXTERN_CONT, SLURM_INTERACTIVE_STEP), in case one of them shows up as a number.
_NOT_TASK_STEPS = {"batch", "extern", "interactive", "4294967294", "4294967295", "4294967290"}


def in_slurm_step(env: Mapping[str, str]) -> bool:
    """Whether this process is a task of an srun job step.

    srun sets SLURM_STEP_ID (and the older SLURM_STEPID) in every task it launches. The batch
    script sbatch runs sees the job's SLURM_NTASKS and SLURM_PROCID=0 but is not one of those
    tasks: taken for rank 0 it would wait for ranks that never start.
    """
    step = (env.get("SLURM_STEP_ID") or env.get("SLURM_STEPID") or "").strip().lower()
    return bool(step) and step not in _NOT_TASK_STEPS


def job_note(env: Mapping[str, str]) -> str | None:
    """A note for a run inside a multi-task SLURM allocation but outside an srun step."""
    world = _int(env.get("SLURM_NTASKS"))
    if world is None or world <= 1 or in_slurm_step(env) or detect_job(env) is not None:
        return None
    return _(
        "This SLURM job has {count} tasks, but this process is not one of them (no srun step: it is the batch "
        "script or an salloc shell), so it runs alone; run it under srun to check DDP across the job's tasks "
        "(`{command}`)."
    ).format(count=world, command="srun envcheck smoke-train")


def detect_job(env: Mapping[str, str]) -> JobRank | None:
    """The job this process is a rank of, or None when it runs alone (world size 1 counts as alone).

    torchrun's variables win over SLURM's: `srun torchrun ...` sets both, and torchrun's are the
    ones describing this process.
    """
    rank, world = _int(env.get("RANK")), _int(env.get("WORLD_SIZE"))
    if rank is not None and world is not None:
        if world <= 1:
            return None
        local = _int(env.get("LOCAL_RANK"))
        local = rank if local is None else local
        dist_env = {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(local)}
        dist_env["MASTER_ADDR"] = env.get("MASTER_ADDR") or "127.0.0.1"
        dist_env["MASTER_PORT"] = env.get("MASTER_PORT") or "29500"
        return JobRank(rank, world, local, "torchrun", dist_env)
    rank, world = _int(env.get("SLURM_PROCID")), _int(env.get("SLURM_NTASKS"))
    if rank is not None and world is not None and world > 1 and in_slurm_step(env):
        local = _int(env.get("SLURM_LOCALID"))
        local = rank if local is None else local
        nodes = _int(env.get("SLURM_NNODES")) or _int(env.get("SLURM_JOB_NUM_NODES")) or 1
        master = env.get("MASTER_ADDR")
        if not master:
            if nodes > 1:
                raise UserError(_(
                    "this SLURM job spans several nodes but MASTER_ADDR is not set; export it before srun, e.g. "
                    "`{command}`."
                ).format(command="export MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n 1)"))
            master = "127.0.0.1"
        # A port derived from the job id keeps two jobs sharing a node from colliding.
        job_id = _int(env.get("SLURM_JOB_ID")) or 0
        port = env.get("MASTER_PORT") or str(29500 + job_id % 1000)
        dist_env = {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(local),
                    "MASTER_ADDR": master, "MASTER_PORT": port}
        return JobRank(rank, world, local, "slurm", dist_env)
    return None
