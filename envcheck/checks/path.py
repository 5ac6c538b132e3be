"""PATH and library-path checks: missing and duplicate entries, shadowed executables, CUDA
libraries on LD_LIBRARY_PATH that do not match torch, LD_PRELOAD.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); folders, commands and variable names are
placeholders or stay literally inside the message.
"""

from __future__ import annotations

import os

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _, join, join_clauses, ngettext

# Several copies of these are a problem in themselves: the first one decides which CUDA toolkit
# builds extensions, or which environment a distributed run starts in.
_SHADOW_MATTERS = ("nvcc", "torchrun", "nvidia-smi")


@check("path.missing_dirs", "path", N_("PATH entries that do not exist"), facts=("paths",))
def missing_dirs(facts: Facts) -> Finding | None:
    """`PATH` entries that do not exist, and empty or relative entries (warn); an empty `PATH` (fail).
    Folders that distributions' default PATHs and skeleton files name whether or not they exist
    (`/snap/bin`, `/usr/games`, `/usr/local/games`, `~/bin`, `~/.local/bin`, ...) are only a note when
    missing: that is how the machine was set up, and the shell skips them.

    Why: A missing folder usually means an uninstalled toolkit or a typo in `~/.bashrc` (the `nvcc`
    you think is on PATH is not); an empty or relative entry makes the current folder searchable.

    Fix: Remove them from the `export PATH=…` lines (the shell area names the line).
    """
    entries = facts.data("paths").get("path")
    if entries is None:
        return None
    if not entries:
        return fail(_("PATH is empty: no command can be found"),
                    fix=_("{command}   (then fix the line in ~/.bashrc that cleared it)").format(
                        command="export PATH=/usr/local/bin:/usr/bin:/bin"))
    relative = [e["dir"] or _("(empty entry = current folder)") for e in entries if not e["dir"].startswith("/")]
    absent = [e for e in entries if e["dir"].startswith("/") and not e.get("is_dir")]
    missing = [e["dir"] for e in absent if not e.get("distro_default")]
    defaults = [e["dir"] for e in absent if e.get("distro_default")]
    note = [_("not on this machine, as in many default setups (skipped when looking up commands): {folders}").format(
        folders=join(defaults))] if defaults else []
    problems = missing + relative
    if problems:
        return warn(
            ngettext("{count} PATH entry does not exist or is relative: {entries}",
                     "{count} PATH entries do not exist or are relative: {entries}", len(problems)).format(
                count=len(problems), entries=join(problems)),
            fix=_("Remove them from the {lines} lines in ~/.bashrc (see the shell area for the exact lines).").format(
                lines="`export PATH=...`"),
            details=[_("A missing folder usually means an uninstalled toolkit or a typo; an empty entry makes the current "
                       "folder searchable.")] + note,
        )
    return ok(_("all {count} PATH entries exist").format(count=len(entries)) if not defaults else
              ngettext("PATH entries are fine; {count} default folder is not on this machine",
                       "PATH entries are fine; {count} default folders are not on this machine", len(defaults)).format(
                  count=len(defaults)), details=note)


@check("path.duplicates", "path", N_("Duplicate PATH entries"), facts=("paths",))
def duplicates(facts: Facts) -> Finding | None:
    """Folders listed more than once (OK, noted).

    Why: Harmless for lookup; a sign that `~/.bashrc` is sourced twice.

    Fix: –.
    """
    entries = facts.data("paths").get("path")
    if not entries:
        return None
    repeated = sorted({e["dir"] for e in entries if e.get("duplicate_of") is not None})
    if not repeated:
        return ok(_("no duplicate PATH entries"))
    # Harmless for lookup (the first copy wins either way), so not a warning.
    return ok(
        ngettext("PATH lists {count} folder more than once ({folders}); harmless, usually from sourcing ~/.bashrc twice",
                 "PATH lists {count} folders more than once ({folders}); harmless, usually from sourcing ~/.bashrc twice",
                 len(repeated)).format(count=len(repeated), folders=join(repeated)),
    )


