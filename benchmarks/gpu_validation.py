"""Validate envcheck on a Linux machine with NVIDIA GPUs, in one command, offline, in under 8 minutes.

    sh benchmarks/gpu_validation.sh [--out DIR] [--steps STEP,...] [--budget SECONDS]

Run from the repository root. Nothing is installed: envcheck runs from this checkout with
PYTHONPATH=<repo> and `python -m envcheck`, in the interpreter that runs this script (the .sh
wrapper picks the first python that imports torch). Each step has its own time limit and all of
them share one budget (--budget, default 450 s); a step that fails, times out or cannot start
is recorded and the next one runs. Results go to --out (default: $OUT if set, else
./gpu-validation-<UTC date>), laid out for tests/fixtures/gpu-validation/<machine>/; see
docs/gpu-validation.md.

Step status: ok, failed, timeout, error (could not start), skipped (out of time, or a missing
dependency), not-applicable (--gpus 0,1 on a one-GPU machine), not-selected (--steps).
Exit status: 0 every selected step ran cleanly; 1 at least one step failed, timed out, could not
start or was skipped; 2 no NVIDIA GPU was found (one line on stderr,
nothing written) or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from envcheck.facts import nvsmi  # noqa: E402 - pure standard library, safe without envcheck's dependencies

DEFAULT_BUDGET = 450.0  # seconds for all steps together; the limit the issue sets is 8 minutes
MARGIN = 5.0  # seconds kept back from the budget for killing a step and writing the summary

# name -> (group, own time limit in seconds, what it records)
STEPS: dict[str, tuple[str, float, str]] = {
    "smi-list": ("nvidia-smi", 20, "nvidia-smi -L"),
    "smi-table": ("nvidia-smi", 30, "nvidia-smi (the default table: driver and CUDA version)"),
    "smi-query": ("nvidia-smi", 30, "nvidia-smi --query-gpu=<the fields envcheck reads>"),
    "smi-q-xml": ("nvidia-smi", 45, "nvidia-smi -q -x"),
    "smi-q": ("nvidia-smi", 45, "nvidia-smi -q"),
    "smi-topo": ("nvidia-smi", 30, "nvidia-smi topo -m"),
    "nvml": ("nvml", 60, "every NVML reading, each call guarded (benchmarks/record_nvml.py)"),
    "torch": ("torch", 90, "torch version, CUDA, cuDNN, NCCL and the devices as CUDA numbers them"),
    "doctor": ("doctor", 120, "python -m envcheck doctor --json --offline"),
    "smoke-gpu0": ("smoke", 200, "python -m envcheck smoke-train --gpu 0 --json"),
    "smoke-gpus": ("smoke", 150, "python -m envcheck smoke-train --gpus 0,1 --json (two or more GPUs)"),
    "throughput": ("throughput", 150, "python benchmarks/train_throughput.py --rounds 2"),
    "gpu-bench": ("gpu-bench", 150, "python -m envcheck gpu-bench --gpu 0 --json --quick"),
}
GROUPS = sorted({group for group, _, _ in STEPS.values()})

# What `python -m envcheck` imports at start-up (pynvml is optional: the doctor reports its absence).
ENVCHECK_MODULES = ("typer", "rich", "psutil", "yaml", "jinja2")
OTHER_MODULES = ("pynvml", "torch", "torchvision")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")

TORCH_INFO = r"""
import json, torch
info = {"version": torch.__version__, "cuda": torch.version.cuda, "git": getattr(torch.version, "git_version", None),
        "cudnn": None, "nccl": None, "is_available": False, "device_count": 0, "devices": []}
try:
    info["cudnn"] = torch.backends.cudnn.version()
except Exception as exc:
    info["cudnn"] = "error: %s" % exc
try:
    info["is_available"] = torch.cuda.is_available()
    info["device_count"] = torch.cuda.device_count()
    for i in range(info["device_count"]):
        p = torch.cuda.get_device_properties(i)
        info["devices"].append({"cuda_index": i, "name": p.name, "capability": "%d.%d" % (p.major, p.minor),
                                "total_memory_mib": p.total_memory // (1024 * 1024),
                                "uuid": str(getattr(p, "uuid", "")) or None})
    if torch.distributed.is_available() and torch.cuda.is_available():
        v = torch.cuda.nccl.version()
        info["nccl"] = ".".join(map(str, v)) if isinstance(v, tuple) else v
