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
from rich.cells import cell_len
from rich.markdown import Markdown

from envcheck.checks import AREAS, DOC_SECTIONS, Check, all_checks
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
            # Descriptions are English msgids (N_() in @check), translated here.
            console.print(f"  {c.id:<32} {_(c.description)}")
            console.print(f"  {'':<32} [dim]" + _("code {source}   docs {page}").format(source=c.source, page=c.docs_page) + "[/dim]")
    console.print("\n" + _("More on one check: {command}").format(command="envcheck explain CHECK_ID"))


def complete_check_ids(incomplete: str) -> list[str]:
    """Shell completion for a check id or area (typer calls it while the user presses Tab)."""
    return [name for name in [*AREAS, *all_checks()] if name.startswith(incomplete)]


def find(check_id: str) -> Check:
    from envcheck.i18n import _

    checks = all_checks()
    if check_id in checks:
        return checks[check_id]
    close = difflib.get_close_matches(check_id, list(checks) + list(AREAS), n=3, cutoff=0.6)
    if close:
        raise UserError(_("no check {id}; did you mean {close}? {command} lists them all.").format(
            id=repr(check_id), close=" / ".join(close), command="`envcheck doctor --list-checks`"))
    raise UserError(_("no check {id}; {command} lists them all.").format(
        id=repr(check_id), command="`envcheck doctor --list-checks`"))


def explain(console: Console, check: Check) -> None:
    from envcheck.i18n import _, join

    doc = check.doc
    statuses = join(check.statuses) if check.statuses else _("findings of its own")
    reads = join(check.facts) if check.facts else _("no collector")
    rows = (
        (_("area"), f"{check.area} ({_(AREAS[check.area])})"),
        (_("reads"), _("{collectors} (facts gathered by envcheck/facts/)").format(collectors=reads)),
        (_("reports"), statuses),
        (_("code"), check.source),
        (_("docs"), check.docs_page),
    )
    console.print(f"[bold]{check.id}[/bold] — {_(check.description)}")
    width = max(cell_len(label) for label, _value in rows) + 2
    for label, value in rows:
        console.print(label + " " * (width - cell_len(label)) + value, markup=False)
    # Docstring sections are catalog messages (extracted from the live checks, see envcheck/i18n/catalog.py).
    for key, title in DOC_SECTIONS:
        text = getattr(doc, key)
        if text:
            console.print(f"\n[bold]{_(title)}[/bold]")
            console.print(Markdown(_(text)), soft_wrap=False)  # wrapped at the width: soft_wrap would crop list items
    console.print("\n" + _("Run only this check: {command}").format(command=f"envcheck doctor --only {check.id}"))


def command(
    check_id: str = typer.Argument(..., metavar="CHECK_ID", autocompletion=complete_check_ids,
                                   help="A check id from `envcheck doctor --list-checks` (e.g. proxy.https_scheme), or an area name."),
) -> None:
    """Explain one doctor check: what it looks at, why it matters, how to fix what it finds."""
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    check_id = check_id.strip()
    if check_id in AREAS:
        from envcheck.i18n import _, ngettext

        in_area = [c for c in all_checks().values() if c.area == check_id]
        count = ngettext("{count} check", "{count} checks", len(in_area)).format(count=len(in_area))
        console.print(f"[bold]{check_id}[/bold] — {_(AREAS[check_id])}: {count}")
        for c in in_area:
            console.print(f"  {c.id:<32} {_(c.description)}")
        console.print("\n" + _("One of them in full: {command}").format(command="envcheck explain CHECK_ID"))
        return
    explain(console, find(check_id))
