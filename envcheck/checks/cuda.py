"""Which GPUs CUDA will see: CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER.

Rules from the CUDA Programming Guide's environment-variable appendix
(https://docs.nvidia.com/cuda/cuda-programming-guide/05-appendices/environment-variables.html);
the parsing lives in envcheck/facts/visible_devices.py so smoke-train maps `--gpu N` the same way.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix written here goes
through _() or ngettext(), the descriptions are marked with N_(); variable names, values, indices and
commands are placeholders or stay literally inside the message. The parser's own problem lines
(VisibleDevices.problems, in the details) stay English until envcheck/facts/ is converted.
"""

from __future__ import annotations

from typing import Any

from envcheck.checks import check, fail, ok, warn
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.redact import redact_env_value
from envcheck.facts.visible_devices import VisibleDevices, parse_visible_devices
from envcheck.i18n import N_, _, join, ngettext

DEVICE_ORDERS = ("FASTEST_FIRST", "PCI_BUS_ID")


def _env(facts: Facts) -> dict[str, str]:
    return facts.data("env").get("vars") or {}


def _names(gpus: list[dict[str, Any]]) -> dict[int, str]:
    return {g["index"]: g.get("name") or _("unknown model") for g in gpus if isinstance(g.get("index"), int)}


def cuda_map_text(result: VisibleDevices, gpus: list[dict[str, Any]]) -> str:
    """'cuda:0 = GPU 2 (NVIDIA L40S), cuda:1 = GPU 1 (NVIDIA L40S)'."""
    names = _names(gpus)
    parts = [f"cuda:{cuda} = GPU {physical} ({names.get(physical) or _('unknown model')})"
             for cuda, physical in result.cuda_map()]
    parts += [_("{device} = MIG device {uuid}").format(device="cuda:0", uuid=uuid) for uuid in result.visible_mig[:1]]
    return join(parts) or _("none")


def _free_indices(gpus: list[dict[str, Any]]) -> str:
    return ",".join(str(g["index"]) for g in gpus if isinstance(g.get("index"), int)) or "0"


def _mixed_models(gpus: list[dict[str, Any]]) -> bool:
    return len({g.get("name") for g in gpus}) > 1


def select_gpus(indices: list[int], gpus: list[dict[str, Any]], env: dict[str, str],
                gpu_errors: list[dict[str, Any]] | None = None) -> str:
    """The variable(s) that make CUDA use these GPUs (nvidia-smi indices), for a suggested command.

    'CUDA_VISIBLE_DEVICES=2' is right only when CUDA numbers GPUs as nvidia-smi does: all GPUs the
    same model, or CUDA_DEVICE_ORDER=PCI_BUS_ID. On a mixed-model machine CUDA's default order is
    FASTEST_FIRST, so the index could select another GPU: then both variables are given. When a GPU
    could not be read at all (fell off the bus), indices are not trusted either way and the GPUs
    are named by UUID, which also keeps CUDA away from the broken one.
    """
    by_index = {g.get("index"): g for g in gpus}
    plain = "CUDA_VISIBLE_DEVICES=" + ",".join(str(i) for i in indices)
    if gpu_errors:
        uuids = [(by_index.get(i) or {}).get("uuid") for i in indices]
        if indices and all(uuids):
            return "CUDA_VISIBLE_DEVICES=" + ",".join(uuids)
    if env.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID" or not (_mixed_models(gpus) or gpu_errors):
        return plain
    return "CUDA_DEVICE_ORDER=PCI_BUS_ID " + plain


@check("cuda.visible_devices", "cuda", N_("CUDA_VISIBLE_DEVICES selects GPUs that exist, as intended"),
       facts=("env", "nvidia"))
