"""Ctrl-C / SIGTERM during `envcheck smoke-train`, end to end on the CPU.

The command runs as a subprocess with a private TMPDIR; a test hook makes a phase sleep
(ENVCHECK_SMOKE_TEST_SLEEP), and once the worker (or torchrun and its ranks) is in that phase the
test records the whole process tree below the command, sends the signal, and checks that within
10 s every one of those processes has ended and no envcheck-smoke-* folder is left.
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
SMALL = ["--learn-per-class", "8", "--image-size", "32", "--epochs", "1"]


# Tests that start torch.distributed (gloo) run on one xdist worker (pyproject: --dist loadgroup):
# two rendezvous at once on one machine can race for a port and hang.
DDP_GROUP = pytest.mark.xdist_group("ddp")


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _start(args: list[str], tmp: Path, cache: Path, sleep: str) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmp), XDG_CACHE_HOME=str(cache), ENVCHECK_SMOKE_TEST_SLEEP=sleep, PYTHONUNBUFFERED="1")
    for name in ("CUDA_VISIBLE_DEVICES", "RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID",
                 "SLURM_STEPID"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "envcheck", "smoke-train", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_hook(proc: subprocess.Popen, tmp: Path, log_name: str, count: int, seconds: float = 240) -> None:
    """Until the test hook's line shows up `count` times in the run's log (the phase is sleeping)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        logs = list(tmp.glob(f"envcheck-smoke-*/logs/{log_name}"))
        if logs and logs[0].read_text(errors="replace").count("test hook:") >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the sleeping phase never started ({log_name})")


@pytest.mark.parametrize(
    "args, sleep, log_name, hooks, signum, code, min_children",
    [
        (["--cpu", *SMALL], "learning=120", "worker-1.log", 1, signal.SIGINT, 130, 1),
        (["--cpu", *SMALL], "learning=120", "worker-1.log", 1, signal.SIGTERM, 143, 1),
        (["--cpu", "--nproc", "2", "--phase", "ddp"], "ddp=120", "ddp.log", 2, signal.SIGINT, 130, 3),
        (["--cpu", "--nproc", "2", "--phase", "ddp"], "ddp=120", "ddp.log", 2, signal.SIGTERM, 143, 3),
    ],
    ids=["worker-sigint", "worker-sigterm", "ddp-sigint", "ddp-sigterm"],
)
@DDP_GROUP
def test_signal_ends_every_child_and_removes_the_temp_folder(tmp_path, cache_home, args, sleep, log_name, hooks, signum,
                                                             code, min_children):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(args, tmp, cache_home, sleep)
    tree: list[psutil.Process] = []
    try:
        _wait_for_hook(proc, tmp, log_name, hooks)
        tree = psutil.Process(proc.pid).children(recursive=True)
        assert len(tree) >= min_children, [p.cmdline() for p in tree]
        start = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=15)
        while any(_alive(p) for p in tree) and time.monotonic() - start < 10:
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        left = [(p.pid, p.cmdline()) for p in tree if _alive(p)]
        assert left == [], left
        assert elapsed < 10, elapsed
        assert proc.returncode == code, err
        # Nothing at all is left in the private TMPDIR: the children's own temp folders (torchrun's
        # torchelastic_* logs) live in a per-run folder that goes with the run.
        assert list(tmp.iterdir()) == []
        lines = err.strip().splitlines()
        assert lines and lines[-1].startswith(f"envcheck: interrupted ({signal.Signals(signum).name}): stopped "), err
        assert "removed " + str(tmp) in lines[-1] and "OUT_DIR" not in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in tree:
            try:
                p.kill()
            except psutil.Error:
                pass


@pytest.mark.slow
@DDP_GROUP
def test_a_finished_run_leaves_nothing_in_the_temp_folder(tmp_path, cache_home):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["--cpu", "--nproc", "2", "--phase", "ddp"], tmp, cache_home, "")
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    assert "PASS: all 1 checks passed" in out
    assert list(tmp.iterdir()) == []  # the run folder and torchrun's torchelastic_* folder are gone
