"""`envcheck doctor`: collect facts, run checks, render the report."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from envcheck.checks import AREAS, run_checks, select
from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.facts import all_collectors
from envcheck.util import progress
from envcheck.core import settings
from envcheck.core.model import FactResult, Facts, Status
from envcheck.core.render import render_json, render_markdown, render_terminal
from envcheck.core.runner import collect


def resolve_python(python: str | None) -> str:
    """The interpreter to diagnose: --python PATH (or a name on PATH), else this one."""
    if python is None:
        return sys.executable
    if not python.strip():
        # `--python "$PY"` with PY unset: diagnosing envcheck's own interpreter instead would mislead.
        raise UserError("--python is empty; give the path of a Python interpreter, e.g. --python ~/miniconda3/envs/NAME/bin/python.")
    candidate = Path(python).expanduser()
    if candidate.is_symlink() and not candidate.exists():
        raise UserError(f"--python {python} is a broken symbolic link (it points to {os.readlink(candidate)}, which does not "
                        "exist or loops); give the path of an existing interpreter.")
    if candidate.is_dir():
        # Accept an environment prefix too (a conda env or venv folder).
        for sub in ("bin/python", "bin/python3"):
            if (candidate / sub).exists():
                return str(candidate / sub)
        raise UserError(f"--python {python}: that folder has no bin/python; give the interpreter itself, e.g. {candidate}/bin/python.")
    if "/" not in python:
        import shutil

        found = shutil.which(python)
        if found:
            return found
        raise UserError(f"--python {python}: no such command on PATH; give the full path, e.g. ~/miniconda3/envs/NAME/bin/python.")
    if not candidate.exists():
        raise UserError(f"--python {python}: no such file; give the path of a Python interpreter, e.g. ~/miniconda3/envs/NAME/bin/python.")
    if not os.access(candidate, os.X_OK):
        raise UserError(f"--python {python}: that file is not executable.")
    return str(candidate)


def gather(
    ctx: Context, only: list[str] | None = None, on_done=None, skip_facts: set[str] | None = None,
    extra: dict[str, FactResult] | None = None,
) -> tuple[Facts, list]:
    """Collect what the selected checks need and run them. Used by doctor, export and smoke-train.

    skip_facts: collectors not to run (e.g. {"torch"} for a fast report); checks that need them
    see an empty fact and say so.
    """
    checks = select(only)
    needed: set[str] | None = None
    if only:
        needed = {name for c in checks for name in c.facts}
    if skip_facts:
        needed = (set(all_collectors()) if needed is None else needed) - set(skip_facts)
    facts = collect(ctx, needed, on_done=on_done)
    facts.update(extra or {})
    return facts, run_checks(checks, facts)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _complete_only(incomplete: str) -> list[str]:
    from envcheck.commands.explain import complete_check_ids

    return complete_check_ids(incomplete)


def command(
    json_out: bool = typer.Option(False, "--json", help="Print a JSON report (schema in docs/json-schema.md)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown report to paste into a bug report."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show details for every finding and how long each collector took."),
    list_only: bool = typer.Option(False, "--list-checks", help="List every check with a one-line description and exit."),
    only: Optional[List[str]] = typer.Option(None, "--only", autocompletion=_complete_only, help="Run one area (e.g. proxy, driver, torch) or check id; repeat or comma-separate."),
    python: Optional[str] = typer.Option(None, "--python", help="Diagnose another interpreter (e.g. a conda env's bin/python) without installing envcheck into it."),
    offline: bool = typer.Option(False, "--offline", help="Make no network probes (proxy reachability)."),
    timeout: float = typer.Option(60.0, "--probe-timeout", min=1.0, help="Seconds the torch probe may take to import torch and initialise CUDA."),
    no_probe: bool = typer.Option(False, "--no-torch-probe", help="Do not import torch in the target interpreter (faster; torch checks are skipped)."),
) -> None:
    """Inspect this machine's PyTorch/CUDA environment and say how to fix each problem.

    Exit status: 0 when no check failed, 1 when at least one failed, 2 for usage errors.
    """
    # Piped to a file or a pager: do not hard-wrap sentences at 80 columns.
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    if json_out and markdown:
        raise UserError("choose one of --json and --markdown.")
    if list_only:
        from envcheck.commands.explain import list_checks

        list_checks(console)
        raise typer.Exit(0)
    if not math.isfinite(timeout):
        raise UserError(f"--probe-timeout {timeout:g}: give the seconds the torch probe may take as a number, e.g. --probe-timeout 60.")
    wanted = _split(only)
    if only and not wanted:
        raise UserError("--only is empty; give an area (e.g. --only torch) or a check id, see --list-checks.")
    unknown = [name for name in wanted if not select([name])]
    if unknown:
        names = ", ".join(AREAS)
        raise UserError(f"--only {','.join(unknown)} matches no area or check; areas are: {names} (see --list-checks).")
    ctx = Context(python=resolve_python(python), offline=offline, probe_timeout=timeout)
    # Read (and refuse, in one line) the settings before the slow collection starts.
    user_settings = settings.load()

    on_done = None
    status = None
    if not json_out and not markdown and not progress.QUIET and sys.stderr.isatty():
        err = Console(stderr=True)
        status = err.status("Collecting facts...")
        status.start()
        remaining = set(all_collectors()) - ({"torch"} if no_probe else set())

        def on_done(result):  # noqa: F811 - progress callback
            remaining.discard(result.name)
            if remaining:
                status.update(f"Collecting facts... waiting for {', '.join(sorted(remaining))}")

    try:
        # The settings travel as a fact: checks read thresholds from it, run_checks marks silenced
        # findings, and --json shows what was in force.
        facts, findings = gather(ctx, wanted or None, on_done=on_done, skip_facts={"torch"} if no_probe else None,
                                 extra={"settings": FactResult("settings", True, data=user_settings.to_dict())})
    finally:
        if status is not None:
            status.stop()

    if json_out:
        sys.stdout.write(render_json(facts, findings, ctx.python) + "\n")
    elif markdown:
        sys.stdout.write(render_markdown(facts, findings, ctx.python) + "\n")
    else:
        render_terminal(console, facts, findings, ctx.python, verbose)
    raise typer.Exit(1 if any(f.status is Status.FAIL and f.counts for f in findings) else 0)
