"""`envcheck gpu-bench`: measure matmul TFLOP/s per dtype, memory and host<->device bandwidth, P2P
and NCCL all_reduce bandwidth, launch latency; judge each figure against the model's datasheet peak.

This module is torch-free: it validates the flags, picks the device(s) like smoke-train
(nvidia-smi numbering, CUDA_VISIBLE_DEVICES respected), refuses a GPU another process is using,
and runs envcheck/bench/worker.py in a child under a time limit (envcheck/bench/run.py).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import sys
from typing import Any, Optional

import typer

from envcheck.core.errors import UserError
from envcheck.util import progress

SCHEMA_VERSION = 1
DEFAULT_TIMEOUT = {"quick": 180.0, "full": 600.0}
MAX_TIMEOUT_S = 3600.0


def _validate_timeout(timeout: float | None) -> None:
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UserError(f"--timeout {timeout:g}: give the seconds all measurements may take, up to {MAX_TIMEOUT_S:g}, e.g. --timeout 300.")


def _require_torch() -> None:
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserError(f"torch is not installed in {sys.executable}; gpu-bench measures through torch: "
                        "install it (https://pytorch.org/get-started/locally/) and re-run.")


def _facts() -> tuple[dict[str, Any], dict[str, Any], str | None]:
    from envcheck.core.context import Context
    from envcheck.core.runner import collect

    facts = collect(Context(), ["nvidia", "gpu_health"])
    nvidia, health = facts.data("nvidia"), facts.data("gpu_health")
    why = facts.error("nvidia") or (nvidia.get("nvml_error") or {}).get("message") or (nvidia.get("smi") or {}).get("error")
    return nvidia, health, why


def _others(gpu: dict[str, Any]) -> list[str]:
    return [f"PID {p.get('pid')}" + (f" ({p['user']})" if p.get("user") else "") + (f" {p['name']}" if p.get("name") else "")
            for p in gpu.get("processes") or [] if p.get("pid") != os.getpid()]


def plan(gpu: int | None, gpus: str | None, cpu: bool, nvidia: dict[str, Any], why: str | None, env: dict[str, str]):
    from envcheck.smoke.selection import plan_devices

    try:
        return plan_devices(gpu=gpu, gpus=gpus, cpu=cpu, nproc=None, nvidia_gpus=nvidia.get("gpus") or [],
                            nvidia_error=why, visible_raw=env.get("CUDA_VISIBLE_DEVICES"))
    except UserError as exc:
        raise UserError(str(exc).replace("smoke-train", "gpu-bench")) from None


class _Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame):
    raise _Interrupted(signum)


def render_text(report: dict[str, Any]) -> str:
    lines = [f"envcheck gpu-bench: {report['device']['describe']}" + (" (quick)" if report["quick"] else "")]
    for f in report["figures"]:
        where = f"GPU {f['physical']}" if f.get("physical") is not None else str(f.get("device"))
        value = "error" if f.get("value") is None else f"{f['value']:.4g} {f['unit']}"
        expected = f" (expected >= {f['expected'] * 0.8:.4g}; peak {f['peak']:.4g}, {f['basis']})" if f.get("expected") else ""
        lines.append(f"  {f['verdict'].upper():10} {f['name']:22} {where:8} {value}{expected}")
        if f.get("error"):
            lines.append(f"             {f['error']}")
        for c in f.get("causes") or []:
            lines.append(f"             likely cause: {c['cause']} -> {c['fix']} ({'admin' if c['who'] == 'admin' else 'you'})")
    for note in report["notes"]:
        lines.append(f"note: {note}")
    if report.get("error"):
        lines.append(f"error: {report['error']}")
    if report["verdict"] == "not judged":
        lines.append("verdict: not judged (no reference figures for this device: the figures above are what it measured)")
    else:
        lines.append(f"verdict: {report['verdict']}")
    return "\n".join(lines)


def command(
    gpu: Optional[int] = typer.Option(None, "--gpu", help="Measure this GPU, numbered as nvidia-smi numbers it (default: GPU 0 when there is one)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Measure several GPUs (nvidia-smi numbers, e.g. 0,1): adds P2P per pair and the NCCL all_reduce sweep."),
    cpu: bool = typer.Option(False, "--cpu", help="Measure the CPU with the same code (GFLOP/s, memory bandwidth); no GPU needed."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes and fewer repetitions (seconds, not minutes)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds all measurements may take (default 180 with --quick, else 600)."),
    shared: bool = typer.Option(False, "--shared", help="Measure even if another process uses the GPU (figures are then not judged)."),
) -> None:
    """Measure the GPU (or CPU) and compare each figure with the model's datasheet peak."""
    _validate_timeout(timeout)
    if gpu is not None and gpu < 0:
        raise UserError(f"--gpu {gpu}: GPU numbers start at 0 (as nvidia-smi numbers them).")
    if cpu and (gpu is not None or gpus):
        raise UserError("--cpu cannot be combined with --gpu/--gpus; choose the CPU or GPUs, not both.")
    if gpus is not None:
        from envcheck.smoke.selection import parse_gpu_list

        parse_gpu_list(gpus)
    _require_torch()
    env = dict(os.environ)
    nvidia, health, why = ({}, {}, None) if cpu else _facts()
    chosen = plan(gpu, gpus, cpu, nvidia, why, env)
    notes = list(chosen.notes)
    others: dict[int, list[str]] = {}
    for g in chosen.gpus:
        if _others(g):
            others[g["index"]] = _others(g)
    if others and not shared:
        first = next(iter(others))
        raise UserError(f"GPU {first} is in use by {', '.join(others[first][:3])}; measuring now would slow that work and "
                        "give figures that mean nothing. Re-run when it is free, or pass --shared to measure anyway (not judged).")
    if others:
        notes.append("other processes use the GPU(s): figures are not judged (--shared)")
    limit = timeout or DEFAULT_TIMEOUT["quick" if quick else "full"]
    child_env = {**env, **chosen.child_env, "PYTHONUNBUFFERED": "1"}
    spec = {"device": chosen.kind, "count": len(chosen.physical) or 1, "quick": quick}

    terminal = sys.stderr.isatty()

    def on_step(text: str) -> None:
        if terminal:
            status.update(f"gpu-bench: {text}...")
        else:
            progress.note(f"envcheck gpu-bench: {text}")

    from envcheck.bench.run import run_worker
    from envcheck.bench.verdict import judge
    from envcheck.smoke.phases import CHILDREN

    saved = {}
    if __import__("threading").current_thread() is __import__("threading").main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            saved[sig] = signal.signal(sig, _raise)
    try:
        with progress.status("gpu-bench: starting...", enabled=terminal) as status:
            result = run_worker(spec, child_env, limit, on_step)
    except KeyboardInterrupt as exc:
        stopped = CHILDREN.stop_all()
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"envcheck: interrupted ({signal.Signals(signum).name}): stopped {stopped} process(es)", file=sys.stderr)
        raise typer.Exit(128 + signum) from None
    finally:
        CHILDREN.stop_all()
        for sig, handler in saved.items():
            signal.signal(sig, handler)

    health_by_index = {g.get("index"): g for g in health.get("gpus") or []}
    figures = []
    for f in result["figures"]:
        device = f.get("device")
        physical = chosen.physical[device] if isinstance(device, int) and device < len(chosen.physical) else None
        gpu_facts = next((g for g in chosen.gpus if g.get("index") == physical), {})
        row = judge(f, gpu_facts.get("name"), health_by_index.get(physical), health, others.get(physical, []))
        if others and row["verdict"] in ("ok", "slow"):
            row["verdict"] = "not judged"
        row["physical"] = physical
        figures.append(row)
    verdicts = [f["verdict"] for f in figures]
    if result["error"] or not figures:
        overall = "error"
    elif "slow" in verdicts:
        overall = "slow"
    elif "error" in verdicts:
        overall = "partial"
    elif all(v == "not judged" for v in verdicts):
        # Nothing had a reference figure (a CPU, a GPU model not in gpu_peaks.yaml, a shared GPU):
        # saying "ok" would claim a comparison that was never made.
        overall = "not judged"
    else:
        overall = "ok"
    report = {
        "schema_version": SCHEMA_VERSION,
        "command": "gpu-bench",
        "quick": quick,
        "device": {**chosen.to_dict(), "describe": chosen.describe()},
        "torch": result["info"],
        "figures": figures,
        "notes": notes,
        "error": result["error"],
        "timed_out": result["timed_out"],
        "seconds": result["seconds"],
        "verdict": overall,
        "health": {k: health.get(k) for k in ("source", "error", "nccl_env")} if health else None,
    }
    print(json.dumps(report, indent=2) if json_out else render_text(report))
    raise typer.Exit(0 if overall in ("ok", "not judged") else 1)
