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
from envcheck.i18n import N_, _, current_language, join
from envcheck.util import progress

SCHEMA_VERSION = 1
DEFAULT_TIMEOUT = {"quick": 180.0, "full": 600.0}
MAX_TIMEOUT_S = 3600.0
# How the terminal report words a verdict: each row's (upper case in English) and the overall one.
# The JSON keeps the English values ("ok", "slow", "not judged", "error", "partial").
ROW_VERDICTS = {"ok": N_("OK"), "slow": N_("SLOW"), "not judged": N_("NOT JUDGED"), "error": N_("ERROR")}
OVERALL_VERDICTS = {"ok": N_("ok"), "slow": N_("slow"), "partial": N_("partial"), "error": N_("error")}
WIDTH = 80


def _validate_timeout(timeout: float | None) -> None:
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UserError(_("--timeout {timeout}: give the seconds all measurements may take, up to {most}, e.g. --timeout 300.")
                        .format(timeout=f"{timeout:g}", most=f"{MAX_TIMEOUT_S:g}"))


def _require_torch() -> None:
    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserError(_("torch is not installed in {python}; gpu-bench measures through torch: "
                          "install it ({url}) and re-run.").format(python=sys.executable,
                                                                   url="https://pytorch.org/get-started/locally/"))


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


def _pad(text: str, width: int) -> str:
    """text left-aligned in `width` terminal cells (a CJK character is two)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


def _wrap(line: str, width: int = WIDTH) -> list[str]:
    """A long line of prose broken to fit `width` cells (not used for English, whose layout is
    kept as it was). Breaks at spaces and between CJK characters, never inside a `code` span or an
    ASCII word; continuation lines are indented up to the text after the line's label (its first
    full-width colon), or by the line's own indent."""
    import re

    from rich.cells import cell_len

    if cell_len(line) <= width:
        return [line]
    indent = len(line) - len(line.lstrip(" "))
    colon = line.find("：")
    hang = cell_len(line[:colon + 1]) if 0 <= colon and cell_len(line[:colon + 1]) < width // 2 else indent
    tokens: list[str] = []
    for token in re.findall(r"`[^`]*`|[^\s`\u2e80-\uffef]+|[\u2e80-\uffef]|\s+", line[indent:]):
        # No line starts with closing punctuation or ends with an opening one.
        if tokens and (token[0] in "）。，；：、" or tokens[-1][-1] in "（"):
            tokens[-1] += token
        else:
            tokens.append(token)
    if not tokens:
        return [line]
    if hang + max(cell_len(t) for t in tokens) > width:
        hang = indent
    lines, current = [], " " * indent
    for token in tokens:
        if cell_len(current) + cell_len(token) > width and current.strip():
            if token.isspace():
                continue
            lines.append(current.rstrip())
            current = " " * hang
        if token.isspace() and not current.strip():
            continue
        current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def render_text(report: dict[str, Any]) -> str:
    from rich.cells import cell_len

    english = current_language() == "en"
    device = report["device"]["describe"]
    lines = [_("envcheck gpu-bench: {device} (quick)").format(device=device) if report["quick"]
             else f"envcheck gpu-bench: {device}"]
    indent = " " * 13
    for f in report["figures"]:
        where = f"GPU {f['physical']}" if f.get("physical") is not None else str(f.get("device"))
        value = _("error") if f.get("value") is None else f"{f['value']:.4g} {f['unit']}"
        expected = _("(expected >= {expected}; peak {peak}, {basis})").format(
            expected=f"{f['expected'] * 0.8:.4g}", peak=f"{f['peak']:.4g}", basis=f["basis"]) if f.get("expected") else ""
        word = _(ROW_VERDICTS[f["verdict"]]) if f["verdict"] in ROW_VERDICTS else f["verdict"].upper()
        row = f"  {_pad(word, 10)} {_pad(f['name'], 22)} {_pad(where, 8)} {value}"
        if not expected:
            lines.append(row)
        elif english:
            lines.append(f"{row} {expected}")
        elif cell_len(row + expected) <= WIDTH:
            lines.append(row + expected)
        else:
            # The datasheet comparison on a line of its own, so the row stays within 80 columns.
            lines += [row, indent + expected]
        if f.get("error"):
            lines.append(f"{indent}{f['error']}")
        for c in f.get("causes") or []:
            if c["who"] == "admin":
                # TRANSLATORS: may be split in two lines (cause, fix) with \n; each is indented.
                text = _("likely cause: {cause} -> {fix} (admin)")
            else:
                # TRANSLATORS: may be split in two lines (cause, fix) with \n; each is indented.
                text = _("likely cause: {cause} -> {fix} (you)")
            for line in text.format(cause=c["cause"], fix=c["fix"]).splitlines():
                lines += [indent + line] if english else _wrap(indent + line)
    for note in report["notes"]:
        lines.append(_("note: {note}").format(note=note))
    if report.get("error"):
        lines.append(_("error: {error}").format(error=report["error"]))
    if not english:
        lines[1:] = [part for line in lines[1:] for part in _wrap(line)]
    if report["verdict"] == "not judged":
        lines.append(_("verdict: not judged (no reference figures for this device: the figures above are what it measured)"))
    else:
        word = _(OVERALL_VERDICTS[report["verdict"]]) if report["verdict"] in OVERALL_VERDICTS else report["verdict"]
        lines.append(_("verdict: {verdict}").format(verdict=word))
    return "\n".join(lines)


