"""Datasheet peaks per GPU model (gpu_peaks.yaml), for `envcheck gpu-bench`'s verdicts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).resolve().parent / "gpu_peaks.yaml"
DTYPES = ("fp32", "tf32", "fp16", "bf16", "fp8")


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    data = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    keys = {s["key"] for s in data["sources"]}
    for row in data["models"]:
        if row["source"] not in keys:
            raise ValueError(f"{PATH.name}: model {row['model']!r} cites unknown source {row['source']!r}")
        unknown = set(row.get("tflops") or {}) - set(DTYPES)
        if unknown:
            raise ValueError(f"{PATH.name}: model {row['model']!r} has unknown dtypes {sorted(unknown)}")
    return data


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
