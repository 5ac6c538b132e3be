"""What CUDA_VISIBLE_DEVICES makes CUDA see, worked out without CUDA.

Pure: give it the variable's value and the "gpus" list from the nvidia facts; it says which
physical GPUs (nvidia-smi indices) CUDA will enumerate, in CUDA's order (cuda:0 first), and what
is wrong with the value. Used by the doctor's cuda checks and by `envcheck smoke-train --gpu N`.

The rules are NVIDIA's (CUDA Programming Guide 13.x, section 5.2.1.1, "CUDA_VISIBLE_DEVICES",
https://docs.nvidia.com/cuda/cuda-programming-guide/05-appendices/environment-variables.html):
- unset: every GPU is visible; set to "": none is;
- a comma-separated list, enumerated in the order written;
- an integer is the GPU's nvidia-smi index; "GPU-..." is a UUID or a unique prefix of one;
  "MIG-..." selects one MIG instance, and only one MIG instance can be used;
- the first invalid entry hides itself and every entry after it ("0,2,-1,1" shows 0 and 2).
Where the guide is silent (a repeated device, spaces around entries) we report a problem and
say the behaviour is unknown instead of guessing.

Integer indices are nvidia-smi (PCI bus) order only when CUDA_DEVICE_ORDER=PCI_BUS_ID or all GPUs
are the same model; the cuda checks warn about that, this module assumes PCI order.

The problem lines are in the run's language (issue #11): each is one message with named
placeholders; the variable's value and the entries stay as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from envcheck.i18n import _, join, ngettext

_INDEX = re.compile(r"^\d+$")


@dataclass
class VisibleEntry:
    token: str  # as written in the variable (spaces kept, so the report shows them)
    kind: str  # "index" | "uuid" | "mig" | "invalid"
    physical_index: int | None  # nvidia-smi index of the GPU (the parent GPU for a MIG entry)
    mig_uuid: str | None = None
    problem: str | None = None


@dataclass
class VisibleDevices:
    raw: str | None  # None: the variable is unset
    entries: list[VisibleEntry] = field(default_factory=list)
    visible: list[int] = field(default_factory=list)  # physical indices in CUDA order: cuda:0 first
    visible_mig: list[str] = field(default_factory=list)
    stopped_at: str | None = None  # first invalid token: it and everything after it are hidden
    problems: list[str] = field(default_factory=list)  # sentences for the report
    mapped: bool = True  # False when no GPU list was available, so only the syntax was checked

    def cuda_map(self) -> list[tuple[int, int]]:
        """[(cuda ordinal, physical index)], e.g. [(0, 2), (1, 1)] for "2,1"."""
        return list(enumerate(self.visible))


def _gpu_label(gpu: dict[str, Any]) -> str:
    name = gpu.get("name") or _("unknown model")
    return f"GPU {gpu.get('index')} ({name})"


def _match_prefix(token: str, candidates: list[tuple[str, Any]]) -> tuple[list[Any], bool]:
    """Entries whose uuid starts with token; second value says whether one matched exactly."""
    exact = [item for uuid, item in candidates if uuid == token]
    if exact:
        return exact, True
    return [item for uuid, item in candidates if uuid.startswith(token)], False


def _classify(token: str, gpus: list[dict[str, Any]]) -> VisibleEntry:
    """Interpret one stripped entry against the GPU list (empty list: syntax only)."""
    have_gpus = bool(gpus)
    if _INDEX.match(token):
        index = int(token)
        if not have_gpus:
            return VisibleEntry(token, "index", None)
        by_index = {g.get("index"): g for g in gpus}
        if index not in by_index:
            known = sorted(i for i in by_index if isinstance(i, int))
            if len(known) == 1:
                problem = _("GPU index {index} does not exist (this machine has only GPU {first})").format(
                    index=index, first=known[0])
            else:
                problem = _("GPU index {index} does not exist (this machine has GPUs {first}-{last})").format(
                    index=index, first=known[0], last=known[-1])
            return VisibleEntry(token, "invalid", None, problem=problem)
        return VisibleEntry(token, "index", index)
    if token.startswith("-") and _INDEX.match(token[1:]):
        return VisibleEntry(token, "invalid", None,
                            problem=_("{entry} is not a GPU (negative numbers hide what follows)").format(entry=token))
    if token.startswith("GPU-"):
        if not have_gpus:
            return VisibleEntry(token, "uuid", None)
        candidates = [(str(g.get("uuid") or ""), g) for g in gpus if g.get("uuid")]
        found, _exact = _match_prefix(token, candidates)
        if len(found) == 1:
            return VisibleEntry(token, "uuid", found[0].get("index"))
        if not found:
            return VisibleEntry(token, "invalid", None, problem=_("no GPU has a UUID starting with {entry} (see {command})").format(
                entry=token, command="`nvidia-smi -L`"))
        names = join(_gpu_label(g) for g in found)
        return VisibleEntry(token, "invalid", None, problem=_("{entry} is ambiguous: it is the start of the UUIDs of {gpus}").format(
            entry=token, gpus=names))
    if token.startswith("MIG-"):
        if not have_gpus:
            return VisibleEntry(token, "mig", None, mig_uuid=token)
        candidates = []
        for g in gpus:
            for mig in g.get("mig_devices") or []:
                if mig.get("uuid"):
                    candidates.append((str(mig["uuid"]), (g, mig)))
        # The older form MIG-GPU-<uuid>/<GI>/<CI> names the parent GPU; the instance ids are not in
        # our facts, so we can map it to its GPU but not to one MIG device.
        legacy = re.match(r"^MIG-(GPU-[0-9a-fA-F-]+)/(\d+)/(\d+)$", token)
        if legacy:
            parents = [g for g in gpus if g.get("uuid") == legacy.group(1)]
            if len(parents) == 1:
                return VisibleEntry(token, "mig", parents[0].get("index"), mig_uuid=token)
            return VisibleEntry(token, "invalid", None, problem=_("no GPU has the UUID {uuid} (see {command})").format(
                uuid=legacy.group(1), command="`nvidia-smi -L`"))
        found, exact = _match_prefix(token, candidates)
        if len(found) == 1:
            gpu, mig = found[0]
            entry = VisibleEntry(token, "mig", gpu.get("index"), mig_uuid=str(mig["uuid"]))
            if not exact:
                entry.problem = _(
                    "{entry} is only the start of a MIG UUID; NVIDIA documents prefixes for GPU UUIDs only, "
                    "so whether CUDA accepts it is unknown: write the full MIG UUID"
                ).format(entry=token)
            return entry
        if not found:
            return VisibleEntry(token, "invalid", None, problem=_(
                "no MIG device has a UUID starting with {entry} (see {command})").format(entry=token, command="`nvidia-smi -L`"))
        return VisibleEntry(token, "invalid", None, problem=_("{entry} is ambiguous: it starts {count} MIG UUIDs").format(
            entry=token, count=len(found)))
    if token == "":
        return VisibleEntry(token, "invalid", None, problem=_("an empty entry (two commas in a row, or a trailing comma)"))
    return VisibleEntry(token, "invalid", None, problem=_("{entry} is not a GPU index, a GPU- UUID or a MIG- UUID").format(
        entry=repr(token)))


def parse_visible_devices(raw: str | None, gpus: list[dict[str, Any]]) -> VisibleDevices:
    """Which GPUs CUDA will see for this CUDA_VISIBLE_DEVICES value.

    gpus: the "gpus" list of the nvidia facts (each with index, uuid, name, mig_devices).
    """
    gpus = [g for g in (gpus or []) if isinstance(g, dict)]
    ordered = sorted(gpus, key=lambda g: g.get("index") if isinstance(g.get("index"), int) else 1 << 30)
    result = VisibleDevices(raw=raw, mapped=bool(gpus))

    if raw is None:
        result.visible = [g["index"] for g in ordered if isinstance(g.get("index"), int)]
        return result
    if raw == "" or raw.strip() == "":
        if raw == "":
            result.problems.append(_("CUDA_VISIBLE_DEVICES is set to the empty string, which hides every GPU."))
        else:
            result.problems.append(_(
                "CUDA_VISIBLE_DEVICES holds only spaces; CUDA versions differ in how they read spaces, "
                "so what CUDA sees is unknown (most likely no GPU)."
            ))
        return result

    seen: dict[tuple[str, Any], str] = {}  # device key -> first token that selected it
    stopped = False
    for token in raw.split(","):
        stripped = token.strip()
        entry = _classify(stripped, ordered)
        entry.token = token
        if stripped != token and stripped:
            note = _(
                "entry {entry} has spaces around it; CUDA versions differ in whether they ignore them "
                "(unknown here, not guessed), so remove the spaces"
            ).format(entry=repr(token))
            # Two problems of one entry, each a whole clause.
            entry.problem = _("{problem}; {other}").format(problem=entry.problem, other=note) if entry.problem else note
        if entry.kind != "invalid" and gpus:
            key = ("mig", entry.mig_uuid) if entry.kind == "mig" else ("gpu", entry.physical_index)
            if key in seen:
                entry.kind = "invalid"
                entry.problem = _(
                    "{entry} selects {device} a second time (first as {first}); CUDA does not document what "
                    "a repeated device does (PyTorch's device-count code assumes it hides every GPU), so it is "
                    "treated here as invalid: list each GPU once"
                ).format(entry=stripped, device=_device_name(key, ordered), first=seen[key].strip())
            else:
                seen[key] = token
        result.entries.append(entry)
        if stopped:
            continue
        if entry.kind == "invalid":
            stopped = True
            result.stopped_at = token
            continue
        if entry.kind == "mig":
            result.visible_mig.append(entry.mig_uuid or stripped)
        elif entry.physical_index is not None:
            result.visible.append(entry.physical_index)

    _explain(result, ordered)
    return result


def _device_name(key: tuple[str, Any], gpus: list[dict[str, Any]]) -> str:
    kind, value = key
    if kind == "mig":
        return _("MIG device {uuid}").format(uuid=value)
    return f"GPU {value}"


def _explain(result: VisibleDevices, gpus: list[dict[str, Any]]) -> None:
    """Turn the entries into the sentences the report shows."""
    raw = result.raw
    if not result.mapped:
        result.problems.append(_(
            "No GPU list is available (no NVIDIA driver answered), so the entries could only be checked for "
            "syntax, not matched to GPUs."
        ))
    invalid = [e for e in result.entries if e.kind == "invalid"]
    if result.stopped_at is not None:
        first = invalid[0]
        hidden_after = result.entries[result.entries.index(first) + 1:]
        if first.token.strip() == "-1" and len(result.entries) == 1:
            result.problems.append(_("CUDA_VISIBLE_DEVICES=-1 hides every GPU."))
        else:
            setting = f"CUDA_VISIBLE_DEVICES={raw!r}"
            what = first.problem or _("{entry} is invalid").format(entry=repr(first.token))
            if hidden_after:
                result.problems.append(ngettext(
                    "{setting}: {problem}; it also hides the {count} entry after it ({entries}).",
                    "{setting}: {problem}; it also hides the {count} entries after it ({entries}).",
                    len(hidden_after)).format(setting=setting, problem=what, count=len(hidden_after),
                                              entries=",".join(e.token for e in hidden_after)))
            else:
                result.problems.append(_("{setting}: {problem}.").format(setting=setting, problem=what))
    for entry in result.entries:
        if entry.kind != "invalid" and entry.problem:
            result.problems.append(_("{setting}: {problem}.").format(setting=f"CUDA_VISIBLE_DEVICES={raw!r}",
                                                                    problem=entry.problem))
    if len(result.visible_mig) > 1:
        result.problems.append(_(
            "{count} MIG instances are listed, but CUDA enumerates only one MIG instance per "
            "process (CUDA Programming Guide); run one process per MIG instance instead."
        ).format(count=len(result.visible_mig)))
    if result.visible_mig and result.visible:
        result.problems.append(_(
            "Whole GPUs and MIG instances are mixed in one list; NVIDIA does not document what CUDA then "
            "enumerates, so list either GPUs or a single MIG instance."
        ))
    if result.mapped and not result.visible and not result.visible_mig and result.entries and not result.problems:
        result.problems.append(_("No GPU is visible to CUDA with this value."))
