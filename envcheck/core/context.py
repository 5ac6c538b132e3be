"""What every collector may look at: the environment, the target interpreter and a safe way to
run a subprocess. Passing this in (rather than reading os.environ directly) is what lets tests run
the real collectors against a fake environment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from envcheck.i18n import N_, _


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int | None  # None: did not finish (timeout) or could not start
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    error: str | None = None  # could not start: "not found", permission denied, ...

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None

    def describe_failure(self) -> str:
        """One line for a message, in the current language (the command's own output stays as it is)."""
        cmd = f"`{' '.join(self.argv)}`"
        if self.error:
            error = _(self.error) if self.error in RUN_ERRORS else self.error
            return _("{command} could not run: {error}").format(command=cmd, error=error)
        if self.timed_out:
            return _("{command} did not finish in time (timed out)").format(command=cmd)
        tail = (self.stderr or self.stdout).strip().splitlines()[-1:] or [""]
        return _("{command} exited with {status}: {output}").format(command=cmd, status=self.returncode, output=tail[0])


# CommandResult.error values set by Context.run (data: compared as they are; translated when shown
# with _(error)).
RUN_ERRORS = (N_("not found"), N_("permission denied"))


# Every child started through Context.run or runner.start_early, until it has been waited for. Each
# runs in its own session (so a timeout can kill its whole group), which also means the terminal's
# Ctrl-C does not reach it: stop_children() ends them when the command ends early.
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()


def track(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.add(proc)


def untrack(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.discard(proc)


def stop_children() -> None:
    """Kill the process group of every child still running (Ctrl-C, SIGTERM, an early exit)."""
    with _children_lock:
        left = list(_children)
        _children.clear()
    for proc in left:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def wait_for(proc: subprocess.Popen, argv: list[str], limit: float, input_text: str | None = None) -> CommandResult:
    """Wait up to `limit` seconds for a process started in its own session (text pipes); on timeout
    kill its whole process group. A process stuck in the kernel (nvidia-smi in D state) cannot be
    killed: after 2 more seconds we stop waiting for its output rather than hang."""
    try:
        try:
            out, err = proc.communicate(input=input_text, timeout=limit)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                out, err = proc.communicate(timeout=2)
            except subprocess.TimeoutExpired:
                out, err = "", ""
            return CommandResult(argv, None, out or "", err or "", timed_out=True)
        return CommandResult(argv, proc.returncode, out, err)
    finally:
        untrack(proc)


@dataclass
class Context:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    python: str = sys.executable  # the interpreter being diagnosed (--python)
    home: Path = field(default_factory=Path.home)
    cwd: Path = field(default_factory=Path.cwd)
    offline: bool = False  # no network probes at all
    timeout: float = 10.0  # default per-subprocess timeout, seconds
    probe_timeout: float = 60.0  # the torch probe imports torch and initialises CUDA: slower
    proc_root: Path = Path("/proc")  # tests point this at a fake tree
    sys_root: Path = Path("/")  # root for /etc, /dev, /usr files; tests point it elsewhere

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH", ""))

    def run(
        self,
        argv: Sequence[str],
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
    ) -> CommandResult:
        """Run a command with a hard timeout; never raises.

        The child gets its own process group so a timeout kills it and anything it started.
        A process stuck in the kernel (nvidia-smi in D state) cannot be killed; we then stop
        waiting for it rather than hang the whole report.
        """
        argv = [str(a) for a in argv]
        limit = self.timeout if timeout is None else timeout
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.env if env is None else env),
                cwd=str(self.cwd) if self.cwd.is_dir() else None,
                start_new_session=True,
                text=True,
                errors="replace",
            )
        except FileNotFoundError:
            return CommandResult(argv, None, error="not found")
        except PermissionError:
            return CommandResult(argv, None, error="permission denied")
        except OSError as exc:
            return CommandResult(argv, None, error=str(exc))
        track(proc)
        return wait_for(proc, argv, limit, input_text)

    def read_text(self, path: str | Path) -> str | None:
        """Read a file, or None when it is missing or unreadable."""
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None
