"""Run collectors concurrently, each under a timeout, and turn every outcome into data."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from envcheck import facts as _facts
from envcheck.core.context import CommandResult, Context, track, untrack, wait_for
from envcheck.facts import Collector, all_collectors
from envcheck.core.model import FactResult, Facts
from envcheck.i18n import _

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


_STARTS_FIRST = ("envcheck.facts.network", "envcheck.facts.torch_probe", "envcheck.facts.python_env",
                 "envcheck.facts.nvidia", "envcheck.facts.toolchain")


def _registry_steps() -> Iterator[dict[str, Collector]]:
    """The registry as it grows, one collector module imported at a time, then complete.

    Importing every collector module before starting any took 0.15 s (urllib, psutil, yaml, the
    knowledge tables); importing them one by one lets the first collectors (the torch probe, the
    target interpreter's pyinfo.py) run while the later modules import. A replaced all_collectors
    (tests hand the runner a fixed registry) is used as it is.
    """
    if all_collectors is _facts.all_collectors:
        modules = list(getattr(_facts, "_MODULES", ()))
        # The collectors that wait longest (on the torch import, the target interpreter, the
        # network, the compilers) start first; then the rest in the registry's order.
        first = [m for m in _STARTS_FIRST if m in modules]
        for module in first + [m for m in modules if m not in first]:
            importlib.import_module(module)
            yield _facts.COLLECTORS
    yield all_collectors()


def collect(
    ctx: Context,
    names: Iterable[str] | None = None,
    on_done: Callable[[FactResult], None] | None = None,
    skip: Iterable[str] | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> Facts:
    """Run the named collectors (when None, all but the on-demand ones, less `skip`) in parallel
    daemon threads. while_waiting: called once in this thread after every collector has started
    (work the caller needs later, e.g. importing the checks, done while the collectors wait on
    their subprocesses); an exception from it is raised after the collectors are done.

    Daemon threads rather than a thread pool: a collector stuck in a system call must not keep
    the process alive after the report is printed.
    """
    names = None if names is None else list(names)
    skipped = set(skip or ())
    slots: dict[str, dict] = {}
    threads: dict[str, threading.Thread] = {}
    deadlines: dict[str, float] = {}
    timeouts: dict[str, float] = {}
    registry: dict[str, Collector] = {}
    for registry in _registry_steps():
        if names is None:
            ready = [n for n, c in registry.items() if not c.on_demand and n not in skipped]
        else:
            ready = [n for n in names if n in registry and n not in skipped]
        for name in ready:
            if name in threads:
                continue
            coll = registry[name]
            slots[name] = {}
            thread = threading.Thread(target=_run_one, args=(coll, ctx, slots[name]), daemon=True, name=f"collect-{name}")
            thread.start()
            threads[name] = thread
            timeouts[name] = collector_timeout(coll, ctx)
            deadlines[name] = time.monotonic() + timeouts[name]
        if names is not None and all(n in threads or n in skipped for n in names):
            break  # every named collector runs: the other modules need not be imported

    failure: BaseException | None = None
    if while_waiting is not None:
        try:
            while_waiting()
        except BaseException as exc:  # noqa: BLE001 - raised once the collectors are accounted for
            failure = exc

    facts = Facts()
    pending = set(threads)
    while pending:
        for name in sorted(pending):
            thread = threads[name]
            if not thread.is_alive():
                facts[name] = slots[name].get("result") or FactResult(name, False, {}, _("collector produced nothing"))
            elif time.monotonic() >= deadlines[name]:
                limit = timeouts[name]
                facts[name] = FactResult(name, False, {}, _("timed out after {seconds}s").format(seconds=f"{limit:.0f}"), limit)
            else:
                continue
            pending.discard(name)
            if on_done:
                on_done(facts[name])
        if pending:
            time.sleep(0.01)
    if failure is not None:
        raise failure
    return facts


# ---------------------------------------------------------------- subprocesses started early
#
# `envcheck doctor` starts the subprocesses of its slowest collectors (the torch probe, which
# imports torch, and pyinfo.py in the target interpreter) as its very first act (envcheck/cli.py),
# before typer, rich and the collectors' modules are imported: everything else then happens while
# they run. A collector adopts such a process only when it would have started the very same one
# (same argv, environment and folder) and waits for it as Context.run would; any other run, and a
# process nobody adopted, is stopped at the end of the command.


@dataclass
class EarlyProcess:
    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    proc: subprocess.Popen
    started: float


_early_lock = threading.Lock()
_early: dict[str, EarlyProcess] = {}


def start_early(key: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
    """Start argv now, to be adopted under `key` by adopt_early. Never raises: a process that
    cannot start is left to the collector, which reports why."""
    argv = [str(a) for a in argv]
    env = dict(os.environ if env is None else env)
    try:
        cwd = os.getcwd()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=cwd, start_new_session=True, text=True, errors="replace")
    except Exception:  # noqa: BLE001 - OSError, a vanished folder: the normal path reports it
        return
    track(proc)
    with _early_lock:
        previous = _early.pop(key, None)
        _early[key] = EarlyProcess(argv, env, cwd, proc, time.monotonic())
    if previous is not None:
        _stop(previous.proc)


def early_process(key: str) -> EarlyProcess | None:
    with _early_lock:
        return _early.get(key)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.communicate(timeout=2)
    except Exception:  # noqa: BLE001 - stuck in the kernel: stop waiting
        pass
    untrack(proc)


def discard_early() -> None:
    """Stop every early process nothing adopted (a usage error, --only, a test)."""
    with _early_lock:
        left = list(_early.values())
        _early.clear()
    for early in left:
        _stop(early.proc)


def adopt_early(key: str, argv: Sequence[str], ctx: Context) -> EarlyProcess | None:
    """The early process under `key` if it is exactly the one ctx.run(argv) would start; an
    early process that is not is stopped. Either way it is no longer held."""
    with _early_lock:
        early = _early.pop(key, None)
    if early is None:
        return None
    cwd = str(ctx.cwd) if ctx.cwd.is_dir() else None
    if early.argv == [str(a) for a in argv] and early.env == dict(ctx.env) and early.cwd == cwd:
        return early
    _stop(early.proc)
    return None


def finish_early(early: EarlyProcess, timeout: float) -> CommandResult:
    """Wait for an adopted process as Context.run waits for the one it starts: the same time
    limit, counted from the process's start, and the same kill of its process group."""
    remaining = max(0.0, early.started + timeout - time.monotonic())
    return wait_for(early.proc, list(early.argv), remaining)


def run_adopting(key: str, ctx: Context, argv: Sequence[str], timeout: float) -> tuple[CommandResult, EarlyProcess | None]:
    """ctx.run(argv, timeout), or the wait for the early process that is that very run."""
    early = adopt_early(key, argv, ctx)
    if early is None:
        return ctx.run(argv, timeout=timeout), None
    return finish_early(early, timeout), early
