"""smoke-train's children end with it: a hung phase, a hung DDP launcher whose ranks live in their
own sessions and shrug off SIGTERM, an exception or a signal in the parent. Stand-in launchers and
workers (plain Python scripts), no torch, no GPU."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import typer

from envcheck.smoke import phases
from envcheck.smoke.phases import CHILDREN, run_ddp_phase, run_worker_phases

# Starts two "ranks" the way torchrun (torch >= 2.2) does, each in its own session, so killing the
# launcher's process group does not reach them. The ranks ignore SIGTERM; the launcher handles it
# by doing nothing (a launcher busy shutting down), so only SIGKILL of each process ends them.
FAKE_LAUNCHER = r'''
import json, os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, lambda *a: None)
rank = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
children = [subprocess.Popen([sys.executable, "-c", rank], start_new_session=True) for _ in range(2)]
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump([os.getpid()] + [c.pid for c in children], f)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
'''

# A worker whose phase hangs after starting a helper in a new session (outside its group) that
# ignores SIGTERM, like a stray DataLoader or compile worker.
FAKE_WORKER = r'''
import json, os, signal, subprocess, sys, time
config = json.load(open(sys.argv[1]))
helper = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
                          start_new_session=True)
with open(config["pids"] + ".tmp", "w") as f:
    json.dump([os.getpid(), helper.pid], f)
os.replace(config["pids"] + ".tmp", config["pids"])
for phase in config["phases"]:
    sys.stdout.write(json.dumps({"event": "start", "phase": phase}) + "\n"); sys.stdout.flush()
    time.sleep(600)
'''


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_file(path: Path, seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return json.loads(path.read_text())


def _kill_leftovers(pids: list[int]) -> None:
    """Whatever the assertions say, the test itself leaves nothing running."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_ddp_timeout_ends_ranks_in_their_own_sessions_that_ignore_sigterm(tmp_path):
    script = tmp_path / "fake_launcher.py"
    script.write_text(FAKE_LAUNCHER)
    pids_file = tmp_path / "pids.json"
    pids: list[int] = []
    try:
        start = time.monotonic()
        result = run_ddp_phase([sys.executable, str(script), str(pids_file)], 2, tmp_path / "result.json", 2.0,
                               {"PATH": os.environ["PATH"]}, tmp_path / "ddp.log", kind="cuda", log_kept=True)
        elapsed = time.monotonic() - start
        pids = _wait_for_file(pids_file, 1)
        assert len(pids) == 3
        assert not result.passed and result.error.startswith("ddp phase did not finish within 2 s")
        assert elapsed < 2.0 + 10, elapsed
        assert [pid for pid in pids if _alive(pid)] == []
        assert CHILDREN.live() == []
    finally:
        _kill_leftovers(pids)


def test_worker_timeout_ends_its_helpers_outside_its_group(tmp_path):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    pids_file = tmp_path / "pids.json"
    pids: list[int] = []
    try:
        start = time.monotonic()
        results = run_worker_phases({"pids": str(pids_file)}, ["hangs"], {"hangs": 2.0}, {"PATH": os.environ["PATH"]}, tmp_path,
                                    worker_argv=[sys.executable, str(script)])
        elapsed = time.monotonic() - start
        pids = _wait_for_file(pids_file, 1)
        assert not results[0].passed and "did not finish within 2 s" in results[0].error
        assert elapsed < 2.0 + 10, elapsed
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        _kill_leftovers(pids)


def test_ddp_hang_names_nccl_switches_and_the_log():
    cuda = phases.ddp_timed_out(300, "cuda", Path("/runs/r1/logs/ddp.log"), log_kept=True)
    assert not cuda.passed
    for text in ("NCCL_DEBUG=INFO", "NCCL_P2P_DISABLE=1", "NCCL_IB_DISABLE=1", "/runs/r1/logs/ddp.log", "--timeout",
                 "within 300 s"):
        assert text in cuda.error, text
    assert cuda.numbers["log"] == "/runs/r1/logs/ddp.log"
    # A temporary run's log is deleted at the end: say how to keep it instead of a dead path.
    temporary = phases.ddp_timed_out(300, "cuda", Path("/tmp/envcheck-smoke-x/logs/ddp.log"), log_kept=False)
    assert "--out DIR" in temporary.error and "/tmp/envcheck-smoke-x" not in temporary.error
    cpu = phases.ddp_timed_out(60, "cpu", Path("/r/logs/ddp.log"), log_kept=True)
    assert "gloo" in cpu.error and "NCCL" not in cpu.error


def _sleeper() -> subprocess.Popen:
    return CHILDREN.popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)


def test_an_exception_in_the_parent_stops_children_and_removes_temp_dirs():
    from envcheck.commands.smoke_train import RunGuard

    child = None
    with pytest.raises(RuntimeError, match="report failed"):
        with RunGuard() as guard:
            temp = guard.temp_dir()
            child = _sleeper()
            raise RuntimeError("report failed")
    assert child is not None and child.poll() is not None
    assert not temp.exists()
    assert CHILDREN.live() == []


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_signal_becomes_one_line_and_128_plus_signal(capsys, signum, code):
    from envcheck.commands.smoke_train import RunGuard

    before = signal.getsignal(signum)
    child = None
    with pytest.raises(typer.Exit) as exit_info:
        with RunGuard() as guard:
            temp = guard.temp_dir()
            child = _sleeper()
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler raises in here
    assert exit_info.value.exit_code == code
    assert child is not None and child.poll() is not None and not temp.exists()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == f"envcheck: interrupted ({signal.Signals(signum).name}): stopped 1 process, removed {temp}"
    assert "OUT_DIR" not in lines[0]
    assert signal.getsignal(signum) == before  # handlers restored
