"""The "torch" collector: run envcheck/target/probe.py under the target interpreter and read its answer.

The probe prints one JSON line per step ("start", then "done" with that step's fields) and a
final "result" line (protocol in probe.py). Reading the lines rather than only the final object
is what lets this collector say WHICH step hung or crashed, and keep everything learnt before it.

Facts contract (other engineers' checks rely on it; keys are always present):
    status: "ok" | "not_installed" | "import_error" | "timeout" | "crashed" | "bad_output"
            | "python_not_runnable"
    error: one sentence, or None (in the language of the run that collected it; torch's own text
           for an import error);  error_args: what that sentence was made from ({"status", "kind",
           ...}), so error_text() can say it again in the language of the report, or None
    step / step_text: the step that hung or crashed, or None
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
from envcheck.i18n import N_, _

PROBE = Path(__file__).resolve().parent.parent / "target" / "probe.py"
MARKER = '{"envcheck_probe"'

# The runner's deadline follows --probe-timeout plus a margin, so a slow import is reported as
# "timeout" by the probe runner (naming the step) rather than as an anonymous collector timeout.
_MARGIN = 10.0


def collector_deadline(ctx: Context) -> float:
    return max(1.0, float(ctx.probe_timeout)) + _MARGIN

STEP_TEXT = {
    "python": N_("starting the interpreter"),
    "import_torch": N_("importing torch"),
    "cudnn": N_("loading cuDNN"),
    "cuda_init": N_("initialising CUDA"),
    "devices": N_("reading the GPUs' properties"),  # skipped with --no-cuda-context
    "device_op": N_("running a tensor op on the GPUs"),
    "nccl": N_("reading the NCCL version"),
    "torchvision": N_("importing torchvision"),
    "loaded_libraries": N_("listing the loaded CUDA libraries"),
}


def step_text(step: str | None) -> str:
    """What the probe was doing at `step`, in the current language (a phrase that fits "while ...")."""
    if not step:
        return _("starting the probe")
    if step.startswith("device_op:"):
        return _("running a tensor op on cuda:{index}").format(index=step.split(":", 1)[1])
    return _(STEP_TEXT[step]) if step in STEP_TEXT else step


def error_text(data: dict[str, Any]) -> str | None:
    """The probe's failure as one sentence in the current language, from the structured fields
    interpret() records (error_args), so that a report shows it in the language of the run even when
    the facts were collected in another; data["error"] (written at collection) otherwise, e.g. for
    an import error, which is torch's own text."""
    args = data.get("error_args")
    if not isinstance(args, dict) or args.get("status") != data.get("status"):
        return data.get("error")
    kind, step = args.get("kind"), step_text(args.get("step"))
    if kind == "not_started":
        # TRANSLATORS: {error} is the operating system's reason (e.g. "No such file or directory").
        return _("the interpreter {python} could not be started ({error})").format(
            python=args.get("python"), error=args.get("error"))
    if kind == "hung":
        # TRANSLATORS: {step} is one of the probe steps ("importing torch", "initialising CUDA").
        return _("{step} hung for {seconds}s, so the probe was stopped").format(
            step=step, seconds=f"{float(args.get('timeout') or 0):.0f}")
    if kind == "signal":
        return _("crashed with {signal} while {step}").format(signal=args.get("signal"), step=step)
    if kind == "old_python":
        return _("{python} could not run the probe script (too old a Python?): {last_line}").format(
            python=args.get("python"), last_line=args.get("last") or "")
    if kind == "no_result":
        return _("the probe exited with {code} and printed no result: {last_line}").format(
            code=args.get("code"), last_line=args.get("last") or _("no output"))
    if kind == "exited":
        return _("the probe exited with code {code} while {step}: {last_line}").format(
            code=args.get("code"), step=step, last_line=args.get("last") or _("no message"))
    if kind == "import_failed":
        return _("importing torch failed")
    if kind == "no_outcome":
        return _("the probe's result has no torch_import outcome ({outcome})").format(outcome=args.get("outcome"))
    return data.get("error")


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
        "error_args": None,
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

    def failed(status: str, kind: str, **args: Any) -> dict[str, Any]:
        data["status"] = status
        data["error_args"] = dict(args, status=status, kind=kind)
        data["error"] = error_text(data)
        return data

    if result.error:
        return failed("python_not_runnable", "not_started", python=python, error=result.error)
    if result.timed_out:
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        return failed("timeout", "hung", step=stuck, timeout=timeout)
    if result.returncode is not None and result.returncode < 0:
        data["signal"] = signal_name(result.returncode)
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        return failed("crashed", "signal", step=stuck, signal=data["signal"])
    if final is None:
        if not events:
            text = "\n".join(stderr_lines)
            if "SyntaxError" in text or "invalid syntax" in text:
                return failed("python_not_runnable", "old_python", python=python,
                              last=stderr_lines[-1] if stderr_lines else "")
            return failed("bad_output", "no_result", code=result.returncode,
                          last=stderr_lines[-1] if stderr_lines else None)
        data["step"] = stuck
        data["step_text"] = step_text(stuck)
        return failed("crashed", "exited", code=result.returncode, step=stuck,
                      last=stderr_lines[-1] if stderr_lines else None)

    outcome = data.get("torch_import")
    if outcome == "not_installed":
        data["status"] = "not_installed"
        data["error"] = None
    elif outcome == "error":
        data["step"] = "import_torch"
        data["step_text"] = step_text("import_torch")
        if data.get("import_error"):
            data["status"] = "import_error"
            data["error"] = data["import_error"]  # torch's own text, never translated
        else:
            failed("import_error", "import_failed")
    elif outcome == "ok":
        data["status"] = "ok"
    else:
        failed("bad_output", "no_outcome", outcome=repr(outcome))
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
