"""`envcheck doctor` end to end on this (CI) machine: it runs, its JSON validates, its exit codes hold."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "docs" / "schema" / "doctor-report.schema.json").read_text())


def envcheck(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def doctor_json():
    proc = envcheck("doctor", "--json", "--offline")
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def test_json_report_validates_against_the_documented_schema(doctor_json):
    doc = json.loads(doctor_json.stdout)
    jsonschema.validate(doc, SCHEMA)
    # exit code agrees with the report
    assert doctor_json.returncode == (1 if doc["summary"]["fail"] else 0)
    assert sum(doc["summary"].values()) == len(doc["checks"])


def test_every_collector_reported(doctor_json):
    from envcheck.facts import default_collectors

    doc = json.loads(doctor_json.stdout)
    # Every collector, plus the settings the doctor ran with (not collected: read before collecting).
    assert set(doc["facts"]) == set(default_collectors()) | {"settings"}


def test_the_torch_probe_started_before_the_collectors(doctor_json):
    # envcheck/cli.py starts the probe before typer and the collectors are imported, and the torch
    # collector adopts that process instead of starting a second one.
    torch = json.loads(doctor_json.stdout)["facts"]["torch"]["data"]
    assert torch["started_early"] is True
    assert torch["status"] in ("ok", "not_installed")
    assert torch["probe_wall_s"] >= 0


def test_list_checks_names_every_registered_check():
    from envcheck.checks import all_checks

    proc = envcheck("doctor", "--list-checks")
    assert proc.returncode == 0
    # The ids as written in the source, read independently of the registry: an empty registry would
    # otherwise make the loop below check nothing.
    in_source = [m for path in sorted((REPO / "envcheck" / "checks").glob("*.py"))
                 for m in re.findall(r'^@check\("([^"]+)"', path.read_text(encoding="utf-8"), flags=re.MULTILINE)]
    assert in_source and sorted(all_checks()) == sorted(in_source)
    for check_id in in_source:
        assert check_id in proc.stdout


def test_usage_errors_exit_2_without_traceback(tmp_path):
    for args in (["doctor", "--only", "no-such-area"], ["doctor", "--python", str(tmp_path / "nope")],
                 ["doctor", "--json", "--markdown"], ["doctor", "--not-an-option"]):
        proc = envcheck(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_markdown_report(doctor_json):
    proc = envcheck("doctor", "--markdown", "--offline", "--no-torch-probe")
    assert proc.returncode in (0, 1)
    assert proc.stdout.startswith("### envcheck doctor")
