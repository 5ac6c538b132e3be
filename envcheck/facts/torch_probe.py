"""The "torch" collector: run envcheck/target/probe.py under the target interpreter and read its answer.

The probe prints one JSON line per step ("start", then "done" with that step's fields) and a
final "result" line (protocol in probe.py). Reading the lines rather than only the final object
is what lets this collector say WHICH step hung or crashed, and keep everything learnt before it.

Facts contract (other engineers' checks rely on it; keys are always present):
    status: "ok" | "not_installed" | "import_error" | "timeout" | "crashed" | "bad_output"
            | "python_not_runnable"
    error: one sentence, or None;  step / step_text: the step that hung or crashed, or None
    version ("2.14.1+cu130"), cuda ("13.0"|None), hip, cudnn (int like 92400|None),
    cudnn_available, is_available, device_count, arch_list (["sm_75", ...]),
    cuda_init_error, devices [{index, name, capability "9.0", uuid ("GPU-...", NVML's spelling:
    match devices to NVML by this), pci_bus_id / pci_device_id / pci_domain_id (torch's integers,
    not NVML's "00000000:00:09.0" text), total_memory_mib, op_ok, op_error}],
    torchvision {"version", "error", "ops_ok", ...},
    nccl, loaded_libraries, warnings, python {"version", "executable", ...},
    target_python (the --python path as given)
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any, Mapping

from envcheck.core.context import CommandResult, Context
from envcheck.facts import collector

PROBE = Path(__file__).resolve().parent.parent / "target" / "probe.py"
MARKER = '{"envcheck_probe"'

# The runner's deadline follows --probe-timeout plus a margin, so a slow import is reported as
# "timeout" by the probe runner (naming the step) rather than as an anonymous collector timeout.
_MARGIN = 10.0


def collector_deadline(ctx: Context) -> float:
    return max(1.0, float(ctx.probe_timeout)) + _MARGIN

STEP_TEXT = {
    "python": "starting the interpreter",
    "import_torch": "importing torch",
    "cudnn": "loading cuDNN",
    "cuda_init": "initialising CUDA",
    "devices": "reading the GPUs' properties",  # skipped with --no-cuda-context
    "device_op": "running a tensor op on the GPUs",
    "nccl": "reading the NCCL version",
    "torchvision": "importing torchvision",
    "loaded_libraries": "listing the loaded CUDA libraries",
}


def step_text(step: str | None) -> str:
    if not step:
        return "starting the probe"
    if step.startswith("device_op:"):
        return f"running a tensor op on cuda:{step.split(':', 1)[1]}"
    return STEP_TEXT.get(step, step)


def _defaults() -> dict[str, Any]:
    return {
        "status": None,
        "error": None,
        "step": None,
        "step_text": None,
        "version": None,
        "cuda": None,
        "hip": None,
        "cudnn": None,
        "cudnn_available": None,
        "is_available": None,
        "device_count": None,
        "arch_list": [],
        "cuda_init_error": None,
        "devices": [],
        "torchvision": {"version": None, "error": None, "ops_ok": None},
        "nccl": None,
        "loaded_libraries": [],
        "warnings": [],
        "python": {},
    }


def parse_events(stdout: str) -> list[dict[str, Any]]:
    """The probe's JSON lines, in order; anything else torch printed on stdout is ignored."""
    decoder = json.JSONDecoder()
    events = []
    for line in stdout.splitlines():
        start = line.find(MARKER)
        if start < 0:
            continue
        try:
            event, _ = decoder.raw_decode(line[start:])
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(event, dict):
            events.append(event)
    return events


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def interpret(result: CommandResult, timeout: float, python: str) -> dict[str, Any]:
    """Turn the probe's process outcome and output into the facts contract. Pure: tested directly."""
    data = _defaults()
    events = parse_events(result.stdout)
    final = None
    stuck = None
    for event in events:
        kind = event.get("event")
        if kind == "start":
            stuck = event.get("step")
        elif kind == "done":
            stuck = None
            data.update(event.get("fields") or {})
        elif kind == "result":
            final = event.get("result") or {}
    if final is not None:
        data.update(final)
    data["returncode"] = result.returncode
    stderr_lines = (result.stderr or "").strip().splitlines()
    data["stderr_tail"] = stderr_lines[-15:]

    if result.error:
        data["status"] = "python_not_runnable"
        data["error"] = f"the interpreter {python} could not be started ({result.error})"
        return data
    if result.timed_out:
        data["status"] = "timeout"
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        data["error"] = f"{step_text(stuck)} hung for {timeout:.0f}s, so the probe was stopped"
        return data
    if result.returncode is not None and result.returncode < 0:
        data["status"] = "crashed"
        data["signal"] = signal_name(result.returncode)
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        data["error"] = f"crashed with {data['signal']} while {step_text(stuck)}"
        return data
    if final is None:
        if not events:
            text = "\n".join(stderr_lines)
            if "SyntaxError" in text or "invalid syntax" in text:
                data["status"] = "python_not_runnable"
                data["error"] = f"{python} could not run the probe script (too old a Python?): {stderr_lines[-1] if stderr_lines else ''}"
                return data
            data["status"] = "bad_output"
            last = stderr_lines[-1] if stderr_lines else "no output"
            data["error"] = f"the probe exited with {result.returncode} and printed no result: {last}"
            return data
        data["status"] = "crashed"
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        last = stderr_lines[-1] if stderr_lines else "no message"
        data["error"] = f"the probe exited with code {result.returncode} while {step_text(stuck)}: {last}"
        return data

    outcome = data.get("torch_import")
    if outcome == "not_installed":
        data["status"] = "not_installed"
        data["error"] = None
    elif outcome == "error":
        data["status"] = "import_error"
        data["step"] = "import_torch"
        data["step_text"] = step_text("import_torch")
        data["error"] = data.get("import_error") or "importing torch failed"
    elif outcome == "ok":
        data["status"] = "ok"
    else:
        data["status"] = "bad_output"
        data["error"] = f"the probe's result has no torch_import outcome ({outcome!r})"
    return data