def _distinct(hits: list[dict]) -> list[dict]:
    """Hits that are really different programs (not /bin and /usr/bin on a merged-/usr system)."""
    seen, result = set(), []
    for hit in hits:
        if hit["realpath"] in seen:
            continue
        seen.add(hit["realpath"])
        result.append(hit)
    return result


@check("path.shadowed", "path", N_("Executables (python, pip, nvcc, torchrun, ...) with several copies on PATH"),
       facts=("paths",))
def shadowed(facts: Facts) -> Finding | list[Finding] | None:
    """Several different `nvcc`, `torchrun` or `nvidia-smi` on `PATH` (warn, naming the winner and the
    hidden ones); `torchrun` from a different folder than `python` (warn); other copies listed as
    OK. The same file reached twice (`/bin` and `/usr/bin` on merged-/usr systems) does not count.

    Why: The first `nvcc` decides which toolkit builds extensions; a `torchrun` from another env
    starts workers with that env's interpreter.

    Fix: `which -a NAME` and reorder `PATH`; `python -m torch.distributed.run` instead of `torchrun`
    """
    found = facts.data("paths").get("shadowed")
    if found is None:
        return None
    findings = []
    informational = []
    for name, hits in found.items():
        distinct = _distinct(hits)
        if len(distinct) < 2:
            continue
        winner, hidden = distinct[0], distinct[1:]
        hidden_paths = join(h["path"] for h in hidden)
        line = _("{name}: {winner} wins over {hidden}").format(name=name, winner=winner["path"], hidden=hidden_paths)
        if name in _SHADOW_MATTERS:
            findings.append(warn(
                _("{count} different {name} on PATH; {winner} wins and hides {hidden}").format(
                    count=len(distinct), name=f"`{name}`", winner=winner["path"], hidden=hidden_paths),
                fix=_("{command}\nPut the one you want first in PATH in ~/.bashrc, or remove the others' folders from "
                      "PATH.").format(command=f"which -a {name}"),
            ))
        else:
            informational.append(line)
    # torchrun from one environment starts workers with that environment's python.
    torchrun, python = found.get("torchrun"), found.get("python") or found.get("python3")
    if torchrun and python and os.path.normpath(torchrun[0]["dir"]) != os.path.normpath(python[0]["dir"]):
        findings.append(warn(
            _("{torchrun} ({torchrun_path}) is not from the same folder as {python} ({python_path}): it would start "
              "training with another environment's interpreter").format(
                torchrun="`torchrun`", torchrun_path=torchrun[0]["path"], python="`python`", python_path=python[0]["path"]),
            fix=_("{command}   (same as torchrun, but with the python you chose)").format(
                command="python -m torch.distributed.run ..."),
        ))
    if informational or not findings:
        summary = _("several copies on PATH (the first wins): {copies}").format(copies=join_clauses(informational)) \
            if informational else _("no important executable is shadowed on PATH")
        findings.append(ok(summary))
    return findings


def _major_minor(version: str | None) -> tuple[int, ...] | None:
    if not version or version == "unknown":
        return None
    try:
        return tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return None


@check("path.ld_library_path_cuda", "path", N_("CUDA/cuDNN libraries on LD_LIBRARY_PATH that differ from torch's CUDA"),
       facts=("paths", "torch"))
