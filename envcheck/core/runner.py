"""Run collectors concurrently, each under a timeout, and turn every outcome into data."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Callable, Iterable

from envcheck.core.context import Context
from envcheck.facts import Collector, all_collectors
from envcheck.core.model import FactResult, Facts

DEFAULT_COLLECTOR_TIMEOUT = 20.0


def collector_timeout(collector: Collector, ctx: Context) -> float:
    limit = collector.timeout
    if callable(limit):
        limit = limit(ctx)
    return float(limit or DEFAULT_COLLECTOR_TIMEOUT)


def _run_one(collector: Collector, ctx: Context, slot: dict) -> None:
    start = time.monotonic()
    try:
        data = collector.fn(ctx)
        slot["result"] = FactResult(collector.name, True, dict(data or {}), None, time.monotonic() - start)
    except Exception as exc:  # noqa: BLE001 - any failure becomes a recorded fact
        last = traceback.extract_tb(exc.__traceback__)[-1:] or None
        where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        slot["result"] = FactResult(
            collector.name, False, {}, f"{type(exc).__name__}: {exc}{where}", time.monotonic() - start
        )


def collect(
    ctx: Context,
    names: Iterable[str] | None = None,
    on_done: Callable[[FactResult], None] | None = None,
) -> Facts:
    """Run the named collectors (when None, all but the on-demand ones) in parallel daemon threads.

    Daemon threads rather than a thread pool: a collector stuck in a system call must not keep
    the process alive after the report is printed.
    """
    registry = all_collectors()
    wanted = [n for n, c in registry.items() if not c.on_demand] if names is None else [n for n in names if n in registry]
    slots: dict[str, dict] = {name: {} for name in wanted}
    threads: dict[str, threading.Thread] = {}
    deadlines: dict[str, float] = {}
    start = time.monotonic()
    for name in wanted:
        coll = registry[name]
        thread = threading.Thread(target=_run_one, args=(coll, ctx, slots[name]), daemon=True, name=f"collect-{name}")
        thread.start()
        threads[name] = thread
        deadlines[name] = start + collector_timeout(coll, ctx)

    facts = Facts()
    pending = set(wanted)
    while pending:
        for name in sorted(pending):
            thread = threads[name]
            if not thread.is_alive():
                facts[name] = slots[name].get("result") or FactResult(name, False, {}, "collector produced nothing")
            elif time.monotonic() >= deadlines[name]:
                limit = collector_timeout(registry[name], ctx)
                facts[name] = FactResult(name, False, {}, f"timed out after {limit:.0f}s", limit)
            else:
                continue
            pending.discard(name)
            if on_done:
                on_done(facts[name])
        if pending:
            time.sleep(0.01)
    return facts
