"""Run smoke-train's phases in child processes, each under its own timeout.

The parent never imports torch. One worker child runs the single-device phases in order and
reports each as a JSON line; the parent gives each phase its own deadline. A phase that overruns
becomes a failed check ("learning phase did not finish within 300 s"), the child and every
process below it are stopped (stop_tree: DataLoader workers, and torchrun's ranks, which live in
sessions of their own), and a fresh child carries on with the phases left. A child that dies
mid-phase is handled the same way, with the last line of its log as the error.

Every child is registered in CHILDREN while it runs, so that the command can stop them all
however it ends (envcheck.commands.smoke_train.RunGuard). The phases themselves are registered
units (Phase, @phase): the worker's methods for the single-device phases, and DDP here.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from envcheck.i18n import _, current_language
from envcheck.smoke.progress import WORKER_LOG_PREFIX, PhaseProgress

DDP_PHASE = "ddp"


@dataclass(frozen=True)
class Phase:
    """One smoke check: its name, its title in the report, its default limit and what runs it.

    Declared once, next to the code that runs it (the worker's phase methods register themselves
    with @phase, in the order they run); the parent reads the same registry for titles, timeouts
    and order, so adding a check is one decorated function.

    default_timeout: seconds. Generous: a first CUDA start can JIT PTX for minutes, and the
    learning run on a slow CPU takes a while; a hang is still reported long before a person gives
    up on the command. single_device: run by the worker child (False: the DDP phase, run by torch's
    launcher).
    """

    name: str
    title: str  # English, marked with N_(): translated where shown (_(title)); --json keeps it English
    default_timeout: float
    run: Callable[..., Any] | None = None
    single_device: bool = True


_REGISTRY: dict[str, Phase] = {}


def phase(name: str, title: str, default_timeout: float, single_device: bool = True):
    """Register the decorated function as the phase `name` (registration order is run order)."""

    def register(fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
        _REGISTRY[name] = Phase(name, title, float(default_timeout), fn, single_device)
        return fn

    return register


def registered() -> list[Phase]:
    """Every phase, in run order. Importing the worker module registers the single-device phases
    (it imports no torch at module level, so the parent may import it)."""
    import envcheck.smoke.worker  # noqa: F401 - registers the phases

    singles = [p for p in _REGISTRY.values() if p.single_device]
    return singles + [p for p in _REGISTRY.values() if not p.single_device]


def get_phase(name: str) -> Phase:
    registered()
    return _REGISTRY[name]


def single_device_phases() -> list[str]:
    return [p.name for p in registered() if p.single_device]


def default_timeouts() -> dict[str, float]:
    return {p.name: p.default_timeout for p in registered()}


def title(name: str) -> str:
    """The phase's title in English (the msgid; translate it where it is shown: _(title(name)))."""
    found = _REGISTRY.get(name)
    return found.title if found else name


def clauses(*parts: str) -> str:
    """Whole clauses of one message, each translated on its own, joined as the language joins them
    ("a; b" / "a；b")."""
    return ("；" if current_language() == "zh" else "; ").join(p for p in parts if p)


# The DDP check is run by torch's launcher (run_ddp_phase below), not by the worker.
phase(DDP_PHASE, "DDP", 300, single_device=False)(None)


@dataclass
class CheckResult:
    """One check's outcome. skipped: the check was not judged (its phase did not run because its
    verdict could not mean anything, e.g. a data set too small to learn from or to time); it is
    neither passed nor failed, and does not count against the verdict."""

    name: str
    passed: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    error: str | None = None
    seconds: float = 0.0
    skipped: bool = False

    @property
    def title(self) -> str:
        return title(self.name)

    @property
    def status(self) -> str:
        """"pass", "fail" or "skipped" (not judged)."""
        if self.skipped:
            return "skipped"
        return "pass" if self.passed else "fail"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            # null for a check that was not judged: it neither passed nor failed.
            "passed": None if self.skipped else self.passed,
            "summary": self.summary,
            "numbers": dict(self.numbers),
            "error": self.error,
            "seconds": self.seconds,
        }


