"""System checks: a summary of the host, free disk, /dev/shm size, WSL2.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); paths, commands, settings and sizes are
placeholders or stay literally inside the message.
"""

from __future__ import annotations

from envcheck.checks import check, ok, skip, warn
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.settings import value as setting
from envcheck.i18n import N_, _, join, join_clauses

GIB = 1024**3
# Thresholds are settings (envcheck/core/settings.py: disk_warn_gib, disk_fail_gib, shm_warn_gib).


# The folders system.disk_space looks at, as the collector labels them (envcheck/facts/system.py).
DISK_LABELS = {"cwd": N_("current folder"), "home": N_("home"), "tmp": N_("temporary files")}


def gib(value: int | float | None) -> str:
    if value is None:
        return _("unknown")
    return f"{value / GIB:.1f} GiB"


@check("system.summary", "system", N_("OS, kernel, glibc, CPUs and memory of this machine"), facts=("system",))
def host_summary(facts: Facts) -> Finding:
    """(always OK) OS, kernel, glibc, logical and usable CPUs, total and available RAM, container
    hints.

    Why: The first lines of any bug report; "usable" CPUs differ from the total in containers and
    under `taskset`, which matters for `num_workers`

    Fix: –.
    """
    data = facts.data("system")
    if not data:
        return skip(_("could not describe this machine: {error}").format(error=facts.error("system") or _("unknown")))
    cpus = data.get("cpu_count")
    usable = data.get("cpu_usable")
    if cpus is None:
        cpu_text = _("unknown CPUs")
    elif usable is not None and usable != cpus:
        cpu_text = _("{count} CPUs ({usable} usable by this process)").format(count=cpus, usable=usable)
    else:
        cpu_text = _("{count} CPUs").format(count=cpus)
    parts = [
        data.get("os") or _("unknown OS"),
        _("kernel {version}").format(version=data.get("kernel") or _("unknown")),
        f"glibc {data.get('glibc') or _('unknown')}",
        cpu_text,
        _("{total} RAM ({available} available)").format(
            total=gib(data.get("memory_total_bytes")), available=gib(data.get("memory_available_bytes"))),
    ]
    details = []
    container = data.get("container") or {}
    if container.get("in_container"):
        how = [name for name, flag in (("/.dockerenv", container.get("dockerenv")),
                                        ("/run/.containerenv", container.get("containerenv"))) if flag]
        if container.get("cgroup_hint"):
            how.append(_("cgroup mentions {hint}").format(hint=container["cgroup_hint"]))
        details.append(_("running inside a container ({evidence})").format(evidence=join(how)))
    return ok(join(parts), details=details)


@check("system.cgroup_limits", "system", N_("A container/cgroup CPU quota or memory limit lower than what the host shows"),
       facts=("system",))
