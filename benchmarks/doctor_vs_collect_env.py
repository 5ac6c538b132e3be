#!/usr/bin/env python3
"""Wall time of `envcheck doctor` against `python -m torch.utils.collect_env`, same machine, same run.

Three commands, run in alternating order (ABC, CBA, ABC, ...) so that drift in machine load
affects each alike:
  collect_env   python -m torch.utils.collect_env
  doctor        envcheck doctor --json            (everything, including the torch probe)
  doctor-fast   envcheck doctor --json --no-torch-probe

It also checks coverage: for every field collect_env prints, whether the doctor's JSON reports
the same fact (key present in its facts), so "as fast" never means "reports less".

Usage: python benchmarks/doctor_vs_collect_env.py [--runs 7] [--out docs/benchmarks-doctor.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# collect_env's field label -> where the doctor's JSON holds the same fact (facts.<collector>.data.<path>).
# A path counts as covered when the key exists (its value may be null: "not present on this machine").
COVERAGE = {
    "PyTorch version": "torch.version",
    "Is debug build": "torch.debug",
    "CUDA used to build PyTorch": "torch.cuda",
    "ROCM used to build PyTorch": "torch.hip",
    "OS": "system.os",
    "GCC version": "toolchain.tools.gcc",
    "Clang version": "toolchain.tools.clang",
    "CMake version": "toolchain.tools.cmake",
    "Libc version": "system.glibc",
    "Python version": "python.target.version",
    "Python platform": "system.kernel",
    "Is CUDA available": "torch.is_available",
    "CUDA runtime version": "nvcc.path_nvcc",
    "CUDA_MODULE_LOADING set to": "env.vars",
    "GPU models and configuration": "nvidia.gpus",
    "Nvidia driver version": "nvidia.driver_version",
    "cuDNN version": "torch.cudnn",
    "Is XPU available": "torch.xpu_available",
    "HIP runtime version": "torch.hip",
    "MIOpen runtime version": "torch.hip",
    "Is XNNPACK available": "torch.xnnpack",
    "Caching allocator config": "env.vars",
    "CPU": "system.cpu_model",
    "Versions of relevant libraries": "python.target.distributions",
}


def lookup(doc: dict, dotted: str) -> bool:
    collector, *rest = dotted.split(".")
    node = doc.get("facts", {}).get(collector, {}).get("data")
    if node is None:
        return False
    for key in rest:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def timed(argv: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    return time.perf_counter() - start, proc.returncode, proc.stdout


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks-doctor.md")
    args = parser.parse_args()

    python = sys.executable
    envcheck = str(Path(python).with_name("envcheck"))
    commands = {
        "collect_env": [python, "-m", "torch.utils.collect_env"],
        "doctor": [envcheck, "doctor", "--json"],
        "doctor-fast": [envcheck, "doctor", "--json", "--no-torch-probe"],
    }
    # One untimed warm-up each: page cache, .pyc files.
    for argv in commands.values():
        timed(argv)

    times: dict[str, list[float]] = {name: [] for name in commands}
    last_doctor_json = None
    order = list(commands)
    for i in range(args.runs):
        for name in order if i % 2 == 0 else list(reversed(order)):
            seconds, _rc, out = timed(commands[name])
            times[name].append(seconds)
            if name == "doctor":
                last_doctor_json = out
        print(f"run {i + 1}/{args.runs}: " + ", ".join(f"{n} {times[n][-1]:.2f}s" for n in commands), file=sys.stderr)

    medians = {name: statistics.median(v) for name, v in times.items()}
    doc = json.loads(last_doctor_json or "{}")
    covered = {label: lookup(doc, path) for label, path in COVERAGE.items()}
    missing = [label for label, ok in covered.items() if not ok]

    lines = [
        "# Benchmark: `envcheck doctor` vs `python -m torch.utils.collect_env`",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python benchmarks/doctor_vs_collect_env.py --runs {args.runs}`.",
        "",
        f"- Machine: {machine()}",
        f"- Target interpreter: `{python}`",
        "- Commands run in alternating order (ABC, CBA, ...), one untimed warm-up each; wall time per run.",
        "",
        "| command | median (s) | min (s) | max (s) | ratio to collect_env |",
        "|---|---|---|---|---|",
    ]
    for name, values in times.items():
        lines.append(
            f"| `{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(commands[name]))}` | {medians[name]:.2f} | "
            f"{min(values):.2f} | {max(values):.2f} | {medians[name] / medians['collect_env']:.2f}x |"
        )
    lines += [
        "",
        f"Target: doctor at most 1.0x collect_env's time. Result: {medians['doctor'] / medians['collect_env']:.2f}x "
        f"({'met' if medians['doctor'] <= medians['collect_env'] else 'NOT met'}).",
        "",
        "## Coverage of collect_env's fields in the doctor's JSON",
        "",
        "| collect_env field | doctor fact | present |",
        "|---|---|---|",
    ]
    for label, path in COVERAGE.items():
        lines.append(f"| {label} | `facts.{path}` | {'yes' if covered[label] else '**no**'} |")
    lines += [
        "",
        f"Fields not covered: {', '.join(missing) if missing else 'none'}.",
        "",
        "## Notes",
        "",
        "- \"present\" means the doctor's JSON has the key; its value may be null where the fact does not",
        "  apply (no NVIDIA driver, no clang). collect_env prints \"Could not collect\" for the same.",
        "- What costs the time: both import torch (about 1.5 s here). The doctor runs its collectors in",
        "  parallel threads, starts the torch probe first, imports no torchvision Python modules (it loads",
        "  torchvision's compiled ops library to test them: `import torchvision` pulls in torch._dynamo and",
        "  cost another 1.2 s), and reads pip's config files instead of starting `pip config list`.",
        "- On a machine with NVIDIA GPUs both tools also query the driver (collect_env runs nvidia-smi; the",
        "  doctor uses NVML in-process, with nvidia-smi only as a fallback). Run this script there to",
        "  measure that case; the figures above are from a machine without a GPU.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
