"""`envcheck fleet smoke-train`: one DDP check across nodes, through torchrun's c10d rendezvous.

On every node (started by ssh or srun), `envcheck fleet node-ddp` runs
    torchrun --nnodes N --nproc-per-node G --rdzv-backend c10d --rdzv-endpoint HOST:PORT
             -m envcheck.smoke.ddp_worker ...
in a temporary folder of its own, under a deadline, and prints one JSON line: its host, how long
it took to start, torchrun's exit code, the ranks' error files, the log's last lines and, on the
node where global rank 0 ran, the combined result (checked all_reduce, bus bandwidth, DDP step).
The temporary folder is removed; nothing else is written on the node.

Here the lines are merged: the node whose rank 0 reported gives the verdict (the same summary as
smoke-train's DDP phase), and each node that failed, hung, never answered or started late is named.
The node's line is data (its "stopped" text stays English, with a "stopped_kind" code); the words the
user reads are made here, in this run's language (issue #11).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from envcheck.core.errors import UserError
from envcheck.i18n import _

MARKER = "envcheck_fleet_ddp"
DEFAULT_PORT = 29400
START_MARGIN_S = 60.0  # ssh/srun start-up and the node's Python start, beyond the DDP deadline
SLOW_START_FACTOR = 2.0
SLOW_START_MIN_S = 5.0
# Variables of an enclosing job that would mislead torchrun's workers (torchrun sets its own).
_JOB_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT",
             "TORCHELASTIC_RUN_ID")


def torchrun_argv(nnodes: int, nproc: int | str, endpoint: str, rdzv_id: str, timeout: float, result: Path,
                  size_mb: float, seed: int) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run",
        f"--nnodes={nnodes}", f"--nproc-per-node={nproc}",
        "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}", f"--rdzv-id={rdzv_id}",
        f"--rdzv-conf=join_timeout={max(1, int(timeout))}", "--max-restarts=0",
        "-m", "envcheck.smoke.ddp_worker", "--result", str(result), "--size-mb", str(size_mb), "--seed", str(seed),
    ]


def _started_s() -> float:
    """Seconds since this process started (the node's Python and envcheck import included)."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # noqa: BLE001
        return 0.0


def node_main(nnodes: int, nproc: int | str, endpoint: str, rdzv_id: str, cpu: bool, size_mb: float, seed: int,
              timeout: float, watch_stdin: bool) -> int:
    """One node's part (`envcheck fleet node-ddp`): run torchrun, print one JSON line, clean up."""
    from envcheck.commands.smoke_train import RunGuard
    from envcheck.smoke.phases import CHILDREN

    startup = round(_started_s(), 2)
    host = os.uname().nodename
    record: dict[str, Any] = {MARKER: 1, "host": host, "startup_s": startup, "exit_code": None, "seconds": 0.0,
                              "result": None, "errors": {}, "log_tail": [], "stopped": None, "stopped_kind": None,
                              "timeout_s": timeout}
    gone = threading.Event()
    if watch_stdin:
        def watch() -> None:
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            gone.set()

        threading.Thread(target=watch, daemon=True).start()
    with RunGuard() as guard:
        work = guard.temp_dir("envcheck-fleet-ddp-")
        extra = {"ENVCHECK_DDP_DEVICE": "cpu" if cpu else "cuda", "ENVCHECK_DDP_PG_TIMEOUT": str(max(10, int(timeout)))}
        env = guard.child_env(extra)
        for name in _JOB_VARS:
            env.pop(name, None)
        result = work / "result.json"
        log_path = work / "torchrun.log"
        start = time.monotonic()
        with open(log_path, "w") as log:
            proc = CHILDREN.popen(torchrun_argv(nnodes, nproc, endpoint, rdzv_id, timeout, result, size_mb, seed),
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)
        deadline = start + timeout
        while proc.poll() is None:
            if gone.is_set():
                record["stopped"], record["stopped_kind"] = "the launcher went away (ssh closed)", "launcher_gone"
                break
            if time.monotonic() >= deadline:
                record["stopped"], record["stopped_kind"] = f"did not finish within {timeout:g} s", "deadline"
                break
            time.sleep(0.1)
        CHILDREN.stop(proc)
        record["exit_code"] = proc.returncode if record["stopped"] is None else None
        record["seconds"] = round(time.monotonic() - start, 2)
        if result.is_file():
            try:
                record["result"] = json.loads(result.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                record["errors"]["result"] = f"unreadable result: {exc}"
        for path in sorted(work.glob("result.json.rank*.error")):
            record["errors"][path.name.rsplit(".", 2)[-2]] = path.read_text(errors="replace").strip()[:500]
        try:
            lines = [line.rstrip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            lines = []
        record["log_tail"] = [line[:300] for line in lines[-8:]]
    from envcheck.core.redact import redact_data

    sys.stdout.write(json.dumps(redact_data(record)) + "\n")
    sys.stdout.flush()
    return 0 if record["exit_code"] == 0 else 1


# ---------------------------------------------------------------------------------------------
# The launching side


def node_command(remote: str, nnodes: int, nproc: int | str, endpoint: str, rdzv_id: str, cpu: bool, size_mb: float,
                 seed: int, timeout: float, watch_stdin: bool) -> str:
    """The shell line run on each node. `endpoint` is inserted as given (srun's may be a $(...))."""
    return (f"{remote} fleet node-ddp --nnodes {nnodes} --nproc-per-node {nproc} --rdzv-endpoint {endpoint} "
            f"--rdzv-id {rdzv_id} --size-mb {size_mb:g} --seed {seed} --timeout {timeout:g}"
            + (" --cpu" if cpu else "") + (" --watch-stdin" if watch_stdin else ""))


def new_rdzv_id() -> str:
    return f"envcheck-{uuid.uuid4().hex[:12]}"


def parse_node_line(stdout: str) -> dict | None:
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if MARKER in line and line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get(MARKER):
                return record
    return None


def _stopped_reason(record: dict[str, Any]) -> str:
    """Why a node's torchrun was stopped, from its line (the node words it in English; a node of an
    older envcheck sends only that text, shown as it is)."""
    kind, timeout = record.get("stopped_kind"), record.get("timeout_s")
    if kind == "launcher_gone":
        return _("torchrun the launcher went away (ssh closed)")
    if kind == "deadline" and isinstance(timeout, (int, float)):
        return _("torchrun did not finish within {seconds} s").format(seconds=f"{timeout:g}")
    return f"torchrun {record['stopped']}"


def summarise(runs: list, nnodes: int, nproc: int) -> dict[str, Any]:
    """The fleet DDP report from every node's NodeRun: nodes, the DDP check, problems named by node.
    nproc 0: ranks per node chosen by torchrun (one per GPU): the world size is then the reported one,
    and every node must have ranks in it."""
    from envcheck.fleet.launch import last_line, ssh_reason
    from envcheck.smoke.phases import summarise_ddp

    nodes: list[dict[str, Any]] = []
    problems: list[str] = []
    warnings: list[str] = []
    combined = None
    for run in runs:
        record = parse_node_line(run.stdout) if run.failure is None or run.stdout else None
        row: dict[str, Any] = {"name": run.name, "host": None, "state": "ok", "reason": None, "startup_s": None,
                               "seconds": run.seconds, "exit_code": run.exit_code, "errors": {}, "log_tail": []}
        if record is None:
            row["state"] = "failed"
            if run.failure is not None:
                row["reason"] = run.reason
            elif run.exit_code == 255:
                row["reason"] = ssh_reason(run.stderr)
            elif last_line(run.stderr):
                row["reason"] = _("no answer (exit {code}): {message}").format(code=run.exit_code, message=last_line(run.stderr))
            else:
                row["reason"] = _("no answer (exit {code})").format(code=run.exit_code)
        else:
            row.update(host=record.get("host"), startup_s=record.get("startup_s"), seconds=record.get("seconds"),
                       exit_code=record.get("exit_code"), errors=record.get("errors") or {},
                       log_tail=record.get("log_tail") or [])
            if isinstance(record.get("result"), dict) and record["result"].get("ranks"):
                combined = record["result"]
                row["rank0"] = True
            if record.get("stopped"):
                row["state"], row["reason"] = "failed", _stopped_reason(record)
            elif record.get("exit_code") != 0:
                # The ranks' error files and torchrun's log, as they are.
                detail = "; ".join(f"{k}: {v}" for k, v in row["errors"].items()) or (row["log_tail"][-1] if row["log_tail"] else "")
                row["state"] = "failed"
                if detail:
                    row["reason"] = _("torchrun exit code {code}: {detail}").format(code=record.get("exit_code"), detail=detail)
                else:
                    row["reason"] = _("torchrun exit code {code}").format(code=record.get("exit_code"))
        if row["state"] != "ok":
            problems.append(_("node {node}: {reason}").format(node=run.name, reason=row["reason"]))
        nodes.append(row)

    starts = [r["startup_s"] for r in nodes if isinstance(r.get("startup_s"), (int, float))]
    if len(starts) >= 2:
        median = statistics.median(starts)
        for r in nodes:
            s = r.get("startup_s")
            if isinstance(s, (int, float)) and s > SLOW_START_FACTOR * median and s - median > SLOW_START_MIN_S:
                r["slow"] = _("started {late} s after the median node (Python and envcheck start-up {seconds} s)").format(
                    late=f"{s - median:.1f}", seconds=f"{s:.1f}")
                warnings.append(_("node {node}: slow: {reason}").format(node=r["name"], reason=r["slow"]))

    if combined is not None:
        expected = nnodes * nproc if nproc else int(combined.get("world_size") or 0)
        check = summarise_ddp(combined, expected)
        hosts = sorted({str(rank.get("host")) for rank in combined.get("ranks") or [] if isinstance(rank, dict)})
        if not nproc and len(hosts) < nnodes and check.passed:
            check.passed, check.error = False, _("ranks came from {count} host(s) of {nodes}").format(count=len(hosts),
                                                                                                    nodes=nnodes)
        ddp = {"passed": check.passed, "summary": check.summary, "error": check.error, "numbers": check.numbers,
               "hosts": hosts}
        if not check.passed:
            problems.append(_("DDP check: {error}").format(error=check.error))
    else:
        ddp = {"passed": False, "summary": "", "error": _("no node reported rank 0's result"), "numbers": {}, "hosts": []}
        if not problems:
            problems.append(_("DDP check: no node reported rank 0's result"))
    passed = ddp["passed"] and all(r["state"] == "ok" for r in nodes)
    return {"nodes": nodes, "ddp": ddp, "problems": problems, "warnings": warnings, "passed": passed}


def check_numbers(nproc: int, port: int, size_mb: float) -> None:
    if not 1 <= nproc <= 64:
        raise UserError(_("--nproc-per-node {nproc}: give 1 to 64 processes per node (one per GPU).").format(nproc=nproc))
    if not 1 <= port <= 65535:
        raise UserError(_("--port {port}: give a TCP port from 1 to 65535.").format(port=port))
    if not 0 < size_mb <= 4096:
        raise UserError(_("--size-mb {size}: give the all_reduce size in MiB, more than 0 and at most 4096.").format(
            size=f"{size_mb:g}"))


def endpoint_host(host: str) -> str:
    """The rendezvous host for an ssh host name: without user@ (an ssh alias must resolve on the nodes)."""
    return host.rsplit("@", 1)[-1]
