"""benchmarks/gpu_validation.sh / .py and benchmarks/record_nvml.py, without a GPU.

A fake `nvidia-smi` on PATH answers from a real capture (tests/fixtures/fake_nvidia_smi.py); a
test-local wrapper adds `-q`, `-q -x` and `topo -m`, which the captures do not hold. The heavy
steps (doctor, smoke-train, throughput) are left out with --steps; the summary must still list them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURE = FIXTURES / "nvidia-smi" / "linux-x86_64__nvidia-h100-mig__590.48.01.txt"
SCRIPT = REPO / "benchmarks" / "gpu_validation.py"
WRAPPER = REPO / "benchmarks" / "gpu_validation.sh"

Q_XML = '<?xml version="1.0" ?>\n<nvidia_smi_log>\n\t<driver_version>590.48.01</driver_version>\n</nvidia_smi_log>\n'
Q_TEXT = "==============NVSMI LOG==============\n\nDriver Version                            : 590.48.01\n"
TOPO = "\tGPU0\tCPU Affinity\nGPU0\t X \t0-15\n"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake_smi = _load("fake_nvidia_smi", FIXTURES / "fake_nvidia_smi.py")


@pytest.fixture
def fake_bin(tmp_path):
    """A folder with an `nvidia-smi` that answers -q / -q -x / topo -m here and the rest from the capture."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "q.xml").write_text(Q_XML)
    (tmp_path / "q.txt").write_text(Q_TEXT)
    (tmp_path / "topo.txt").write_text(TOPO)
    smi = bin_dir / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  "-q -x") [ -n "$FAKE_Q_SLEEP" ] && sleep "$FAKE_Q_SLEEP"; cat "{tmp_path / "q.xml"}"; exit 0;;\n'
        f'  "-q") cat "{tmp_path / "q.txt"}"; exit 0;;\n'
        f'  "topo -m") cat "{tmp_path / "topo.txt"}"; exit 0;;\n'
        "esac\n"
        f'exec "{sys.executable}" "{FIXTURES / "fake_nvidia_smi.py"}" "$@"\n'
    )
    smi.chmod(0o755)
    return bin_dir


def _env(clean_env, bin_dir: Path | None, **extra) -> dict[str, str]:
    env = dict(clean_env)
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["FAKE_NVSMI_CAPTURE"] = str(CAPTURE)
    env.update(extra)
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


def test_without_nvidia_smi_one_line_and_exit_2(tmp_path, clean_env):
    env = _env(clean_env, None, PATH=str(tmp_path / "nothing-here"))
    done = _run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out")], env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "gpu_validation: no NVIDIA GPU found (nvidia-smi is not on PATH); nothing to validate\n"
    assert not (tmp_path / "out").exists()


def test_wrapper_with_an_nvidia_smi_that_lists_no_gpu(tmp_path, clean_env):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'No devices were found'\nexit 6\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = _env(clean_env, bin_dir, PYTHON=sys.executable)
    done = _run(["sh", str(WRAPPER), "--out", str(tmp_path / "out")], env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "gpu_validation: no NVIDIA GPU found (`nvidia-smi -L` exited with 6: No devices were found); nothing to validate"]
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_records_nvidia_smi_fixtures_nvml_and_summary(tmp_path, clean_env, fake_bin):
    out = tmp_path / "out"
    done = _run([sys.executable, str(SCRIPT), "--out", str(out), "--steps", "nvidia-smi,nvml"], _env(clean_env, fake_bin))
    assert "Traceback" not in done.stderr
    text = CAPTURE.read_text()
    assert (out / "nvidia-smi" / "L.txt").read_text().strip() == fake_smi.section(text, "capabilities :: list (-L)").strip()
    assert (out / "nvidia-smi" / "q.xml").read_text() == Q_XML
    assert (out / "nvidia-smi" / "q.txt").read_text() == Q_TEXT
    assert (out / "nvidia-smi" / "topo-m.txt").read_text() == TOPO
    assert "Driver Version" in (out / "nvidia-smi" / "table.txt").read_text()
    assert (out / "nvidia-smi" / "query-gpu.csv").read_text().startswith("index, name, uuid")
    nvml = json.loads((out / "nvml.json").read_text())
    assert "init" in nvml and "envcheck_collect_nvml" in nvml

    summary = json.loads((out / "summary.json").read_text())
    steps = {s["name"]: s for s in summary["steps"]}
    assert list(steps) == ["smi-list", "smi-table", "smi-query", "smi-q-xml", "smi-q", "smi-topo", "nvml", "torch",
                           "doctor", "smoke-gpu0", "smoke-gpus", "throughput", "gpu-bench"]
    for name in ("smi-list", "smi-table", "smi-query", "smi-q-xml", "smi-q", "smi-topo"):
        assert steps[name]["status"] == "ok" and steps[name]["seconds"] >= 0, name
    assert steps["smi-q-xml"]["files"] == ["nvidia-smi/q.xml"]
    # Whether NVML starts on this machine is asked here, independently of the script, so that each
    # outcome is asserted (an `if status == "failed"` alone passed whatever the step recorded).
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        # No libnvidia-ml (CI): a failed step with NVML's own reason, not a crash.
        assert steps["nvml"]["status"] == "failed", steps["nvml"]
        assert steps["nvml"]["note"].startswith(f"nvmlInit failed: {type(exc).__name__}"), steps["nvml"]
    else:
        pynvml.nvmlShutdown()
        assert steps["nvml"]["status"] == "ok", steps["nvml"]
        assert "error" not in nvml["init"], nvml["init"]
    for name in ("torch", "doctor", "smoke-gpu0", "throughput", "gpu-bench"):
        assert steps[name]["status"] == "not-selected"
    assert steps["smoke-gpus"]["status"] == "not-selected"

    machine = summary["machine"]
    assert [g["name"] for g in machine["gpus"]] == ["NVIDIA H100 80GB HBM3"]
    assert len(machine["gpus"][0]["mig_devices"]) == 4
    assert machine["driver"] == "590.48.01" and machine["cuda_driver_version"] == "13.1"
    assert machine["cpu"]["logical_cpus"] >= 1 and machine["python_executable"] == sys.executable
    assert summary["machine_slug"].endswith("__nvidia-h100-80gb-hbm3-x1__590.48.01")
    assert summary["exit_status"] == done.returncode == (1 if steps["nvml"]["status"] != "ok" else 0)
    markdown = (out / "summary.md").read_text()
    assert "| smi-q-xml | ok |" in markdown
    assert f"tests/fixtures/gpu-validation/{summary['machine_slug']}/" in markdown