def cgroup_limits(facts: Facts) -> Finding | None:
    """A cgroup CPU quota (`cpu.max`, or v1 `cpu.cfs_quota_us`) or memory limit (`memory.max`, v1
    `memory.limit_in_bytes`) below the CPUs and RAM the machine shows.

    Why: Inside Docker or a SLURM job, `os.cpu_count()` and `/proc/meminfo` show the whole host: tools
    that size thread pools and DataLoader workers from them oversubscribe the quota, and memory
    above the limit ends in the OOM killer (exit 137).

    Fix: Size workers from the quota (`num_workers` <= quota − 1, `OMP_NUM_THREADS=<quota>`); fewer
    workers or a smaller batch, or a larger `--memory`/`--mem`
    """
    data = facts.data("system")
    limits = data.get("cgroup_limits") or {}
    if not data or not limits.get("version"):
        return None
    host_cpus = data.get("cpu_usable") or data.get("cpu_count")
    quota, memory_limit = limits.get("cpus"), limits.get("memory_bytes")
    host_memory = data.get("memory_total_bytes")
    tight_cpu = quota is not None and host_cpus is not None and quota < host_cpus
    tight_memory = memory_limit is not None and host_memory is not None and memory_limit < host_memory
    if not tight_cpu and not tight_memory:
        return ok(_("no cgroup CPU quota or memory limit below what the machine shows"))
    fixes = []
    if tight_cpu:
        usable = max(1, int(quota))
        fixes.append(_("size workers from the quota, not {call}: {workers}, {command}").format(
            call="os.cpu_count()", workers=f"DataLoader(num_workers<={max(1, usable - 1)})",
            command=f"export OMP_NUM_THREADS={usable}"))
    if tight_memory:
        fixes.append(_("expect the OOM killer (exit 137) above that limit: fewer DataLoader workers, a smaller batch, "
                       "or ask for a larger limit ({options})").format(options="docker --memory, SLURM --mem"))
    if tight_cpu and tight_memory:
        summary = _("this process runs under a CPU quota of {quota} CPUs while {cpus} are visible and a memory limit of "
                    "{limit} while the machine shows {memory}: tools that size themselves from the host oversubscribe "
                    "or get killed").format(quota=f"{quota:g}", cpus=host_cpus, limit=gib(memory_limit),
                                            memory=gib(host_memory))
    elif tight_cpu:
        summary = _("this process runs under a CPU quota of {quota} CPUs while {cpus} are visible: tools that size "
                    "themselves from the host oversubscribe or get killed").format(quota=f"{quota:g}", cpus=host_cpus)
    else:
        summary = _("this process runs under a memory limit of {limit} while the machine shows {memory}: tools that "
                    "size themselves from the host oversubscribe or get killed").format(
            limit=gib(memory_limit), memory=gib(host_memory))
    return warn(summary, fix="\n".join(fixes),
                details=[_("cgroup v{version} limits from {folder}").format(
                    version=limits["version"], folder="/sys/fs/cgroup")])


@check("system.disk_space", "system", N_("Free disk space in the current folder, home and the temp folder"), facts=("system",))
def disk_space(facts: Facts) -> Finding | list[Finding] | None:
    """Less than 5 GiB free (warn) or 1 GiB (fail; settings `disk_warn_gib`, `disk_fail_gib`) in the current folder, `$HOME` or the temp folder.

    Why: Pip installs, dataset downloads and checkpoints fail with "No space left on device", often
    half-way through.

    Fix: `df -h`, `du -sh ~/.cache/* | sort -h`, `python -m pip cache purge`, `conda clean -a`
    """
    disks = facts.data("system").get("disks")
    if not disks:
        return None
    warn_bytes = setting(facts, "disk_warn_gib") * GIB
    fail_bytes = setting(facts, "disk_fail_gib") * GIB
    findings = []
    healthy = []
    seen = set()
    for disk in disks:
        label, path, free = disk.get("label"), disk.get("path"), disk.get("free_bytes")
        label = _(DISK_LABELS[label]) if label in DISK_LABELS else label
        if path in seen:
            continue
        seen.add(path)
        if free is None:
            findings.append(Finding("system.disk_space", Status.SKIP,
                                    _("free space of {path} ({label}) is unknown: {error}").format(
                                        path=path, label=label, error=disk.get("error") or _("not reported"))))
            continue
        if free >= warn_bytes:
            healthy.append(_("{label} {path}: {free} free of {total}").format(
                label=label, path=path, free=gib(free), total=gib(disk.get("total_bytes"))))
            continue
        status = Status.FAIL if free < fail_bytes else Status.WARN
        findings.append(Finding(
            "system.disk_space",
            status,
            _("only {free} free on {path} ({label}); downloads, pip installs and checkpoints will fail with {error}").format(
                free=gib(free), path=path, label=label, error="'No space left on device'"),
            fix="df -h\ndu -sh ~/.cache/* | sort -h\npython -m pip cache purge\nconda clean -a",
            details=[_("total {total}; warn below {warn}, fail below {fail} (settings {settings})").format(
                total=gib(disk.get("total_bytes")), warn=gib(warn_bytes), fail=gib(fail_bytes),
                settings="disk_warn_gib, disk_fail_gib")],
        ))
    if healthy:
        findings.append(Finding("system.disk_space", Status.OK,
                                _("enough free disk space: {disks}").format(disks=join_clauses(healthy))))
    return findings


