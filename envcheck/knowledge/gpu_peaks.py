"""Datasheet peaks per GPU model (gpu_peaks.yaml), for `envcheck gpu-bench`'s verdicts."""

from __future__ import annotations

from typing import Any

from envcheck.knowledge import loading

DTYPES = ("fp32", "tf32", "fp16", "bf16", "fp8")


def load() -> dict[str, Any]:
    """gpu_peaks.yaml, validated like every knowledge file (loading.SCHEMAS; shared: do not modify it)."""
    return loading.load("gpu_peaks")


def source_url(key: str) -> str | None:
    return next((s["url"] for s in load()["sources"] if s["key"] == key), None)


def model_for(name: str | None) -> dict[str, Any] | None:
    """The gpu_peaks row for an NVML/nvidia-smi GPU name, or None when the model is not listed."""
    text = (name or "").lower()
    if not text:
        return None
    for row in load()["models"]:
        if all(m in text for m in row["match"]) and not any(x in text for x in row.get("exclude") or []):
            return {**row, "url": source_url(row["source"])}
    return None


def attainable(kind: str) -> float:
    return float(load()["attainable"][kind])


def pcie_gbps(gen: int | None, width: int | None) -> float | None:
    """Payload bandwidth of a PCIe link, one direction, GB/s; None when gen or width is unknown."""
    if not gen or not width:
        return None
    per_lane = load()["pcie_lane_gbps"].get(str(gen))
    return round(per_lane * width, 2) if per_lane else None