def visible_devices(facts: Facts) -> Finding | None:
    """`CUDA_VISIBLE_DEVICES`, parsed with the rules of the CUDA C Programming Guide's "CUDA Environment
    Variables" (https://docs.nvidia.com/cuda/cuda-c-programming-guide/#cuda-environment-variables) by
    `envcheck/facts/visible_devices.py`, the same parser `smoke-train --gpu N` uses:

    - unset: **OK**, all GPUs, with the `cuda:K = GPU N (model)` map;
    - `""` or `-1`: **WARN**, no GPU visible (often an accidental export);
    - an out-of-range index, unknown UUID, ambiguous UUID prefix or unparsable entry: **FAIL**, saying
      what CUDA will actually see (the entries before the first invalid one);
    - a repeated device: **FAIL** (undocumented by CUDA, so reported as invalid);
    - spaces around entries, more than one MIG instance, GPUs mixed with MIG instances: **WARN**;
    - a GPU in MIG mode selected as a whole GPU: **WARN**;
    - set while no GPU list is available: **SKIP** (no driver) or **WARN** (driver with zero GPUs).

    Why: CUDA silently ignores everything after the first invalid entry, so a typo can hide GPUs or
    select the wrong one, and `cuda:0` in a program is whatever the first visible entry names.

    Fix: `unset CUDA_VISIBLE_DEVICES` (and remove the export from `~/.bashrc`), or set it to GPUs that
    exist: `CUDA_VISIBLE_DEVICES=0,1 python train.py`; for MIG, one MIG UUID from `nvidia-smi -L`.
    """
    env = _env(facts)
    nvidia = facts.data("nvidia")
    gpus = nvidia.get("gpus") or []
    raw = env.get("CUDA_VISIBLE_DEVICES")
    shown = redact_env_value("CUDA_VISIBLE_DEVICES", raw) if raw is not None else None
    result = parse_visible_devices(raw, gpus)
    details = list(result.problems)
    order = env.get("CUDA_DEVICE_ORDER")
    by_index = raw is None or any(e.kind == "index" for e in result.entries)
    if result.visible and _mixed_models(gpus) and order != "PCI_BUS_ID" and by_index:
        details.append(_("These GPUs are of different models and CUDA_DEVICE_ORDER is not PCI_BUS_ID, so CUDA may not "
                         "number them as nvidia-smi does: the index mapping above assumes nvidia-smi's order "
                         "(see {check}).").format(check="cuda.device_order"))
    selected = result.visible if raw is not None else [g.get("index") for g in gpus]
    mig_selected = [g for g in gpus if g.get("mig_mode") == "Enabled" and g.get("index") in selected]
    for gpu in mig_selected:
        details.append(_("GPU {index} is in MIG mode: select one of its MIG instances by MIG UUID ({value}, from {command}) "
                         "rather than the whole GPU.").format(
            index=gpu.get("index"), value="CUDA_VISIBLE_DEVICES=MIG-...", command="`nvidia-smi -L`"))

    if raw is None:
        if not gpus:
            return None  # no GPU and nothing set: driver.nvml already explains
        return ok(ngettext("CUDA_VISIBLE_DEVICES is unset: all {count} GPU visible",
                           "CUDA_VISIBLE_DEVICES is unset: all {count} GPUs visible", len(gpus)).format(count=len(gpus)),
                  details=[cuda_map_text(result, gpus)] + details)

    if not gpus:
        status = Status.SKIP if not nvidia.get("source") else Status.WARN
        return Finding("", status, _("{assignment} is set, but no GPU was found to check it against").format(
                           assignment=f"CUDA_VISIBLE_DEVICES={shown!r}"),
                       fix=_("Fix the driver first (see the driver section), then run the doctor again."), details=details,
                       who="admin")

    if raw.strip() == "" or (result.stopped_at is not None and result.entries and result.entries[0].token.strip() == "-1"):
        return warn(
            _("{assignment} hides every GPU: PyTorch will run on the CPU").format(
                assignment=f"CUDA_VISIBLE_DEVICES={shown!r}"),
            fix=_("{command}\n(find where it is set: {grep})").format(
                command="unset CUDA_VISIBLE_DEVICES", grep="grep -n CUDA_VISIBLE_DEVICES ~/.bashrc ~/.profile ~/.zshrc"),
            details=details or [_("Often an accidental export left in a shell start-up file or a job script.")],
        ).by("you")

    gpu_errors = nvidia.get("gpu_errors") or []
    if result.stopped_at is not None:
        if result.visible:
            fix = _("{command}   # or list the GPUs you meant, from: {indices}").format(
                command=f"export {select_gpus(result.visible, gpus, env, gpu_errors)}", indices=_free_indices(gpus))
        else:
            order = "CUDA_DEVICE_ORDER=PCI_BUS_ID " if _mixed_models(gpus) and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" else ""
            fix = _("export {order}CUDA_VISIBLE_DEVICES=<one or more of {indices}>   (see {command})").format(
                order=order, indices=_free_indices(gpus), command="`nvidia-smi -L`")
        return fail(
            _("{assignment} has an invalid entry ({entry}); CUDA will see only: {devices}").format(
                assignment=f"CUDA_VISIBLE_DEVICES={shown!r}", entry=result.stopped_at.strip() or _("empty"),
                devices=cuda_map_text(result, gpus)),
            fix=fix, details=details,
        ).by("you")

    if result.problems:
        if result.visible:
            example = select_gpus(result.visible, gpus, env, gpu_errors)
        else:
            example = "CUDA_VISIBLE_DEVICES=" + (result.visible_mig[:1] or ["0"])[0]
        return warn(_("{assignment}: {devices}, with problems").format(
                        assignment=f"CUDA_VISIBLE_DEVICES={shown!r}", devices=cuda_map_text(result, gpus)),
                    fix=_("Write it without spaces, each device once, and at most one MIG instance, e.g. {command}").format(
                        command=f"export {example}"),
                    details=details).by("you")
    if mig_selected:
        migs = mig_selected[0].get("mig_devices") or []
        target = migs[0]["uuid"] if migs and migs[0].get("uuid") else "MIG-<uuid from nvidia-smi -L>"
        return warn(_("{assignment} selects a whole GPU that is in MIG mode").format(
                        assignment=f"CUDA_VISIBLE_DEVICES={shown!r}"),
                    fix=f"export CUDA_VISIBLE_DEVICES={target}", details=details).by("you")
    return ok(f"CUDA_VISIBLE_DEVICES={shown!r}: {cuda_map_text(result, gpus)}", details=details)


