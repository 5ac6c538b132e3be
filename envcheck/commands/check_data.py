"""`envcheck check-data DIR`: is this an ImageFolder tree train.py can use? (reference_train.datacheck)"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from envcheck.core.errors import UserError

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


def render_text(report: Any, splits: tuple[str, ...], verbose: bool = False) -> str:
    lines = [f"envcheck check-data: {report.root}"]
    split_names = [s for s in splits if s in report.counts] or list(report.counts)
    classes = sorted({c for s in split_names for c in report.counts.get(s, {})})
    if classes:
        width = max(len("class"), *(len(c) for c in classes))
        lines.append("")
        lines.append("  " + "class".ljust(width) + "".join(f"  {s:>8}" for s in split_names))
        for c in classes:
            cells = []
            for s in split_names:
                count = report.counts.get(s, {}).get(c)
                cells.append(f"  {'missing' if count is None else count:>8}")
            lines.append("  " + c.ljust(width) + "".join(cells))
        totals = "".join(f"  {sum(report.counts.get(s, {}).values()):>8}" for s in split_names)
        lines.append("  " + "total".ljust(width) + totals)
    if report.problems:
        lines.append("")
        lines.append(f"Problems ({len(report.problems)}):")
        lines.extend(f"  ✗ {p}" for p in report.problems)
    if report.bad_files:
        lines.append("")
        lines.append(f"Files that cannot be used ({len(report.bad_files)}); move or delete them:")
        shown = report.bad_files if verbose else report.bad_files[:SHOWN_BAD_FILES]
        lines.extend(f"  {path}: {reason}" for path, reason in shown)
        if len(shown) < len(report.bad_files):
            lines.append(f"  ... and {len(report.bad_files) - len(shown)} more (run with -v or --json to see all)")
    if report.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"  ! {w}" for w in report.warnings)
    lines.append("")
    if report.ok:
        lines.append("OK: the data set has the layout ImageFolder expects.")
    else:
        lines.append("Not usable yet: fix the problems above and run envcheck check-data again.")
    return "\n".join(lines) + "\n"


def command(
    directory: Path = typer.Argument(..., help="The data folder that contains train/ and val/."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Do not open every image to check that it decodes (faster)."),
    max_verify: Optional[int] = typer.Option(None, "--max-verify", min=1, help="Open at most this many images."),
    splits_text: str = typer.Option("train,val", "--splits", help="Comma-separated split folders to expect."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="List every unusable file."),
) -> None:
    """Check an image data set laid out for torchvision's ImageFolder (DIR/train/<class>/, DIR/val/<class>/).

    Exit status: 0 when usable, 1 when there are problems, 2 for bad usage.
    """
    try:
        if directory.is_symlink() and not directory.exists():
            raise UserError(f"{directory} is a broken symbolic link (to {os.readlink(directory)}, which does not exist "
                            "or loops); pass the folder that contains train/ and val/.")
        if not directory.exists():
            raise UserError(f"{directory}: no such folder; pass the folder that contains train/ and val/.")
        if not directory.is_dir():
            raise UserError(f"{directory} is a file; pass the folder that contains train/ and val/.")
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UserError(f"{directory} cannot be used ({exc.strerror}); pass the folder that contains train/ and val/.") from None
    splits = tuple(s.strip() for s in splits_text.split(",") if s.strip())
    if not splits:
        raise UserError("--splits is empty; e.g. --splits train,val.")
    for split in splits:
        # A split is a sub-folder of the data set: a path would read outside it.
        if split in (".", "..") or "/" in split or "\\" in split or split.startswith("~"):
            raise UserError(f"--splits {splits_text!r}: {split!r} is not a folder name inside {directory}; "
                            "give the split folders' plain names, e.g. --splits train,val.")
    if len(set(splits)) != len(splits):
        raise UserError(f"--splits {splits_text!r} names a split twice; list each split once.")
    try:
        from reference_train.datacheck import check_imagefolder
    except ImportError as exc:
        raise UserError(f"check-data needs envcheck's reference_train package ({exc}); reinstall envcheck.") from None
    try:
        report = check_imagefolder(directory, splits=splits, verify_images=not no_verify, max_verify=max_verify)
    except ImportError as exc:  # Pillow is needed to open images
        raise UserError(f"checking images needs Pillow ({exc}); `pip install pillow`, or pass --no-verify.") from None
    if json_out:
        sys.stdout.write(json.dumps(report_dict(report), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, splits, verbose))
    raise typer.Exit(0 if report.ok else 1)
