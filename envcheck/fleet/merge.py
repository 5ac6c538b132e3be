"""Many doctor reports -> one fleet report: a node x fact matrix, the nodes that differ from the
majority (and in what), and each check's status across the nodes.

Pure functions over parsed reports (no I/O), so the merge of 500 reports is timed on its own
(benchmarks/fleet_merge.py). The result is a JSON-ready dict (schema_version 1, docs/fleet.md),
passed through envcheck.core.redact before anyone sees it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from envcheck.core.redact import redact_data
from envcheck.fleet.launch import NodeRun
from envcheck.i18n import N_, _

SCHEMA_VERSION = 1
KIND = "envcheck-fleet-doctor"

# The facts compared across nodes, in matrix order: (key, column title). The JSON keeps the English
# title; the terminal and Markdown reports translate it where they show it (render._title).
FACTS: list[tuple[str, str]] = [
    ("driver", N_("driver")),
    ("cuda_driver", N_("CUDA (driver)")),
    ("torch", "torch"),
    ("torch_cuda", N_("torch CUDA build")),
    ("gpu_model", N_("GPU model")),
    ("gpu_count", N_("GPUs")),
    ("nccl", "NCCL"),
    ("os", "OS"),
    ("kernel", N_("kernel")),
    ("python", "python"),
    ("envcheck", "envcheck"),
]
_RANK = {"fail": 3, "warn": 2, "ok": 1, "skip": 0}


def _data(report: dict, name: str) -> dict:
    fact = (report.get("facts") or {}).get(name)
    if isinstance(fact, dict):
        data = fact.get("data")
        return data if isinstance(data, dict) else {}
    return {}


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return str(value)


def extract(report: dict) -> tuple[dict[str, Any], dict[str, str], list[dict[str, str]]]:
    """The compared facts, each check's status (the worst, when an id appears twice) and the
    failing checks (id, summary) of one doctor report."""
    nvidia, torch, system = _data(report, "nvidia"), _data(report, "torch"), _data(report, "system")
    python = _data(report, "python")
    gpus = [g for g in nvidia.get("gpus") or [] if isinstance(g, dict)]
    models = sorted({str(g.get("name")) for g in gpus if g.get("name")})
    running = python.get("running") if isinstance(python.get("running"), dict) else {}
    target = python.get("target") if isinstance(python.get("target"), dict) else {}
    torch_python = torch.get("python") if isinstance(torch.get("python"), dict) else {}
    nccl = torch.get("nccl")
    tool = report.get("tool") if isinstance(report.get("tool"), dict) else {}
    facts = {
        "driver": _text(nvidia.get("driver_version")),
        "cuda_driver": _text(nvidia.get("cuda_driver_version")),
        "torch": _text(torch.get("version")),
        "torch_cuda": _text(torch.get("cuda")),
        "gpu_model": " + ".join(models) if models else None,
        "gpu_count": len(gpus),
        "nccl": _text(nccl.get("version") if isinstance(nccl, dict) else None if isinstance(nccl, list) else nccl),
        "os": _text(system.get("os")),
        "kernel": _text(system.get("kernel")),
        "python": _text(torch_python.get("version") or target.get("version") or running.get("version")),
        "envcheck": _text(tool.get("version")),
    }
    checks: dict[str, str] = {}
    failing: list[dict[str, str]] = []
    for finding in report.get("checks") or []:
        if not isinstance(finding, dict) or not isinstance(finding.get("id"), str):
            continue
        status = str(finding.get("status"))
        old = checks.get(finding["id"])
        if old is None or _RANK.get(status, 0) > _RANK.get(old, 0):
            checks[finding["id"]] = status
        if status == "fail" and not finding.get("silenced_by"):
            failing.append({"id": finding["id"], "summary": str(finding.get("summary") or "")})
    return facts, checks, failing


def _majority(values: Iterable[Any]) -> Any:
    """The most common value (ties: the one seen first)."""
    counts = Counter(values)
    if not counts:
        return None
    best = max(counts.values())
    return next(value for value in counts if counts[value] == best)


def merge(nodes: Sequence[tuple[NodeRun, dict | None]], source: dict[str, Any] | None = None,
          tool_version: str | None = None) -> dict[str, Any]:
    """The fleet report of every node's (run, report or None)."""
    rows: list[dict[str, Any]] = []
    for run, report in nodes:
        row: dict[str, Any] = {"name": run.name, "hostname": run.hostname or run.name, "seconds": run.seconds}
        if report is None:
            row.update(state="failed", failure=run.failure or "no_output", reason=run.reason or _("no report"),
                       facts=None, checks={}, failed_checks=[], differs=[])
        else:
            facts, checks, failing = extract(report)
            row.update(state="ok", failure=None, reason=None, facts=facts, checks=checks, failed_checks=failing, differs=[])
        rows.append(row)

    answered = [r for r in rows if r["state"] == "ok"]
    majority = {key: _majority([r["facts"][key] for r in answered]) for key, _title in FACTS}

    check_ids: dict[str, None] = {}
    for r in answered:
        for cid in r["checks"]:
            check_ids.setdefault(cid, None)
    check_majority: dict[str, str | None] = {}
    checks_out: list[dict[str, Any]] = []
    for cid in check_ids:
        statuses = [r["checks"].get(cid, "missing") for r in answered]
        counts = Counter(statuses)
        major = _majority(statuses)
        check_majority[cid] = major
        off = [r["name"] for r, s in zip(answered, statuses) if s != major]
        checks_out.append({"id": cid, "counts": dict(sorted(counts.items())), "majority": major, "nodes_off_majority": off})

    for r in answered:
        diffs = [{"fact": key, "value": r["facts"][key], "majority": majority[key]}
                 for key, _title in FACTS if r["facts"][key] != majority[key]]
        diffs += [{"fact": f"check:{cid}", "value": r["checks"].get(cid, "missing"), "majority": check_majority[cid]}
                  for cid in check_ids if r["checks"].get(cid, "missing") != check_majority[cid]]
        r["differs"] = diffs

    for r in rows:
        r["healthy"] = r["state"] == "ok" and not r["failed_checks"]
        r["alike"] = r["state"] == "ok" and not r["differs"]
    # Failed nodes first, then nodes that differ, then the rest, each group in input order.
    order = {id(r): (0 if r["state"] != "ok" else 1 if r["differs"] or r["failed_checks"] else 2) for r in rows}
    rows_sorted = sorted(rows, key=lambda r: order[id(r)])

    failed = [r["name"] for r in rows if r["state"] != "ok"]
    differ = [r["name"] for r in answered if r["differs"]]
    failing_checks = [r["name"] for r in answered if r["failed_checks"]]
    good = not failed and not differ and not failing_checks
    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "tool": {"name": "envcheck", "version": tool_version},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source or {},
        "summary": {
            "nodes": len(rows),
            "answered": len(answered),
            "failed": len(failed),
            "differ": len(differ),
            "failing_checks": len(failing_checks),
            "healthy_and_alike": good,
        },
        "facts": [{"fact": key, "title": title} for key, title in FACTS],
        "majority": majority,
        "failed_nodes": failed,
        "differing_nodes": differ,
        "nodes": rows_sorted,
        "checks": checks_out,
        "exit_code": 0 if good else 1,
    }
    return redact_data(doc)