def not_judged(name: str, reason: str, numbers: dict[str, Any] | None = None) -> CheckResult:
    """A check whose phase was not run because its verdict would mean nothing; `reason` says why."""
    return CheckResult(name, False, dict(numbers or {}), summary=_("not judged: {reason}").format(reason=reason),
                       skipped=True)


def _where_to_read(log_path: Path | None, log_kept: bool) -> str:
    if log_path is None:
        return _("look at the log for where it stopped, or raise the limit with --timeout")
    if log_kept:
        return _("read {log} for where it stopped, or raise the limit with --timeout").format(log=log_path)
    return _("rerun with --out DIR to keep the worker's log (DIR/logs/{name}) and read it for where it stopped, "
             "or raise the limit with --timeout").format(name=log_path.name)


def timed_out(name: str, limit: float, progress: PhaseProgress | None = None, log_path: Path | None = None,
              log_kept: bool = True) -> CheckResult:
    """A phase that overran its limit, with the figures its last progress events gave (epoch and
    step reached, last images/s, last and best validation accuracy) and the log to read."""
    numbers: dict[str, Any] = {"timeout_s": limit}
    reached = ""
    if progress is not None:
        numbers.update(progress.numbers())
        reached = progress.reached()
    if log_path is not None and log_kept:
        numbers["log"] = str(log_path)
    seconds = f"{limit:g}"
    if reached:
        quiet = numbers.get("seconds_since_progress")
        if quiet is not None:
            what = _("{phase} phase did not finish within {seconds} s; it reached {reached}, last progress {quiet} s "
                     "before the limit").format(phase=name, seconds=seconds, reached=reached, quiet=f"{quiet:g}")
        else:
            what = _("{phase} phase did not finish within {seconds} s; it reached {reached}").format(
                phase=name, seconds=seconds, reached=reached)
    elif progress is not None and progress.events:
        what = _("{phase} phase did not finish within {seconds} s; it had started training").format(phase=name, seconds=seconds)
    else:
        what = _("{phase} phase did not finish within {seconds} s and reported no progress").format(
            phase=name, seconds=seconds)
    return CheckResult(name, False, numbers, error=clauses(what, _where_to_read(log_path, log_kept)),
                       seconds=float(limit))


# Stopping a child: SIGTERM first (torchrun forwards it to its ranks and reaps them; a worker dies
# at once), then SIGKILL for whatever is left of the tree after TERM_GRACE_S. Both waits together
# stay well inside the 10 s in which an interrupted smoke-train must have ended every child.
TERM_GRACE_S = 4.0
KILL_WAIT_S = 3.0


