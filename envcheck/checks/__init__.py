"""Checks: pure functions from Facts to Findings.

Register one with @check(id, area, description). It gets the Facts and returns a Finding, a list
of Findings, or None when it has nothing to say (not applicable). It must not touch the machine:
everything it needs comes from a collector, so every check is testable with recorded facts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterable

from envcheck.model import Facts, Finding, Status

CheckResult = Finding | list[Finding] | None
CheckFn = Callable[[Facts], CheckResult]

# Report order. Each check belongs to exactly one area; `--only AREA` runs one.
AREAS: dict[str, str] = {
    "system": "System",
    "python": "Python and environments",
    "path": "PATH and libraries",
    "shell": "Shell start-up files",
    "proxy": "Proxies",
    "driver": "NVIDIA driver and GPUs",
    "cuda": "CUDA devices and toolkit",
    "torch": "PyTorch",
    "terminal": "Terminal sessions",
}


@dataclass(frozen=True)
class Check:
    id: str
    area: str
    description: str
    fn: CheckFn
    facts: tuple[str, ...]  # collectors it reads; lets --only run just what is needed


CHECKS: dict[str, Check] = {}

_MODULES = [
    "envcheck.checks.system",
    "envcheck.checks.python_env",
    "envcheck.checks.paths",
    "envcheck.checks.shell",
    "envcheck.checks.proxy",
    "envcheck.checks.driver",
    "envcheck.checks.cuda",
    "envcheck.checks.nvcc",
    "envcheck.checks.torch",
    "envcheck.checks.terminal",
]


def check(id: str, area: str, description: str, facts: Iterable[str] = ()):
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r} for check {id!r}")

    def register(fn: CheckFn) -> CheckFn:
        if id in CHECKS:
            raise ValueError(f"check {id!r} registered twice")
        CHECKS[id] = Check(id, area, description, fn, tuple(facts))
        return fn

    return register


def all_checks() -> dict[str, Check]:
    for module in _MODULES:
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
            findings.append(finding)
    order = list(AREAS)
    findings.sort(key=lambda f: order.index(f.area))
    return findings
