"""The data that flows between collectors, checks and renderers.

Collectors return plain dicts (JSON-serialisable). The runner wraps each in a FactResult so a
collector that raised or timed out is recorded as data, never as a crash. Checks read facts and
return Findings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def rank(self) -> int:
        # Used to sort and to pick the worst status of an area.
        return {"skip": 0, "ok": 1, "warn": 2, "fail": 3}[self.value]


@dataclass
class FactResult:
    """What one collector produced: its data, or why it has none."""

    name: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> "FactResult":
        return cls(
            name=name,
            ok=bool(raw.get("ok", False)),
            data=dict(raw.get("data") or {}),
            error=raw.get("error"),
            duration_s=float(raw.get("duration_s", 0.0)),
        )


class Facts(dict):
    """name -> FactResult, with helpers that make checks short and safe."""

    def data(self, name: str) -> dict[str, Any]:
        """The collector's data, or {} when it failed or did not run."""
        result = self.get(name)
        if result is None or not result.ok:
            return {}
        return result.data

    def error(self, name: str) -> str | None:
        result = self.get(name)
        if result is None:
            return "not collected"
        return result.error

    def to_dict(self) -> dict[str, Any]:
        return {name: result.to_dict() for name, result in sorted(self.items())}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Facts":
        facts = cls()
        for name, value in raw.items():
            facts[name] = FactResult.from_dict(name, value)
        return facts

    @classmethod
    def of(cls, **data: dict[str, Any]) -> "Facts":
        """Build facts from plain dicts (every collector succeeded); handy in tests."""
        facts = cls()
        for name, value in data.items():
            facts[name] = FactResult(name=name, ok=True, data=value)
        return facts


# Who can carry out a finding's fix (Finding.who).
WHO = ("you", "admin", None)
WHO_TEXT = {"you": "no admin needed", "admin": "needs the machine's admin"}


@dataclass
class Finding:
    """One line of the doctor's report."""

    id: str
    status: Status
    summary: str
    fix: str | None = None
    details: list[str] = field(default_factory=list)
    area: str = ""
    # The settings file whose `ignore` silences this finding: it is still reported, but does not
    # count towards the exit status or the summary's warnings and failures.
    silenced_by: str | None = None
    # Who can carry out `fix`: "you" (the person at the keyboard, no root needed: an install in
    # the environment, an export) or "admin" (the machine's administrator: the driver, kernel
    # modules, a reboot). None when no fix is given or it is not said. When a fix offers both, it
    # names the first thing to try; the admin's part says so in its own words.
    who: str | None = None

    def by(self, who: str | None) -> "Finding":
        """Set who can carry out the fix and return the finding: `return fail(...).by("admin")`."""
        if who not in WHO:
            raise ValueError(f"who must be one of {sorted(w for w in WHO if w)} or None, got {who!r}")
        self.who = who
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
            "details": list(self.details),
            "silenced_by": self.silenced_by,
            "who": self.who,
        }

    @property
    def counts(self) -> bool:
        """Whether it counts towards the verdict (not silenced by a setting)."""
        return self.silenced_by is None
