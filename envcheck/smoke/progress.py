"""Progress inside a long phase: what the worker's training runs report while they run.

reference_train's train() calls TrainConfig.on_progress with plain dicts ({"kind": "step"} at most
once a second, {"kind": "eval"} after each evaluation, {"kind": "epoch"} at each epoch end). The
worker forwards each one on its protocol stream as {"event": "progress", "phase": NAME, ...} and
writes a short line for it to its stderr (the worker-N.log). The parent keeps the last figures of
the running phase in a PhaseProgress: they feed the spinner, the lines printed without a terminal,
and the numbers of a phase that times out.

Pure formatting and bookkeeping, no torch: the parent imports this module.
"""

from __future__ import annotations

import math
import time
from typing import Any

from envcheck.i18n import _, current_language

# Every line the worker writes about its own progress starts with this, so that the parent can
# tell them from what a library printed (the last such line is a crash's error message).
WORKER_LOG_PREFIX = "smoke-worker:"


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, None, NaN, a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def format_eta(seconds: Any) -> str | None:
    """45 -> "0:45", 725 -> "12:05", 3725 -> "1:02:05"; None for an unknown or negative time."""
    value = _number(seconds)
    if value is None or value < 0:
        return None
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _of(done: int | None, total: int | None) -> str:
    return f"{done}/{total}" if total is not None else f"{done}"


def _list(parts: list[str]) -> str:
    """Figures as the language lists them ("a, b" / "a，b")."""
    return ("，" if current_language() == "zh" else ", ").join(parts)


def _epoch(done: int | None, total: int | None) -> str:
    # TRANSLATORS: a position in a training run, e.g. "epoch 1/3"; {position} is "1/3" or "1".
    return _("epoch {position}").format(position=_of(done, total))


def _step(done: int | None, total: int | None) -> str:
    # TRANSLATORS: a position in an epoch, e.g. "step 40/125"; {position} is "40/125" or "40".
    return _("step {position}").format(position=_of(done, total))


def _val_acc(text: str) -> str:
    return _("val acc {accuracy}").format(accuracy=text)


def step_in_epoch(event: dict[str, Any], steps_per_epoch: int | None) -> int | None:
    """The step within its epoch of an evaluation event, from its global step and epoch.

    train() counts steps across epochs (resumed runs included) and every epoch has the same number
    of steps, so step = (epoch - 1) * steps_per_epoch + step_in_epoch.
    """
    step, epoch = _int(event.get("step")), _int(event.get("epoch"))
    if step is None or epoch is None or not steps_per_epoch:
        return None
    within = step - (epoch - 1) * steps_per_epoch
    return within if 1 <= within <= steps_per_epoch else None


class PhaseProgress:
    """The last figures one phase's progress events gave: where it was, how fast, how well."""

    def __init__(self, phase: str, clock=time.monotonic):
        self.phase = phase
        self.clock = clock
        self.epoch: int | None = None
        self.epochs: int | None = None
        self.step_in_epoch: int | None = None
        self.steps_per_epoch: int | None = None
        self.step: int | None = None  # global optimizer step, known from evaluation events
        self.images_per_sec: float | None = None
        self.eta_s: float | None = None
        self.last_val_acc: float | None = None
        self.best_val_acc: float | None = None
        self.evaluations = 0
        self.events = 0
        self.updated_at: float | None = None

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        self.events += 1
        self.updated_at = self.clock()
        epochs = _int(event.get("epochs"))
        if epochs is not None:
            self.epochs = epochs
        per_epoch = _int(event.get("steps_per_epoch"))
        if per_epoch is not None:
            self.steps_per_epoch = per_epoch
        epoch = _int(event.get("epoch"))
        if epoch is not None:
            self.epoch = epoch
        if kind == "step":
            self.step_in_epoch = _int(event.get("step_in_epoch"))
            rate = _number(event.get("images_per_sec"))
            if rate is not None and rate > 0:
                self.images_per_sec = rate
            self.eta_s = _number(event.get("eta_s"))
            if self.step_in_epoch is not None and self.epoch is not None and self.steps_per_epoch:
                self.step = (self.epoch - 1) * self.steps_per_epoch + self.step_in_epoch
        elif kind == "eval":
            self.step = _int(event.get("step"))
            within = _int(event.get("step_in_epoch")) or step_in_epoch(event, self.steps_per_epoch)
            if within is not None:
                self.step_in_epoch = within
            acc = _number(event.get("val_acc"))
            if acc is not None:
                self.evaluations += 1
                self.last_val_acc = acc
                self.best_val_acc = acc if self.best_val_acc is None else max(self.best_val_acc, acc)
        elif kind == "epoch":
            # No step count here: an epoch also ends early (the bar met mid-epoch, max_steps), so
            # the step reached stays what the step and evaluation events said.
            acc = _number(event.get("val_acc"))
            if acc is not None:
                self.last_val_acc = acc
                self.best_val_acc = acc if self.best_val_acc is None else max(self.best_val_acc, acc)
            rate = _number(event.get("images_per_sec"))
            if rate is not None and rate > 0:
                self.images_per_sec = rate

    # -- what the parent shows ------------------------------------------------------------------

    def _position(self) -> list[str]:
        """["epoch 1/3", "step 40/125"], as far as known."""
        parts = []
        if self.epoch is not None:
            parts.append(_epoch(self.epoch, self.epochs))
        if self.step_in_epoch is not None:
            parts.append(_step(self.step_in_epoch, self.steps_per_epoch))
        return parts

    def status_text(self) -> str:
        """One line for the spinner: "epoch 1/3, step 40/125, 310 img/s, val acc 0.71, ETA 0:45"."""
        parts = self._position()
        if self.images_per_sec is not None:
            parts.append(f"{self.images_per_sec:.0f} img/s")
        if self.last_val_acc is not None:
            parts.append(_val_acc(f"{self.last_val_acc:.2f}"))
        eta = format_eta(self.eta_s)
        if eta is not None:
            parts.append(_("ETA {time}").format(time=eta))
        return _list(parts)

    def reached(self) -> str:
        """Where a phase that did not finish had got to, for its error message ("" if nowhere)."""
        where = _list(self._position())
        figures = []
        if self.images_per_sec is not None:
            figures.append(f"{self.images_per_sec:.0f} img/s")
        if self.last_val_acc is not None:
            figures.append(_("val acc last {last}, best {best}").format(last=f"{self.last_val_acc:.3f}",
                                                                        best=f"{self.best_val_acc:.3f}"))
        if figures:
            zh = current_language() == "zh"
            joined = ("；" if zh else "; ").join(figures)
            where = (f"{where}（{joined}）" if zh else f"{where} ({joined})") if where else joined
        return where

    def numbers(self) -> dict[str, Any]:
        """The partial figures, for the numbers of a check that timed out or crashed ({} if none)."""
        if not self.events:
            return {}
        out: dict[str, Any] = {}
        for key, value in (
            ("reached_epoch", self.epoch),
            ("epochs", self.epochs),
            ("reached_step_in_epoch", self.step_in_epoch),
            ("steps_per_epoch", self.steps_per_epoch),
            ("reached_step", self.step),
            ("last_images_per_sec", round(self.images_per_sec, 1) if self.images_per_sec is not None else None),
            ("last_val_acc", round(self.last_val_acc, 4) if self.last_val_acc is not None else None),
            ("best_val_acc", round(self.best_val_acc, 4) if self.best_val_acc is not None else None),
        ):
            if value is not None:
                out[key] = value
        out["evaluations"] = self.evaluations
        if self.updated_at is not None:
            out["seconds_since_progress"] = round(max(0.0, self.clock() - self.updated_at), 1)
        return out


