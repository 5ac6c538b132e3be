"""Checks: pure functions from Facts to Findings.

A check is one function in the module named after its area (`path.missing_dirs` lives in
`checks/path.py`), registered with @check(id, area, description, facts=...). It gets the Facts
and returns a Finding, a list of Findings, or None when it has nothing to say (not applicable). It
must not touch the machine: everything it needs comes from a collector, so every check is testable
with recorded facts.

Its docstring is its documentation, shown by `envcheck explain ID` and rendered into
docs/checks/ID.md: a first part saying what it looks at and reports, then paragraphs starting
`Why:` and `Fix:` (markdown).

Every module in this package whose name does not start with `_` is imported by all_checks(), so a
new area is a new module and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from envcheck.core.model import Facts, Finding, Status
from envcheck.core.settings import silenced_by
from envcheck.i18n import N_

CheckResult = Finding | list[Finding] | None
CheckFn = Callable[[Facts], CheckResult]

# Report order. Each check belongs to exactly one area; `--only AREA` runs one. The titles are
# English msgids (N_): the renderers show them translated (envcheck.core.render.area_title).
AREAS: dict[str, str] = {
    "system": N_("System"),
    "python": N_("Python and environments"),
    "path": N_("PATH and libraries"),
    "shell": N_("Shell start-up files"),
    "proxy": N_("Proxies"),
    "network": N_("Package indexes, channels and download endpoints"),
    "driver": N_("NVIDIA driver and GPUs"),
    "cuda": N_("CUDA devices"),
    "gpu": N_("GPU health and topology"),
    "nvcc": N_("CUDA toolkit (nvcc) for building extensions"),
    "torch": N_("PyTorch"),
    "terminal": N_("Terminal sessions"),
}


@dataclass(frozen=True)
class CheckDoc:
    """A check's documentation, from its docstring."""

    looks_at: str
    why: str
    fix: str


# The sections of a check's docstring, in the order `envcheck explain` and docs/checks/ show them.
DOC_SECTIONS = (("looks_at", N_("What it looks at")), ("why", N_("Why it matters")), ("fix", N_("How to fix it")))

_SECTION = re.compile(r"^(Why|Fix):\s*", re.M)


def parse_doc(text: str | None) -> CheckDoc:
    """Split a check's docstring into what it looks at, `Why:` and `Fix:` (each may be empty)."""
    text = inspect.cleandoc(text or "")
    parts = {"looks_at": [], "why": [], "fix": []}
    current = "looks_at"
    for block in re.split(r"\n\s*\n", text):
        match = _SECTION.match(block.strip())
        if match:
            current = match.group(1).lower()
            block = block.strip()[match.end():]
        parts[current].append(block.strip())
    return CheckDoc(*("\n\n".join(p for p in parts[key] if p) for key in ("looks_at", "why", "fix")))


@dataclass(frozen=True)
class Check:
    id: str
    area: str
    description: str
    fn: CheckFn
    facts: tuple[str, ...]  # collectors it reads; lets --only run just what is needed

    @property
    def doc(self) -> CheckDoc:
        return parse_doc(self.fn.__doc__)

    @property
    def source(self) -> str:
        """Where the check's code is, as `envcheck/checks/FILE.py:LINE`."""
        path = Path(inspect.getsourcefile(self.fn) or "?")
        line = inspect.getsourcelines(self.fn)[1]
        package_root = Path(__file__).resolve().parent.parent.parent
        try:
            shown = path.resolve().relative_to(package_root)
        except ValueError:
            shown = path
        return f"{shown}:{line}"

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses its code can report (read from the code, so the docs cannot drift)."""
        code = inspect.getsource(self.fn).replace(self.fn.__doc__ or "", "")
        found = {name.upper() for name in re.findall(r"\b(ok|warn|fail|skip)\(", code)}
        found |= set(re.findall(r"Status\.(OK|WARN|FAIL|SKIP)", code))
        return tuple(s.value for s in Status if s.name in found)

    @property
    def docs_page(self) -> str:
        """Its page in the current language's folder (docs/checks/, docs/checks/zh/)."""
        from envcheck.i18n import current_language

        return f"docs/checks/zh/{self.id}.md" if current_language() == "zh" else f"docs/checks/{self.id}.md"


CHECKS: dict[str, Check] = {}


def check(id: str, area: str, description: str, facts: Iterable[str] = ()):
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r} for check {id!r}")
    if id.split(".")[0] != area:
        raise ValueError(f"check {id!r} is in area {area!r}: its id must start with {area + '.'!r}")

    def register(fn: CheckFn) -> CheckFn:
        if id in CHECKS:
            raise ValueError(f"check {id!r} registered twice")
        CHECKS[id] = Check(id, area, description, fn, tuple(facts))
        return fn

    return register


def ok(summary: str, fix: str | None = None, details: list[str] | None = None, id: str = "") -> Finding:
    """A finding of the check that returns it (its id is filled in by run_checks unless given)."""
    return Finding(id, Status.OK, summary, fix, list(details or []))


def warn(summary: str, fix: str | None = None, details: list[str] | None = None, id: str = "") -> Finding:
    return Finding(id, Status.WARN, summary, fix, list(details or []))


def fail(summary: str, fix: str | None = None, details: list[str] | None = None, id: str = "") -> Finding:
    return Finding(id, Status.FAIL, summary, fix, list(details or []))


def skip(summary: str, fix: str | None = None, details: list[str] | None = None, id: str = "") -> Finding:
    return Finding(id, Status.SKIP, summary, fix, list(details or []))


def check_modules() -> list[str]:
    """Every module of this package that holds checks (all but those starting with `_`)."""
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def all_checks() -> dict[str, Check]:
    for module in check_modules():
        importlib.import_module(module)
    return CHECKS


def select(only: Iterable[str] | None) -> list[Check]:
    """Checks matching --only values (area names, check ids or id prefixes); all when empty."""
    checks = list(all_checks().values())
    wanted = [w.strip() for w in (only or []) if w.strip()]
    if not wanted:
        return checks
    chosen = []
    for c in checks:
        for w in wanted:
            if c.area == w or c.id == w or c.id.startswith(w + "."):
                chosen.append(c)
                break
    return chosen


def run_checks(checks: Iterable[Check], facts: Facts) -> list[Finding]:
    findings: list[Finding] = []
    for c in checks:
        try:
            result = c.fn(facts)
        except Exception as exc:  # noqa: BLE001 - a broken check is reported, not fatal
            result = Finding(
                c.id,
                Status.FAIL,
                f"this check crashed ({type(exc).__name__}: {exc}); the rest of the report is unaffected",
                fix="Please report this as an envcheck bug, with `envcheck doctor --json` attached.",
            )
        if result is None:
            continue
        for finding in result if isinstance(result, list) else [result]:
            if not finding.id:
                finding.id = c.id
            finding.area = c.area
            finding.silenced_by = silenced_by(facts, finding.id, c.area)
            findings.append(finding)
    order = list(AREAS)
    findings.sort(key=lambda f: order.index(f.area))
    return findings
