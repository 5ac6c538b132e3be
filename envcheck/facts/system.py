"""The host: OS, kernel, glibc, CPUs, memory, free disk, /dev/shm, WSL and container hints, and the
open-files limit."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.util.reasons import os_error

WSL_LIBCUDA = "usr/lib/wsl/lib/libcuda.so.1"
# Words in /proc/1/cgroup that only appear when PID 1 runs inside a container runtime.
_CONTAINER_CGROUP_WORDS = ("docker", "kubepods", "containerd", "libpod", "lxc", "buildkit")


def _os_release(ctx: Context) -> dict:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = ctx.read_text(ctx.sys_root / rel)
        if text is None:
            continue
        fields = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip('"').strip("'")
        return fields
    return {}


def _glibc_version() -> str | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.35"
    except (AttributeError, ValueError, OSError):
        text = None
    if text and text.startswith("glibc "):
        return text.split()[1]
    lib, version = platform.libc_ver()
    return version if lib == "glibc" and version else None


def _usage(path: Path) -> dict:
    try:
        usage = shutil.disk_usage(str(path))  # statvfs: free = f_bavail, what psutil.disk_usage gives too
    except OSError as exc:
        # The system's reason is shown in system.disk_space's message: translated where known.
        return {"free_bytes": None, "total_bytes": None, "error": f"{type(exc).__name__}: {os_error(exc)}"}
    return {"free_bytes": usage.free, "total_bytes": usage.total, "error": None}


def _memory() -> tuple[int | None, int | None]:
    """(total, available) bytes from /proc/meminfo, as psutil.virtual_memory() reports them on Linux
    (MemTotal, MemAvailable); psutil only where a field is missing (kernels before 3.14). Reading
    the file directly spares every doctor run psutil's import (35-130 ms on 2 CPUs, issue #9)."""
    fields = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _sep, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key.strip()] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    if "MemTotal" in fields and "MemAvailable" in fields:
        return fields["MemTotal"], fields["MemAvailable"]
    try:
        import psutil

        memory = psutil.virtual_memory()
        return memory.total, memory.available
    except Exception:  # noqa: BLE001 - no psutil, or it cannot read memory: unknown
        return None, None


def _disks(ctx: Context) -> list[dict]:
    places = [("cwd", ctx.cwd), ("home", ctx.home), ("tmp", Path(ctx.env.get("TMPDIR") or "/tmp"))]
    return [{"path": str(path), "label": label, **_usage(path)} for label, path in places]


def _shm(ctx: Context) -> dict | None:
    shm = ctx.sys_root / "dev/shm"
    if not shm.is_dir():
        return None
    usage = _usage(shm)
    if usage["error"]:
        return None
    return {"path": "/dev/shm", "total_bytes": usage["total_bytes"], "free_bytes": usage["free_bytes"]}


def _wsl(ctx: Context) -> dict:
    version_text = (ctx.read_text(ctx.proc_root / "version") or "").strip()
    return {
        "is_wsl": "microsoft" in version_text.lower(),
        "version_text": version_text.splitlines()[0] if version_text else None,
        "libcuda_wsl": (ctx.sys_root / WSL_LIBCUDA).exists(),
        "distro": ctx.env.get("WSL_DISTRO_NAME"),
    }


def _container(ctx: Context) -> dict:
    cgroup = ctx.read_text(ctx.proc_root / "1/cgroup") or ""
    hint = next((word for word in _CONTAINER_CGROUP_WORDS if word in cgroup), None)
    dockerenv = (ctx.sys_root / ".dockerenv").exists()
    containerenv = (ctx.sys_root / "run/.containerenv").exists()
    return {
        "dockerenv": dockerenv,
        "containerenv": containerenv,
        "cgroup_hint": hint,
        "in_container": dockerenv or containerenv or hint is not None,
    }


def _cgroup_limits(ctx: Context) -> dict:
    """CPU quota and memory limit of this cgroup (containers, SLURM jobs): os.cpu_count() and
    /proc/meminfo show the whole host, which is not what a process here may use."""
    root = ctx.sys_root / "sys/fs/cgroup"
    cpus = memory = None
    version = None
    cpu_max = ctx.read_text(root / "cpu.max")  # cgroup v2: "max 100000" or "400000 100000"
    memory_max = ctx.read_text(root / "memory.max")  # cgroup v2: "max" or bytes
    if cpu_max is not None or memory_max is not None:
        version = 2
        quota, _, period = (cpu_max or "max").strip().partition(" ")
        if quota.isdigit() and period.strip().isdigit() and int(period) > 0:
            cpus = int(quota) / int(period)
        text = (memory_max or "max").strip()
        memory = int(text) if text.isdigit() else None
    else:
        quota_text = ctx.read_text(root / "cpu/cpu.cfs_quota_us")  # cgroup v1; -1 = no quota
        period_text = ctx.read_text(root / "cpu/cpu.cfs_period_us")
        limit_text = ctx.read_text(root / "memory/memory.limit_in_bytes")
        if quota_text is not None or limit_text is not None:
            version = 1
        try:
            quota, period = int((quota_text or "-1").strip()), int((period_text or "0").strip())
            if quota > 0 and period > 0:
                cpus = quota / period
        except ValueError:
            pass
        try:
            limit = int((limit_text or "").strip())
            # v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages): treat >= 2**60 as none.
            memory = limit if limit < 2**60 else None
        except ValueError:
            pass
    return {"version": version, "cpus": cpus, "memory_bytes": memory}


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _open_files_limit() -> dict:
    """The soft and hard RLIMIT_NOFILE (`ulimit -n`, `ulimit -Hn`) of this process, which the shell it
    was started from passed on, as the target interpreter and its DataLoader workers get it too.
    None means unlimited or unknown."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError, AttributeError) as exc:
        return {"soft": None, "hard": None, "error": f"{type(exc).__name__}: {exc}"}
    infinity = getattr(resource, "RLIM_INFINITY", -1)
    return {"soft": None if soft == infinity else soft, "hard": None if hard == infinity else hard, "error": None}


def _cpu_model(ctx: Context) -> str | None:
    """The CPU's marketing name (x86 "model name"; some ARM kernels only give "Hardware" or nothing)."""
    for line in (ctx.read_text(ctx.proc_root / "cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return None


@collector("system", "OS, kernel, glibc, CPUs, memory, free disk, /dev/shm, WSL and container hints, ulimit -n")
def collect_system(ctx: Context) -> dict:
    release = _os_release(ctx)
    uname = platform.uname()
    memory_total, memory_available = _memory()
    return {
        "os": release.get("PRETTY_NAME") or (f"{release.get('NAME', '')} {release.get('VERSION', '')}".strip() or None),
        "os_id": release.get("ID"),
        "os_version_id": release.get("VERSION_ID"),
        "kernel": uname.release,
        "machine": uname.machine,
        "glibc": _glibc_version(),
        "cpu_model": _cpu_model(ctx),
        "cpu_count": os.cpu_count(),
        "cpu_usable": _usable_cpus(),
        "memory_total_bytes": memory_total,
        "memory_available_bytes": memory_available,
        "disks": _disks(ctx),
        "shm": _shm(ctx),
        "wsl": _wsl(ctx),
        "container": _container(ctx),
        "cgroup_limits": _cgroup_limits(ctx),
        "open_files_limit": _open_files_limit(),
    }
