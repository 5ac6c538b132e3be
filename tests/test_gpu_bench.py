"""envcheck gpu-bench (issue #12): the --cpu path end to end, bad arguments, and the verdict logic
against gpu_peaks.yaml with recorded and constructed figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.bench.verdict import SLOW_RATIO, judge
from envcheck.knowledge import gpu_peaks

REPO = Path(__file__).resolve().parent.parent


def _run(args, timeout=120, env=None):
    return subprocess.run([sys.executable, "-m", "envcheck", "gpu-bench", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout, env=env)


def test_cpu_quick_json_end_to_end():
    done = _run(["--cpu", "--json", "--quick"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["schema_version"] == 1 and report["command"] == "gpu-bench" and report["verdict"] == "not judged"
    names = {f["name"]: f for f in report["figures"]}
    assert {"matmul_fp32", "memory_copy", "launch_latency"} <= set(names)
    assert names["matmul_fp32"]["unit"] == "GFLOP/s" and names["matmul_fp32"]["value"] > 0
    assert names["memory_copy"]["value"] > 0 and all(f["verdict"] == "not judged" for f in report["figures"])
    assert report["device"]["child_env"] == {"CUDA_VISIBLE_DEVICES": ""}
    # Without a terminal: one progress line per step on stderr, nothing of it on stdout.
    assert "envcheck gpu-bench: matmul fp32 on cpu" in done.stderr


@pytest.mark.parametrize("args, words", [
    (["--cpu", "--gpu", "0"], "--cpu cannot be combined"),
    (["--gpus", "0,0"], "lists a GPU twice"),
    (["--gpus", "a,b"], "give nvidia-smi GPU numbers"),
    (["--gpu", "-1"], "start at 0"),
    (["--gpu", "0,1"], "--gpu takes one; use --gpus 0,1 to test several"),
    (["--gpu", "\u00b2"], "give one GPU number as nvidia-smi numbers it"),
    (["--gpus", "\u00b2"], "give nvidia-smi GPU numbers"),
    (["--timeout", "0"], "--timeout 0"),
    (["--timeout", "nan"], "--timeout nan"),
    (["--bogus"], "No such option"),
])
def test_bad_arguments_are_one_line_exit_2(args, words):
    done = _run(args, timeout=60)
    assert done.returncode == 2
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_a_gpu_without_a_driver_is_refused_before_any_work():
    done = _run(["--gpu", "0", "--json"], timeout=60)
    assert done.returncode == 2 and "no NVIDIA GPU was found" in done.stderr and "gpu-bench --cpu" in done.stderr


def test_peaks_file_sources_and_matching():
    data = gpu_peaks.load()
    assert all(s["url"].startswith("https://") for s in data["sources"])
    assert gpu_peaks.model_for("NVIDIA H100 80GB HBM3")["model"] == "H100 SXM"
    assert gpu_peaks.model_for("NVIDIA H100 PCIe")["model"] == "H100 PCIe"
    assert gpu_peaks.model_for("NVIDIA H100 NVL") is None  # not listed: unknown stays unknown
    assert gpu_peaks.model_for("NVIDIA GeForce RTX 2080 SUPER") is None
    assert gpu_peaks.pcie_gbps(4, 16) == 31.5 and gpu_peaks.pcie_gbps(None, 16) is None


A100_PCIE = {"index": 0, "pcie_gen_max": 4, "pcie_width_max": 16, "pcie_width_current": 16, "clock_event_reasons": []}


def test_recorded_a100_pcie_figures_are_ok():
    # Recorded: NVIDIA A100-PCIE-40GB on Princeton's della cluster, CUDA bandwidthTest, pinned,
    # 1 GB transfers (jdh4/della-gpu-A100 README): host-to-device 25.8 GB/s, device-to-device 1251.4 GB/s.
    h2d = judge({"name": "h2d_pinned", "kind": "h2d_pinned", "device": 0, "value": 25.8, "unit": "GB/s"},
                "NVIDIA A100-PCIE-40GB", A100_PCIE, {})
    assert h2d["verdict"] == "ok" and h2d["peak"] == 31.5
    copy = judge({"name": "memory_copy", "kind": "memory_bandwidth", "device": 0, "value": 1251.4, "unit": "GB/s"},
                 "NVIDIA A100-PCIE-40GB", A100_PCIE, {})
    assert copy["verdict"] == "ok" and copy["peak"] == 1555 and copy["source"].startswith("https://www.nvidia.com/")


def test_constructed_slow_figures_name_their_cause():
    # Constructed: the same card on an x8 link moving 12 GB/s.
    narrow = dict(A100_PCIE, pcie_width_current=8)
    h2d = judge({"name": "h2d_pinned", "kind": "h2d_pinned", "device": 0, "value": 12.0, "unit": "GB/s"},
                "NVIDIA A100-PCIE-40GB", narrow, {})
    assert h2d["verdict"] == "slow" and h2d["causes"][0]["cause"] == "PCIe link at x8 of x16"
    assert h2d["causes"][0]["who"] == "admin"
    # Constructed: an H100 SXM at 400 bf16 TFLOP/s with a thermal slowdown active.
    hot = dict(A100_PCIE, clock_event_reasons=["hw_thermal_slowdown"])
    mm = judge({"name": "matmul_bf16", "kind": "matmul", "device": 0, "value": 400.0, "unit": "TFLOP/s",
                "params": {"dtype": "bf16"}}, "NVIDIA H100 80GB HBM3", hot, {})
    peak = 989.5
    assert mm["peak"] == peak and mm["expected"] == round(peak * gpu_peaks.attainable("matmul"), 2)
    assert 400.0 < SLOW_RATIO * mm["expected"] and mm["verdict"] == "slow"
    assert "hw_thermal_slowdown" in mm["causes"][0]["cause"]
    # Just above the bar: ok.
    fine = judge({"name": "matmul_bf16", "kind": "matmul", "device": 0, "value": SLOW_RATIO * mm["expected"] + 1,
                  "unit": "TFLOP/s", "params": {"dtype": "bf16"}}, "NVIDIA H100 80GB HBM3", hot, {})
    assert fine["verdict"] == "ok"


def test_unknown_model_dtype_and_errors_are_not_judged():
    fp8 = judge({"name": "matmul_fp8", "kind": "matmul", "device": 0, "value": 100.0, "unit": "TFLOP/s",
                 "params": {"dtype": "fp8"}}, "NVIDIA A100-SXM4-80GB", {}, {})
    assert fp8["verdict"] == "not judged" and "no fp8 datasheet figure" in fp8["basis"]
    other = judge({"name": "memory_copy", "kind": "memory_bandwidth", "device": 0, "value": 1.0, "unit": "GB/s"},
                  "NVIDIA GeForce RTX 2080 SUPER", {}, {})
    assert other["verdict"] == "not judged"
    err = judge({"name": "matmul_fp8", "kind": "matmul", "device": 0, "value": None, "unit": "TFLOP/s",
                 "error": "RuntimeError: x"}, "NVIDIA H100 80GB HBM3", {}, {})
    assert err["verdict"] == "error"
    nccl = judge({"name": "allreduce_1", "kind": "allreduce_busbw", "device": [0, 1], "value": 1.0, "unit": "GB/s"},
                 "NVIDIA H100 80GB HBM3", {}, {"nccl_env": {"NCCL_P2P_DISABLE": "1"}})
    assert nccl["verdict"] == "not judged"
