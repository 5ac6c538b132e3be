"""`envcheck doctor` ended by a signal: one line, exit 130, and no child left behind.

The doctor's subprocesses (the torch probe, pyinfo.py, nvidia-smi, ...) run in their own sessions
so that a timeout can kill their whole group; that also means the terminal's Ctrl-C never reaches
them, so the doctor must stop them itself. The target interpreter here is a script that hangs, so
every process run with it is still running when the signal comes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent


def _hanging_python(tmp_path: Path, marker: str) -> Path:
    script = tmp_path / "python3"
    script.write_text(f"#!/bin/sh\nexec sleep {marker}\n")
    script.chmod(0o755)
    return script


def _running(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_every_child_and_says_so_in_one_line(tmp_path, sig):
    marker = f"{300 + os.getpid() % 100}.{int(sig)}17"  # a sleep duration no other process uses
    python = _hanging_python(tmp_path, marker)
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "doctor", "--offline", "--python", str(python)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            # SIGINT is ignored in children of a non-interactive shell; restore it.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while len(_running(marker)) < 2 and time.monotonic() < deadline:  # the probe and pyinfo.py
            time.sleep(0.1)
        assert len(_running(marker)) >= 2, "the doctor did not start its subprocesses"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("envcheck: interrupted"), err
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(marker) == [], "a child of the doctor outlived it"
