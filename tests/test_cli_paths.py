"""Every path on the command line is checked before a command starts (envcheck/cli.py
PATH_PARAMETERS, envcheck/util/fsutil.path_text_problem).

Found by fuzzing the commands with random values: a 5,000-character --python, --out or -o reached
the OS, which answered ENAMETOOLONG as a traceback from Path.exists(); a NUL character did the same
as ValueError("embedded null byte") from open().
"""

from __future__ import annotations

import pytest
import typer

from envcheck import cli
from envcheck.util.fsutil import NAME_MAX, PATH_MAX, path_text_problem
from _cli import run_cli

LONG_NAME = "x" * (NAME_MAX + 1)
LONG_PATH = "/".join(["d" * 200] * 21)  # every name fits, the whole does not (> 4095 bytes)

# (command, the arguments before the path, the option as the error names it, the arguments after)
CASES = [
    ("doctor", ["doctor", "--python"], "--python", []),
    ("export", ["export", "--python"], "--python", []),
    ("export", ["export", "-o"], "--output", []),
    ("diff", ["diff"], "A", []),
    ("diff", ["diff", "{t}/a.json"], "B", []),
    ("diff", ["diff", "{t}/a.json", "--python"], "--python", []),
    ("scaffold", ["scaffold", "demo", "--dir"], "--dir", []),
    ("scaffold", ["scaffold", "demo", "--python"], "--python", []),
    ("check-data", ["check-data"], "DIR", []),
    ("smoke-train", ["smoke-train", "--cpu", "--data"], "--data", []),
    ("smoke-train", ["smoke-train", "--cpu", "--out"], "--out", []),
    ("fleet doctor", ["fleet", "doctor", "--hosts-file"], "--hosts-file", []),
    ("fleet doctor", ["fleet", "doctor", "--from"], "--from", []),
    ("fleet doctor", ["fleet", "doctor", "--hosts", "n1", "--save"], "--save", []),
    ("fleet smoke-train", ["fleet", "smoke-train", "--hosts-file"], "--hosts-file", []),
]


def _commands(command, path=()):
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def test_every_path_parameter_is_checked_and_exercised_here():
    """A command that gains a path parameter must list it in PATH_PARAMETERS and get a case here;
    a parameter counts as a path when its name or metavar says file, folder, dir or python."""
    app = typer.main.get_command(cli.build_app())
    exercised = {(command, option) for command, _before, option, _after in CASES}
    found = set()
    for command, click_command in _commands(app):
        for param in click_command.params:
            words = set(f"{param.name} {param.metavar or ''}".lower().replace("_", " ").split())
            looks_like_a_path = bool(words & {"file", "dir", "directory", "path", "python", "out", "output", "data",
                                              "from", "save"})
            if param.name in cli.PATH_PARAMETERS:
                found.add((command, cli.PATH_PARAMETERS[param.name]))
            elif looks_like_a_path and not getattr(param, "is_flag", False) and param.name not in ("json_out",):
                pytest.fail(f"{command} {param.opts}: a path parameter missing from cli.PATH_PARAMETERS")
    assert found == exercised


@pytest.mark.parametrize("value, words", [
    (LONG_NAME, f"a name in that path is {NAME_MAX + 1} bytes long, more than the {NAME_MAX}"),
    ("/tmp/" + LONG_NAME + "/python", f"a name in that path is {NAME_MAX + 1} bytes long"),
    (LONG_PATH, f"more than the {PATH_MAX - 1} the system accepts"),
    ("/tmp/a\0b", "contains a NUL character"),
])
@pytest.mark.parametrize("command, before, option, after", CASES, ids=[f"{c[0]} {c[2]}" for c in CASES])
def test_an_impossible_path_is_one_line_before_any_work(command, before, option, after, value, words, tmp_path,
                                                         monkeypatch, capsys):
    from test_campaign_envcheck import install_stand_ins

    monkeypatch.chdir(tmp_path)
    install_stand_ins(monkeypatch, False)  # listing packages, collecting facts, phases: all fail the test
    (tmp_path / "a.json").write_text("{}")
    args = [a.replace("{t}", str(tmp_path)) for a in before] + [value] + after
    code, out, err = run_cli(args, capsys)
    assert "Traceback" not in out + err
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    if "\0" in value and option in ("A", "B", "DIR"):
        # typer itself refuses a NUL in an argument it converts to a Path, before the command: one
        # line, exit 2, in its own words. (No shell can pass a NUL in argv; this is for in-process use.)
        assert len(lines) == 1 and lines[0].startswith("envcheck: error: ") and "--help`" in lines[0], err
        return
    assert len(lines) == 1 and lines[0].startswith(f"envcheck: error: {option}: ") and words in lines[0], err


def test_the_same_in_chinese(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_cli(["--lang", "zh", "doctor", "--python", LONG_NAME], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：--python：路径中有一段名字长 256 字节"), err
    code, _out, err = run_cli(["--lang", "zh", "smoke-train", "--out", "a\0b"], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：--out：路径中含有 NUL 字符"), err


def test_path_text_problem_accepts_what_a_file_system_takes():
    assert path_text_problem("--out", "runs/" + "é" * 127) is None  # 254 bytes in UTF-8
    assert "256 bytes" in path_text_problem("--out", "runs/" + "é" * 128)  # two bytes each
    assert path_text_problem("--out", "/".join(["d" * 200] * 20)) is None  # 4019 bytes
    assert path_text_problem("--out", "~/runs//a/./b") is None


@pytest.mark.parametrize("force", [False, True])
def test_an_output_that_is_not_a_regular_file_is_refused_even_with_force(force, tmp_path):
    """`export -o /dev/null --force`, run as root, replaced /dev/null with a regular file (found by the
    fuzzing above): the atomic write renames a new file over whatever the path names. A FIFO here
    stands for the device, so a regression replaces only it."""
    import os

    from envcheck.core.errors import UserError
    from envcheck.util.fsutil import atomic_write_text

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(UserError, match="is not a regular file"):
        atomic_write_text(pipe, "torch==2.14.1\n", force=force)
    assert pipe.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("args, words", [
    (["doctor", "--python", "~no-such-user-here/bin/python"], "--python ~no-such-user-here/bin/python: no such file"),
    (["check-data", "~no-such-user-here/data"], "~no-such-user-here/data: no such folder"),
    (["fleet", "doctor", "--hosts-file", "~no-such-user-here/hosts"], "--hosts-file ~no-such-user-here/hosts: no such file"),
    (["fleet", "doctor", "--from", "~no-such-user-here/reports"], "no such folder"),
])
def test_a_tilde_of_an_unknown_user_stays_literal_as_in_the_shell(args, words, tmp_path, monkeypatch, capsys):
    """pathlib's expanduser() raises RuntimeError for ~USER when USER does not exist (found by the
    fuzzing); the shell and os.path.expanduser leave such a path as it is, and so does envcheck."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(args, capsys)
    assert "Traceback" not in out + err and code == 2 and words in err, err
