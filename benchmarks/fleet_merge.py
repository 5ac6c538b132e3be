"""How long `envcheck fleet doctor` takes to merge many node reports (issue #13: 500 in under 2 s).

Generates N doctor reports (default 500) from one real `envcheck doctor --json --offline
--no-torch-probe` run of this machine, given GPU and torch facts and a few odd nodes (another
driver, a missing GPU, a failing check, a corrupt file), writes them to a temporary folder and times
what `fleet doctor --from DIR` does after the launcher: read and parse the files, merge, redact,
render JSON, Markdown and the terminal table.

    python benchmarks/fleet_merge.py [--nodes 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def base_report() -> dict:
    proc = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--json", "--offline", "--no-torch-probe"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    return json.loads(proc.stdout)


def node_report(base: dict, i: int) -> dict:
    doc = copy.deepcopy(base)
    driver = "535.104.05" if i % 97 == 5 else "550.90.07"
    gpus = 7 if i % 131 == 7 else 8
    doc["facts"]["nvidia"]["data"].update(driver_version=driver, cuda_driver_version="12.4",
                                          gpus=[{"index": g, "name": "NVIDIA H100 80GB HBM3"} for g in range(gpus)])
    doc["facts"]["torch"] = {"name": "torch", "ok": True, "error": None, "duration_s": 1.0,
                             "data": {"version": "2.5.1+cu124", "cuda": "12.4", "nccl": "2.21.5"}}
    if i % 211 == 3:
        doc["checks"][0]["status"] = "fail"
    return doc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from rich.console import Console

    from envcheck.fleet import launch, merge, render

    base = base_report()
    with tempfile.TemporaryDirectory(prefix="envcheck-fleet-bench-") as tmp:
        folder = Path(tmp)
        for i in range(args.nodes):
            (folder / f"node{i:04d}.json").write_text(json.dumps(node_report(base, i), indent=2))
        (folder / f"node{args.nodes:04d}.json").write_text('{"schema_version": 1, "facts": ')  # corrupt
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{args.nodes + 1} reports, {size / 2**20:.1f} MiB in all ({size / (args.nodes + 1) / 1024:.0f} KiB each)")
        for run in range(args.repeat):
            t0 = time.perf_counter()
            results = launch.read_folder(str(folder))
            t1 = time.perf_counter()
            doc = merge.merge(results, source={"launcher": "from"})
            t2 = time.perf_counter()
            render.render_json(doc)
            render.render_markdown(doc)
            render.render_terminal(Console(file=io.StringIO(), width=160), doc)
            t3 = time.perf_counter()
            print(f"run {run + 1}: read+parse {t1 - t0:.3f} s, merge+redact {t2 - t1:.3f} s, render {t3 - t2:.3f} s, "
                  f"total {t3 - t0:.3f} s  (differing {doc['summary']['differ']}, failed {doc['summary']['failed']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
