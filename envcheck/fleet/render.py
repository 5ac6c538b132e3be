"""The fleet report for people: a terminal table (rich) and Markdown, from merge.merge()'s dict.

Order: the nodes that failed (with why), the nodes that differ from the majority (and in what),
the node x fact matrix (those nodes first, then the alike ones, collapsed on a large fleet), then
each check's status across the nodes.

Translated (issue #11): titles, column names and the words of the cells; node names, fact values,
check ids and the JSON (render_json) are as merge.merge() made them.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from envcheck.i18n import N_, _, current_language, join, ngettext

# Matrix columns: (title, function of a node row's facts). Titles are translated where shown.
MATRIX = [
    (N_("driver"), lambda f: f.get("driver")),
    (N_("CUDA (driver)"), lambda f: f.get("cuda_driver")),
    ("torch", lambda f: _torch(f)),
    (N_("GPU model"), lambda f: f.get("gpu_model")),
    (N_("GPUs"), lambda f: f.get("gpu_count")),
]
MATRIX_KEYS = {"driver": ["driver"], "CUDA (driver)": ["cuda_driver"], "torch": ["torch", "torch_cuda"],
               "GPU model": ["gpu_model"], "GPUs": ["gpu_count"]}
ALIKE_SHOWN = 30  # alike nodes listed in the matrix before they are collapsed into one line
NAMES_SHOWN = 8
# How the reports word a node's failure kind and a check's status; the JSON keeps the English value.
# TRANSLATORS: kinds of node failure in `envcheck fleet doctor` (ssh: ssh itself failed).
FAILURES = {"timeout": N_("timeout"), "ssh": N_("ssh failed"), "exit": N_("exit code"), "no_output": N_("no output"),
            "bad_json": N_("bad JSON")}
STATUSES = {"ok": N_("ok"), "warn": N_("warn"), "fail": N_("fail"), "skip": N_("skip"), "missing": N_("missing")}


def _failure(kind: str) -> str:
    return _(FAILURES[kind]) if kind in FAILURES and current_language() != "en" else kind


def _status(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def _torch(facts: dict) -> str | None:
    if not facts.get("torch"):
        return None
    build = facts.get("torch_cuda")
    if build:
        return f"{facts['torch']} (CUDA {build})"
    return _("{torch} (no CUDA)").format(torch=facts["torch"])


def _show(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _names(names: list[str]) -> str:
    shown = join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        return _("{names} (+{count} more)").format(names=shown, count=len(names) - NAMES_SHOWN)
    return shown


def _title(doc: dict, key: str) -> str:
    if key.startswith("check:"):
        return _("check {id}").format(id=key[6:])
    title = next((f["title"] for f in doc.get("facts", []) if f["fact"] == key), key)
    return _(title) if title else title


def difference_text(doc: dict, row: dict) -> str:
    def shown(fact: str, value: Any) -> str:
        # A check's status is worded like the status column; a fact's value is shown as it is.
        return _status(value) if fact.startswith("check:") and isinstance(value, str) else _show(value)

    parts = [_("{fact} {value} (majority {majority})").format(fact=_title(doc, d["fact"]), value=shown(d["fact"], d["value"]),
                                                           majority=shown(d["fact"], d["majority"]))
             for d in row.get("differs", [])]
    return ("; " if current_language() == "en" else "；").join(parts)


def _check_cell(row: dict) -> str:
    if row["state"] != "ok":
        return _("FAILED: {reason}").format(reason=row["reason"])
    statuses = list(row["checks"].values())
    fails, warns = statuses.count("fail"), statuses.count("warn")
    if not fails and not warns:
        return _("all ok")
    parts = []
    if fails:
        parts.append(_("{count} fail ({checks})").format(count=fails, checks=join(c["id"] for c in row["failed_checks"][:3])))
    if warns:
        parts.append(_("{count} warn").format(count=warns))
    return join(parts)


def headline(doc: dict) -> str:
    s = doc["summary"]
    parts = [ngettext("{count} node", "{count} nodes", s["nodes"]).format(count=s["nodes"]),
             _("{count} answered").format(count=s["answered"])]
    if s["failed"]:
        parts.append(_("{count} failed").format(count=s["failed"]))
    if s["differ"]:
        parts.append(ngettext("{count} differs from the majority", "{count} differ from the majority",
                              s["differ"]).format(count=s["differ"]))
    if s["failing_checks"]:
        parts.append(_("{count} with failing checks").format(count=s["failing_checks"]))
    return join(parts)


def verdict(doc: dict) -> str:
    if doc["summary"]["healthy_and_alike"]:
        return _("PASS: every node answered, no check failed, and all nodes are alike.")
    return _("FAIL: {problems}.").format(problems=headline(doc))


def _matrix_rows(doc: dict) -> tuple[list[dict], int]:
    rows = doc["nodes"]
    flagged = [r for r in rows if r["state"] != "ok" or r["differs"] or r["failed_checks"]]
    alike = [r for r in rows if r not in flagged]
    if len(alike) > ALIKE_SHOWN:
        return flagged + alike[:5], len(alike) - 5
    return flagged + alike, 0


def _counts(check: dict) -> str:
    return join(_("{status} {count}").format(status=_status(status), count=n) for status, n in check["counts"].items())


def render_terminal(console: Console, doc: dict) -> None:
    console.print(Text(f"envcheck fleet doctor: {headline(doc)}", style="bold"))
    failed = [r for r in doc["nodes"] if r["state"] != "ok"]
    if failed:
        table = Table(title=_("Nodes that failed"), title_justify="left", show_lines=False)
        for col in (_("node"), _("failure"), _("reason")):
            table.add_column(col, overflow="fold")
        for r in failed:
            table.add_row(r["name"], _failure(r["failure"]), r["reason"])
        console.print(table)
    differing = [r for r in doc["nodes"] if r["state"] == "ok" and r["differs"]]
    if differing:
        table = Table(title=_("Nodes that differ from the majority"), title_justify="left")
        table.add_column(_("node"))
        table.add_column(_("differs in"), overflow="fold")
        for r in differing:
            table.add_row(r["name"], difference_text(doc, r))
        console.print(table)

    table = Table(title=_("Nodes"), title_justify="left")
    table.add_column(_("node"))
    for title, _get in MATRIX:
        table.add_column(_(title), overflow="fold")
    table.add_column(_("checks"), overflow="fold")
    majority = doc["majority"]
    table.add_row(Text(_("(majority)"), style="italic"), *[_show(get(majority)) for _title, get in MATRIX], "", style="dim")
    shown, hidden = _matrix_rows(doc)
    for r in shown:
        if r["state"] != "ok":
            table.add_row(Text(r["name"], style="red"), *["?" for _column in MATRIX], Text(_check_cell(r), style="red"))
            continue
        keys = {d["fact"] for d in r["differs"]}
        cells = []
        for title, get in MATRIX:
            off = any(k in keys for k in MATRIX_KEYS[title])
            cells.append(Text(_show(get(r["facts"])), style="bold red" if off else ""))
        table.add_row(r["name"], *cells, Text(_check_cell(r), style="red" if r["failed_checks"] else ""))
    if hidden:
        table.add_row(Text(_("... {count} more").format(count=hidden), style="italic"), *[_("same") for _column in MATRIX],
                      _("same as the majority"))
    console.print(table)

    uneven = [c for c in doc["checks"] if c["nodes_off_majority"] or c["majority"] in ("fail", "warn")]
    if uneven:
        table = Table(title=_("Checks whose status is not the same good one everywhere"), title_justify="left")
        table.add_column(_("check"))
        table.add_column(_("status across nodes"))
        table.add_column(_("nodes off the majority"), overflow="fold")
        for c in uneven:
            table.add_row(c["id"], _counts(c), _names(c["nodes_off_majority"]))
        console.print(table)
    same = len(doc["checks"]) - len(uneven)
    if same:
        console.print(ngettext("{count} other check: the same ok/skip status on every node that answered.",
                               "{count} other checks: the same ok/skip status on every node that answered.",
                               same).format(count=same))
    console.print(Text(verdict(doc), style="bold green" if doc["summary"]["healthy_and_alike"] else "bold red"))


def _md(value: Any) -> str:
    return _show(value).replace("|", "\\|").replace("\n", " ")


def _md_header(*titles: str) -> list[str]:
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]


def render_markdown(doc: dict) -> str:
    lines = ["# envcheck fleet doctor", "", f"**{verdict(doc)}**", ""]
    failed = [r for r in doc["nodes"] if r["state"] != "ok"]
    if failed:
        lines += ["## " + _("Nodes that failed"), "", *_md_header(_("node"), _("failure"), _("reason"))]
        lines += [f"| {_md(r['name'])} | {_failure(r['failure'])} | {_md(r['reason'])} |" for r in failed]
        lines.append("")
    differing = [r for r in doc["nodes"] if r["state"] == "ok" and r["differs"]]
    if differing:
        lines += ["## " + _("Nodes that differ from the majority"), "", *_md_header(_("node"), _("differs in"))]
        lines += [f"| {_md(r['name'])} | {_md(difference_text(doc, r))} |" for r in differing]
        lines.append("")
    lines += ["## " + _("Nodes"), "", *_md_header(_("node"), *[_(t) for t, _get in MATRIX], _("checks"))]
    lines.append("| *" + _("(majority)") + "* | " + " | ".join(_md(get(doc["majority"])) for _title, get in MATRIX) + " | |")
    shown, hidden = _matrix_rows(doc)
    for r in shown:
        if r["state"] != "ok":
            lines.append(f"| {_md(r['name'])} | " + " | ".join("?" for _column in MATRIX) + f" | {_md(_check_cell(r))} |")
            continue
        keys = {d["fact"] for d in r["differs"]}
        cells = []
        for title, get in MATRIX:
            text = _md(get(r["facts"]))
            cells.append(f"**{text}**" if any(k in keys for k in MATRIX_KEYS[title]) else text)
        lines.append(f"| {_md(r['name'])} | " + " | ".join(cells) + f" | {_md(_check_cell(r))} |")
    if hidden:
        lines.append("| " + _("... {count} more").format(count=hidden) + " | " + " | ".join(_("same") for _column in MATRIX)
                     + " | " + _("same as the majority") + " |")
    lines.append("")
    lines += ["## " + _("Checks across nodes"), "",
              *_md_header(_("check"), _("status across nodes"), _("nodes off the majority"))]
    for c in doc["checks"]:
        lines.append(f"| {c['id']} | {_counts(c)} | {_md(_names(c['nodes_off_majority']))} |")
    return "\n".join(lines) + "\n"


def render_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False)
