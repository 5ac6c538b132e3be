"""Bad output paths and malformed inputs for export, scaffold, diff and check-data (issue #8).

Each case must give exit 2 and one line on stderr, before any slow work, and leave files alone.
"""

from __future__ import annotations

import os
import stat

import pytest


from envcheck.commands import common
from envcheck.export.snapshot import dump_snapshot
from _cli import run_cli


@pytest.fixture
def no_collect(monkeypatch):
    """Fail loudly if a command starts its slow collection: path checks must come first."""
    def boom(*args, **kwargs):
        raise AssertionError("collection started before the output path was checked")

    monkeypatch.setattr(common, "read_packages", boom)
    monkeypatch.setattr(common, "runtime_facts", boom)


def one_line_error(code, out, err):
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", ""], "-o is empty"),
        (["-o", "{tmp}"], "is a folder; give a file name"),
        (["-o", "{tmp}/missing/reqs.txt"], "does not exist"),
        (["-o", "{tmp}/afile/reqs.txt"], "is a file, not a folder"),
        (["-f", "requirements", "--snapshot-format", "json"], "applies only to -f snapshot"),
        (["--name", "demo"], "use it with -f conda"),
        (["-f", "conda", "--name", "bad/name"], "not a valid conda environment name"),
        (["-f", "conda", "--name", "has space"], "not a valid conda environment name"),
    ],
)
def test_export_refuses_bad_paths_and_flags_before_collecting(tmp_path, capsys, no_collect, args, message):
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    err = one_line_error(*run_cli(["export", *args], capsys))
    assert message in err
    assert (tmp_path / "afile").read_text() == "x"


def test_export_into_an_unwritable_folder(tmp_path, capsys, no_collect, monkeypatch):
    # Root may write anywhere, so the permission answer is simulated for this one folder.
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(locked) else real_access(p, mode, **kw))
    err = one_line_error(*run_cli(["export", "-o", str(locked / "reqs.txt")], capsys))
    assert "permission denied" in err and str(locked) in err


def test_export_where_even_root_cannot_create_files(capsys, monkeypatch):
    # /proc refuses new files for every user: the write itself fails, which must still be one line.
    monkeypatch.setattr(common, "runtime_facts", lambda ctx: {"torch": {}, "nvidia": {}})
    err = one_line_error(*run_cli(["export", "-o", "/proc/envcheck-reqs.txt"], capsys))
    assert "/proc" in err


def test_written_file_follows_the_umask(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(common, "runtime_facts", lambda ctx: {"torch": {}, "nvidia": {}})
    old = os.umask(0o022)
    try:
        code, _, err = run_cli(["export", "-o", str(tmp_path / "r.txt")], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dir", "{tmp}/afile"], "is a file, not a folder"),
        (["--dir", "{tmp}/missing"], "does not exist"),
        (["--dir", "/proc"], "/proc"),
    ],
)
def test_scaffold_refuses_unusable_parent_folders(tmp_path, capsys, args, message):
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    err = one_line_error(*run_cli(["scaffold", "demo", *args], capsys))
    assert message in err


def test_scaffolded_project_is_readable_by_the_group_under_a_shared_umask(tmp_path, capsys):
    old = os.umask(0o002)
    try:
        code, _, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path)], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "demo").stat().st_mode) == 0o775


def _snapshot_text(**changes):
    document = {"kind": "envcheck-snapshot", "schema_version": 1, "facts": {}, "packages": {}, "python": {}}
    document.update(changes)
    return dump_snapshot(document, "yaml")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"packages": "torch==2.1"}, "'packages' is a str, not a mapping"),
        ({"facts": ["torch"]}, "'facts' is a list, not a mapping"),
        ({"python": 3.11}, "'python' is a float, not a mapping"),
        ({"schema_version": "1"}, "schema_version is '1'"),
        ({"schema_version": True}, "schema_version is True"),
    ],
)
def test_diff_malformed_snapshot_is_exit_2_not_a_difference(tmp_path, capsys, changes, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(_snapshot_text(**changes))
    good = tmp_path / "good.yaml"
    good.write_text(_snapshot_text())
    err = one_line_error(*run_cli(["diff", str(good), str(bad)], capsys))
    assert message in err and "upgrade envcheck" not in err


def test_diff_shows_cudnn_as_the_doctor_does(tmp_path, capsys):
    from envcheck.export.snapshot import runtime_view

    document = {"facts": {"torch": {"ok": True, "data": {"version": "2.14.1", "cuda": "13.0", "cudnn": 92400}}}}
    assert runtime_view(document)["cuDNN"] == "9.24.0"


@pytest.mark.parametrize("splits", ["../..", "train,..", "/etc", "train,train", "."])
def test_check_data_splits_stay_inside_the_data_set(tmp_path, capsys, splits):
    (tmp_path / "data" / "train" / "cat").mkdir(parents=True)
    err = one_line_error(*run_cli(["check-data", str(tmp_path / "data"), "--splits", splits], capsys))
    assert "--splits" in err
