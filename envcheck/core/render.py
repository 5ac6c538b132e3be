"""The one place that decides how a doctor report looks: terminal, JSON or Markdown.

Everything printed passes through envcheck.core.redact first, whatever the format.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from typing import Any

from typing import TYPE_CHECKING

from envcheck import __version__
from envcheck.checks import AREAS
from envcheck.core.model import WHO_TEXT, Facts, Finding, Status
from envcheck.core.redact import redact_data, redact_text
from envcheck.i18n import _, join, ngettext

if TYPE_CHECKING:  # rich is imported where the terminal report is drawn: --json never loads it
    from rich.console import Console


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)

SCHEMA_VERSION = 1

MARKS = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
    Status.SKIP: ("-", "dim"),
}
# For a terminal whose encoding has no ✓ or ✗ (a zh_CN.GBK or ASCII locale): the marks must stay
# distinct, which the '?' of an unencodable character would not be.
ASCII_MARKS = {Status.OK: "+", Status.WARN: "!", Status.FAIL: "x", Status.SKIP: "-"}


def marks_for(encoding: str | None) -> dict[Status, str]:
    """The status marks a stream in `encoding` can show."""
    try:
        "".join(mark for mark, _colour in MARKS.values()).encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return dict(ASCII_MARKS)
    return {status: mark for status, (mark, _colour) in MARKS.items()}


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
    parts = [_("{count} ok").format(count=c["ok"]),
             ngettext("{count} warning", "{count} warnings", c["warn"]).format(count=c["warn"]),
             ngettext("{count} failure", "{count} failures", c["fail"]).format(count=c["fail"])]
    if c["skip"]:
        parts.append(_("{count} skipped").format(count=c["skip"]))
    if c["silenced"]:
        parts.append(_("{count} silenced by settings").format(count=c["silenced"]))
    line = join(parts)
    if failing_areas:
        n = len(failing_areas)
        return ngettext("Doctor found problems in {count} area: {counts}.",
                        "Doctor found problems in {count} areas: {counts}.", n).format(count=n, counts=line)
    if warning_areas:
        n = len(warning_areas)
        return ngettext("No failures; warnings in {count} area: {counts}.",
                        "No failures; warnings in {count} areas: {counts}.", n).format(count=n, counts=line)
    return _("No issues found: {counts}.").format(counts=line)


def fix_label(finding: Finding) -> str:
    """'fix', or 'fix (needs the machine's admin)' / 'fix (no admin needed)' when the finding says who
    (the English of envcheck.core.model.WHO_TEXT), in the current language."""
    if finding.who == "admin" and "admin" in WHO_TEXT:
        return _("fix (needs the machine's admin)")
    if finding.who == "you" and "you" in WHO_TEXT:
        return _("fix (no admin needed)")
    return _("fix")


def fix_prefix(finding: Finding) -> str:
    """The label with its colon, as the language writes it: 'fix: ' / '修复：'."""
    return _("{label}: ").format(label=fix_label(finding))


def area_title(area: str) -> str:
    """An area's title (envcheck.checks.AREAS) in the current language."""
    return _(AREAS[area])


def status_word(status: Status) -> str:
    """OK/WARN/FAIL/SKIP as the terminal and Markdown reports show it (JSON keeps status.value)."""
    return {Status.OK: _("OK"), Status.WARN: _("WARN"), Status.FAIL: _("FAIL"), Status.SKIP: _("SKIP")}[status]


