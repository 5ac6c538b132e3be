"""Collectors: each gathers one group of facts and returns a plain, JSON-serialisable dict.

A collector is registered with @collector("name"). It receives a Context and may raise: the
runner turns an exception or a timeout into a failed FactResult, so one broken collector never
hides the rest of the report.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from envcheck.core.context import Context

CollectorFn = Callable[[Context], dict[str, Any]]


@dataclass(frozen=True)
class Collector:
    name: str
    fn: CollectorFn
    description: str
    # Seconds, or a function of the Context (e.g. the torch probe follows --probe-timeout);
    # None: the runner's default.
    timeout: float | Callable[[Context], float] | None
    network: bool = False  # touches the network (skipped or degraded with --offline)
    # Run only when a command names it (the package listing for export/diff/scaffold), not as
    # part of the doctor's report.
    on_demand: bool = False


COLLECTORS: dict[str, Collector] = {}

# Modules that register collectors. Imported lazily by all_collectors() so that `envcheck --help`
# stays fast.
_MODULES = [
    # The torch probe is by far the slowest collector (it imports torch): registered first, so its
    # thread and subprocess start first and the report takes about as long as it does.
    "envcheck.facts.torch_probe",
    "envcheck.facts.environment",
    "envcheck.facts.system",
    "envcheck.facts.python_env",
    "envcheck.facts.paths",
    "envcheck.facts.shell",
    "envcheck.facts.proxy",
    "envcheck.facts.network",
    "envcheck.facts.nvidia",
    "envcheck.facts.gpu_health",
    "envcheck.facts.nvcc",
    "envcheck.facts.terminal",
    "envcheck.facts.toolchain",
    "envcheck.facts.packages",
]


def collector(
    name: str,
    description: str,
    timeout: float | Callable[[Context], float] | None = None,
    network: bool = False,
    on_demand: bool = False,
):
    def register(fn: CollectorFn) -> CollectorFn:
        COLLECTORS[name] = Collector(name, fn, description, timeout, network, on_demand)
        return fn

    return register


def all_collectors() -> dict[str, Collector]:
    for module in _MODULES:
        importlib.import_module(module)
    return COLLECTORS


def default_collectors() -> dict[str, Collector]:
    """The collectors of a doctor report: all but the on-demand ones."""
    return {name: c for name, c in all_collectors().items() if not c.on_demand}