# In ctx.env, "1" makes the probe create no CUDA context at all (probe.py NO_CONTEXT_ENV).
NO_CONTEXT_ENV = "ENVCHECK_PROBE_NO_CUDA_CONTEXT"


def probe_argv(python: str, env: Mapping[str, str], skip_device_op: bool = False,
               no_cuda_context: bool = False) -> list[str]:
    argv = [python, str(PROBE)]
    if skip_device_op:
        argv.append("--skip-device-op")
    if no_cuda_context or env.get(NO_CONTEXT_ENV, "") == "1":
        argv.append("--no-cuda-context")
    return argv


def start_early(python: str) -> None:
    """Start the probe `envcheck doctor` will run under `python` (envcheck/cli.py calls this
    before anything else is imported); the collector adopts it (core/runner.py, start_early)."""
    from envcheck.core import runner

    runner.start_early("torch", probe_argv(python, os.environ))


def run_probe(ctx: Context, skip_device_op: bool = False, no_cuda_context: bool = False) -> dict[str, Any]:
    """Run the probe under ctx.python. Also used by commands that want the probe without the
    whole doctor (skip_device_op avoids running a tensor op on the GPUs; no_cuda_context, or
    ENVCHECK_PROBE_NO_CUDA_CONTEXT=1 in ctx.env, also skips reading device properties, so no GPU
    gets a context: versions, arch list and device count only)."""
    timeout = max(1.0, float(ctx.probe_timeout))
    argv = probe_argv(ctx.python, ctx.env, skip_device_op, no_cuda_context)
    from envcheck.core import runner

    started = time.monotonic()
    result, early = runner.run_adopting("torch", ctx, argv, timeout)
    if early is not None:
        started = early.started
    data = interpret(result, timeout, ctx.python)
    data["probe_timeout_s"] = timeout
    # The probe's own wall time: with an early start it began before this collector did, so the
    # collector's duration_s leaves part of it out.
    data["started_early"] = early is not None
    data["probe_wall_s"] = round(time.monotonic() - started, 3)
    # The interpreter as the user named it (a wrapper script or a venv symlink), which can differ
    # from the sys.executable the probe reports.
    data["target_python"] = ctx.python
    return data


@collector("torch", "torch, its CUDA build, the GPUs it sees and torchvision, probed in the target interpreter",
           timeout=collector_deadline)
def collect_torch(ctx: Context) -> dict[str, Any]:
    return run_probe(ctx)