@check("system.shm", "system", N_("/dev/shm large enough for DataLoader worker processes"), facts=("system",))
def shared_memory(facts: Facts) -> Finding | None:
    """`/dev/shm` smaller than 1 GiB (setting `shm_warn_gib`), or missing.

    Why: DataLoader workers pass batches through shared memory; with Docker's 64 MiB default they
    die with "bus error" or "unable to write to file </torch_…>".

    Fix: `docker run --shm-size=8g …` or `--ipc=host`; or `num_workers=0`
    """
    data = facts.data("system")
    if not data:
        return None
    shm = data.get("shm")
    if shm is None:
        return warn(_("/dev/shm is missing or unreadable; DataLoader workers ({workers}) pass batches through it").format(
                        workers="num_workers > 0"),
                    fix=_("Run with {workers}, or start the container with {command}.").format(
                        workers="num_workers=0", command="`docker run --ipc=host ...`"))
    total = shm.get("total_bytes")
    if total is not None and total < setting(facts, "shm_warn_gib") * GIB:
        in_container = (data.get("container") or {}).get("in_container")
        errors = {"bus": "'bus error'", "write": "'unable to write to file </torch_...>'", "shared": "'shared memory'"}
        if in_container:
            summary = _("/dev/shm is only {size}: DataLoader workers die with {bus} or {write} / {shared} errors "
                        "(Docker's default is 64 MiB)").format(size=gib(total), **errors)
        else:
            summary = _("/dev/shm is only {size}: DataLoader workers die with {bus} or {write} / {shared} errors").format(
                size=gib(total), **errors)
        return warn(
            summary,
            fix=_("{command}   (or {option})\nor set {workers} in the DataLoader").format(
                command="docker run --shm-size=8g ...", option="--ipc=host", workers="num_workers=0"),
            details=[_("{path}: {free} free of {total}").format(path="/dev/shm", free=gib(shm.get("free_bytes")),
                                                                total=gib(total))],
        )
    return ok(_("/dev/shm has {size} ({free} free)").format(size=gib(total), free=gib(shm.get("free_bytes"))))


@check("system.wsl", "system", N_("WSL2: the GPU is reached through /usr/lib/wsl/lib, not a Linux driver"), facts=("system",))
def wsl(facts: Facts) -> Finding | None:
    """WSL2 (`microsoft` in `/proc/version`); warns when `/usr/lib/wsl/lib/libcuda.so.1` is missing.

    Why: On WSL2 the GPU is reached through the Windows driver's libcuda; a Linux driver or a
    hand-made libcuda symlink breaks it (microsoft/WSL#9092, #7056).

    Fix: Install/update the NVIDIA driver in Windows, then `wsl --shutdown`
    """
    info = facts.data("system").get("wsl") or {}
    if not info.get("is_wsl"):
        return None
    details = [
        f"/proc/version: {info.get('version_text') or _('unknown')}",
        _("On WSL2 the NVIDIA driver is installed in Windows only; do not install a Linux NVIDIA driver inside WSL."),
        _("Do not symlink or copy libcuda.so by hand ({issues}): it breaks when the Windows driver updates.").format(
            issues="microsoft/WSL#9092, #7056"),
    ]
    if info.get("libcuda_wsl"):
        return ok(_("WSL2 detected; the Windows driver's libcuda is present in /usr/lib/wsl/lib"),
                  details=details)
    return warn(
        _("WSL2 detected but /usr/lib/wsl/lib/libcuda.so.1 is missing: CUDA cannot reach the GPU"),
        fix=_("Install or update the NVIDIA driver in Windows (not in WSL), then run {command} in PowerShell and reopen "
              "WSL.").format(command="`wsl --shutdown`"),
        details=details,
    )


# PyTorch's multiprocessing docs ("Sharing strategies", https://pytorch.org/docs/stable/multiprocessing.html)
# say the default file_descriptor strategy keeps a descriptor open per shared tensor and to switch to
# file_system where the limit cannot be raised, but give no number. 4096 is the value of the
# workaround in pytorch/pytorch#973 (and 4x the 1024 soft limit Debian/Ubuntu/systemd give).
OPEN_FILES_NEEDED = 4096
OPEN_FILES_RAISE_TO = 65535