def _alive(process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tree(pid: int) -> list:
    """The process and all its descendants, as psutil.Process objects (empty when it is gone).

    Collected BEFORE any signal: torchrun (torch >= 2.2) starts each rank in its own session, so
    the ranks are not in the launcher's process group, and once the launcher dies they are
    re-parented and no longer reachable through it.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _signal(procs: list[subprocess.Popen], processes: list, sig: int) -> None:
    """`sig` to each child's process group (DataLoader workers and anything else it forked, even
    after the child itself exited) and to each of `processes` still running."""
    for proc in procs:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass
    for process in processes:
        try:
            if _alive(process):
                process.send_signal(sig)
        except Exception:  # noqa: BLE001 - gone in between, or not ours
            pass


def _wait_gone(procs: list[subprocess.Popen], processes: list, seconds: float) -> list:
    """Wait until every process has ended (reaping our own children); returns those still alive."""
    deadline = time.monotonic() + seconds
    while True:
        for proc in procs:
            proc.poll()
        left = [p for p in processes if _alive(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def _terminate(procs: list[subprocess.Popen], others: list = (), grace: float = TERM_GRACE_S,
               kill_wait: float = KILL_WAIT_S) -> int:
    """End `procs`, every process below them and `others`, however they were started; returns how
    many were running.

    The trees are collected before any signal (ranks in their own sessions included), all get
    SIGTERM at once, then after at most `grace` seconds SIGKILL goes to what is left and to anything
    it started meanwhile. A process stuck in the kernel (a GPU in a bad state) may survive even
    SIGKILL: we stop waiting rather than hang the report.
    """
    found = [q for proc in procs if proc.poll() is None for q in _tree(proc.pid)] + list(others)
    everything = list({q.pid: q for q in found if _alive(q)}.values())
    _signal(procs, everything, signal.SIGTERM)
    left = _wait_gone(procs, everything, grace)
    if left:
        more = [c for p in left for c in _tree(p.pid)[1:]]
        left = list({p.pid: p for p in left + more}.values())
        _signal(procs, left, signal.SIGKILL)
        _wait_gone(procs, left, kill_wait)
    for proc in procs:
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    return len(everything)


def stop_tree(proc: subprocess.Popen, grace: float = TERM_GRACE_S, kill_wait: float = KILL_WAIT_S) -> int:
    """End `proc` and every process below it; returns how many were running."""
    return _terminate([proc], grace=grace, kill_wait=kill_wait)


class ChildRegistry:
    """Every child process smoke-train has started and not yet seen end, so that any exit of the
    command (Ctrl-C, SIGTERM, SIGHUP, an exception) can end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        with self._lock:  # no signal-driven stop may miss a child that is just starting
            proc = subprocess.Popen(argv, **kwargs)
            self._procs.append(proc)
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)

    def stop(self, proc: subprocess.Popen, grace: float = TERM_GRACE_S) -> int:
        # Forgotten only once stopped: an interrupt in the middle leaves it to stop_all.
        count = stop_tree(proc, grace)
        self.forget(proc)
        return count

    def live(self) -> list[subprocess.Popen]:
        with self._lock:
            return [p for p in self._procs if p.poll() is None]

    def stop_all(self, grace: float = TERM_GRACE_S) -> int:
        """Stop every registered child and its tree, all at once (one grace period in total, not
        one per child); returns the processes stopped."""
        with self._lock:
            procs = list(self._procs)
        count = _terminate(procs, grace=grace)
        for proc in procs:
            self.forget(proc)
        return count


CHILDREN = ChildRegistry()


def stop_descendants(grace: float = TERM_GRACE_S) -> int:
    """Stop every process below this one that is still running (the probe of the fingerprint,
    anything a registered child left behind); returns how many there were."""
    return _terminate([], _tree(os.getpid())[1:], grace=grace)


def _log_tail(log_path: Path, lines: int = 1) -> str:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    # The worker's own progress lines say where it was, not what went wrong.
    meaningful = [line.strip() for line in text if line.strip() and not line.startswith(WORKER_LOG_PREFIX)]
    return " | ".join(meaningful[-lines:])


def _reader(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)
    sink.put(None)