def progress_line(label: str, event: dict[str, Any], state: PhaseProgress | None = None) -> str | None:
    """The line printed without a terminal for an evaluation or an epoch end (None for a step):
    "learning: epoch 1/3 step 62/125 val acc 0.742"."""
    kind = event.get("kind")
    epoch = _int(event.get("epoch"))
    epochs = _int(event.get("epochs")) or (state.epochs if state else None)
    if kind == "eval":
        acc = _number(event.get("val_acc"))
        per_epoch = _int(event.get("steps_per_epoch")) or (state.steps_per_epoch if state else None)
        within = _int(event.get("step_in_epoch")) or step_in_epoch(event, per_epoch)
        parts = []
        if epoch is not None:
            parts.append(_epoch(epoch, epochs))
        if within is not None:
            parts.append(_step(within, per_epoch))
        elif _int(event.get("step")) is not None:
            parts.append(_step(_int(event.get("step")), None))
        parts.append(_val_acc(f"{acc:.3f}" if acc is not None else "?"))
        # TRANSLATORS: {phase}: the phase's title; {figures}: "epoch 1/3 step 62/125 val acc 0.742".
        return _("{phase}: {figures}").format(phase=label, figures=" ".join(parts))
    if kind == "epoch":
        figures = []
        loss = _number(event.get("train_loss"))
        if loss is not None:
            figures.append(_("train loss {loss}").format(loss=f"{loss:.3f}"))
        acc = _number(event.get("val_acc"))
        if acc is not None:
            figures.append(_val_acc(f"{acc:.3f}"))
        rate = _number(event.get("images_per_sec"))
        if rate is not None:
            figures.append(f"{rate:.0f} img/s")
        seconds = _number(event.get("seconds"))
        if seconds is not None:
            figures.append(f"{seconds:.1f} s")
        if epoch is not None:
            head = _("{phase}: epoch {position} ended").format(phase=label, position=_of(epoch, epochs))
        else:
            head = _("{phase}: epoch ended").format(phase=label)
        if not figures:
            return head
        # TRANSLATORS: {head}: "learning: epoch 1/3 ended"; {figures}: "train loss 0.512, val acc 0.742, 310 img/s".
        return _("{head}, {figures}").format(head=head, figures=_list(figures))
    return None


def log_line(phase: str, event: dict[str, Any]) -> str:
    """The worker's stderr line for one progress event (every kind, steps included)."""
    kind = event.get("kind")
    if kind == "step":
        state = PhaseProgress(phase)
        state.update(event)
        return f"{WORKER_LOG_PREFIX} {phase}: {state.status_text()}"
    line = progress_line(phase, event)
    if line is not None:
        return f"{WORKER_LOG_PREFIX} {line}"
    return f"{WORKER_LOG_PREFIX} {phase}: {kind}"
