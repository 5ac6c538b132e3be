"""User settings: silence checks and change thresholds, from a per-user file or a project's pyproject.toml.

Where settings come from, later ones winning:

1. the defaults below;
2. the per-user file, `~/.config/envcheck/config.toml` (`$XDG_CONFIG_HOME/envcheck/config.toml`,
   the XDG rule), or the file `$ENVCHECK_CONFIG` names;
3. the `[tool.envcheck]` table of the nearest `pyproject.toml` at or above the current folder.

Example (either file; in pyproject.toml under `[tool.envcheck]`):

    ignore = ["proxy.reachable", "terminal"]   # check ids, id prefixes or areas
    disk_warn_gib = 20

Every value records where it came from, so `envcheck doctor -v` can say why a threshold is what it
is. Silenced checks still run: the report lists them, with what they found, and says which file
silenced them; they only stop counting towards the exit status.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcheck.core.errors import UserError
from envcheck.i18n import _, join
from envcheck.util.reasons import os_error

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Setting:
    default: Any
    kind: type
    help: str
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None


SETTINGS: dict[str, Setting] = {
    "ignore": Setting([], list, "checks to silence: ids (proxy.reachable), id prefixes or areas (terminal)"),
    "disk_warn_gib": Setting(5.0, float, "warn when a folder has less free space than this (GiB)", 0, 1e6),
    "disk_fail_gib": Setting(1.0, float, "fail when a folder has less free space than this (GiB)", 0, 1e6),
    "shm_warn_gib": Setting(1.0, float, "warn when /dev/shm is smaller than this (GiB)", 0, 1e6),
    "gpu_hot_c": Setting(85, int, "warn when a GPU is at or above this temperature (C)", 30, 120),
    "gpu_busy_memory_fraction": Setting(0.5, float, "call a GPU busy above this share of its memory in use", 0, 1),
}

DEFAULT_SOURCE = "default"


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=lambda: {name: s.default for name, s in SETTINGS.items()})
    sources: dict[str, str] = field(default_factory=lambda: {name: DEFAULT_SOURCE for name in SETTINGS})

    def to_dict(self) -> dict[str, Any]:
        return {"values": dict(self.values), "sources": dict(self.sources)}

    def changed(self) -> dict[str, str]:
        """Settings not at their default: name -> where they were set."""
        return {name: source for name, source in self.sources.items() if source != DEFAULT_SOURCE}


def user_config_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("ENVCHECK_CONFIG"):
        return Path(os.path.expanduser(env["ENVCHECK_CONFIG"]))
    # The XDG Base Directory rule, which is what platformdirs answers on Linux; envcheck runs only
    # on Linux, so two lines here instead of a dependency.
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "envcheck" / "config.toml"


def project_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _source(source: str) -> str:
    """Where a setting comes from: a file, or the built-in default."""
    return _("default") if source == DEFAULT_SOURCE else source


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(_("{file} is not valid TOML ({error}); fix it or move it away.").format(file=path, error=exc)) from None
    except OSError as exc:
        raise UserError(_("cannot read {file} ({error}); fix its permissions or move it away.").format(
            file=path, error=os_error(exc))) from None


def _validated(name: str, value: Any, where: str) -> Any:
    spec = SETTINGS.get(name)
    if spec is None:
        raise UserError(_("{where}: unknown setting {name}; known settings: {names}.").format(
            where=where, name=repr(name), names=join(SETTINGS)))
    if spec.kind is list:
        if not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            raise UserError(_("{where}: {name} must be a list of check ids or areas, e.g. {example}.").format(
                where=where, name=name, example=f'{name} = ["proxy.reachable"]'))
        return [v.strip() for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UserError(_("{where}: {name} must be a number, e.g. {example}.").format(
            where=where, name=name, example=f"{name} = {spec.default}"))
    if spec.kind is int and not float(value).is_integer():
        raise UserError(_("{where}: {name} must be a whole number, e.g. {example}.").format(
            where=where, name=name, example=f"{name} = {spec.default}"))
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise UserError(_("{where}: {setting} is out of range; use {low} to {high}.").format(
            where=where, setting=f"{name} = {value}", low=f"{spec.low:g}", high=f"{spec.high:g}"))
    return spec.kind(value)


def _apply(settings: Settings, table: Any, where: str) -> None:
    if not isinstance(table, dict):
        raise UserError(_("{where}: expected a table of settings, e.g. {example}.").format(
            where=where, example="disk_warn_gib = 20"))
    for name, value in table.items():
        settings.values[name] = _validated(name, value, where)
        settings.sources[name] = where


def load(cwd: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Defaults, then the user file, then the project's [tool.envcheck]. Bad settings raise UserError."""
    settings = Settings()
    env = os.environ if env is None else env
    user_file = user_config_path(env)
    if user_file.is_file():
        _apply(settings, _read_toml(user_file), str(user_file))
    elif env.get("ENVCHECK_CONFIG"):
        raise UserError(_("ENVCHECK_CONFIG points at {file}, which is not a file; fix or unset it.").format(file=user_file))
    pyproject = project_pyproject(cwd or Path.cwd())
    if pyproject is not None:
        table = _read_toml(pyproject).get("tool", {}).get("envcheck")
        if table is not None:
            _apply(settings, table, f"{pyproject} [tool.envcheck]")
    # Known entries only: a typo in `ignore` would otherwise silence nothing, silently. (The check
    # registry is imported only when there is something to validate: it costs about 0.25 s, and the
    # doctor loads settings before it starts collecting.)
    if settings.values["ignore"]:
        _check_ignore_entries(settings)
    if settings.values["disk_fail_gib"] > settings.values["disk_warn_gib"]:
        raise UserError(_("disk_fail_gib ({fail}) must not exceed disk_warn_gib ({warn}); set by {fail_source} and "
                          "{warn_source}.").format(fail=f"{settings.values['disk_fail_gib']:g}",
                                                   warn=f"{settings.values['disk_warn_gib']:g}",
                                                   fail_source=_source(settings.sources["disk_fail_gib"]),
                                                   warn_source=_source(settings.sources["disk_warn_gib"])))
    return settings


def _check_ignore_entries(settings: Settings) -> None:
    from envcheck.checks import AREAS, all_checks

    ids = all_checks()
    for entry in settings.values["ignore"]:
        if entry not in AREAS and entry not in ids and not any(i.startswith(entry + ".") for i in ids):
            raise UserError(_("{where}: ignore entry {entry} matches no check or area (see {command}).").format(
                where=settings.sources["ignore"], entry=repr(entry), command="`envcheck doctor --list-checks`"))


def value(facts, name: str) -> Any:
    """A setting as the checks see it: from the `settings` fact the doctor adds, else the default."""
    data = facts.data("settings") if hasattr(facts, "data") else {}
    return (data.get("values") or {}).get(name, SETTINGS[name].default)


def silenced_by(facts, check_id: str, area: str) -> str | None:
    """The file whose `ignore` covers this finding (by id, id prefix or area), from the `settings` fact."""
    data = facts.data("settings") if hasattr(facts, "data") else {}
    for entry in (data.get("values") or {}).get("ignore") or []:
        if check_id == entry or check_id.startswith(entry + ".") or area == entry:
            return (data.get("sources") or {}).get("ignore", "settings")
    return None
