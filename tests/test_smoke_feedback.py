"""What smoke-train tells a person who is not watching a terminal, and when the machine was busy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.commands.smoke_train import load_note

REPO = Path(__file__).resolve().parent.parent


def test_load_note_only_when_the_load_exceeds_the_cpus():
    assert load_note(load=1.5, cpus=2) is None
    note = load_note(load=5.2, cpus=2)
    assert note and "load average 5.2 on 2 CPUs" in note and "lower than on an idle machine" in note


@pytest.mark.slow
def test_without_a_terminal_each_phase_prints_a_line_and_json_names_no_deleted_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", "--cpu", "--json", "--phase", "device", "--phase", "learning",
         "--learn-per-class", "16", "--epochs", "1", "--image-size", "32", "--batch-size", "8"],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    # (A busy shared machine adds a "smoke-train: note:" line first; the phase lines are what is tested here.)
    lines = [line for line in result.stderr.splitlines()
             if line.startswith("smoke-train:") and not line.startswith("smoke-train: note:")]
    assert "smoke-train: device phase started" in lines[0]
    assert any(line.startswith("smoke-train: device phase: pass in") for line in lines)
    assert any(line.startswith("smoke-train: learning phase: ") for line in lines)
    # Inside the learning phase: one line per evaluation (32 images of batch 8: 4 steps, evaluated
    # after each) and per epoch, never one per step.
    learning = [line for line in lines if line.startswith("smoke-train: learning: ")]
    assert [line.split(" val acc ")[0] for line in learning if " val acc " in line and "ended" not in line] == [
        f"smoke-train: learning: epoch 1/1 step {step}/4" for step in (1, 2, 3, 4)]
    assert any(line.startswith("smoke-train: learning: epoch 1/1 ended, train loss ") for line in learning)
    assert not any("img/s, ETA" in line for line in lines)
    document = json.loads(result.stdout)
    learning = next(c for c in document["checks"] if c["name"] == "learning")
    # A temporary run folder is gone when the command ends: no path into it may be reported.
    assert "plot" not in learning["numbers"] and "metrics" not in learning["numbers"]
    assert "curves_png" not in json.dumps(document.get("figures", {}))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("envcheck-smoke")]


def test_quiet_prints_no_phase_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run([sys.executable, "-m", "envcheck", "smoke-train", "--cpu", "-q", "--phase", "device"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "phase started" not in done.stderr and "smoke-train: note:" not in done.stderr
    assert "PASS: all 1 checks passed on CPU." in done.stdout  # the report itself is still printed
