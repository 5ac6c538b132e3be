"""Random command lines, every command, both languages: never a traceback.

Each case picks a command, values for its positional arguments and up to three of its options
from a pool of awkward values (empty, blank, negative, NaN, huge, non-ASCII digits, emoji, NUL,
a 5,000-character name, '..', '~unknown-user', lists where one value is wanted ...). The seed is
fixed, so a failure is reproducible by its id. Slow or outward work (listing packages, collecting
facts, smoke-train's phases, gpu-bench's worker, fleet's ssh/srun) is replaced by stand-ins that
stop the case: a value that gets that far was accepted, which is fine; what is checked is that
nothing before it ends in a traceback, and that a refusal (exit 2) ends with one `envcheck:` line.

This found the ENAMETOOLONG, NUL, ~unknown-user and `-o /dev/null --force` defects fixed in
tests/test_cli_paths.py. All paths in the pool are relative and HOME is the test's folder, so
nothing outside it is ever written (an early version of this test, run as root with absolute
paths, replaced /etc/shadow through `export -o /etc/shadow --force`, which is what --force asks).
"""

from __future__ import annotations

import random

import pytest

from _cli import run_cli
from test_campaign_envcheck import install_stand_ins

SEED = 20261127
CASES_PER_LANGUAGE = 300

AWKWARD = ["", " ", "-1", "0", "1", "2", "0,1", "nan", "inf", "-inf", "1e400", "\u00b2", "\u0661", "a,b",
           "~no-such-user-here", "sub/dir", "a.txt", ".", "..", "x" * 5000, "a\0b", "\u00e9", "\U0001f4a5", "--", "-",
           "=", "a=b", "1.5", "99999999999999999999999", "0x10", " 3 ", "3 ", "plain", "nofolder/x", "cuda:0",
           "all", "None", "true"]
OPTIONS = {
    "doctor": ["--python", "--only", "--probe-timeout", "--json", "--markdown", "-v", "--offline"],
    "export": ["-o", "-f", "--python", "--force", "--name", "--snapshot-format"],
    "diff": ["--python", "--json"],
    "scaffold": ["--dir", "--template", "--force", "--classes", "--python"],
    "smoke-train": ["--gpu", "--gpus", "--cpu", "--data", "--epochs", "--seed", "--image-size", "--batch-size",
                    "--out", "--nproc", "--timeout", "--phase-timeout", "--json"],
    "gpu-bench": ["--gpu", "--gpus", "--cpu", "--timeout", "--json", "--quick"],
    "check-data": ["--max-verify", "--splits", "--json", "--no-verify"],
    "explain": [],
    "fleet doctor": ["--hosts", "--hosts-file", "--from", "--partition", "--nodes", "--parallel", "--timeout",
                     "--save", "--json"],
    "fleet smoke-train": ["--hosts", "--nodes", "--partition", "--timeout", "--port", "--size-mb"],
}
FLAGS = {"--json", "--markdown", "-v", "--offline", "--force", "--cpu", "--quick", "--no-verify"}
POSITIONAL = {"diff": 2, "scaffold": 1, "check-data": 1, "explain": 1}


def _cases():
    rng = random.Random(SEED)
    for number in range(CASES_PER_LANGUAGE):
        command = rng.choice(sorted(OPTIONS))
        args = command.split() + [rng.choice(AWKWARD) for _ in range(POSITIONAL.get(command, 0))]
        for option in rng.sample(OPTIONS[command], k=min(len(OPTIONS[command]), rng.randint(0, 3))):
            args += [option] if option in FLAGS else [option, rng.choice(AWKWARD)]
        yield pytest.param(args, id=f"{number}-{command.replace(' ', '-')}")


class _Stop(Exception):
    """Raised by a stand-in: the command accepted its input and went on to the slow work."""


def _stop(*args, **kwargs):
    raise _Stop


@pytest.mark.parametrize("args", list(_cases()))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_command_line_ends_in_a_traceback(lang, args, tmp_path, monkeypatch, capsys):
    work = tmp_path / "home" / "work"  # '..' and '../..' stay inside tmp_path
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    install_stand_ins(monkeypatch, True)
    monkeypatch.setattr("envcheck.bench.run.run_worker", _stop)
    monkeypatch.setattr("envcheck.fleet.launch.run_parallel", _stop)
    monkeypatch.setattr("envcheck.fleet.launch.run_one", _stop)
    try:
        code, out, err = run_cli(["--lang", lang, *args], capsys)
    except (_Stop, AssertionError) as exc:
        # The campaign's stand-ins raise AssertionError "... started before the input was refused".
        if isinstance(exc, AssertionError) and "before the input was refused" not in str(exc):
            raise
        return
    text = out + err
    if "before the input was refused" in text or "_Stop" in text:
        return
    assert "Traceback" not in text, text[-3000:]
    if code == 2:
        lines = err.strip().splitlines()
        assert lines and lines[-1].startswith("envcheck: "), err[-3000:]
