"""Render docs/checks/ from the check registry: one page per check and an index.

The pages are generated, never edited by hand: `python -m envcheck.checks._pages docs/checks`
rewrites them, and a test fails when the committed pages differ from what the registry gives, so
the docs cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from envcheck.checks import AREAS, Check, all_checks

HEADER = "<!-- Generated from the check registry by `python -m envcheck.checks._pages docs/checks`; do not edit. -->\n"


def code_location(check: Check) -> str:
    """The file and function, without a line number (that would change the page on every edit above it)."""
    return f"`{check.source.rsplit(':', 1)[0]}`, function `{check.fn.__name__}`"


def check_page(check: Check) -> str:
    doc = check.doc
    lines = [
        HEADER,
        f"# `{check.id}`",
        "",
        check.description,
        "",
        "| | |",
        "|---|---|",
        f"| Area | [`{check.area}`](index.md#{check.area}): {AREAS[check.area]} |",
        f"| Reads | {', '.join(f'`{name}`' for name in check.facts) or 'no collector'} |",
        f"| Can report | {', '.join(check.statuses) or 'findings of its own'} |",
        f"| Code | {code_location(check)} |",
        f"| Run only this check | `envcheck doctor --only {check.id}` |",
        f"| In the terminal | `envcheck explain {check.id}` |",
        "",
    ]
    for title, text in (("What it looks at", doc.looks_at), ("Why it matters", doc.why), ("How to fix it", doc.fix)):
        if text:
            lines += [f"## {title}", "", text, ""]
    return "\n".join(lines)


def index_page(checks: dict[str, Check]) -> str:
    lines = [
        HEADER,
        "# Doctor checks",
        "",
        "Every check `envcheck doctor` runs, by area, in report order. Each page says what the check",
        "looks at, why it matters and how to fix what it finds; `envcheck explain ID` shows the same",
        "in the terminal. Run one area with `envcheck doctor --only AREA`.",
        "",
    ]
    for area, title in AREAS.items():
        in_area = [c for c in checks.values() if c.area == area]
        if not in_area:
            continue
        lines += [f"## {area}", "", title, "", "| Check | What it checks |", "|---|---|"]
        lines += [f"| [`{c.id}`]({c.id}.md) | {c.description} |" for c in in_area]
        lines.append("")
    return "\n".join(lines)


def pages() -> dict[str, str]:
    """File name -> content of every page."""
    checks = all_checks()
    rendered = {f"{c.id}.md": check_page(c) for c in checks.values()}
    rendered["index.md"] = index_page(checks)
    return rendered


def write(folder: Path) -> list[str]:
    """Write the pages into `folder`, removing pages of checks that no longer exist; returns the names written."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    for stale in folder.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (folder / name).write_text(text, encoding="utf-8")
    return sorted(wanted)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m envcheck.checks._pages DOCS/CHECKS-FOLDER", file=sys.stderr)
        sys.exit(2)
    names = write(Path(sys.argv[1]))
    print(f"wrote {len(names)} pages into {sys.argv[1]}")
