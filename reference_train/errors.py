"""The one exception type the trainer raises for input a user can fix."""

from __future__ import annotations


class TrainError(Exception):
    """Bad data, device, weights or checkpoint. The message is one sentence that includes the fix."""


class OutOfMemory(TrainError):
    """Training ran out of GPU memory; the message gives the device's free/total memory and what to change."""
