"""--help as users read it: flags show no value placeholder; options that take values keep theirs."""

from __future__ import annotations

import re

import pytest

from _cli import run_cli


@pytest.mark.parametrize("command", ["doctor", "smoke-train", "export", "diff", "scaffold", "check-data"])
def test_flags_have_no_value_placeholder(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = run_cli([command, "--help"], capsys)
    assert code == 0
    flag_lines = [line for line in out.splitlines() if re.search(r"--(force|cpu|json|dry-run|verbose|no-verify|offline)\b", line)]
    value_lines = [line for line in out.splitlines() if re.search(r"--(output|gpu|python|dir|seed|format)\b", line)]
    assert flag_lines or value_lines, out
    for line in flag_lines:
        if not re.search(r"--(output|gpu|python|dir|seed|format)\b", line):
            assert "<bool>" not in line, line
    for line in value_lines:
        assert re.search(r"<(str|int|path|float)>", line), line


@pytest.mark.parametrize("args", [["--help"], ["doctor", "--help"], ["smoke-train", "-h"]])
def test_the_help_option_itself_has_no_placeholder(args, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = run_cli(args, capsys)
    assert code == 0
    help_lines = [line for line in out.splitlines() if "--help" in line and "-h" in line]
    assert help_lines, out
    assert all("<bool>" not in line for line in help_lines), help_lines


COMMANDS = ["doctor", "smoke-train", "export", "diff", "scaffold", "check-data", "explain"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_version_and_quiet(command, capsys, monkeypatch):
    from envcheck import __version__
    from envcheck.util import progress

    monkeypatch.setenv("COLUMNS", "160")
    code, out, _ = run_cli([command, "--help"], capsys)
    assert code == 0 and "--quiet" in out and "--version" in out
    code, out, _ = run_cli([command, "--version"], capsys)
    assert (code, out.strip()) == (0, f"envcheck {__version__}")
    monkeypatch.setattr(progress, "QUIET", False)
    run_cli(["explain", "-q", "nvcc"], capsys)
    assert progress.QUIET is True


def test_quiet_silences_notes_but_not_results(capsys, monkeypatch):
    from envcheck.util import progress

    monkeypatch.setattr(progress, "QUIET", False)
    progress.note("collecting packages...")
    assert capsys.readouterr().err == "collecting packages...\n"
    progress.set_quiet(True)
    progress.note("collecting packages...")
    assert capsys.readouterr().err == ""
