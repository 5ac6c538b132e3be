"""`envcheck explain CHECK_ID`: what a doctor check looks at, why it matters, how to fix it.

Everything shown comes from the check registry (envcheck/checks): the description and the
collectors from @check(...), the text from the check function's docstring, the statuses and the
code location from the function itself. docs/checks/ is rendered from the same place.
"""

from __future__ import annotations

import difflib
import sys

import typer
from rich.console import Console
from rich.markdown import Markdown

from envcheck.checks import AREAS, Check, all_checks
from envcheck.core.errors import UserError


def list_checks(console: Console) -> None:
    """`envcheck doctor --list-checks`: every check by area, with where its code and docs are."""
    from envcheck.i18n import _

    checks = all_checks()
    for area, title in AREAS.items():
        in_area = [c for c in checks.values() if c.area == area]
        if not in_area:
            continue
        console.print(f"[bold]{area}[/bold] — {_(title)}")
        for c in in_area:
            # Descriptions are translated where their module is converted (marked with N_()).
            console.print(f"  {c.id:<32} {_(c.description)}")
            console.print(f"  {'':<32} [dim]" + _("code {source}   docs {page}").format(source=c.source, page=c.docs_page) + "[/dim]")
    console.print("\n" + _("More on one check: {command}").format(command="envcheck explain CHECK_ID"))


def complete_check_ids(incomplete: str) -> list[str]:
    """Shell completion for a check id or area (typer calls it while the user presses Tab)."""
    return [name for name in [*AREAS, *all_checks()] if name.startswith(incomplete)]


def find(check_id: str) -> Check:
    checks = all_checks()
    if check_id in checks:
        return checks[check_id]
    close = difflib.get_close_matches(check_id, list(checks) + list(AREAS), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise UserError(f"no check {check_id!r}; {hint}`envcheck doctor --list-checks` lists them all.")


def explain(console: Console, check: Check) -> None:
    doc = check.doc
    console.print(f"[bold]{check.id}[/bold] — {check.description}")
    console.print(f"area      {check.area} ({AREAS[check.area]})")
    console.print(f"reads     {', '.join(check.facts) or 'no collector'} (facts gathered by envcheck/facts/)")
    console.print(f"reports   {', '.join(check.statuses) or 'findings of its own'}")
    console.print(f"code      {check.source}")
    console.print(f"docs      {check.docs_page}")
    for title, text in (("What it looks at", doc.looks_at), ("Why it matters", doc.why), ("How to fix it", doc.fix)):
        if text:
            console.print(f"\n[bold]{title}[/bold]")
            console.print(Markdown(text))
    console.print(f"\nRun only this check: envcheck doctor --only {check.id}")


def command(
    check_id: str = typer.Argument(..., metavar="CHECK_ID", autocompletion=complete_check_ids,
                                   help="A check id from `envcheck doctor --list-checks` (e.g. proxy.https_scheme), or an area name."),
) -> None:
    """Explain one doctor check: what it looks at, why it matters, how to fix what it finds."""
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    check_id = check_id.strip()
    if check_id in AREAS:
        in_area = [c for c in all_checks().values() if c.area == check_id]
        console.print(f"[bold]{check_id}[/bold] — {AREAS[check_id]}: {len(in_area)} checks")
        for c in in_area:
            console.print(f"  {c.id:<32} {c.description}")
        console.print("\nOne of them in full: envcheck explain CHECK_ID")
        return
    explain(console, find(check_id))