def test_hung_step_is_killed_inside_the_budget_and_the_rest_recorded(tmp_path, clean_env, fake_bin):
    out = tmp_path / "out"
    start = time.monotonic()
    done = _run([sys.executable, str(SCRIPT), "--out", str(out), "--steps", "nvidia-smi", "--budget", "10"],
                _env(clean_env, fake_bin, FAKE_Q_SLEEP="60"), timeout=60)
    assert time.monotonic() - start < 30
    assert done.returncode == 1 and "Traceback" not in done.stderr
    steps = {s["name"]: s for s in json.loads((out / "summary.json").read_text())["steps"]}
    assert steps["smi-list"]["status"] == "ok"
    assert steps["smi-q-xml"]["status"] == "timeout" and "killed after" in steps["smi-q-xml"]["note"]
    assert steps["smi-q"]["status"] == "skipped" and steps["smi-q"]["note"] == "an earlier nvidia-smi call hung"
    assert steps["smi-topo"]["status"] == "skipped"


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_also_ends_the_running_step(tmp_path, clean_env, fake_bin, signame):
    import signal

    import psutil

    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--out", str(out), "--steps", "nvidia-smi"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env=_env(clean_env, fake_bin, FAKE_Q_SLEEP="120"))
    try:
        deadline = time.monotonic() + 60
        hung = []
        while not hung:  # the `-q -x` step's shell, sleeping, in a session of its own
            assert proc.poll() is None and time.monotonic() < deadline
            hung = [c for c in psutil.Process(proc.pid).children(recursive=True) if "sleep" in c.name()]
            time.sleep(0.1)
        tree = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(getattr(signal, signame))
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, [p.pid for p in alive]
    steps = {s["name"]: s for s in json.loads((out / "summary.json").read_text())["steps"]}
    assert proc.returncode == 1
    assert steps["smi-q-xml"]["status"] == "error" and steps["smi-q-xml"]["note"] == "interrupted"


def test_unknown_step_is_a_usage_error(tmp_path, clean_env, fake_bin):
    done = _run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), "--steps", "smoke,bogus"],
                _env(clean_env, fake_bin))
    assert done.returncode == 2 and done.stderr.startswith("gpu_validation: unknown step bogus;")


class _LostGPU:
    """Two GPUs; GPU 1 fell off the bus."""

    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = 0

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlSystemGetDriverVersion(self):
        return "590.48.01"

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, index):
        if index == 1:
            raise pynvml.NVMLError_GpuIsLost()
        return index

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, handle):
        return pynvml.c_nvmlMemory_t(total=80 * 1024**3, free=80 * 1024**3, used=0)

    def nvmlDeviceGetUtilizationRates(self, handle):
        raise pynvml.NVMLError_NotSupported()

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [SimpleNamespace(pid=42, usedGpuMemory=1024)]


def test_record_nvml_keeps_every_answer_and_error():
    record_nvml = _load("record_nvml", REPO / "benchmarks" / "record_nvml.py")
    data, ok = record_nvml.record(_LostGPU())
    assert ok and data["system"]["nvmlSystemGetDriverVersion"] == {"value": "590.48.01"}
    assert data["system"]["nvmlSystemGetNVMLVersion"] == {"missing": True}
    good, lost = data["gpus"]
    assert good["nvmlDeviceGetName"] == {"value": "NVIDIA H100 80GB HBM3"}
    assert good["nvmlDeviceGetMemoryInfo"]["value"]["total"] == 80 * 1024**3
    assert good["nvmlDeviceGetUtilizationRates"]["class"] == "NVMLError_NotSupported"
    assert good["nvmlDeviceGetComputeRunningProcesses"]["value"] == [{"pid": 42, "usedGpuMemory": 1024}]
    assert lost == {"index": 1, "nvmlDeviceGetHandleByIndex": {
        "error": "NVMLError_GpuIsLost: GPU is lost", "class": "NVMLError_GpuIsLost", "code": pynvml.NVML_ERROR_GPU_IS_LOST}}
    # envcheck's own collector on the same fake: GPU 0 reported, GPU 1 as an error entry.
    view = record_nvml.envcheck_view(_LostGPU())
    assert [g["index"] for g in view["facts"]["gpus"]] == [0]
    assert view["facts"]["gpu_errors"][0]["kind"] == "gpu_is_lost"