@check("cuda.device_order", "cuda", N_("CUDA numbers GPUs as nvidia-smi does (CUDA_DEVICE_ORDER)"), facts=("env", "nvidia"))
def device_order(facts: Facts) -> Finding | None:
    """Whether the GPUs are of more than one model while `CUDA_DEVICE_ORDER` is not `PCI_BUS_ID`
    (**WARN**), or `CUDA_DEVICE_ORDER` has an unknown value (**WARN**). **OK** with one model, or when it
    is set to `PCI_BUS_ID`.

    Why: CUDA's default `FASTEST_FIRST` order may number the GPUs differently from nvidia-smi, so
    `CUDA_VISIBLE_DEVICES=1` can select another GPU than the one nvidia-smi calls 1.

    Fix: `export CUDA_DEVICE_ORDER=PCI_BUS_ID` (in `~/.bashrc`), or select GPUs by UUID.
    """
    gpus = facts.data("nvidia").get("gpus") or []
    if not gpus:
        return None
    order = _env(facts).get("CUDA_DEVICE_ORDER")
    if order is not None and order not in DEVICE_ORDERS:
        return warn(_("{assignment} is not a value CUDA knows (FASTEST_FIRST or PCI_BUS_ID)").format(
                        assignment=f"CUDA_DEVICE_ORDER={order!r}"),
                    fix="export CUDA_DEVICE_ORDER=PCI_BUS_ID").by("you")
    models = sorted({g.get("name") or "unknown model" for g in gpus})
    shown_models = [_("unknown model") if m == "unknown model" else m for m in models]
    if order == "PCI_BUS_ID":
        return ok(_("CUDA_DEVICE_ORDER=PCI_BUS_ID: CUDA numbers GPUs in nvidia-smi's (PCI bus) order"))
    if len(models) <= 1:
        return ok(_("all GPUs are the same model ({model}): CUDA and nvidia-smi numbering agree whatever CUDA_DEVICE_ORDER "
                    "is").format(model=shown_models[0]))
    if order is None:
        summary = _("this machine mixes GPU models ({models}) and CUDA_DEVICE_ORDER is unset (FASTEST_FIRST): {device} "
                    "may not be nvidia-smi's GPU 0")
    else:
        summary = _("this machine mixes GPU models ({models}) and CUDA_DEVICE_ORDER is {order}: {device} may not be "
                    "nvidia-smi's GPU 0")
    return warn(
        summary.format(models=join(shown_models), order=order, device="cuda:0"),
        fix=_("{command}\n(or select GPUs by UUID: {value} from {list})").format(
            command="export CUDA_DEVICE_ORDER=PCI_BUS_ID", value="CUDA_VISIBLE_DEVICES=GPU-...", list="`nvidia-smi -L`"),
        details=[_("CUDA's default order is FASTEST_FIRST, a heuristic that puts the fastest GPU first (CUDA Programming "
                   "Guide, {variable}); nvidia-smi lists GPUs in PCI bus order in practice (NVIDIA does not document it; "
                   "see {issue}), and NVML recommends matching GPUs by UUID or bus id.").format(
                       variable="CUDA_DEVICE_ORDER", issue="flux-framework/flux-core#1598")],
    )
