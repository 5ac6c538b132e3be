"""Run `envcheck ARGS` in-process the way the console script does (tests only)."""

from __future__ import annotations

import sys


def run_cli(args, capsys):
    """Return (exit code, stdout, stderr) of `envcheck ARGS`."""
    from envcheck import cli

    old = sys.argv
    sys.argv = ["envcheck", *args]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err
