"""Run the measuring child (envcheck/bench/worker.py) under a time limit; torch-free.

The child runs in its own session and is registered in envcheck.smoke.phases.CHILDREN, so the
command's guard ends it (and the NCCL ranks it spawned) however the command ends: normal exit,
exception, time limit, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Callable

from envcheck.i18n import _
from envcheck.smoke.phases import CHILDREN


def _reader(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line)
    sink.put(None)


def run_worker(spec: dict[str, Any], env: dict[str, str], timeout: float,
               on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """{"figures": [...], "info": {...}, "error": str | None, "timed_out": bool, "seconds": float}."""
    argv = [sys.executable, "-m", "envcheck.bench.worker", json.dumps(spec)]
    started = time.monotonic()
    result: dict[str, Any] = {"figures": [], "info": {}, "error": None, "timed_out": False, "steps": []}
    proc = CHILDREN.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          text=True, errors="replace", start_new_session=True)
    lines: queue.Queue = queue.Queue()
    errors: list[str] = []
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    done = False
    try:
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                result["timed_out"] = True
                break
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.pop("event", None)
            if kind == "step":
                result["steps"].append(event["step"])
                if on_step:
                    on_step(event["step"])
            elif kind == "figure":
                result["figures"].append(event)
            elif kind == "info":
                result["info"].update(event)
            elif kind == "error":
                result["error"] = event.get("message")
            elif kind == "done":
                done = True
    finally:
        CHILDREN.stop(proc)
    result["seconds"] = round(time.monotonic() - started, 2)
    if result["timed_out"]:
        # The steps are worded by the worker, in this run's language (ENVCHECK_LANG in its environment).
        last = result["steps"][-1] if result["steps"] else _("starting")
        result["error"] = _("the measurements did not finish within {seconds}s (stopped during: {step})").format(
            seconds=f"{timeout:g}", step=last)
    elif not done and result["error"] is None:
        tail = [l.strip() for l in errors if l.strip()][-1:] or [_("exit status {code}").format(code=proc.returncode)]
        result["error"] = _("the measuring process ended early: {reason}").format(reason=tail[0][:300])
    return result