def run_worker_phases(
    config: dict[str, Any],
    phases: list[str],
    timeouts: Mapping[str, float],
    env: Mapping[str, str],
    work_dir: Path,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    worker_argv: list[str] | None = None,
    on_progress: Callable[[str, dict[str, Any], PhaseProgress], None] | None = None,
    log_kept: bool = True,
) -> list[CheckResult]:
    """Run `phases` in worker children; always returns one CheckResult per phase, in order.

    worker_argv: the command before the config path (tests pass a stand-in worker).
    on_progress(phase, event, state): each {"event": "progress"} record of the running phase, with
    the PhaseProgress that has folded in every event of it so far.
    log_kept: whether work_dir outlives the run (a timed-out phase's error names its log if so,
    and otherwise says how to keep it).
    """
    worker_argv = worker_argv or [sys.executable, "-m", "envcheck.smoke.worker"]
    results: dict[str, CheckResult] = {}
    remaining = list(phases)
    attempt = 0
    while remaining:
        attempt += 1
        config_path = work_dir / f"worker-{attempt}.json"
        config_path.write_text(json.dumps({**config, "phases": remaining}))
        log_path = work_dir / f"worker-{attempt}.log"
        with open(log_path, "w") as log:
            proc = CHILDREN.popen(
                [*worker_argv, str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(env),
                # Its own group, so a timeout stops DataLoader workers too, and the terminal's
                # Ctrl-C reaches only the parent, which then stops this child itself.
                start_new_session=True,
                text=True,
                errors="replace",
            )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()

        current = remaining[0]
        progress = PhaseProgress(current)
        deadline = time.monotonic() + timeouts[current]
        if on_start:
            on_start(current)
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                CHILDREN.stop(proc)
                results[current] = timed_out(current, timeouts[current], progress, log_path, log_kept)
                if on_result:
                    on_result(results[current])
                remaining.remove(current)
                break
            if line is None:  # the child exited before reporting the current phase
                try:
                    code = proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    CHILDREN.stop(proc)
                    code = None
                tail = _log_tail(log_path)
                reached = progress.reached()
                if tail:
                    crashed = _("{phase} phase crashed (worker exit code {code}): {error}").format(
                        phase=current, code=code, error=tail)
                else:
                    crashed = _("{phase} phase crashed (worker exit code {code})").format(phase=current, code=code)
                results[current] = CheckResult(
                    current, False, numbers=progress.numbers(),
                    error=clauses(crashed, _("it had reached {reached}").format(reached=reached) if reached else ""),
                )
                if on_result:
                    on_result(results[current])
                remaining.remove(current)
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict) or record.get("phase") != current:
                continue
            if record.get("event") == "progress":
                event = {k: v for k, v in record.items() if k not in ("event", "phase")}
                progress.update(event)
                if on_progress:
                    on_progress(current, event, progress)
                continue
            if record.get("event") != "result":
                continue
            results[current] = CheckResult(
                current,
                bool(record.get("passed")),
                numbers=record.get("numbers") or {},
                summary=record.get("summary") or "",
                error=record.get("error"),
                seconds=float(record.get("seconds") or 0.0),
            )
            if on_result:
                on_result(results[current])
            remaining.remove(current)
            if not remaining:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
                break
            current = remaining[0]
            progress = PhaseProgress(current)
            deadline = time.monotonic() + timeouts[current]
            if on_start:
                on_start(current)
        # Whatever way the loop ended, nothing of this worker outlives it (a DataLoader worker
        # left by a crashed child included).
        CHILDREN.stop(proc)
    return [results[name] for name in phases]


def ddp_timed_out(limit: float, kind: str, log_path: Path, log_kept: bool) -> CheckResult:
    """A DDP hang: usually a collective that never completes, so say what to try, not only --timeout."""
    # TRANSLATORS: {where} is one of the two log messages below, shown in parentheses.
    where = _("the launcher's and ranks' log is {log}").format(log=log_path) if log_kept else (
        _("rerun with --out DIR to keep the launcher's and ranks' log (DIR/logs/ddp.log)"))
    if kind == "cuda":
        error = _(
            "{phase} phase did not finish within {seconds} s: a rank is probably stuck in an NCCL collective; rerun "
            "with NCCL_DEBUG=INFO and read the log ({where}); switches worth trying one at a time: NCCL_P2P_DISABLE=1 "
            "(GPU peer-to-peer broken, e.g. PCIe ACS or IOMMU on), NCCL_IB_DISABLE=1 (InfiniBand/RoCE misconfigured); "
            "or raise --timeout"
        )
    else:
        error = _("{phase} phase did not finish within {seconds} s: a rank is probably stuck in a gloo collective; "
                  "read the log ({where}), or raise --timeout")
    numbers: dict[str, Any] = {"timeout_s": limit}
    if log_kept:
        numbers["log"] = str(log_path)
    return CheckResult(
        DDP_PHASE, False, numbers,
        error=error.format(phase=DDP_PHASE, seconds=f"{limit:g}", where=where),
        seconds=float(limit),
    )


