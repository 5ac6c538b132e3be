"""`envcheck export`: write down an environment so it can be rebuilt (requirements.txt or
environment.yml) or compared later (a snapshot for `envcheck diff`).

Converted for translation (issue #11, docs/i18n.md): progress lines, the result line and every
error go through _(). The files written are the same in every language: their content is read by
pip, conda and `envcheck diff`, and their header comments stay English (docs/export-diff-scaffold.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from envcheck import __version__
from envcheck.commands import common
from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.i18n import _, join

FORMATS = ("requirements", "conda", "snapshot")


def _torch_version(report: dict[str, Any]) -> str | None:
    from envcheck.export.envfiles import canonical_name

    for dist in report.get("distributions") or []:
        if canonical_name(str(dist.get("name"))) == "torch":
            return str(dist.get("version"))
    return None


def render_export(
    ctx: Context,
    fmt: str,
    only_requested: bool = False,
    include_bootstrap: bool = False,
    env_name: str | None = None,
    snapshot_format: str = "yaml",
    step: Callable[[str], None] = common.no_step,
) -> str:
    from envcheck.export import envfiles

    step(_("listing the installed packages of {python}...").format(python=ctx.python))
    report = common.read_packages(ctx)
    if fmt == "snapshot":
        from envcheck.export.snapshot import build_snapshot, dump_snapshot

        step(_("collecting the doctor's facts about this machine (the torch probe takes a few seconds)..."))
        facts, findings = common.gather(ctx)
        document = build_snapshot(report, facts.to_dict(), [f.to_dict() for f in findings], ctx.python)
        return dump_snapshot(document, snapshot_format)

    chosen = envfiles.select_distributions(report.get("distributions") or [], only_requested, include_bootstrap)
    if fmt == "requirements" and only_requested and not chosen:  # said before the torch probe, not after
        installers = sorted({str(d.get("installer")) for d in report.get("distributions") or []})
        if installers:
            raise UserError(_(
                "--only-requested: no installed package records that it was asked for (pip's REQUESTED marker; "
                "installers here: {installers}); export without --only-requested.").format(installers=join(installers)))
        raise UserError(_(
            "--only-requested: no installed package records that it was asked for (pip's REQUESTED marker; "
            "installers here: none); export without --only-requested."))
    step(_("collecting the torch and NVIDIA facts for the header (the torch probe takes a few seconds)..."))
    runtime = common.runtime_facts(ctx)
    header = envfiles.header_lines(report.get("python"), runtime["torch"], runtime["nvidia"], __version__, _torch_version(report))
    if fmt == "conda":
        document, notes = envfiles.conda_environment(report, env_name, only_requested, include_bootstrap)
        problems = envfiles.validate_conda_environment(document)
        if problems:  # the name the user gave, or a bug here: say which rather than write a file conda rejects
            if env_name is not None and any("name" in problem for problem in problems):
                raise UserError(_("--name {name} is not a valid conda environment name ({problems}); "
                                  "use letters, digits, '-', '_' and '.', e.g. --name catdog.").format(
                    name=repr(env_name), problems="; ".join(problems)))
            raise UserError(_("the environment.yml envcheck built is invalid ({problems}); please report this bug.").format(
                problems="; ".join(problems)))
        header += ["Recreate with: conda env create -f environment.yml"] + notes
        return envfiles.render_conda(document, header)

    header.append("Recreate with: python -m venv .venv && .venv/bin/pip install -r requirements.txt")
    return envfiles.render_requirements(chosen, header)


def command(
    fmt: str = typer.Option("requirements", "--format", "-f", help="requirements (pip), conda (environment.yml) or snapshot (facts + packages, for `envcheck diff`)."),
    output_text: Optional[str] = typer.Option(None, "-o", "--output", help="Write to this file (atomically) instead of printing."),
    force: bool = typer.Option(False, "--force", help="Replace the -o file if it exists."),
    python: Optional[str] = typer.Option(None, "--python", help="Export another interpreter's environment (e.g. ~/miniconda3/envs/NAME/bin/python)."),
    only_requested: bool = typer.Option(False, "--only-requested", help="Only packages you installed by name, not their dependencies."),
    include_bootstrap: bool = typer.Option(False, "--all", help="Also list pip, setuptools and wheel (left out by default, as pip freeze does)."),
    env_name: Optional[str] = typer.Option(None, "--name", help="The environment name written into environment.yml (default: from the environment's folder)."),
    snapshot_format: Optional[str] = typer.Option(None, "--snapshot-format", help="yaml or json (default: json for a .json -o file, else yaml)."),
    offline: bool = typer.Option(False, "--offline", help="Snapshot: make no network probes."),
) -> None:
    """Write this environment down: a pinned requirements.txt, an environment.yml, or a snapshot.

    torch builds with a +cuXYZ/+cpu label get the PyTorch index line they need to install.
    """

    if fmt not in FORMATS:
        raise UserError(_("--format {format}: choose one of {formats}.").format(format=fmt, formats=join(FORMATS)))
    output = Path(output_text) if output_text else None
    if output_text is not None and not output_text.strip():
        raise UserError(_("-o is empty; give a file name, e.g. -o requirements.txt."))
    snapshot_given = snapshot_format is not None
    if snapshot_format is None:
        snapshot_format = "json" if output is not None and output.suffix.lower() == ".json" else "yaml"
    if snapshot_format not in ("yaml", "json"):
        raise UserError(_("--snapshot-format {format}: choose yaml or json.").format(format=snapshot_format))
    if snapshot_given and fmt != "snapshot":
        raise UserError(_("--snapshot-format applies only to -f snapshot; drop it or add -f snapshot."))
    if env_name is not None and fmt != "conda":
        raise UserError(_("--name is the environment name written into environment.yml; use it with -f conda."))
    if env_name is not None and (not env_name.strip() or any(c in env_name for c in "/\\ #:") or env_name != env_name.strip()):
        raise UserError(_("--name {name} is not a valid conda environment name; use letters, digits, '-', '_' "
                          "and '.', e.g. --name catdog.").format(name=repr(env_name)))
    if output is not None:
        from envcheck.util.fsutil import check_output_file

        # Checked before the slow part so the user does not wait to be told.
        output = check_output_file(output, force)
    ctx = Context(python=common.resolve_python(python), offline=offline)
    with common.collecting("export") as step:
        text = render_export(ctx, fmt, only_requested, include_bootstrap, env_name, snapshot_format, step)
    if output is None:
        sys.stdout.write(text)
        return
    from envcheck.util.fsutil import atomic_write_text

    atomic_write_text(output, text, force=force)
    print(_("Wrote {file} ({format}).").format(file=output, format=fmt), file=sys.stderr)