except Exception as exc:
    info["error"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(info))
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Runner:
    """Runs the steps one after another under one time budget and keeps a record of each."""

    def __init__(self, out: Path, budget: float, selected: set[str]):
        self.out = out
        self.deadline = time.monotonic() + budget
        self.selected = selected
        self.records: list[dict[str, Any]] = []
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        self.env["PYTHONUNBUFFERED"] = "1"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def record(self, name: str, status: str, note: str = "", **extra: Any) -> dict[str, Any]:
        entry = {"name": name, "group": STEPS[name][0], "what": STEPS[name][2], "status": status,
                 "seconds": 0.0, "returncode": None, "command": None, "files": [], "note": note}
        entry.update(extra)
        self.records.append(entry)
        if status != "running":
            self.show(entry)
        return entry

    @staticmethod
    def show(entry: dict[str, Any]) -> None:
        """One progress line per step on stderr, as it finishes."""
        print(f"  {entry['name']:<11} {entry['status']:<14} {entry['seconds']:6.1f}s  {entry.get('note') or ''}".rstrip(),
              file=sys.stderr, flush=True)

    def wanted(self, name: str) -> bool:
        if name in self.selected or STEPS[name][0] in self.selected:
            return True
        self.record(name, "not-selected", "left out by --steps")
        return False

    def run(self, name: str, argv: list[str], stdout_name: str, note: str = "",
            after: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Run argv with stdout to OUT/stdout_name and stderr to OUT/logs/<name>.stderr; `after`
        may then correct the entry from the step's own output."""
        limit = min(STEPS[name][1], self.remaining() - MARGIN)
        if limit < 1:
            return self.record(name, "skipped", "out of time: the budget (--budget) was spent by earlier steps",
                               command=" ".join(argv))
        stdout_path = self.out / stdout_name
        stderr_path = self.out / "logs" / f"{name}.stderr"
        stdout_path.parent.mkdir(parents=True, exist_ok=True)
        stderr_path.parent.mkdir(parents=True, exist_ok=True)
        entry = self.record(name, "running", note, command=" ".join(argv), limit_s=round(limit, 1))
        start = time.monotonic()
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            try:
                proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO,
                                        env=self.env, start_new_session=True)
            except OSError as exc:
                entry.update(status="error", note=f"could not start: {exc}")
                proc = None
            if proc is not None:
                try:
                    entry["returncode"] = proc.wait(timeout=limit)
                    entry["status"] = "ok" if entry["returncode"] == 0 else "failed"
                except subprocess.TimeoutExpired:
                    entry["status"] = "timeout"
                    entry["note"] = (note + "; " if note else "") + f"killed after {limit:.0f}s"
                    _kill(proc)
                except BaseException:
                    # Ctrl-C or SIGTERM: the step runs in its own session, so the terminal's signal
                    # did not reach it; stop it before this script goes.
                    entry.update(status="error", note="interrupted")
                    _kill(proc)
                    raise
        entry["seconds"] = round(time.monotonic() - start, 2)
        for path in (stdout_path, stderr_path):
            if path.exists() and path.stat().st_size == 0:
                path.unlink()
        entry["files"] = [str(p.relative_to(self.out)) for p in (stdout_path, stderr_path) if p.exists()]
        if entry["status"] == "failed" and not entry["note"]:
            entry["note"] = _first_line(stderr_path) or _first_line(stdout_path) or f"exit {entry['returncode']}"
        if after is not None:
            after(entry)
        self.show(entry)
        return entry


