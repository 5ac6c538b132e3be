"""What a command is doing while it collects, on stderr: a spinner on a terminal, nothing otherwise.

Commands whose stdout is the product (export, diff) use this so a pipe or a file gets only the
result, and a person at a terminal sees which step the seconds go to.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


# Set by -q/--quiet (any command): no spinner and no progress or note lines on stderr. Errors and
# each command's result are still printed.
QUIET = False


def set_quiet(value: bool = True) -> None:
    global QUIET
    QUIET = bool(value)


def note(text: str) -> None:
    """One line of progress or advice on stderr, unless --quiet."""
    if not QUIET:
        print(text, file=sys.stderr, flush=True)


class Status:
    def __init__(self, console_status) -> None:
        self._status = console_status

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)


@contextlib.contextmanager
def status(text: str, enabled: bool = True) -> Iterator[Status]:
    """`with status("Listing packages...") as s: ...; s.update("Collecting facts...")`."""
    if not enabled or QUIET or not sys.stderr.isatty():
        yield Status(None)
        return
    from rich.console import Console

    spinner = Console(stderr=True).status(text)
    spinner.start()
    try:
        yield Status(spinner)
    finally:
        spinner.stop()
