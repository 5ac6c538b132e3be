"""The one place that decides how a doctor report looks: terminal, JSON or Markdown.

Everything printed passes through envcheck.core.redact first, whatever the format.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.markup import escape

from envcheck import __version__
from envcheck.checks import AREAS
from envcheck.core.model import WHO_TEXT, Facts, Finding, Status
from envcheck.core.redact import redact_data, redact_text

SCHEMA_VERSION = 1

MARKS = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
    Status.SKIP: ("-", "dim"),
}


def counts(findings: list[Finding]) -> dict[str, int]:
    """Findings per status; silenced ones are counted apart (under "silenced"), not by status."""
    result = {s.value: 0 for s in Status}
    result["silenced"] = 0
    for f in findings:
        result[f.status.value if f.counts else "silenced"] += 1
    return result


def report_dict(facts: Facts, findings: list[Finding], python: str) -> dict[str, Any]:
    """The --json document. Its shape is documented in docs/json-schema.md; bump SCHEMA_VERSION
    on any incompatible change."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "envcheck", "version": __version__},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "target_python": python,
        "summary": counts(findings),
        "facts": facts.to_dict(),
        "checks": [f.to_dict() for f in findings],
    }
    return redact_data(doc)


def render_json(facts: Facts, findings: list[Finding], python: str) -> str:
    return json.dumps(report_dict(facts, findings, python), indent=2, sort_keys=False, default=str)


def _by_area(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.area, []).append(f)
    return {area: grouped[area] for area in AREAS if area in grouped}


def summary_line(findings: list[Finding]) -> str:
    c = counts(findings)
    failing_areas = {f.area for f in findings if f.status is Status.FAIL and f.counts}
    warning_areas = {f.area for f in findings if f.status is Status.WARN and f.counts}
    parts = [f"{c['ok']} ok", f"{c['warn']} warning{'s' if c['warn'] != 1 else ''}",
             f"{c['fail']} failure{'s' if c['fail'] != 1 else ''}"]
    if c["skip"]:
        parts.append(f"{c['skip']} skipped")
    if c["silenced"]:
        parts.append(f"{c['silenced']} silenced by settings")
    line = ", ".join(parts)
    if failing_areas:
        return f"Doctor found problems in {len(failing_areas)} area{'s' if len(failing_areas) != 1 else ''}: {line}."
    if warning_areas:
        return f"No failures; warnings in {len(warning_areas)} area{'s' if len(warning_areas) != 1 else ''}: {line}."
    return f"No issues found: {line}."


def fix_label(finding: Finding) -> str:
    """'fix', or 'fix (needs the machine's admin)' / 'fix (no admin needed)' when the finding says who."""
    who = WHO_TEXT.get(finding.who or "")
    return f"fix ({who})" if who else "fix"


def render_terminal(console: Console, facts: Facts, findings: list[Finding], python: str, verbose: bool) -> None:
    console.print(f"[bold]envcheck doctor[/bold] {__version__} · diagnosing {escape(redact_text(python))}")
    if not verbose:
        console.print("[dim](run with -v for details of every finding)[/dim]")
    for area, items in _by_area(findings).items():
        counted = [f for f in items if f.counts] or items
        worst = max(counted, key=lambda f: f.status.rank).status
        mark, colour = MARKS[worst]
        console.print()
        console.print(f"[{colour}]\\[{mark}][/{colour}] [bold]{AREAS[area]}[/bold]")
        for f in items:
            if not f.counts:
                # Listed, never hidden: the user sees what a setting keeps out of the verdict.
                console.print(f"    [dim]~ {f.status.value.upper()} {escape(redact_text(f.summary))} "
                              f"(silenced by {escape(f.silenced_by or '')})[/dim]" + (f" [dim]({f.id})[/dim]" if verbose else ""))
                continue
            mark, colour = MARKS[f.status]
            console.print(f"    [{colour}]{mark}[/{colour}] {escape(redact_text(f.summary))}" + (f" [dim]({f.id})[/dim]" if verbose else ""))
            if f.fix and f.status in (Status.WARN, Status.FAIL):
                label = fix_label(f)
                for i, line in enumerate(redact_text(f.fix).splitlines()):
                    prefix = f"{label}: " if i == 0 else " " * (len(label) + 2)
                    console.print(f"        [cyan]{escape(prefix)}[/cyan]{escape(line)}")
            if verbose or f.status is Status.FAIL:
                for d in f.details if verbose else f.details[:3]:
                    console.print(f"        [dim]• {escape(redact_text(d))}[/dim]")
    failed = [r for r in facts.values() if not r.ok]
    if verbose:
        _print_settings(console, facts)
        console.print()
        console.print("[bold]Collectors[/bold]")
        for r in sorted(facts.values(), key=lambda r: r.name):
            state = "ok" if r.ok else f"[red]failed[/red]: {escape(redact_text(r.error or ''))}"
            console.print(f"    {r.name:<12} {r.duration_s:6.2f}s  {state}")
    elif failed:
        console.print()
        names = ", ".join(r.name for r in failed)
        console.print(f"[yellow]Some facts could not be collected ({escape(names)}); run with -v to see why.[/yellow]")
    console.print()
    console.print(summary_line(findings))


def _print_settings(console: Console, facts: Facts) -> None:
    from envcheck.core.settings import DEFAULT_SOURCE

    data = facts.data("settings")
    if not data:
        return
    console.print()
    console.print("[bold]Settings[/bold]")
    changed = {name: source for name, source in (data.get("sources") or {}).items() if source != DEFAULT_SOURCE}
    if not changed:
        console.print("    all at their defaults (no config file, no \\[tool.envcheck] in a pyproject.toml)")
    for name, source in changed.items():
        console.print(f"    {name} = {escape(str(data['values'][name]))}  [dim](from {escape(source)})[/dim]")


def render_markdown(facts: Facts, findings: list[Finding], python: str) -> str:
    """For pasting into a bug report: short, every finding, no colours, secrets redacted."""
    lines = [
        f"### envcheck doctor {__version__}",
        "",
        f"- target python: `{python}`",
        f"- host: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- result: {summary_line(findings)}",
        "",
    ]
    for area, items in _by_area(findings).items():
        lines.append(f"#### {AREAS[area]}")
        lines.append("")
        for f in items:
            silenced = f" (silenced by {f.silenced_by})" if not f.counts else ""
            lines.append(f"- **{f.status.value.upper()}**{silenced} `{f.id}`: {f.summary}")
            if f.fix and f.status in (Status.WARN, Status.FAIL):
                label = fix_label(f)
                lines.append(f"  - {label}: `{f.fix}`" if "\n" not in f.fix else f"  - {label}:\n\n    ```\n    " + f.fix.replace("\n", "\n    ") + "\n    ```")
            for d in f.details:
                lines.append(f"  - {d}")
        lines.append("")
    failed = [r for r in facts.values() if not r.ok]
    if failed:
        lines.append("#### Facts that could not be collected")
        lines.append("")
        for r in failed:
            lines.append(f"- `{r.name}`: {r.error}")
        lines.append("")
    return redact_text("\n".join(lines))
