"""Errors a user can cause. cli.main() prints them as one line and exits non-zero: no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a state the user must fix. The message says what is wrong and what to do."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def error_line(message: str) -> str:
    """The one line an error is printed as: `envcheck: error: MESSAGE` (the prefix in the current
    language; the message is translated where it is raised)."""
    from envcheck.i18n import _

    return _("envcheck: error: {message}").format(message=message)


def interrupted_line() -> str:
    from envcheck.i18n import _

    return _("envcheck: interrupted")