def _kill(proc: subprocess.Popen) -> None:
    """End the step and its children; a process stuck in the kernel (nvidia-smi on a sick GPU) may
    survive SIGKILL, so do not wait on it for long. SIGTERM gets 10 s: smoke-train stops its own
    children (in sessions of their own, out of reach of this group's SIGKILL) within about 7 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _first_line(path: Path) -> str:
    """The line that says what went wrong: the first one, or a traceback's last one."""
    lines = [line.strip() for line in _read(path).splitlines() if line.strip()]
    if not lines:
        return ""
    return (lines[-1] if lines[0].startswith("Traceback") else lines[0])[:300]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def find_gpus(smi: str | None) -> tuple[list[dict[str, Any]], str]:
    """GPUs from `nvidia-smi -L`, or ([], why none)."""
    if smi is None:
        return [], "nvidia-smi is not on PATH"
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=STEPS["smi-list"][1],
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [], f"`nvidia-smi -L` did not answer within {STEPS['smi-list'][1]:.0f}s"
    except OSError as exc:
        return [], f"nvidia-smi could not run: {exc}"
    gpus = nvsmi.parse_list(done.stdout)
    if gpus:
        return gpus, ""
    text = (done.stdout + "\n" + done.stderr).strip()
    first = next((l.strip() for l in text.splitlines() if l.strip()), "")
    return [], f"`nvidia-smi -L` exited with {done.returncode}" + (f": {first}" if first else " and listed no GPU")


def module_report(python: str, env: dict[str, str]) -> dict[str, Any]:
    """Which modules the interpreter can import, and whether envcheck's CLI imports."""
    code = ("import importlib.util, json, sys; "
            f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {list(ENVCHECK_MODULES + OTHER_MODULES)!r}}}))")
    report: dict[str, Any] = {"modules": {}, "envcheck_cli": None}
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30, env=env, cwd=REPO)
        report["modules"] = json.loads(done.stdout)
    except Exception as exc:  # noqa: BLE001 - recorded, never fatal
        report["modules_error"] = f"{type(exc).__name__}: {exc}"
    try:
        done = subprocess.run([python, "-c", "import envcheck.cli"], capture_output=True, text=True, timeout=60,
                              env=env, cwd=REPO)
        lines = [l for l in done.stderr.splitlines() if l.strip()]
        report["envcheck_cli"] = "ok" if done.returncode == 0 else (lines[-1] if lines else f"exit {done.returncode}")
    except Exception as exc:  # noqa: BLE001
        report["envcheck_cli"] = f"{type(exc).__name__}: {exc}"
    return report


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_slug(gpus: list[dict[str, Any]], driver: str | None) -> str:
    """'linux-x86_64__nvidia-h100-80gb-hbm3-x8__590.48.01', like tests/fixtures/nvidia-smi/ names."""
    counts: dict[str, int] = {}
    for gpu in gpus:
        counts[gpu.get("name") or "unknown"] = counts.get(gpu.get("name") or "unknown", 0) + 1
    models = "+".join(f"{_slug(name)}-x{n}" for name, n in counts.items()) or "no-gpu"
    return f"{platform.system().lower()}-{platform.machine()}__{models}__{driver or 'unknown-driver'}"


