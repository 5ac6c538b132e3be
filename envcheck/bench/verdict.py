"""gpu-bench's verdicts: each measured figure against the model's datasheet peak
(envcheck/knowledge/gpu_peaks.yaml) times the attainable share, and the likely cause of a slow one
from the gpu_health facts. Pure functions of recorded figures, tested without a GPU.

The texts (basis, causes, fixes) are in the run's language (issue #11): they are shown as they are
and, like the doctor's summaries, are text fields of the --json report; the verdict values are not
translated."""

from __future__ import annotations

from typing import Any

from envcheck.i18n import _, join
from envcheck.knowledge import gpu_peaks

# A figure below this share of (peak x attainable) is "slow": a healthy GPU stays well above it.
SLOW_RATIO = 0.8

SLOWING = {"hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown", "sw_power_cap"}


def expected_for(kind: str, dtype: str | None, gpu_name: str | None, health_gpu: dict[str, Any] | None
                 ) -> tuple[float | None, float | None, str | None, str]:
    """(datasheet peak, expected figure, source URL, basis text); Nones when there is no figure."""
    if kind == "matmul":
        row = gpu_peaks.model_for(gpu_name)
        peak = (row.get("tflops") or {}).get(dtype) if row else None
        if peak is None:
            return None, None, row.get("url") if row else None, (
                _("no {dtype} datasheet figure for {model}").format(dtype=dtype, model=row["model"]) if row
                else _not_listed(gpu_name))
        return (float(peak), round(peak * gpu_peaks.attainable("matmul"), 2), row["url"],
                _("{model} datasheet {dtype}").format(model=row["model"], dtype=dtype))
    if kind == "memory_bandwidth":
        row = gpu_peaks.model_for(gpu_name)
        if not row or not row.get("memory_gbps"):
            return None, None, None, _not_listed(gpu_name)
        peak = float(row["memory_gbps"])
        return (peak, round(peak * gpu_peaks.attainable("memory_bandwidth"), 1), row["url"],
                _("{model} datasheet memory bandwidth").format(model=row["model"]))
    if kind == "h2d_pinned":
        gpu = health_gpu or {}
        peak = gpu_peaks.pcie_gbps(gpu.get("pcie_gen_max"), gpu.get("pcie_width_max"))
        if peak is None:
            return None, None, None, _("the PCIe link's maximum generation and width are unknown")
        return peak, round(peak * gpu_peaks.attainable("h2d_pinned"), 1), gpu_peaks.source_url("PCIE"), (
            _("PCIe gen {generation} x{width}").format(generation=gpu["pcie_gen_max"], width=gpu["pcie_width_max"]))
    return None, None, None, _("no reference figure for this measurement")


def _not_listed(gpu_name: str | None) -> str:
    if gpu_name:
        return _("{gpu} is not in gpu_peaks.yaml").format(gpu=gpu_name)
    return _("this GPU is not in gpu_peaks.yaml")


def causes(kind: str, health_gpu: dict[str, Any] | None, health: dict[str, Any], others: list[str]) -> list[tuple[str, str, str]]:
    """[(cause, fix, who)] the health facts suggest for a slow figure of this kind."""
    found = []
    gpu = health_gpu or {}
    slowing = sorted(set(gpu.get("clock_event_reasons") or []) & SLOWING)
    if slowing and kind in ("matmul", "memory_bandwidth"):
        found.append((_("clocks limited by {reasons}").format(reasons=join(slowing)),
                      _("Ask the admin to check cooling and power ({command}).").format(
                          command="`nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER`"), "admin"))
    if kind in ("h2d_pinned", "h2d_pageable", "d2h_pinned", "d2h_pageable"):
        cur, top = gpu.get("pcie_width_current"), gpu.get("pcie_width_max")
        if cur and top and cur < top:
            found.append((_("PCIe link at x{current} of x{most}").format(current=cur, most=top),
                          _("Ask the admin to reseat the card or move it to a full x16 slot."), "admin"))
    if kind in ("p2p", "allreduce_busbw"):
        down = [f"GPU {g.get('index')}" for g in health.get("gpus") or []
                if any(l.get("state") != "up" for l in g.get("nvlink") or [])]
        if down:
            found.append((_("NVLink links down on {gpus}").format(gpus=join(down)),
                          _("Ask the admin to check {command} and reset the GPU.").format(command="`nvidia-smi nvlink -s`"),
                          "admin"))
        if (health.get("nccl_env") or {}).get("NCCL_P2P_DISABLE") not in (None, "", "0"):
            found.append((_("NCCL_P2P_DISABLE is set"), "`unset NCCL_P2P_DISABLE`", "you"))
    if others:
        found.append((_("other processes use the GPU ({processes})").format(processes=join(others)),
                      _("Re-run when the GPU is free."), "you"))
    return found


def judge(figure: dict[str, Any], gpu_name: str | None, health_gpu: dict[str, Any] | None, health: dict[str, Any],
          others: list[str] | None = None) -> dict[str, Any]:
    """The figure with peak, expected, verdict ("ok", "slow", "not judged", "error") and, when slow,
    the likely causes and fixes."""
    kind, dtype = figure.get("kind"), (figure.get("params") or {}).get("dtype")
    row = dict(figure)
    if figure.get("error") or figure.get("value") is None:
        row.update(verdict="error", peak=None, expected=None, basis=None, source=None)
        return row
    unit = figure.get("unit")
    if unit == "GFLOP/s" or figure.get("device") == "cpu":
        row.update(verdict="not judged", peak=None, expected=None, source=None, basis=_("no reference figures for CPUs"))
        return row
    peak, expected, source, basis = expected_for(kind, dtype, gpu_name, health_gpu)
    row.update(peak=peak, expected=expected, source=source, basis=basis)
    if expected is None:
        row["verdict"] = "not judged"
        return row
    row["ratio_of_peak"] = round(figure["value"] / peak, 3) if peak else None
    if figure["value"] >= SLOW_RATIO * expected:
        row["verdict"] = "ok"
        return row
    row["verdict"] = "slow"
    found = causes(kind, health_gpu, health, others or [])
    row["causes"] = [{"cause": c, "fix": f, "who": w} for c, f, w in found]
    if not found:
        row["causes"] = [{"cause": _("no cause found in the health facts (clocks, link and NVLink look normal)"),
                          "fix": _("Re-run on an idle GPU; compare with {doctor} and {smi}.").format(
                              doctor="`envcheck doctor --only gpu`", smi="`nvidia-smi -q -d PERFORMANCE`"),
                          "who": "you"}]
    return row
