"""The fleet report for people: a terminal table (rich) and Markdown, from merge.merge()'s dict.

Order: the nodes that failed (with why), the nodes that differ from the majority (and in what),
the node x fact matrix (those nodes first, then the alike ones, collapsed on a large fleet), then
each check's status across the nodes.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Matrix columns: (title, function of a node row's facts).
MATRIX = [
    ("driver", lambda f: f.get("driver")),
    ("CUDA (driver)", lambda f: f.get("cuda_driver")),
    ("torch", lambda f: _torch(f)),
    ("GPU model", lambda f: f.get("gpu_model")),
    ("GPUs", lambda f: f.get("gpu_count")),
]
MATRIX_KEYS = {"driver": ["driver"], "CUDA (driver)": ["cuda_driver"], "torch": ["torch", "torch_cuda"],
               "GPU model": ["gpu_model"], "GPUs": ["gpu_count"]}
ALIKE_SHOWN = 30  # alike nodes listed in the matrix before they are collapsed into one line
NAMES_SHOWN = 8


def _torch(facts: dict) -> str | None:
    if not facts.get("torch"):
        return None
    build = facts.get("torch_cuda")
    return f"{facts['torch']} (CUDA {build})" if build else f"{facts['torch']} (no CUDA)"


def _show(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" (+{len(names) - NAMES_SHOWN} more)" if len(names) > NAMES_SHOWN else "")


def _title(doc: dict, key: str) -> str:
    if key.startswith("check:"):
        return f"check {key[6:]}"
    return next((f["title"] for f in doc.get("facts", []) if f["fact"] == key), key)


def difference_text(doc: dict, row: dict) -> str:
    parts = [f"{_title(doc, d['fact'])} {_show(d['value'])} (majority {_show(d['majority'])})" for d in row.get("differs", [])]
    return "; ".join(parts)


def _check_cell(row: dict) -> str:
    if row["state"] != "ok":
        return f"FAILED: {row['reason']}"
    statuses = list(row["checks"].values())
    fails, warns = statuses.count("fail"), statuses.count("warn")
    if not fails and not warns:
        return "all ok"
    parts = []
    if fails:
        parts.append(f"{fails} fail ({', '.join(c['id'] for c in row['failed_checks'][:3])})")
    if warns:
        parts.append(f"{warns} warn")
    return ", ".join(parts)


def headline(doc: dict) -> str:
    s = doc["summary"]
    parts = [f"{s['nodes']} node{'s' if s['nodes'] != 1 else ''}", f"{s['answered']} answered"]
    if s["failed"]:
        parts.append(f"{s['failed']} failed")
    if s["differ"]:
        parts.append(f"{s['differ']} differ{'s' if s['differ'] == 1 else ''} from the majority")
    if s["failing_checks"]:
        parts.append(f"{s['failing_checks']} with failing checks")
    return ", ".join(parts)


def verdict(doc: dict) -> str:
    if doc["summary"]["healthy_and_alike"]:
        return "PASS: every node answered, no check failed, and all nodes are alike."
    return "FAIL: " + headline(doc) + "."


def _matrix_rows(doc: dict) -> tuple[list[dict], int]:
    rows = doc["nodes"]
    flagged = [r for r in rows if r["state"] != "ok" or r["differs"] or r["failed_checks"]]
    alike = [r for r in rows if r not in flagged]
    if len(alike) > ALIKE_SHOWN:
        return flagged + alike[:5], len(alike) - 5
    return flagged + alike, 0


def render_terminal(console: Console, doc: dict) -> None:
    console.print(Text(f"envcheck fleet doctor: {headline(doc)}", style="bold"))
    failed = [r for r in doc["nodes"] if r["state"] != "ok"]
    if failed:
        table = Table(title="Nodes that failed", title_justify="left", show_lines=False)
        for col in ("node", "failure", "reason"):
            table.add_column(col, overflow="fold")
        for r in failed:
            table.add_row(r["name"], r["failure"], r["reason"])
        console.print(table)
    differing = [r for r in doc["nodes"] if r["state"] == "ok" and r["differs"]]
    if differing:
        table = Table(title="Nodes that differ from the majority", title_justify="left")
        table.add_column("node")
        table.add_column("differs in", overflow="fold")
        for r in differing:
            table.add_row(r["name"], difference_text(doc, r))
        console.print(table)

    table = Table(title="Nodes", title_justify="left")
    table.add_column("node")
    for title, _ in MATRIX:
        table.add_column(title, overflow="fold")
    table.add_column("checks", overflow="fold")
    majority = doc["majority"]
    table.add_row(Text("(majority)", style="italic"), *[_show(get(majority)) for _, get in MATRIX], "", style="dim")
    shown, hidden = _matrix_rows(doc)
    for r in shown:
        if r["state"] != "ok":
            table.add_row(Text(r["name"], style="red"), *["?" for _ in MATRIX], Text(_check_cell(r), style="red"))
            continue
        keys = {d["fact"] for d in r["differs"]}
        cells = []
        for title, get in MATRIX:
            off = any(k in keys for k in MATRIX_KEYS[title])
            cells.append(Text(_show(get(r["facts"])), style="bold red" if off else ""))
        table.add_row(r["name"], *cells, Text(_check_cell(r), style="red" if r["failed_checks"] else ""))
    if hidden:
        table.add_row(Text(f"... {hidden} more", style="italic"), *["same" for _ in MATRIX], "same as the majority")
    console.print(table)

    uneven = [c for c in doc["checks"] if c["nodes_off_majority"] or c["majority"] in ("fail", "warn")]
    if uneven:
        table = Table(title="Checks whose status is not the same good one everywhere", title_justify="left")
        table.add_column("check")
        table.add_column("status across nodes")
        table.add_column("nodes off the majority", overflow="fold")
        for c in uneven:
            counts = ", ".join(f"{status} {n}" for status, n in c["counts"].items())
            table.add_row(c["id"], counts, _names(c["nodes_off_majority"]))
        console.print(table)
    same = len(doc["checks"]) - len(uneven)
    if same:
        console.print(f"{same} other check{'s' if same != 1 else ''}: the same ok/skip status on every node that answered.")
    console.print(Text(verdict(doc), style="bold green" if doc["summary"]["healthy_and_alike"] else "bold red"))


def _md(value: Any) -> str:
    return _show(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict) -> str:
    lines = [f"# envcheck fleet doctor", "", f"**{verdict(doc)}**", ""]
    failed = [r for r in doc["nodes"] if r["state"] != "ok"]
    if failed:
        lines += ["## Nodes that failed", "", "| node | failure | reason |", "|---|---|---|"]
        lines += [f"| {_md(r['name'])} | {r['failure']} | {_md(r['reason'])} |" for r in failed]
        lines.append("")
    differing = [r for r in doc["nodes"] if r["state"] == "ok" and r["differs"]]
    if differing:
        lines += ["## Nodes that differ from the majority", "", "| node | differs in |", "|---|---|"]
        lines += [f"| {_md(r['name'])} | {_md(difference_text(doc, r))} |" for r in differing]
        lines.append("")
    lines += ["## Nodes", "", "| node | " + " | ".join(t for t, _ in MATRIX) + " | checks |",
              "|" + "---|" * (len(MATRIX) + 2)]
    lines.append("| *(majority)* | " + " | ".join(_md(get(doc["majority"])) for _, get in MATRIX) + " | |")
    shown, hidden = _matrix_rows(doc)
    for r in shown:
        if r["state"] != "ok":
            lines.append(f"| {_md(r['name'])} | " + " | ".join("?" for _ in MATRIX) + f" | {_md(_check_cell(r))} |")
            continue
        keys = {d["fact"] for d in r["differs"]}
        cells = []
        for title, get in MATRIX:
            text = _md(get(r["facts"]))
            cells.append(f"**{text}**" if any(k in keys for k in MATRIX_KEYS[title]) else text)
        lines.append(f"| {_md(r['name'])} | " + " | ".join(cells) + f" | {_md(_check_cell(r))} |")
    if hidden:
        lines.append(f"| ... {hidden} more | " + " | ".join("same" for _ in MATRIX) + " | same as the majority |")
    lines.append("")
    lines += ["## Checks across nodes", "", "| check | status across nodes | nodes off the majority |", "|---|---|---|"]
    for c in doc["checks"]:
        counts = ", ".join(f"{status} {n}" for status, n in c["counts"].items())
        lines.append(f"| {c['id']} | {counts} | {_md(_names(c['nodes_off_majority']))} |")
    return "\n".join(lines) + "\n"


def render_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False)
