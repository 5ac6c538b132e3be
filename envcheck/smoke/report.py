"""smoke-train's output: the checks table with numbers, the verdict line, and the --json document.

Everything printed or written passes through envcheck.core.redact, like the doctor's reports.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from envcheck import __version__
from envcheck.core.redact import redact_data, redact_text
from envcheck.smoke.phases import CheckResult

# 2: checks[].status ("pass", "fail" or "skipped"); checks[].passed is null for a check that was
# not judged (e.g. learning and throughput on a data set too small to judge them).
SCHEMA_VERSION = 2


def verdict(checks: list[CheckResult]) -> str:
    """PASS only when at least one check was judged and every judged check passed; a check that
    was not judged (skipped) counts neither way."""
    judged = [c for c in checks if not c.skipped]
    return "PASS" if judged and all(c.passed for c in judged) else "FAIL"


def verdict_line(checks: list[CheckResult], where: str) -> str:
    judged = [c for c in checks if not c.skipped]
    skipped = [c for c in checks if c.skipped]
    failed = [c for c in judged if not c.passed]
    noun = "judged checks" if skipped else "checks"
    extra = f"; {len(skipped)} not judged ({', '.join(c.name for c in skipped)})" if skipped else ""
    if not failed and judged:
        return f"PASS: all {len(judged)} {noun} passed on {where}{extra}."
    names = ", ".join(c.name for c in failed) or "none ran"
    return f"FAIL: {len(failed)} of {len(judged)} {noun} failed on {where} ({names}){extra}."


def figures(checks: list[CheckResult]) -> dict[str, Any]:
    """The handful of numbers people compare between machines, lifted out of the checks."""
    by_name = {c.name: c.numbers for c in checks}
    picks = {
        "images_per_sec": ("throughput", "images_per_sec"),
        "peak_device_memory_mib": ("throughput", "peak_device_memory_mib"),
        "peak_process_rss_mib": ("throughput", "peak_process_rss_mib"),
        "final_val_acc": ("learning", "final_val_acc"),
        "matmul_max_rel_err": ("numerics", "matmul_max_rel_err"),
        "conv_max_rel_err": ("numerics", "conv_max_rel_err"),
        "allreduce_busbw_gbps": ("ddp", "busbw_gbps"),
        "amp_dtype": ("amp", "amp_dtype"),
        "device_name": ("device", "name"),
        "torch": ("device", "torch"),
        "curves_png": ("learning", "plot"),
    }
    out = {}
    for key, (check, number) in picks.items():
        value = by_name.get(check, {}).get(number)
        if value is not None:
            out[key] = value
    return out


def _json_safe(value: Any) -> Any:
    """Strict JSON has no Infinity/NaN; a non-finite error becomes the string "inf"/"nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def report_dict(
    checks: list[CheckResult],
    plan: dict[str, Any],
    settings: dict[str, Any],
    environment: dict[str, Any],
    out_dir: str | None,
    notes: list[str],
) -> dict[str, Any]:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "envcheck", "command": "smoke-train", "version": __version__},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "verdict": verdict(checks),
        "devices": plan,
        "settings": settings,
        "checks": [c.to_dict() for c in checks],
        "figures": figures(checks),
        "environment": environment,
        "out_dir": out_dir,
        "notes": notes,
    }
    return redact_data(_json_safe(doc))


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, default=str)


def render_terminal(console: Console, checks: list[CheckResult], where: str, notes: list[str], out_dir: str | None) -> None:
    console.print(f"[bold]envcheck smoke-train[/bold] {__version__} · {escape(redact_text(where))}")
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {escape(redact_text(note))}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("Check", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Numbers", overflow="fold")
    table.add_column("Time", justify="right", no_wrap=True)
    for check in checks:
        if check.skipped:
            mark, text = "[yellow]skipped[/yellow]", check.summary or "not judged"
        else:
            mark = "[green]pass[/green]" if check.passed else "[red]FAIL[/red]"
            text = check.summary if check.passed else (check.error or "failed")
        table.add_row(check.title, mark, escape(redact_text(text)), "-" if check.skipped else f"{check.seconds:.1f}s")
    console.print(table)
    if out_dir:
        console.print(f"Run files (metrics.jsonl, curves, checkpoints, logs) are kept in {escape(out_dir)}")
    colour = "green" if verdict(checks) == "PASS" else "red"
    console.print(f"[bold {colour}]{escape(verdict_line(checks, where))}[/bold {colour}]")
