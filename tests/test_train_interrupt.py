"""Ctrl-C during `python -m reference_train`: the message names the real checkpoint path (issue #8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_sigint_names_the_checkpoint_to_resume_from(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_train", "--synthetic", "--synthetic-train-per-class", "8",
         "--synthetic-val-per-class", "4", "--image-size", "32", "--batch-size", "8", "--epochs", "1000",
         "--workers", "0", "--out-dir", str(out), "--no-progress", "--no-plot"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while not (out / "checkpoint.pth").is_file():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert f"--resume {out / 'checkpoint.pth'}" in err
    assert "OUT_DIR" not in err and "Traceback" not in err
