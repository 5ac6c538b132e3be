"""Helpers the commands share, so no command imports another.

- resolve_python: the interpreter a `--python` option names (doctor, export, diff, scaffold).
- gather: collect the facts the selected checks need and run them (doctor, export's snapshot,
  smoke-train's fingerprint).
- read_packages: the target interpreter's installed distributions (the on-demand "packages" collector)
  (export, diff, scaffold).
- runtime_facts: the torch and nvidia facts alone (export's header).
- collecting: what is being collected, on stderr, while the user waits.

Commands call these as `common.NAME(...)`, so a test replaces one in one place.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from envcheck.checks import run_checks, select
from envcheck.core.context import Context
from envcheck.core.errors import UserError
from envcheck.core.model import FactResult, Facts
from envcheck.core.runner import collect
from envcheck.facts import default_collectors
from envcheck.i18n import _
from envcheck.util.reasons import os_error


def resolve_python(python: str | None) -> str:
    """The interpreter to diagnose: --python PATH (or a name on PATH), else this one."""
    if python is None:
        return sys.executable
    if not python.strip():
        # `--python "$PY"` with PY unset: diagnosing envcheck's own interpreter instead would mislead.
        raise UserError(_("{option} is empty; give the path of a Python interpreter, e.g. {example}.").format(
            option="--python", example="--python ~/miniconda3/envs/NAME/bin/python"))
    try:
        return _resolve_python_path(python)
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise UserError(_("{option} cannot be used ({reason}); give the path of a Python interpreter you can run.").format(
            option=f"--python {python}", reason=os_error(exc))) from None


def _resolve_python_path(python: str) -> str:
    candidate = Path(os.path.expanduser(python))
    if candidate.is_symlink() and not candidate.exists():
        raise UserError(_("{option} is a broken symbolic link (it points to {target}, which does not exist or loops); "
                          "give the path of an existing interpreter.").format(
            option=f"--python {python}", target=os.readlink(candidate)))
    if candidate.is_dir():
        # Accept an environment prefix too (a conda env or venv folder).
        for sub in ("bin/python", "bin/python3"):
            if (candidate / sub).exists():
                return str(candidate / sub)
        raise UserError(_("{option}: that folder has no bin/python; give the interpreter itself, e.g. {example}.").format(
            option=f"--python {python}", example=f"{candidate}/bin/python"))
    if "/" not in python:
        import shutil

        found = shutil.which(python)
        if found:
            return found
        raise UserError(_("{option}: no such command on PATH; give the full path, e.g. {example}.").format(
            option=f"--python {python}", example="~/miniconda3/envs/NAME/bin/python"))
    if not candidate.exists():
        raise UserError(_("{option}: no such file; give the path of a Python interpreter, e.g. {example}.").format(
            option=f"--python {python}", example="~/miniconda3/envs/NAME/bin/python"))
    if not os.access(candidate, os.X_OK):
        raise UserError(_("{option}: that file is not executable.").format(option=f"--python {python}"))
    return str(candidate)


def gather(
    ctx: Context, only: list[str] | None = None, on_done=None, skip_facts: set[str] | None = None,
    extra: dict[str, FactResult] | None = None, while_waiting: Callable[[], None] | None = None,
) -> tuple[Facts, list]:
    """Collect what the selected checks need and run them. Used by doctor, export and smoke-train.

    skip_facts: collectors not to run (e.g. {"torch"} for a fast report); checks that need them
    see an empty fact and say so. while_waiting: work for this thread while the collectors run
    (the doctor imports its report renderer there).
    """
    if only:
        checks = select(only)
        needed = {name for c in checks for name in c.facts}
        facts = collect(ctx, needed, on_done=on_done, skip=skip_facts, while_waiting=while_waiting)
    else:
        # Every check runs: the collectors start first, and the check modules (with the
        # knowledge tables they import) load while the collectors wait on their subprocesses.
        selected: dict[str, list] = {}

        def prepare() -> None:
            selected["checks"] = select(None)
            if while_waiting is not None:
                while_waiting()

        facts = collect(ctx, None, on_done=on_done, skip=skip_facts, while_waiting=prepare)
        checks = selected["checks"]
    facts.update(extra or {})
    return facts, run_checks(checks, facts)


@contextlib.contextmanager
def collecting(command: str) -> Iterator[Callable[[str], None]]:
    """`with collecting("export") as step: step("listing ...")`: say on stderr what is being
    collected while the user waits. On a terminal a spinner shows the current step; otherwise
    (a pipe, a log, CI) each step is one line, so the seconds are accounted for. stdout, the
    command's product, gets nothing."""
    from envcheck.util.progress import status

    terminal = sys.stderr.isatty()
    with status(_("Collecting..."), enabled=terminal) as spinner:
        def step(text: str) -> None:
            if terminal:
                spinner.update(text[:1].upper() + text[1:])
            else:
                print(f"envcheck {command}: {text}", file=sys.stderr, flush=True)

        yield step


def no_step(text: str) -> None:
    pass


def read_packages(ctx: Context) -> dict[str, Any]:
    """The target interpreter's installed distributions: the on-demand "packages" collector
    (envcheck/facts/packages.py). A failure is one UserError line."""
    result = collect(ctx, ["packages"])["packages"]
    if not result.ok:
        raise UserError(_("could not list the packages of {python}: {error}.").format(python=ctx.python, error=result.error))
    if result.data.get("problem"):
        raise UserError(result.data["problem"])
    return result.data["report"]


def runtime_facts(ctx: Context) -> dict[str, dict]:
    """The doctor's torch and nvidia facts for the header comments ({} for a failed or absent
    collector: the header then says unknown)."""
    from envcheck.core.runner import collect

    facts = collect(ctx, ["torch", "nvidia"])
    return {name: facts.data(name) for name in ("torch", "nvidia")}
