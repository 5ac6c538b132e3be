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
from envcheck.i18n import _, current_language, join
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
    english = current_language() == "en"

    def names_of(group: list[CheckResult]) -> str:
        return ", ".join(c.name for c in group) if english else join([c.name for c in group])

    figures = {"count": len(judged), "where": where, "skipped": len(skipped), "skipped_names": names_of(skipped)}
    if not failed and judged:
        if skipped:
            return _("PASS: all {count} judged checks passed on {where}; {skipped} not judged ({skipped_names}).").format(
                **figures)
        return _("PASS: all {count} checks passed on {where}.").format(**figures)
    names = names_of(failed) or _("none ran")
    if skipped:
        return _("FAIL: {failed} of {count} judged checks failed on {where} ({names}); {skipped} not judged "
                 "({skipped_names}).").format(failed=len(failed), names=names, **figures)
    return _("FAIL: {failed} of {count} checks failed on {where} ({names}).").format(failed=len(failed), names=names,
                                                                                      **figures)


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
        label = _("note:")
        space = "" if label.endswith("：") else " "  # none after full-width punctuation
        console.print(f"[yellow]{escape(label)}[/yellow]{space}{escape(redact_text(note))}")
    # rich measures every cell in terminal cells (rich.cells.cell_len), so Chinese text, two cells a
    # character, lines up and folds within the console's width.
    table = Table(show_header=True, header_style="bold")
    table.add_column(_("Check"), no_wrap=True)
    table.add_column(_("Result"), no_wrap=True)
    table.add_column(_("Numbers"), overflow="fold")
    table.add_column(_("Time"), justify="right", no_wrap=True)
    for check in checks:
        # TRANSLATORS: the result column's words: "pass", "FAIL", "skipped".
        skipped, passed, failed = _("skipped"), _("pass"), _("FAIL")
        if check.skipped:
            mark, text = f"[yellow]{escape(skipped)}[/yellow]", check.summary or _("not judged")
        else:
            mark = f"[green]{escape(passed)}[/green]" if check.passed else f"[red]{escape(failed)}[/red]"
            text = check.summary if check.passed else (check.error or _("failed"))
        table.add_row(_(check.title), mark, escape(redact_text(text)), "-" if check.skipped else f"{check.seconds:.1f}s")
    console.print(table)
    if out_dir:
        console.print(escape(_("Run files (metrics.jsonl, curves, checkpoints, logs) are kept in {folder}").format(
            folder=out_dir)))
    colour = "green" if verdict(checks) == "PASS" else "red"
    console.print(f"[bold {colour}]{escape(verdict_line(checks, where))}[/bold {colour}]")
