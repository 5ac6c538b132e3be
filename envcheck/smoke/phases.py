"""Run smoke-train's phases in child processes, each under its own timeout.

The parent never imports torch. One worker child runs the single-device phases in order and
reports each as a JSON line; the parent gives each phase its own deadline. A phase that overruns
becomes a failed check ("learning phase did not finish within 300 s"), the child's whole process
group is killed (DataLoader workers included), and a fresh child carries on with the phases left.
A child that dies mid-phase is handled the same way, with the last line of its log as the error.
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

SINGLE_DEVICE_PHASES = ["device", "numerics", "learning", "determinism", "checkpoint", "amp", "throughput"]
DDP_PHASE = "ddp"

TITLES = {
    "device": "Device",
    "numerics": "Numerics",
    "learning": "Learning",
    "determinism": "Determinism",
    "checkpoint": "Checkpoint",
    "amp": "Mixed precision",
    "throughput": "Throughput",
    "ddp": "DDP",
}

# Seconds per phase. Generous: a first CUDA start can JIT PTX for minutes, and the learning run on a
# slow CPU takes a while; a hang is still reported long before a person gives up on the command.
DEFAULT_TIMEOUTS = {
    "device": 180,
    "numerics": 120,
    "learning": 900,
    "determinism": 300,
    "checkpoint": 300,
    "amp": 180,
    "throughput": 600,
    "ddp": 300,
}


@dataclass
class CheckResult:
    name: str
    passed: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "passed": self.passed,
            "summary": self.summary,
            "numbers": dict(self.numbers),
            "error": self.error,
            "seconds": self.seconds,
        }


def timed_out(name: str, limit: float) -> CheckResult:
    return CheckResult(
        name, False, {"timeout_s": limit},
        error=f"{name} phase did not finish within {limit:g} s (raise it with --timeout, or look at the log for where it hung)",
        seconds=float(limit),
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # Stuck in the kernel (a GPU in a bad state): stop waiting rather than hang the report.
        pass


def _log_tail(log_path: Path, lines: int = 1) -> str:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    meaningful = [line.strip() for line in text if line.strip()]
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
) -> list[CheckResult]:
    """Run `phases` in worker children; always returns one CheckResult per phase, in order.

    worker_argv: the command before the config path (tests pass a stand-in worker).
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
            proc = subprocess.Popen(
                [*worker_argv, str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(env),
                start_new_session=True,  # its own group: a timeout kills DataLoader workers too
                text=True,
                errors="replace",
            )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()

        current = remaining[0]
        deadline = time.monotonic() + timeouts[current]
        if on_start:
            on_start(current)
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                _kill_group(proc)
                results[current] = timed_out(current, timeouts[current])
                if on_result:
                    on_result(results[current])
                remaining.remove(current)
                break
            if line is None:  # the child exited before reporting the current phase
                try:
                    code = proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    code = None
                tail = _log_tail(log_path)
                results[current] = CheckResult(
                    current, False,
                    error=f"{current} phase crashed (worker exit code {code}){': ' + tail if tail else ''}",
                )
                if on_result:
                    on_result(results[current])
                remaining.remove(current)
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("event") != "result" or record.get("phase") != current:
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
                    _kill_group(proc)
                break
            current = remaining[0]
            deadline = time.monotonic() + timeouts[current]
            if on_start:
                on_start(current)
        if proc.poll() is None and remaining:
            # The loop left the child behind only after it died or timed out; make sure it is gone.
            _kill_group(proc)
    return [results[name] for name in phases]


def summarise_ddp(combined: dict[str, Any], expected_world: int) -> CheckResult:
    """Turn rank 0's gathered results into the DDP check (pure: tested with hand-made rank results)."""
    ranks = [r for r in combined.get("ranks") or [] if isinstance(r, dict)]
    world = int(combined.get("world_size") or len(ranks))
    problems = [f"rank {r.get('rank')}: {p}" for r in ranks for p in r.get("problems") or []]
    if world != expected_world or len(ranks) != expected_world:
        problems.append(f"{len(ranks)} of {expected_world} ranks reported")
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
    summary = (
        f"{world} ranks ({numbers['backend']}): all_reduce = {numbers['allreduce_expected']:g} on every element of every rank; "
        f"busbw {numbers['busbw_gbps']:.2f} GB/s at {numbers['size_mib']:g} MiB; DDP step left equal gradients and weights on every rank"
        if ranks and numbers["allreduce_expected"] is not None else ""
    )
    if problems:
        return CheckResult(DDP_PHASE, False, numbers, error="; ".join(problems))
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
) -> CheckResult:
    """Run the launcher (or one rank of the user's job) and read rank 0's combined result.

    expect_result=False: this process is a job rank other than 0, which has nothing to report.
    """
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(env), start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return timed_out(DDP_PHASE, timeout)
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
    return CheckResult(DDP_PHASE, False, error=f"DDP run failed (exit code {code}){': ' + detail if detail else ''}", seconds=seconds)
