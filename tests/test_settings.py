"""Settings from the per-user file and [tool.envcheck]: precedence, one-line refusals, silencing
that lists instead of hiding, thresholds the checks really use."""

from __future__ import annotations

import json

import pytest

from envcheck.core import settings
from envcheck.checks import all_checks, run_checks
from envcheck.core.errors import UserError
from envcheck.core.model import FactResult, Facts, Status

GIB = 1024**3


@pytest.fixture
def world(tmp_path):
    home = tmp_path / "home"
    (home / ".config" / "envcheck").mkdir(parents=True)
    project = tmp_path / "proj" / "src"
    project.mkdir(parents=True)
    return {"home": home, "user_file": home / ".config" / "envcheck" / "config.toml",
            "pyproject": tmp_path / "proj" / "pyproject.toml", "cwd": project,
            "env": {"HOME": str(home)}}


def load(world):
    return settings.load(cwd=world["cwd"], env=world["env"])


def test_defaults_when_there_is_no_file(world):
    s = load(world)
    assert s.values["disk_warn_gib"] == 5.0 and s.values["ignore"] == []
    assert s.changed() == {}


def test_project_table_wins_over_the_user_file_and_sources_are_kept(world):
    world["user_file"].write_text('disk_warn_gib = 10\nignore = ["terminal"]\n')
    world["pyproject"].write_text('[project]\nname = "x"\n\n[tool.envcheck]\ndisk_warn_gib = 20\n')
    s = load(world)
    assert s.values["disk_warn_gib"] == 20.0
    assert s.sources["disk_warn_gib"] == f"{world['pyproject']} [tool.envcheck]"
    assert s.values["ignore"] == ["terminal"] and s.sources["ignore"] == str(world["user_file"])


def test_xdg_config_home_and_envcheck_config(world, tmp_path):
    other = tmp_path / "xdg" / "envcheck"
    other.mkdir(parents=True)
    (other / "config.toml").write_text("gpu_hot_c = 80\n")
    world["env"]["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert load(world).values["gpu_hot_c"] == 80
    named = tmp_path / "named.toml"
    named.write_text("gpu_hot_c = 75\n")
    world["env"]["ENVCHECK_CONFIG"] = str(named)
    assert load(world).values["gpu_hot_c"] == 75


@pytest.mark.parametrize(("text", "message"), [
    ("disk_warn_gib = ", "is not valid TOML"),
    ("disk_warn = 3", "unknown setting 'disk_warn'"),
    ('disk_warn_gib = "lots"', "disk_warn_gib must be a number"),
    ("disk_warn_gib = true", "disk_warn_gib must be a number"),
    ("disk_warn_gib = nan", "disk_warn_gib must be a number"),
    ("gpu_hot_c = 84.5", "whole number"),
    ("gpu_hot_c = 500", "out of range"),
    ("gpu_busy_memory_fraction = -0.1", "out of range"),
    ('ignore = "terminal"', "must be a list"),
    ('ignore = ["proxy.reachabel"]', "matches no check or area"),
    ("disk_fail_gib = 9", "must not exceed disk_warn_gib"),
])
def test_bad_settings_are_one_clear_error(world, text, message):
    world["user_file"].write_text(text + "\n")
    with pytest.raises(UserError, match=message) as caught:
        load(world)
    assert str(world["user_file"]) in str(caught.value) or "disk_fail_gib" in text
    assert "\n" not in str(caught.value)


def test_envcheck_config_naming_a_missing_file_is_refused(world, tmp_path):
    world["env"]["ENVCHECK_CONFIG"] = str(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="not a file"):
        load(world)


def _facts(free_bytes: int, user_settings: settings.Settings | None = None) -> Facts:
    facts = Facts.of(system={"disks": [{"label": "cwd", "path": "/data", "free_bytes": free_bytes, "total_bytes": 100 * GIB}]})
    if user_settings is not None:
        facts["settings"] = FactResult("settings", True, data=user_settings.to_dict())
    return facts


def test_thresholds_reach_the_checks(world):
    check = [all_checks()["system.disk_space"]]
    assert run_checks(check, _facts(8 * GIB))[0].status is Status.OK  # default: warn below 5 GiB
    world["user_file"].write_text("disk_warn_gib = 10\n")
    finding = run_checks(check, _facts(8 * GIB, load(world)))[0]
    assert finding.status is Status.WARN and "warn below 10.0 GiB" in finding.details[0]


def test_silenced_findings_are_listed_not_hidden(world):
    world["user_file"].write_text('ignore = ["system"]\ndisk_warn_gib = 10\ndisk_fail_gib = 9\n')
    finding = run_checks([all_checks()["system.disk_space"]], _facts(int(8.5 * GIB), load(world)))[0]
    assert finding.status is Status.FAIL  # what the check found is kept
    assert finding.silenced_by == str(world["user_file"]) and not finding.counts
    assert finding.to_dict()["silenced_by"] == str(world["user_file"])


def test_doctor_with_a_silenced_failure_exits_0_and_says_so(world, capsys, monkeypatch):
    from _cli import run_cli
    from envcheck.commands import common

    world["user_file"].write_text('ignore = ["system.disk_space"]\ndisk_warn_gib = 1000000\ndisk_fail_gib = 1000000\n')
    monkeypatch.setenv("ENVCHECK_CONFIG", str(world["user_file"]))
    monkeypatch.chdir(world["cwd"])
    code, out, err = run_cli(["doctor", "--only", "system", "--json"], capsys)
    report = json.loads(out)
    silenced = [c for c in report["checks"] if c["silenced_by"]]
    assert silenced and all(c["id"] == "system.disk_space" and c["status"] == "fail" for c in silenced)
    assert report["summary"]["silenced"] == len(silenced) and report["summary"]["fail"] == 0
    assert report["facts"]["settings"]["data"]["sources"]["ignore"] == str(world["user_file"])
    assert code == 0, err
    code, out, _ = run_cli(["doctor", "--only", "system"], capsys)
    assert "silenced by" in out and code == 0
    monkeypatch.setattr(common, "gather", lambda *a, **k: pytest.fail("collection started before the settings were checked"))
    world["user_file"].write_text("gpu_hot_c = hot\n")
    code, out, err = run_cli(["doctor"], capsys)
    assert code == 2 and "not valid TOML" in err and len(err.strip().splitlines()) == 1
