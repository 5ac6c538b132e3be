"""The torch probe and its collector, run for real: against this machine's torch (no GPU) and
against fake torch packages that hang, segfault or fail to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envcheck.core.context import CommandResult, Context
from envcheck.facts.torch_probe import PROBE, interpret, parse_events, run_probe

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = sys.executable  # the test interpreter is the project's .venv python, with torch


def _ctx(env: dict[str, str], python: str = VENV_PYTHON, probe_timeout: float = 60.0) -> Context:
    return Context(env=env, python=python, probe_timeout=probe_timeout)


def _fake_torch(tmp_path: Path, body: str) -> Path:
    package = tmp_path / "fake" / "torch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    return package.parent


@pytest.fixture(scope="module")
def real_probe() -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return run_probe(_ctx(env), skip_device_op=True)


def test_real_probe_reports_this_machines_torch(real_probe):
    import torch

    data = real_probe
    assert data["status"] == "ok", data.get("error")
    assert data["version"] == torch.__version__
    assert data["cuda"] == torch.version.cuda
    assert data["cudnn"] == torch.backends.cudnn.version()
    # No GPU and no driver here: CUDA is unavailable and the reason is recorded.
    assert data["is_available"] is False and data["device_count"] == 0 and data["devices"] == []
    assert data["cuda_init_error"]
    assert data["arch_list"] == torch.cuda.get_arch_list()
    assert data["device_op_skipped"] is True
    import torchvision

    assert data["torchvision"]["version"] == torchvision.__version__ and data["torchvision"]["ops_ok"] is True
    import torch.backends.xnnpack

    assert data["xnnpack"] == torch.backends.xnnpack.enabled
    # torch.xpu arrived in torch 2.4: older torch has no answer, and the probe says unknown (None).
    assert data["xpu_available"] is (False if hasattr(torch, "xpu") else None)
    assert data["python"]["version"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert any("cudnn" in lib for lib in data["loaded_libraries"])
    json.dumps(data)  # the facts must be JSON-serialisable


def test_probe_prints_one_event_per_step_then_the_result():
    out = subprocess.run([VENV_PYTHON, str(PROBE), "--skip-device-op"], capture_output=True, text=True, timeout=120).stdout
    events = parse_events(out)
    starts = [e["step"] for e in events if e["event"] == "start"]
    dones = [e["step"] for e in events if e["event"] == "done"]
    assert starts == dones and "import_torch" in starts and "device_op" not in starts
    assert events[-1]["event"] == "result" and events[-1]["result"]["torch_import"] == "ok"


def test_hanging_import_times_out_and_names_the_step(tmp_path):
    fake = _fake_torch(tmp_path, "import time\ntime.sleep(120)\n")
    start = time.monotonic()
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake)}, probe_timeout=3), skip_device_op=True)
    assert time.monotonic() - start < 20
    assert data["status"] == "timeout"
    assert data["step"] == "import_torch"
    assert data["error"].startswith("importing torch hung for 3s")
    # What was learnt before the hang is kept.
    assert data["python"]["version"]


def test_segfault_on_import_is_crashed_with_the_signal(tmp_path):
    fake = _fake_torch(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake)}), skip_device_op=True)
    assert data["status"] == "crashed"
    assert data["signal"] == "SIGSEGV"
    assert data["step"] == "import_torch"
    assert "SIGSEGV" in data["error"] and "importing torch" in data["error"]


def test_import_error_is_reported_with_its_message(tmp_path):
    fake = _fake_torch(tmp_path, "raise ImportError('libcudnn.so.9: cannot open shared object file')\n")
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin", "PYTHONPATH": str(fake)}), skip_device_op=True)
    assert data["status"] == "import_error"
    assert "libcudnn.so.9" in data["error"]
    assert data["import_traceback"]


def test_missing_torch_is_not_installed(tmp_path):
    # -S: no site-packages, so this interpreter has no torch, exactly as a fresh env would.
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {VENV_PYTHON} -S \"$@\"\n")
    wrapper.chmod(0o755)
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin"}, python=str(wrapper)), skip_device_op=True)
    assert data["status"] == "not_installed"
    assert data["error"] is None
    assert data["version"] is None and data["python"]["version"]


def test_interpreter_that_cannot_start(tmp_path):
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin"}, python=str(tmp_path / "no-such-python")))
    assert data["status"] == "python_not_runnable"


def test_crash_after_partial_output_keeps_finished_steps():
    """A probe killed during CUDA init: the lines printed before the crash survive."""
    lines = [
        {"envcheck_probe": 1, "event": "start", "step": "import_torch"},
        {"envcheck_probe": 1, "event": "done", "step": "import_torch",
         "fields": {"torch_import": "ok", "version": "2.14.1+cu130", "cuda": "13.0"}},
        {"envcheck_probe": 1, "event": "start", "step": "cuda_init"},
    ]
    stdout = "torch says hello\n" + "\n".join(json.dumps(line) for line in lines) + '\n{"envcheck_probe": 1, "ev'
    data = interpret(CommandResult(["python"], -11, stdout, "Segmentation fault"), 60, "python")
    assert data["status"] == "crashed" and data["step"] == "cuda_init"
    assert data["error"] == "crashed with SIGSEGV while initialising CUDA"
    assert data["version"] == "2.14.1+cu130" and data["cuda"] == "13.0"


def test_garbage_output_is_bad_output():
    data = interpret(CommandResult(["python"], 0, "hello\n", ""), 60, "python")
    assert data["status"] == "bad_output"
    old = interpret(CommandResult(["python"], 1, "", "  File \"probe.py\"\n SyntaxError: invalid syntax"), 60, "python2")
    assert old["status"] == "python_not_runnable"


def test_doctor_report_survives_a_hanging_torch(tmp_path):
    fake = _fake_torch(tmp_path, "import time\ntime.sleep(120)\n")
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={fake} exec {VENV_PYTHON} \"$@\"\n")
    wrapper.chmod(0o755)
    envcheck = Path(VENV_PYTHON).parent / "envcheck"
    start = time.monotonic()
    proc = subprocess.run([str(envcheck), "doctor", "--json", "--python", str(wrapper), "--probe-timeout", "3"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert time.monotonic() - start < 90
    report = json.loads(proc.stdout)
    torch_facts = report["facts"]["torch"]
    assert torch_facts["ok"] and torch_facts["data"]["status"] == "timeout"
    areas = {c["area"] for c in report["checks"]}
    assert {"torch", "system"} <= areas and len(areas) >= 3
    torch_import = next(c for c in report["checks"] if c["id"] == "torch.import")
    assert torch_import["status"] == "fail" and "importing torch" in torch_import["summary"]
    assert proc.returncode == 1


OLD_PYTHON = Path("/root/.pyenv/versions/3.6.15/bin/python")
PY2 = Path("/root/.pyenv/versions/2.7.18/bin/python")


@pytest.mark.skipif(not OLD_PYTHON.exists(), reason="no Python 3.6 interpreter on this machine")
def test_probe_runs_under_an_old_python_without_torch():
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin"}, python=str(OLD_PYTHON)))
    assert data["status"] == "not_installed"
    assert data["python"]["version"].startswith("3.6.")


@pytest.mark.skipif(not PY2.exists(), reason="no Python 2 interpreter on this machine")
def test_python2_target_is_not_runnable():
    data = run_probe(_ctx({"PATH": "/usr/bin:/bin"}, python=str(PY2)))
    assert data["status"] == "python_not_runnable" and "SyntaxError" in data["error"]


def _fake_torchvision(tmp_path: Path, ops_library: bytes | None) -> dict[str, str]:
    """A torchvision package shadowing the real one (PYTHONPATH first), next to the real torch."""
    package = tmp_path / "fake_tv" / "torchvision"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise SystemExit('the probe must not import torchvision')\n")
    (package / "version.py").write_text("__version__ = '0.99.0+cu999'\ngit_version = 'x'\n")
    if ops_library is not None:
        (package / "_C.so").write_bytes(ops_library)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(package.parent)}


def test_torchvision_without_ops_library_is_reported_not_imported(tmp_path):
    data = run_probe(_ctx(_fake_torchvision(tmp_path, None)), skip_device_op=True)
    assert data["status"] == "ok"
    tv = data["torchvision"]
    assert tv["version"] == "0.99.0+cu999"
    assert tv["ops_ok"] is False and "no compiled ops library" in tv["ops_error"]


def test_torchvision_ops_library_that_does_not_load(tmp_path):
    # Not an ELF file: torch.ops.load_library fails the way a library built for another torch does.
    data = run_probe(_ctx(_fake_torchvision(tmp_path, b"not a shared library")), skip_device_op=True)
    tv = data["torchvision"]
    assert tv["installed"] is True and tv["ops_ok"] is False
    assert tv["ops_error"]


# --- the early start of `envcheck doctor` (envcheck/cli.py starts the probe before anything else) ---


def _no_torch_python(tmp_path: Path) -> str:
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {VENV_PYTHON} -S \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def _hanging_torch_python(tmp_path: Path) -> str:
    fake = _fake_torch(tmp_path, "import time\ntime.sleep(120)\n")
    wrapper = tmp_path / "hanging-python"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={fake} exec {VENV_PYTHON} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_early_probe_is_adopted_by_the_collector(tmp_path):
    from envcheck.cli import _start_doctor_early
    from envcheck.core import runner

    python = _no_torch_python(tmp_path)
    _start_doctor_early(["--json", "--python", python])
    try:
        assert runner.early_process("torch").argv == [python, str(PROBE)]
        assert runner.early_process("python") is not None  # pyinfo.py, for the python collector
        data = run_probe(Context(python=python))  # the doctor's Context: this process's env and folder
    finally:
        runner.discard_early()
    assert data["started_early"] is True
    assert data["status"] == "not_installed" and data["python"]["version"]
    assert runner.early_process("torch") is None


def test_early_probe_for_another_run_is_stopped_not_used(tmp_path):
    from envcheck.cli import _start_doctor_early
    from envcheck.core import runner

    _start_doctor_early([f"--python={_hanging_torch_python(tmp_path)}"])
    early = runner.early_process("torch")
    assert early is not None
    try:
        # Another environment than the one the early probe got: it must not stand in for this run.
        data = run_probe(Context(python=_no_torch_python(tmp_path), env={"PATH": "/usr/bin:/bin"}), skip_device_op=True)
    finally:
        runner.discard_early()
    assert data["started_early"] is False and data["status"] == "not_installed"
    assert early.proc.poll() is not None  # stopped, not left importing a hanging torch


def test_unadopted_early_processes_are_stopped(tmp_path):
    from envcheck.cli import _start_doctor_early
    from envcheck.core import runner

    _start_doctor_early(["--python", _hanging_torch_python(tmp_path)])
    early = runner.early_process("torch")
    assert early is not None
    runner.discard_early()
    assert early.proc.poll() is not None and runner.early_process("torch") is None
    assert runner.early_process("python") is None


@pytest.mark.parametrize("args", [["--no-torch-probe"], ["--only", "proxy"], ["--only=torch"], ["--list-checks"],
                                  ["--help"], ["--python", "/no/such/python"]])
def test_no_early_probe_when_the_doctor_runs_none(args):
    from envcheck.cli import _start_doctor_early
    from envcheck.core import runner

    _start_doctor_early(["--json", *args])
    try:
        assert runner.early_process("torch") is None
    finally:
        runner.discard_early()


def test_early_pyinfo_is_adopted_by_the_python_collector():
    from envcheck.cli import _start_doctor_early
    from envcheck.core import runner
    from envcheck.facts.python_env import inspect_target

    _start_doctor_early(["--json", "--no-torch-probe"])
    try:
        assert runner.early_process("torch") is None
        early = runner.early_process("python")
        assert early is not None
        data, error = inspect_target(Context())
        assert runner.early_process("python") is None  # taken, not started a second time
    finally:
        runner.discard_early()
    assert error is None and data["executable"] and data["distributions"]
    assert early.proc.returncode == 0


@pytest.mark.parametrize("argv, expected", [
    (["doctor", "--json"], "doctor"),
    (["--lang", "zh", "doctor", "--json"], "doctor"),
    (["--lang=en", "doctor"], "doctor"),
    (["--help"], None),
    (["--lang", "doctor"], None),  # "doctor" is --lang's value here, and no command follows
    (["explain", "doctor"], "explain"),
])
def test_the_command_is_found_after_envchecks_own_options(argv, expected):
    from envcheck.cli import _command_being_run

    assert _command_being_run(argv) == expected
