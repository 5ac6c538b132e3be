"""Errors a user can cause. cli.main() prints them as one line and exits non-zero: no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a state the user must fix. The message says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