def summarise_ddp(combined: dict[str, Any], expected_world: int) -> CheckResult:
    """Turn rank 0's gathered results into the DDP check (pure: tested with hand-made rank results)."""
    ranks = [r for r in combined.get("ranks") or [] if isinstance(r, dict)]
    world = int(combined.get("world_size") or len(ranks))
    problems = [f"rank {r.get('rank')}: {p}" for r in ranks for p in r.get("problems") or []]
    if world != expected_world or len(ranks) != expected_world:
        problems.append(_("{count} of {expected} ranks reported").format(count=len(ranks), expected=expected_world))
    first = ranks[0] if ranks else {}
    numbers = {
        "world_size": world,
        "backend": combined.get("backend"),
        "allreduce_expected": first.get("allreduce_expected"),
        "allreduce_values": [r.get("allreduce_value") for r in ranks],
        "allreduce_wrong_elements": sum(int(r.get("allreduce_wrong") or 0) for r in ranks),
        "size_mib": round((first.get("size_bytes") or 0) / 2**20, 1),
        "algbw_gbps": round(first.get("algbw_gbps") or 0.0, 3),
        "busbw_gbps": round(first.get("busbw_gbps") or 0.0, 3),
        "grads_equal_all_ranks": all(r.get("grads_equal_rank0") for r in ranks) if ranks else False,
        "params_equal_all_ranks": all(r.get("params_equal_rank0") for r in ranks) if ranks else False,
        "grad_mean_rel_err": max((r.get("grad_mean_rel_err") or 0.0) for r in ranks) if ranks else None,
        "devices": [r.get("device_name") or r.get("device") for r in ranks],
    }
    summary = _(
        "{world} ranks ({backend}): all_reduce = {expected} on every element of every rank; busbw {busbw} GB/s at "
        "{size} MiB; DDP step left equal gradients and weights on every rank"
    ).format(world=world, backend=numbers["backend"], expected=f"{numbers['allreduce_expected']:g}",
             busbw=f"{numbers['busbw_gbps']:.2f}", size=f"{numbers['size_mib']:g}") if (
        ranks and numbers["allreduce_expected"] is not None) else ""
    if problems:
        return CheckResult(DDP_PHASE, False, numbers, error=clauses(*problems))
    return CheckResult(DDP_PHASE, True, numbers, summary=summary)


def ddp_command(nproc: int, result_path: Path, size_mb: float, seed: int) -> list[str]:
    """torch's own launcher, so the ranks get exactly the environment torchrun users get."""
    return [
        sys.executable, "-m", "torch.distributed.run",
        "--standalone", f"--nproc-per-node={nproc}",
        "-m", "envcheck.smoke.ddp_worker",
        "--result", str(result_path), "--size-mb", str(size_mb), "--seed", str(seed),
    ]


def run_ddp_phase(
    argv: list[str],
    nproc: int,
    result_path: Path,
    timeout: float,
    env: Mapping[str, str],
    log_path: Path,
    expect_result: bool = True,
    kind: str = "cpu",
    log_kept: bool = True,
) -> CheckResult:
    """Run the launcher (or one rank of the user's job) and read rank 0's combined result.

    expect_result=False: this process is a job rank other than 0, which has nothing to report.
    kind: "cuda" or "cpu", for the hints of a hang; log_kept: whether log_path outlives the run.
    """
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = CHILDREN.popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              env=dict(env), start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        # torchrun forwards SIGTERM to its ranks; ranks it started in their own sessions (torch
        # >= 2.2) that outlive that are killed one by one, found from the tree collected first.
        CHILDREN.stop(proc)
        return ddp_timed_out(timeout, kind, log_path, log_kept)
    finally:
        if proc.poll() is not None:
            CHILDREN.forget(proc)
    seconds = round(time.monotonic() - start, 2)
    if code == 0 and result_path.is_file():
        result = summarise_ddp(json.loads(result_path.read_text()), nproc)
        result.seconds = seconds
        return result
    errors = sorted(result_path.parent.glob(result_path.name + ".rank*.error"))
    detail = "; ".join(f"{p.name.rsplit('.', 2)[-2]}: {p.read_text().strip()}" for p in errors)
    if not detail:
        detail = _log_tail(log_path, 2)
    if code == 0 and not expect_result:
        # A job rank other than 0 succeeds without a result file; rank 0 reports for everyone.
        return CheckResult(DDP_PHASE, True, {"note": "this rank finished; rank 0 reports the results"}, seconds=seconds)
    if detail:
        error = _("DDP run failed (exit code {code}): {error}").format(code=code, error=detail)
    else:
        error = _("DDP run failed (exit code {code})").format(code=code)
    return CheckResult(DDP_PHASE, False, error=error, seconds=seconds)
