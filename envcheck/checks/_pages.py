"""Render docs/checks/ (English) and docs/checks/zh/ (Chinese) from the check registry: one page per check and an index.

The pages are generated, never edited by hand: `python -m envcheck.checks._pages docs/checks`
rewrites them, and a test fails when the committed pages differ from what the registry gives, so
the docs cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from envcheck.checks import AREAS, DOC_SECTIONS, Check, all_checks
from envcheck.i18n import _, current_language

HEADER = "<!-- Generated from the check registry by `python -m envcheck.checks._pages docs/checks`; do not edit. -->\n"


def code_location(check: Check) -> str:
    """The file and function, without a line number (that would change the page on every edit above it)."""
    return f"`{check.source.rsplit(':', 1)[0]}`, function `{check.fn.__name__}`"


def check_page(check: Check) -> str:
    """One check's page, in the current language (docs/checks/ in English, docs/checks/zh/ in Chinese)."""
    doc = check.doc
    can_report = ", ".join(check.statuses) or _("findings of its own")
    reads = ", ".join(f"`{name}`" for name in check.facts) or _("no collector")
    code = _("{file}, function {function}").format(file=f"`{check.source.rsplit(':', 1)[0]}`",
                                                  function=f"`{check.fn.__name__}`")
    rows = (
        (_("Area"), f"[`{check.area}`](index.md#{check.area}): {_(AREAS[check.area])}"),
        (_("Reads"), reads),
        (_("Can report"), can_report),
        (_("Code"), code),
        (_("Run only this check"), f"`envcheck doctor --only {check.id}`"),
        (_("In the terminal"), f"`envcheck explain {check.id}`"),
    )
    lines = [HEADER, f"# `{check.id}`", "", _(check.description), "", "| | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    lines.append("")
    for key, title in DOC_SECTIONS:
        text = getattr(doc, key)
        if text:
            lines += [f"## {_(title)}", "", _(text), ""]
    return "\n".join(lines)


def index_page(checks: dict[str, Check]) -> str:
    lines = [
        HEADER,
        "# " + _("Doctor checks"),
        "",
        _("Every check `envcheck doctor` runs, by area, in report order. Each page says what the check\n"
          "looks at, why it matters and how to fix what it finds; `envcheck explain ID` shows the same\n"
          "in the terminal. Run one area with `envcheck doctor --only AREA`."),
        "",
        # A link to the other language's pages, written in that language (so not a catalog message).
        "中文版：[zh/index.md](zh/index.md)" if current_language() == "en" else "English: [../index.md](../index.md)",
        "",
    ]
    for area, title in AREAS.items():
        in_area = [c for c in checks.values() if c.area == area]
        if not in_area:
            continue
        header = "| {check} | {what} |".format(check=_("Check"), what=_("What it checks"))
        lines += [f"## {area}", "", _(title), "", header, "|---|---|"]
        lines += [f"| [`{c.id}`]({c.id}.md) | {_(c.description)} |" for c in in_area]
        lines.append("")
    return "\n".join(lines)


def pages(language: str = "en") -> dict[str, str]:
    """File name -> content of every page, in `language` (the current language is restored after)."""
    from envcheck import i18n

    before = i18n.current_language()
    i18n.set_language(language)
    try:
        checks = all_checks()
        rendered = {f"{c.id}.md": check_page(c) for c in checks.values()}
        rendered["index.md"] = index_page(checks)
    finally:
        i18n.set_language(before)
    return rendered


# Where each language's pages go, under docs/checks/.
FOLDERS = {"en": ".", "zh": "zh"}


def write(folder: Path) -> list[str]:
    """Write every language's pages into `folder` (English) and its subfolders (FOLDERS), removing
    pages of checks that no longer exist; returns the names written."""
    written = []
    for language, sub in FOLDERS.items():
        written += [str(Path(sub) / name) for name in _write_one(folder / sub, pages(language))]
    return sorted(written)


def _write_one(folder: Path, wanted: dict[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
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
