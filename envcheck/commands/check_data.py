"""`envcheck check-data DIR`: is this an ImageFolder tree train.py can use? (reference_train.datacheck)"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from envcheck.core.errors import UserError
from envcheck.i18n import _

SHOWN_BAD_FILES = 20  # without -v; a folder of 10,000 broken files needs a summary, not a scroll


def report_dict(report: Any) -> dict[str, Any]:
    return {
        "root": str(report.root),
        "ok": bool(report.ok),
        "classes": {split: list(names) for split, names in report.classes.items()},
        "counts": {split: dict(counts) for split, counts in report.counts.items()},
        "problems": list(report.problems),
        "bad_files": [{"path": str(path), "reason": reason} for path, reason in report.bad_files],
        "warnings": list(report.warnings),
    }


def _ljust(text: str, width: int) -> str:
    """text padded to `width` terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


def _rjust(text: str, width: int) -> str:
    from rich.cells import cell_len

    return " " * max(0, width - cell_len(text)) + text


def render_text(report: Any, splits: tuple[str, ...], verbose: bool = False) -> str:
    from rich.cells import cell_len

    lines = [f"envcheck check-data: {report.root}"]
    split_names = [s for s in splits if s in report.counts] or list(report.counts)
    classes = sorted({c for s in split_names for c in report.counts.get(s, {})})
    if classes:
        # TRANSLATORS: the count table's first column header, its last row and an absent class folder's cell.
        header, total, missing = _("class"), _("total"), _("missing")
        width = max(cell_len(header), cell_len(total), *(cell_len(c) for c in classes))
        column = max(8, cell_len(missing))
        lines.append("")
        lines.append("  " + _ljust(header, width) + "".join(f"  {_rjust(s, column)}" for s in split_names))
        for c in classes:
            cells = []
            for s in split_names:
                count = report.counts.get(s, {}).get(c)
                cells.append(f"  {_rjust(missing if count is None else str(count), column)}")
            lines.append("  " + _ljust(c, width) + "".join(cells))
        totals = "".join(f"  {_rjust(str(sum(report.counts.get(s, {}).values())), column)}" for s in split_names)
        lines.append("  " + _ljust(total, width) + totals)
    if report.problems:
        lines.append("")
        lines.append(_("Problems ({count}):").format(count=len(report.problems)))
        lines.extend(f"  ✗ {p}" for p in report.problems)
    if report.bad_files:
        lines.append("")
        lines.append(_("Files that cannot be used ({count}); move or delete them:").format(count=len(report.bad_files)))
        shown = report.bad_files if verbose else report.bad_files[:SHOWN_BAD_FILES]
        lines.extend(f"  {path}: {reason}" for path, reason in shown)
        if len(shown) < len(report.bad_files):
            lines.append("  " + _("... and {count} more (run with -v or --json to see all)").format(
                count=len(report.bad_files) - len(shown)))
    if report.warnings:
        lines.append("")
        lines.append(_("Warnings:"))
        lines.extend(f"  ! {w}" for w in report.warnings)
    lines.append("")
    if report.ok:
        lines.append(_("OK: the data set has the layout ImageFolder expects."))
    else:
        lines.append(_("Not usable yet: fix the problems above and run {command} again.").format(
            command="envcheck check-data"))
    return "\n".join(lines) + "\n"


def command(
    directory: Path = typer.Argument(..., help="The data folder that contains train/ and val/."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Do not open every image to check that it decodes (faster)."),
    max_verify: Optional[int] = typer.Option(None, "--max-verify", help="Open at most this many images."),
    splits_text: str = typer.Option("train,val", "--splits", help="Comma-separated split folders to expect."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="List every unusable file."),
) -> None:
    """Check an image data set laid out for torchvision's ImageFolder (DIR/train/<class>/, DIR/val/<class>/).

    Exit status: 0 when usable, 1 when there are problems, 2 for bad usage.
    """
    if max_verify is not None and max_verify < 1:  # not typer's min=: its wording differs between versions
        raise UserError(_("--max-verify {count}: open at least 1 image, or give {no_verify} to open none.").format(
            count=max_verify, no_verify="--no-verify"))
    try:
        if directory.is_symlink() and not directory.exists():
            raise UserError(_("{path} is a broken symbolic link (to {target}, which does not exist or loops); pass the "
                              "folder that contains train/ and val/.").format(path=directory, target=os.readlink(directory)))
        if not directory.exists():
            raise UserError(_("{path}: no such folder; pass the folder that contains train/ and val/.").format(path=directory))
        if not directory.is_dir():
            raise UserError(_("{path} is a file; pass the folder that contains train/ and val/.").format(path=directory))
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UserError(_("{path} cannot be used ({reason}); pass the folder that contains train/ and val/.").format(
            path=directory, reason=exc.strerror)) from None
    splits = tuple(s.strip() for s in splits_text.split(",") if s.strip())
    if not splits:
        raise UserError(_("--splits is empty; e.g. --splits train,val."))
    for split in splits:
        # A split is a sub-folder of the data set: a path would read outside it.
        if split in (".", "..") or "/" in split or "\\" in split or split.startswith("~"):
            raise UserError(_("--splits {text}: {split} is not a folder name inside {path}; give the split folders' "
                              "plain names, e.g. --splits train,val.").format(text=repr(splits_text), split=repr(split),
                                                                               path=directory))
    if len(set(splits)) != len(splits):
        raise UserError(_("--splits {text} names a split twice; list each split once.").format(text=repr(splits_text)))
    try:
        from reference_train.datacheck import check_imagefolder
    except ImportError as exc:
        raise UserError(_("check-data needs envcheck's reference_train package ({error}); reinstall envcheck.").format(
            error=exc)) from None
    try:
        report = check_imagefolder(directory, splits=splits, verify_images=not no_verify, max_verify=max_verify)
    except ImportError as exc:  # Pillow is needed to open images
        raise UserError(_("checking images needs Pillow ({error}); `pip install pillow`, or pass --no-verify.").format(
            error=exc)) from None
    if json_out:
        sys.stdout.write(json.dumps(report_dict(report), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, splits, verbose))
    raise typer.Exit(0 if report.ok else 1)