@check("system.open_files_limit", "system", N_("The open-files limit (ulimit -n) is high enough for DataLoader workers"),
       facts=("system", "python"))
def open_files_limit(facts: Facts) -> Finding | None:
    """The soft `RLIMIT_NOFILE` (`ulimit -n`) below 4096 (warn), saying whether the hard limit lets
    you raise it yourself; not reported when the target interpreter has no torch.

    Why: With the default `file_descriptor` sharing strategy every tensor a DataLoader worker sends
    holds an open descriptor (PyTorch docs, "Sharing strategies":
    https://pytorch.org/docs/stable/multiprocessing.html); at the common default of 1024, loaders
    with several workers and batches of many tensors fail with "RuntimeError: received 0 items of
    ancdata" or "Too many open files" (pytorch/pytorch#973). 4096 is the value of the workaround in
    that issue; the docs give no number.

    Fix: `ulimit -n 65535` (or the hard limit, if lower) in `~/.bashrc`, or
    `torch.multiprocessing.set_sharing_strategy('file_system')` at the top of the training script;
    a low hard limit only an admin can raise (`/etc/security/limits.conf`, systemd `LimitNOFILE`)
    """
    data = facts.data("system")
    if not data or "open_files_limit" not in data:
        return None
    limits = data.get("open_files_limit") or {}
    soft, hard = limits.get("soft"), limits.get("hard")
    if limits.get("error"):
        return skip(_("the open-files limit could not be read: {error}").format(error=limits["error"]))
    target = facts.data("python").get("target") or {}
    distributions = target.get("distributions")
    soft_text = _("unlimited") if soft is None else str(soft)
    if isinstance(distributions, dict) and distributions and "torch" not in distributions:
        return ok(_("open-files limit {limit} (torch is not installed in the target, so DataLoader workers do not "
                    "apply)").format(limit=soft_text))
    if soft is None or soft >= OPEN_FILES_NEEDED:
        return ok(_("open-files limit (ulimit -n) is {limit}: enough for DataLoader workers").format(limit=soft_text))
    hard_text = _("unlimited") if hard is None else str(hard)
    strategy = _("{code}   (at the top of the training script)").format(
        code="import torch.multiprocessing\ntorch.multiprocessing.set_sharing_strategy('file_system')")
    details = [_("soft limit {soft}, hard limit {hard}; warned below {needed}").format(
                   soft=soft, hard=hard_text, needed=OPEN_FILES_NEEDED),
               _("PyTorch docs, sharing strategies: {url}; {issue}").format(
                   url="https://pytorch.org/docs/stable/multiprocessing.html", issue="pytorch/pytorch#973")]
    errors = {"ancdata": "'RuntimeError: received 0 items of ancdata'", "files": "'Too many open files'"}
    if hard is not None and hard < OPEN_FILES_NEEDED:
        return warn(
            _("the open-files limit (ulimit -n) is {soft}: DataLoader workers with the default file_descriptor sharing "
              "strategy can fail with {ancdata} or {files}; the hard limit is {hard}, so only an administrator can "
              "raise it").format(soft=soft, hard=hard, **errors),
            fix=_("{strategy}\nor ask an admin to raise the hard limit ({nofile} in /etc/security/limits.conf, or "
                  "{setting} for a systemd service)").format(strategy=strategy, nofile="'nofile'", setting="LimitNOFILE="),
            details=details,
        )
    target_limit = OPEN_FILES_RAISE_TO if hard is None else min(OPEN_FILES_RAISE_TO, hard)
    return warn(
        _("the open-files limit (ulimit -n) is {soft}: DataLoader workers with the default file_descriptor sharing "
          "strategy can fail with {ancdata} or {files}").format(soft=soft, **errors),
        fix=_("{command}   (then open a new shell; the hard limit {hard} allows it)\nor: {strategy}").format(
            command=f"echo 'ulimit -n {target_limit}' >> ~/.bashrc", hard=hard_text, strategy=strategy),
        details=details,
    )
