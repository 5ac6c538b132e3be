"""`envcheck diff A [B]`: what differs between two environments, what breaks runs first."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.core.redact import redact_text

# The facts a comparison reads; the others (proxy reachability, shell files...) would only slow
# down a diff against the current environment.
DIFF_FACTS = ["torch", "nvidia", "env", "python"]


def current_snapshot(python: str | None, offline: bool = True) -> dict:
    from envcheck.commands import common
    from envcheck.core.runner import collect
    from envcheck.export.snapshot import build_snapshot

    ctx = Context(python=common.resolve_python(python), offline=offline)
    with common.collecting("diff") as step:
        step(f"listing the installed packages of {ctx.python}...")
        report = common.read_packages(ctx)
        step(f"collecting the {', '.join(DIFF_FACTS)} facts (the torch probe takes a few seconds)...")
        facts = collect(ctx, DIFF_FACTS)
    return build_snapshot(report, facts.to_dict(), [], ctx.python)


def _show(value: str | None) -> str:
    return redact_text(value) if value is not None else "(absent)"


def render_text(groups, label_a: str, label_b: str) -> str:
    lines = [f"envcheck diff: A = {label_a}", f"               B = {label_b}"]
    total = sum(len(g.changes) for g in groups)
    for group in groups:
        if not group.changes:
            continue
        lines.append("")
        if group.id == "packages":
            kinds = [c.kind for c in group.changes]
            counts = ", ".join(f"{kinds.count(k)} {k}" for k in ("changed", "added", "removed") if kinds.count(k))
            lines.append(f"{group.title} ({counts})")
        else:
            lines.append(group.title + (" - these decide whether GPU runs work" if group.id == "runtime" else ""))
        for change in group.changes:
            if change.kind == "added":
                lines.append(f"  + {change.key} {_show(change.after)}" if group.id == "packages" else f"  + {change.key}: {_show(change.after)}")
            elif change.kind == "removed":
                lines.append(f"  - {change.key} {_show(change.before)}" if group.id == "packages" else f"  - {change.key}: {_show(change.before)}")
            else:
                sep = " " if group.id == "packages" else ": "
                lines.append(f"  ~ {change.key}{sep}{_show(change.before)} -> {_show(change.after)}")
    lines.append("")
    if total:
        lines.append(f"Not equivalent: {total} difference{'s' if total != 1 else ''}.")
    else:
        lines.append("Equivalent: no differences in torch/CUDA/driver/GPUs, Python, packages or key environment variables.")
    return "\n".join(lines) + "\n"


def command(
    a: Path = typer.Argument(..., help="A snapshot file (from `envcheck export --format snapshot`)."),
    b: Optional[Path] = typer.Argument(None, help="A second snapshot; leave out to compare A with the current environment."),
    json_out: bool = typer.Option(False, "--json", help="Print the differences as JSON."),
    python: Optional[str] = typer.Option(None, "--python", help="Without B: compare with this interpreter's environment instead of the current one."),
) -> None:
    """Compare two snapshots, or a snapshot with the current environment.

    Exit status: 0 when equivalent, 1 when they differ, 2 for a missing or invalid snapshot file.
    """
    from envcheck.export.snapshot import diff_snapshots, load_snapshot

    if python is not None and b is not None:
        raise UserError("--python applies only when comparing A with an interpreter's environment; drop --python, "
                        "or drop B to compare A with that interpreter.")
    doc_a = load_snapshot(a)
    if b is not None:
        doc_b, label_b = load_snapshot(b), str(b)
    else:
        doc_b = current_snapshot(python)
        label_b = f"current environment ({doc_b.get('target_python')})"
    groups = diff_snapshots(doc_a, doc_b)
    equivalent = not any(g.changes for g in groups)
    if json_out:
        document = {
            "a": str(a),
            "b": label_b,
            "equivalent": equivalent,
            "groups": [g.to_dict() for g in groups],
        }
        from envcheck.core.redact import redact_data

        sys.stdout.write(json.dumps(redact_data(document), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(groups, str(a), label_b))
    raise typer.Exit(0 if equivalent else 1)
