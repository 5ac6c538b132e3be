"""`envcheck doctor`: collect facts, run checks, render the report."""

from __future__ import annotations

import math
import sys
from typing import List, Optional

import typer

from envcheck.checks import AREAS, select
from envcheck.commands import common
from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.facts import default_collectors
from envcheck.i18n import N_, _, join
from envcheck.util import progress
from envcheck.core import settings
from envcheck.core.model import FactResult, Status


def _console():
    from rich.console import Console

    # Piped to a file or a pager: do not hard-wrap sentences at 80 columns.
    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def _import_renderer() -> None:
    # rich and the renderer load while the collectors run, not before they start.
    import envcheck.core.render  # noqa: F401
    import rich.console  # noqa: F401
    import rich.markup  # noqa: F401


def _import_json_renderer() -> None:
    import envcheck.core.render  # noqa: F401 - without rich: --json does not draw anything


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _complete_only(incomplete: str) -> list[str]:
    from envcheck.commands.explain import complete_check_ids

    return complete_check_ids(incomplete)


def command(
    json_out: bool = typer.Option(False, "--json", help=N_("Print a JSON report (schema in docs/json-schema.md).")),
    markdown: bool = typer.Option(False, "--markdown", help=N_("Print a Markdown report to paste into a bug report.")),
    verbose: bool = typer.Option(False, "-v", "--verbose", help=N_("Show details for every finding and how long each collector took.")),
    list_only: bool = typer.Option(False, "--list-checks", help=N_("List every check with a one-line description and exit.")),
    only: Optional[List[str]] = typer.Option(None, "--only", autocompletion=_complete_only, help=N_("Run one area (e.g. proxy, driver, torch) or check id; repeat or comma-separate.")),
    python: Optional[str] = typer.Option(None, "--python", help=N_("Diagnose another interpreter (e.g. a conda env's bin/python) without installing envcheck into it.")),
    offline: bool = typer.Option(False, "--offline", help=N_("Make no network probes (proxy reachability).")),
    timeout: float = typer.Option(60.0, "--probe-timeout", help=N_("Seconds the torch probe may take to import torch and initialise CUDA.")),
    no_probe: bool = typer.Option(False, "--no-torch-probe", help=N_("Do not import torch in the target interpreter (faster; torch checks are skipped).")),
) -> None:
    """Inspect this machine's PyTorch/CUDA environment and say how to fix each problem.

    Exit status: 0 when no check failed, 1 when at least one failed, 2 for usage errors.
    """
    if json_out and markdown:
        raise UserError(_("choose one of {first} and {second}.").format(first="--json", second="--markdown"))
    if list_only:
        from envcheck.commands.explain import list_checks

        list_checks(_console())
        raise typer.Exit(0)
    # Checked here rather than with typer's min=: its wording of a refused range differs between
    # typer versions (click's "is not in the range", pydantic's "Input should be ...").
    if not math.isfinite(timeout):
        raise UserError(_("{option}: give the seconds the torch probe may take as a number, e.g. {example}.").format(
            option=f"--probe-timeout {timeout:g}", example="--probe-timeout 60"))
    if timeout < 1:
        raise UserError(_("{option}: give the torch probe at least 1 second, e.g. {example}.").format(
            option=f"--probe-timeout {timeout:g}", example="--probe-timeout 60"))
    wanted = _split(only)
    if only and not wanted:
        raise UserError(_("{option} is empty; give an area (e.g. {example}) or a check id, see {list}.").format(
            option="--only", example="--only torch", list="--list-checks"))
    unknown = [name for name in wanted if not select([name])]
    if unknown:
        raise UserError(_("{option} matches no area or check; areas are: {areas} (see {list}).").format(
            option=f"--only {','.join(unknown)}", areas=join(AREAS), list="--list-checks"))
    ctx = Context(python=common.resolve_python(python), offline=offline, probe_timeout=timeout)
    # Read (and refuse, in one line) the settings before the slow collection starts.
    user_settings = settings.load()

    on_done = None
    status = None
    if not json_out and not markdown and not progress.QUIET and sys.stderr.isatty():
        from rich.console import Console

        err = Console(stderr=True)
        status = err.status(_("Collecting facts..."))
        status.start()
        remaining = set(default_collectors()) - ({"torch"} if no_probe else set())

        def on_done(result):  # noqa: F811 - progress callback
            remaining.discard(result.name)
            if remaining:
                status.update(_("Collecting facts... waiting for {collectors}").format(collectors=join(sorted(remaining))))

    try:
        # The settings travel as a fact: checks read thresholds from it, run_checks marks silenced
        # findings, and --json shows what was in force.
        facts, findings = common.gather(ctx, wanted or None, on_done=on_done, skip_facts={"torch"} if no_probe else None,
                                 extra={"settings": FactResult("settings", True, data=user_settings.to_dict())},
                                 while_waiting=_import_json_renderer if json_out else _import_renderer)
    finally:
        if status is not None:
            status.stop()

    from envcheck.core.render import render_json, render_markdown, render_terminal

    if json_out:
        sys.stdout.write(render_json(facts, findings, ctx.python) + "\n")
    elif markdown:
        sys.stdout.write(render_markdown(facts, findings, ctx.python) + "\n")
    else:
        render_terminal(_console(), facts, findings, ctx.python, verbose)
    raise typer.Exit(1 if any(f.status is Status.FAIL and f.counts for f in findings) else 0)