def ld_library_path_cuda(facts: Facts) -> Finding | list[Finding] | None:
    """Existing `LD_LIBRARY_PATH` folders that really hold CUDA/cuDNN/NCCL/nvJitLink libraries whose
    CUDA version differs from `torch.version.cuda` (from the `torch` collector) or is unknown
    (warn); skips, saying so, when torch's CUDA version is not known. A folder that does not exist
    (even one named `cuda-10.2`) or holds no such library loads nothing: at most a note.

    Why: These load before the pip `nvidia-*` libraries torch was built with: "undefined symbol:
    __nvJitLinkAddData_12_1" (pytorch/pytorch#111469).

    Fix: `unset LD_LIBRARY_PATH`, then remove the folder from `~/.bashrc`
    """
    data = facts.data("paths")
    if not data:
        return None
    if not data.get("ld_library_path_set"):
        return ok(_("LD_LIBRARY_PATH is not set (torch uses its own CUDA libraries)"))
    entries = data.get("ld_library_path") or []
    # Only folders the loader can really take libraries from count.
    with_cuda = [e for e in entries if e.get("exists") is not False and e.get("cuda_libraries")]
    missing = [e["dir"] for e in entries if e.get("exists") is False and e.get("dir")]
    notes = [_("LD_LIBRARY_PATH names folders that do not exist (the loader skips them): {folders}").format(
        folders=join(missing))] if missing else []
    if not with_cuda:
        return ok(_("LD_LIBRARY_PATH is set but holds no CUDA, cuDNN or NCCL libraries"), details=notes)
    torch_cuda = facts.data("torch").get("cuda")
    torch_version = _major_minor(torch_cuda)
    findings = []
    for entry in with_cuda:
        libs = join(entry.get("cuda_libraries") or [])
        guess = entry.get("cuda_version") or "unknown"
        where = f"{entry['dir']} (CUDA {entry.get('cuda_version') or _('unknown')}; {libs})"
        if torch_version is None:
            if "torch" in facts and facts.data("torch"):
                text = _("LD_LIBRARY_PATH holds CUDA libraries in {where}; torch's CUDA version is unknown, so they "
                         "could not be compared")
            else:
                text = _("LD_LIBRARY_PATH holds CUDA libraries in {where}; torch's CUDA version was not collected, so "
                         "they could not be compared")
            findings.append(skip(text.format(where=where)))
            continue
        lib_version = _major_minor(guess)
        if lib_version is None:
            findings.append(warn(_("LD_LIBRARY_PATH holds CUDA libraries of unknown version in {where}; they load "
                                   "before torch's own CUDA {version} libraries").format(where=where, version=torch_cuda),
                                 fix=_("{command}   (or remove {folder} from it in ~/.bashrc)").format(
                                     command="unset LD_LIBRARY_PATH", folder=entry["dir"])))
            continue
        # A guess with only a major version ("12") is compared on the major alone.
        compared = torch_version[: len(lib_version)]
        if lib_version == compared:
            findings.append(ok(_("CUDA libraries on LD_LIBRARY_PATH match torch's CUDA {version}: {where}").format(
                version=torch_cuda, where=where), details=notes))
            continue
        findings.append(warn(
            _("LD_LIBRARY_PATH puts CUDA {version} libraries ({folder}) ahead of torch's CUDA {torch_version} ones: "
              "imports can fail with {error} or cuDNN/cuBLAS errors").format(
                version=guess, folder=entry["dir"], torch_version=torch_cuda,
                error="'undefined symbol: __nvJitLinkAddData...'"),
            fix=_("{command}   (test in this shell)\nthen remove {folder} from the LD_LIBRARY_PATH line in ~/.bashrc").format(
                command="unset LD_LIBRARY_PATH", folder=entry["dir"]),
            details=[_("libraries there: {libraries}").format(libraries=libs),
                     _("{issue}: a system toolkit on LD_LIBRARY_PATH shadows the pip nvidia-* libraries").format(
                         issue="pytorch/pytorch#111469")],
        ))
    return findings


@check("path.ld_preload", "path", N_("LD_PRELOAD set (forces libraries into every process)"), facts=("paths",))
def ld_preload(facts: Facts) -> Finding | None:
    """`LD_PRELOAD` set (warn).

    Why: Forces a library into every process, including python and torch.

    Fix: `unset LD_PRELOAD` unless it is a deliberate allocator.
    """
    data = facts.data("paths")
    if not data:
        return None
    value = data.get("ld_preload")
    if not value:
        return ok(_("LD_PRELOAD is not set"))
    return warn(
        _("{assignment} is set: these libraries load into every program, including python and torch").format(
            assignment=f"LD_PRELOAD={value}"),
        fix=_("{command}   (unless you set it on purpose, e.g. for tcmalloc/jemalloc)").format(command="unset LD_PRELOAD"),
    )