def render_terminal(console: Console, facts: Facts, findings: list[Finding], python: str, verbose: bool) -> None:
    from rich.cells import cell_len

    console.print(_("{command} {version} · diagnosing {python}").format(
        command="[bold]envcheck doctor[/bold]", version=__version__, python=escape(redact_text(python))))
    if not verbose:
        console.print("[dim]" + _("(run with -v for details of every finding)") + "[/dim]")
    marks = marks_for(getattr(console, "encoding", None))
    for area, items in _by_area(findings).items():
        counted = [f for f in items if f.counts] or items
        worst = max(counted, key=lambda f: f.status.rank).status
        mark, colour = marks[worst], MARKS[worst][1]
        console.print()
        console.print(f"[{colour}]\\[{mark}][/{colour}] [bold]{escape(area_title(area))}[/bold]")
        for f in items:
            if not f.counts:
                # Listed, never hidden: the user sees what a setting keeps out of the verdict.
                console.print("    [dim]" + _("~ {status} {summary} (silenced by {setting})").format(
                    status=status_word(f.status), summary=escape(redact_text(f.summary)), setting=escape(f.silenced_by or ""))
                    + "[/dim]" + (f" [dim]({f.id})[/dim]" if verbose else ""))
                continue
            mark, colour = marks[f.status], MARKS[f.status][1]
            console.print(f"    [{colour}]{mark}[/{colour}] {escape(redact_text(f.summary))}" + (f" [dim]({f.id})[/dim]" if verbose else ""))
            if f.fix and f.status in (Status.WARN, Status.FAIL):
                first = fix_prefix(f)
                for i, line in enumerate(redact_text(f.fix).splitlines()):
                    prefix = first if i == 0 else " " * cell_len(first)
                    console.print(f"        [cyan]{escape(prefix)}[/cyan]{escape(line)}")
            if verbose or f.status is Status.FAIL:
                for d in f.details if verbose else f.details[:3]:
                    console.print(f"        [dim]• {escape(redact_text(d))}[/dim]")
    failed = [r for r in facts.values() if not r.ok]
    if verbose:
        _print_settings(console, facts)
        console.print()
        console.print("[bold]" + _("Collectors") + "[/bold]")
        for r in sorted(facts.values(), key=lambda r: r.name):
            state = _("ok") if r.ok else _("{failed}: {error}").format(
                failed="[red]" + _("failed") + "[/red]", error=escape(redact_text(r.error or "")))
            console.print(f"    {r.name:<12} {r.duration_s:6.2f}s  {state}")
    elif failed:
        console.print()
        names = join(r.name for r in failed)
        console.print("[yellow]" + _("Some facts could not be collected ({collectors}); run with -v to see why.").format(
            collectors=escape(names)) + "[/yellow]")
    console.print()
    console.print(summary_line(findings))


def _print_settings(console: Console, facts: Facts) -> None:
    from envcheck.core.settings import DEFAULT_SOURCE

    data = facts.data("settings")
    if not data:
        return
    console.print()
    console.print("[bold]" + _("Settings") + "[/bold]")
    changed = {name: source for name, source in (data.get("sources") or {}).items() if source != DEFAULT_SOURCE}
    if not changed:
        console.print("    " + _("all at their defaults (no config file, no {table} in a pyproject.toml)").format(
            table="\\[tool.envcheck]"))
    for name, source in changed.items():
        console.print(f"    {name} = {escape(str(data['values'][name]))}  [dim]"
                      + _("(from {source})").format(source=escape(source)) + "[/dim]")


def render_markdown(facts: Facts, findings: list[Finding], python: str) -> str:
    """For pasting into a bug report: short, every finding, no colours, secrets redacted."""
    lines = [
        f"### envcheck doctor {__version__}",
        "",
        "- " + _("target python: {python}").format(python=f"`{python}`"),
        "- " + _("host: {system} {release} ({machine})").format(
            system=platform.system(), release=platform.release(), machine=platform.machine()),
        "- " + _("result: {summary}").format(summary=summary_line(findings)),
        "",
    ]
    for area, items in _by_area(findings).items():
        lines.append(f"#### {area_title(area)}")
        lines.append("")
        for f in items:
            silenced = " " + _("(silenced by {setting})").format(setting=f.silenced_by) if not f.counts else ""
            lines.append(f"- **{status_word(f.status)}**{silenced} `{f.id}`: {f.summary}")
            if f.fix and f.status in (Status.WARN, Status.FAIL):
                prefix = fix_prefix(f)
                lines.append(f"  - {prefix}`{f.fix}`" if "\n" not in f.fix else f"  - {prefix.rstrip()}\n\n    ```\n    " + f.fix.replace("\n", "\n    ") + "\n    ```")
            for d in f.details:
                lines.append(f"  - {d}")
        lines.append("")
    failed = [r for r in facts.values() if not r.ok]
    if failed:
        lines.append("#### " + _("Facts that could not be collected"))
        lines.append("")
        for r in failed:
            lines.append(f"- `{r.name}`: {r.error}")
        lines.append("")
    return redact_text("\n".join(lines))