def command(
    # Text, parsed by parse_gpu_option: "--gpu 0,1" is then pointed at --gpus instead of "not a whole number".
    gpu_text: Optional[str] = typer.Option(None, "--gpu", metavar="<int>", help="Measure this GPU, numbered as nvidia-smi numbers it (default: GPU 0 when there is one)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Measure several GPUs (nvidia-smi numbers, e.g. 0,1): adds P2P per pair and the NCCL all_reduce sweep."),
    cpu: bool = typer.Option(False, "--cpu", help="Measure the CPU with the same code (GFLOP/s, memory bandwidth); no GPU needed."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes and fewer repetitions (seconds, not minutes)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds all measurements may take (default 180 with --quick, else 600)."),
    shared: bool = typer.Option(False, "--shared", help="Measure even if another process uses the GPU (figures are then not judged)."),
) -> None:
    """Measure the GPU (or CPU) and compare each figure with the model's datasheet peak."""
    from envcheck.smoke.selection import parse_gpu_option

    gpu = parse_gpu_option(gpu_text)
    _validate_timeout(timeout)
    if cpu and (gpu is not None or gpus):
        raise UserError(_("--cpu cannot be combined with --gpu/--gpus; choose the CPU or GPUs, not both."))
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
        raise UserError(_("GPU {gpu} is in use by {processes}; measuring now would slow that work and "
                          "give figures that mean nothing. Re-run when it is free, or pass --shared to measure anyway "
                          "(not judged).").format(gpu=first, processes=join(others[first][:3])))
    if others:
        notes.append(_("other processes use the GPU(s): figures are not judged (--shared)"))
    limit = timeout or DEFAULT_TIMEOUT["quick" if quick else "full"]
    # ENVCHECK_LANG: the worker words its progress steps in this run's language (--lang included).
    child_env = {**env, **chosen.child_env, "PYTHONUNBUFFERED": "1", "ENVCHECK_LANG": current_language()}
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
        with progress.status(_("gpu-bench: starting..."), enabled=terminal) as status:
            result = run_worker(spec, child_env, limit, on_step)
    except KeyboardInterrupt as exc:
        stopped = CHILDREN.stop_all()
        signum = getattr(exc, "signum", signal.SIGINT)
        print(_("envcheck: interrupted ({signal}): stopped {count} process(es)").format(
            signal=signal.Signals(signum).name, count=stopped), file=sys.stderr)
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