def cpu_info() -> dict[str, Any]:
    model = None
    for line in _read(Path("/proc/cpuinfo")).splitlines():
        if line.lower().startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+) kB", _read(Path("/proc/meminfo")))
    return {"model": model or platform.processor() or None, "logical_cpus": os.cpu_count(),
            "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None}


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _prune_checkpoints(folder: Path) -> list[str]:
    """Drop model checkpoints from a smoke-train folder: they are large and no use as fixtures."""
    removed = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in CHECKPOINT_SUFFIXES:
                removed.append(f"{path.relative_to(folder)} ({path.stat().st_size // 1024} KiB)")
                path.unlink()
    return removed


def _smoke_after(out: Path, folder: str, entry: dict[str, Any]) -> None:
    """Name the verdict and the failed smoke-train checks; drop checkpoints from its folder."""
    removed = _prune_checkpoints(out / folder)
    if removed:
        entry["removed_checkpoints"] = removed
    if (out / folder).is_dir():
        entry["files"].append(folder + "/")
    report = _json_file(out / f"{folder}.json")
    if isinstance(report, dict) and report.get("verdict"):
        failed = [f"{c.get('name')}: {c.get('error') or c.get('summary') or 'failed'}"
                  for c in report.get("checks") or [] if isinstance(c, dict) and c.get("passed") is False]
        entry["verdict"] = report["verdict"]
        entry["note"] = f"verdict {report['verdict']}" + (f"; {failed[0][:200]}" if failed else "") \
            + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")


def run_all(runner: Runner, smi: str, gpus: list[dict[str, Any]]) -> dict[str, Any]:
    py = sys.executable
    out = runner.out
    facts: dict[str, Any] = {}

    # nvidia-smi captures: cheap, first. After one hangs, a sick GPU would hang the rest too.
    smi_steps = [
        ("smi-list", [smi, "-L"], "nvidia-smi/L.txt"),
        ("smi-table", [smi], "nvidia-smi/table.txt"),
        ("smi-query", [smi, f"--query-gpu={','.join(nvsmi.GPU_FIELDS)}", "--format=csv"], "nvidia-smi/query-gpu.csv"),
        ("smi-q-xml", [smi, "-q", "-x"], "nvidia-smi/q.xml"),
        ("smi-q", [smi, "-q"], "nvidia-smi/q.txt"),
        ("smi-topo", [smi, "topo", "-m"], "nvidia-smi/topo-m.txt"),
    ]
    hung = False
    for name, argv, target in smi_steps:
        if not runner.wanted(name):
            continue
        if hung:
            runner.record(name, "skipped", "an earlier nvidia-smi call hung", command=" ".join(argv))
            continue
        hung = runner.run(name, argv, target)["status"] == "timeout"
    header = nvsmi.parse_header(_read(out / "nvidia-smi/table.txt"))
    query = nvsmi.parse_csv(_read(out / "nvidia-smi/query-gpu.csv"), fields=None)
    facts["driver"] = header["driver_version"] or next((r.get("driver_version") for r in query if r.get("driver_version")), None)
    facts["cuda_driver_version"] = header["cuda_driver_version"]
    facts["query_gpus"] = [nvsmi.gpu_from_row(r) for r in query]

    modules = module_report(py, runner.env)
    facts["python_modules"] = modules
    missing_envcheck = [m for m in ENVCHECK_MODULES if modules["modules"].get(m) is False]
    envcheck_ok = modules["envcheck_cli"] == "ok"
    torch_ok = modules["modules"].get("torch") is True
    why_no_envcheck = ("envcheck cannot start: " + str(modules["envcheck_cli"])
                       + (f" (missing: {', '.join(missing_envcheck)})" if missing_envcheck else ""))

    if runner.wanted("nvml"):
        if modules["modules"].get("pynvml") is False:
            runner.record("nvml", "skipped", "pynvml (nvidia-ml-py) is not installed in this python")
        else:
            def nvml_after(entry: dict[str, Any]) -> None:
                if (out / "nvml.json").exists():
                    entry["files"].insert(0, "nvml.json")
                init_error = ((_json_file(out / "nvml.json") or {}).get("init") or {}).get("error")
                if entry["status"] == "failed" and init_error:
                    entry["note"] = f"nvmlInit failed: {init_error}"

            runner.run("nvml", [py, str(REPO / "benchmarks" / "record_nvml.py"), "--out", str(out / "nvml.json")],
                       "logs/nvml.stdout", after=nvml_after)

    if runner.wanted("torch"):
        if not torch_ok:
            runner.record("torch", "skipped", f"torch is not importable in {py}")
        else:
            runner.run("torch", [py, "-c", TORCH_INFO], "torch.json")
    facts["torch"] = _json_file(out / "torch.json")

    if runner.wanted("doctor"):
        if not envcheck_ok:
            runner.record("doctor", "skipped", why_no_envcheck)
        else:
            def doctor_after(entry: dict[str, Any]) -> None:
                report = _json_file(out / "doctor.json")
                # Exit 1 means "some check failed": the doctor itself worked if its JSON is there.
                if entry["status"] == "failed" and entry["returncode"] == 1 and report is not None:
                    entry["status"] = "ok"
                    entry["note"] = "the report has FAIL findings (exit 1); see doctor.json"
                elif entry["status"] == "ok" and report is None:
                    entry["status"] = "failed"
                    entry["note"] = "exit 0 but stdout is not JSON"

            runner.run("doctor", [py, "-m", "envcheck", "doctor", "--json", "--offline"], "doctor.json", after=doctor_after)

    smoke_ready = envcheck_ok and torch_ok
    why_no_smoke = why_no_envcheck if not envcheck_ok else f"torch is not importable in {py}"
    for name, selection, folder in (("smoke-gpu0", ["--gpu", "0"], "smoke-gpu0"),
                                    ("smoke-gpus", ["--gpus", "0,1"], "smoke-gpus-0-1")):
        if not runner.wanted(name):
            continue
        if name == "smoke-gpus" and len(gpus) < 2:
            runner.record(name, "not-applicable", f"needs two GPUs; this machine has {len(gpus)}")
            continue
        if not smoke_ready:
            runner.record(name, "skipped", why_no_smoke)
            continue
        argv = [py, "-m", "envcheck", "smoke-train", *selection, "--json", "--out", str(out / folder)]
        runner.run(name, argv, f"{folder}.json", after=lambda entry, folder=folder: _smoke_after(out, folder, entry))

    if runner.wanted("throughput"):
        script = REPO / "benchmarks" / "train_throughput.py"
        if not torch_ok:
            runner.record("throughput", "skipped", f"torch is not importable in {py}")
        elif not script.exists():
            runner.record("throughput", "skipped", f"{script.relative_to(REPO)} is missing")
        else:
            runner.run("throughput", [py, str(script), "--rounds", "2"], "train_throughput.txt")

    if runner.wanted("gpu-bench"):
        if not smoke_ready:
            runner.record("gpu-bench", "skipped", why_no_smoke)
        else:
            def bench_after(entry: dict[str, Any]) -> None:
                report = _json_file(out / "gpu-bench.json")
                # Exit 1 means "a figure is slow or failed": the bench itself worked if its JSON is there.
                if entry["status"] == "failed" and entry["returncode"] == 1 and report is not None:
                    entry["status"] = "ok"
                if report is not None:
                    entry["note"] = f"verdict {report.get('verdict')}"

            runner.run("gpu-bench", [py, "-m", "envcheck", "gpu-bench", "--gpu", "0", "--json", "--quick"],
                       "gpu-bench.json", after=bench_after)
    return facts


def summary_markdown(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    torch_info = m.get("torch") or {}
    lines = [
        f"# GPU validation: {summary['machine_slug']}",
        "",
        f"- date (UTC): {summary['date']}",
        "- GPUs: " + (", ".join(f"GPU {g['index']}: {g['name']}" for g in m["gpus"]) or "none"),
        f"- driver: {m.get('driver') or 'unknown'}; newest CUDA the driver supports: {m.get('cuda_driver_version') or 'unknown'}",
        f"- torch: {torch_info.get('version') or 'not recorded (see the torch step)'} (CUDA {torch_info.get('cuda') or '-'}, "
        f"cuDNN {torch_info.get('cudnn') or '-'}, NCCL {torch_info.get('nccl') or '-'})",
        f"- CPU: {m['cpu'].get('model') or 'unknown'}, {m['cpu'].get('logical_cpus')} logical CPUs, "
        f"{m['cpu'].get('memory_gib')} GiB RAM",
        f"- OS: {m['os']}; python {m['python']} ({m['python_executable']})",
        f"- envcheck commit: {summary.get('git_commit') or 'unknown'}",
        "",
        f"Total: {summary['total_seconds']:.0f} s of a {summary['budget_s']:.0f} s budget. "
        f"Exit status {summary['exit_status']}.",
        "",
        "| step | status | seconds | files | note |",
        "|---|---|---:|---|---|",
    ]
    for s in summary["steps"]:
        note = str(s.get("note") or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {s['name']} | {s['status']} | {s['seconds']:.1f} | {', '.join(s['files'])} | {note} |")
    order = summary.get("device_order") or {}
    if order.get("pairs"):
        lines += ["", "CUDA's device order against nvidia-smi's (same model name at each index: "
                  f"{'yes' if order['same'] else 'NO'}):", ""]
        lines += [f"- cuda:{p['cuda_index']} = {p['torch_name']}; nvidia-smi GPU {p['cuda_index']} = {p['smi_name']}"
                  for p in order["pairs"]]
    lines += ["", f"Copy this folder to `tests/fixtures/gpu-validation/{summary['machine_slug']}/` "
              "(see docs/gpu-validation.md).", ""]
    return "\n".join(lines)


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, cwd=REPO)
        return done.stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the results (default: $OUT, else ./gpu-validation-<UTC date>)")
    parser.add_argument("--steps", default="all",
                        help=f"comma-separated steps or groups to run (default all): {', '.join(GROUPS)}, "
                             f"or single steps: {', '.join(STEPS)}")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                        help=f"seconds all steps may take together (default {DEFAULT_BUDGET:.0f})")
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.steps.split(",") if s.strip()}
    if "all" in wanted:
        wanted = set(STEPS)
    unknown = sorted(wanted - set(STEPS) - set(GROUPS))
    if unknown:
        print(f"gpu_validation: unknown step {', '.join(unknown)}; choose from {', '.join(GROUPS + list(STEPS))}",
              file=sys.stderr)
        return 2

    started = utc_now()
    start = time.monotonic()
    smi = shutil.which("nvidia-smi")
    gpus, why = find_gpus(smi)
    if not gpus:
        print(f"gpu_validation: no NVIDIA GPU found ({why}); nothing to validate", file=sys.stderr)
        return 2

    out = Path(args.out or os.environ.get("OUT") or f"gpu-validation-{started:%Y%m%d-%H%M%S}").resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"gpu_validation: {out} exists and is not an empty folder; give a new --out", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    print(f"gpu_validation: {len(gpus)} GPU(s) ({', '.join(sorted({g['name'] for g in gpus}))}); "
          f"results in {out}", file=sys.stderr)

    runner = Runner(out, max(args.budget - (time.monotonic() - start), 0.0), wanted)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)  # stopped by a scheduler or `kill`: the same clean end as Ctrl-C
    try:
        facts = run_all(runner, smi, gpus)
    except KeyboardInterrupt:
        facts = {}
        runner.records.append({"name": "interrupted", "group": "-", "what": "", "status": "error", "seconds": 0.0,
                               "returncode": None, "command": None, "files": [], "note": "interrupted (Ctrl-C or SIGTERM)"})

    torch_info = facts.get("torch") or {}
    pairs = [{"cuda_index": d["cuda_index"], "torch_name": d["name"],
              "smi_name": gpus[d["cuda_index"]]["name"] if d["cuda_index"] < len(gpus) else None}
             for d in torch_info.get("devices") or []]
    driver = facts.get("driver")
    failed = [e for e in runner.records if e["status"] not in ("ok", "not-selected", "not-applicable")]
    summary = {
        "tool": "benchmarks/gpu_validation.py",
        "date": started.isoformat(timespec="seconds"),
        "machine_slug": machine_slug(gpus, driver),
        "git_commit": _git_commit(),
        "budget_s": args.budget,
        "total_seconds": round(time.monotonic() - start, 1),
        "exit_status": 1 if failed else 0,
        "machine": {
            "gpus": [{"index": g["index"], "name": g["name"], "uuid": g["uuid"], "mig_devices": g["mig_devices"]} for g in gpus],
            "gpu_details": facts.get("query_gpus") or [],
            "driver": driver,
            "cuda_driver_version": facts.get("cuda_driver_version"),
            "torch": torch_info or None,
            "cpu": cpu_info(),
            "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "python_modules": facts.get("python_modules"),
        },
        "device_order": {"pairs": pairs, "same": all(p["torch_name"] == p["smi_name"] for p in pairs)} if pairs else None,
        "steps": runner.records,
    }
    logs = out / "logs"
    if logs.is_dir() and not any(logs.iterdir()):
        logs.rmdir()
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(summary))
    print(f"gpu_validation: summary in {out / 'summary.md'}", file=sys.stderr)
    return summary["exit_status"]


if __name__ == "__main__":
    sys.exit(main())
