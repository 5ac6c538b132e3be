"""`envcheck diff A [B]`: what differs between two environments, what breaks runs first.

Converted for translation (issue #11, docs/i18n.md): the text report (group titles, item names,
the values envcheck itself writes such as "(unset)", the verdict), progress lines and every error
go through _(). `--json` is the same in every language: its items, titles and values stay English.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.core.redact import redact_text
from envcheck.export import snapshot as snapshots
from envcheck.i18n import N_, _, join, ngettext

# The facts a comparison reads; the others (proxy reachability, shell files...) would only slow
# down a diff against the current environment.
DIFF_FACTS = ["torch", "nvidia", "env", "python"]


def current_snapshot(python: str | None, offline: bool = True) -> dict:
    from envcheck.commands import common
    from envcheck.core.runner import collect
    from envcheck.export.snapshot import build_snapshot

    ctx = Context(python=common.resolve_python(python), offline=offline)
    with common.collecting("diff") as step:
        step(_("listing the installed packages of {python}...").format(python=ctx.python))
        report = common.read_packages(ctx)
        step(_("collecting the {facts} facts (the torch probe takes a few seconds)...").format(facts=join(DIFF_FACTS)))
        facts = collect(ctx, DIFF_FACTS)
    return build_snapshot(report, facts.to_dict(), [], ctx.python)


# The text report's words for what envcheck/export/snapshot.py writes in English (and --json keeps):
# group titles, item names of the runtime and Python groups, and the values it puts in itself.
GROUP_TITLES = {"runtime": N_("PyTorch, CUDA, driver and GPUs"), "python": N_("Python"), "packages": N_("Packages"),
                "env": N_("Environment variables")}
ITEMS = {"torch version": N_("torch version"), "torch CUDA build": N_("torch CUDA build"),
         "NVIDIA driver": N_("NVIDIA driver"), "driver CUDA (newest supported)": N_("driver CUDA (newest supported)"),
         "GPU count": N_("GPU count"), "GPU models": N_("GPU models"), "Python version": N_("Python version"),
         "implementation": N_("implementation"), "virtual environment": N_("virtual environment")}
VALUES = {snapshots.UNKNOWN: N_("unknown"), snapshots.UNSET: N_("(unset)"), snapshots.NOT_INSTALLED: N_("(not installed)"),
          "none (CPU-only build)": N_("none (CPU-only build)"), "none": N_("none"), "yes": N_("yes"), "no": N_("no")}
# Values that are envcheck's own words only in these items (elsewhere "none" or "yes" may be real data).
WORDED_ITEMS = {"torch CUDA build", "NVIDIA driver", "driver CUDA (newest supported)", "GPU models", "virtual environment"}


def _show(value: str | None, key: str = "") -> str:
    if value is None:
        return _("(absent)")
    if value in (snapshots.UNKNOWN, snapshots.UNSET, snapshots.NOT_INSTALLED) or (key in WORDED_ITEMS and value in VALUES):
        return _(VALUES[value])
    return redact_text(value)


def _item(group_id: str, key: str) -> str:
    """An item's name as shown: the runtime and Python groups' names are envcheck's words; package
    and variable names are never translated."""
    return _(ITEMS[key]) if group_id in ("runtime", "python") and key in ITEMS else key


def _package_counts(kinds: list[str]) -> str:
    words = {
        "changed": lambda n: ngettext("{count} changed", "{count} changed", n),
        "added": lambda n: ngettext("{count} added", "{count} added", n),
        "removed": lambda n: ngettext("{count} removed", "{count} removed", n),
    }
    counts = [words[k](kinds.count(k)).format(count=kinds.count(k)) for k in ("changed", "added", "removed") if kinds.count(k)]
    return join(counts)


def render_text(groups, label_a: str, label_b: str) -> str:
    from rich.cells import cell_len

    head = "envcheck diff: "
    lines = [f"{head}A = {label_a}", f"{' ' * cell_len(head)}B = {label_b}"]
    total = sum(len(g.changes) for g in groups)
    for group in groups:
        if not group.changes:
            continue
        lines.append("")
        title = _(GROUP_TITLES[group.id]) if group.id in GROUP_TITLES else group.title
        if group.id == "packages":
            lines.append(_("{title} ({counts})").format(title=title, counts=_package_counts([c.kind for c in group.changes])))
        elif group.id == "runtime":
            lines.append(_("{title} - these decide whether GPU runs work").format(title=title))
        else:
            lines.append(title)
        for change in group.changes:
            item = _item(group.id, change.key)
            sep = " " if group.id == "packages" else ": "
            if change.kind == "added":
                lines.append(f"  + {item}{sep}{_show(change.after, change.key)}")
            elif change.kind == "removed":
                lines.append(f"  - {item}{sep}{_show(change.before, change.key)}")
            else:
                lines.append(f"  ~ {item}{sep}{_show(change.before, change.key)} -> {_show(change.after, change.key)}")
    lines.append("")
    if total:
        lines.append(ngettext("Not equivalent: {count} difference.", "Not equivalent: {count} differences.", total)
                     .format(count=total))
    else:
        lines.append(_("Equivalent: no differences in torch/CUDA/driver/GPUs, Python, packages or key environment variables."))
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
        raise UserError(_("--python applies only when comparing A with an interpreter's environment; drop --python, "
                          "or drop B to compare A with that interpreter."))
    doc_a = load_snapshot(a)
    if b is not None:
        doc_b, label_b = load_snapshot(b), str(b)
        shown_b = label_b
    else:
        doc_b = current_snapshot(python)
        label_b = f"current environment ({doc_b.get('target_python')})"  # --json: the same in every language
        shown_b = _("current environment ({python})").format(python=doc_b.get("target_python"))
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
        sys.stdout.write(render_text(groups, str(a), shown_b))
    raise typer.Exit(0 if equivalent else 1)
