"""What a command is doing while it collects, on stderr: a spinner on a terminal, nothing otherwise.

Commands whose stdout is the product (export, diff) use this so a pipe or a file gets only the
result, and a person at a terminal sees which step the seconds go to.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


class Status:
    def __init__(self, console_status) -> None:
        self._status = console_status

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)


@contextlib.contextmanager
def status(text: str, enabled: bool = True) -> Iterator[Status]:
    """`with status("Listing packages...") as s: ...; s.update("Collecting facts...")`."""
    if not enabled or not sys.stderr.isatty():
        yield Status(None)
        return
    from rich.console import Console

    spinner = Console(stderr=True).status(text)
    spinner.start()
    try:
        yield Status(spinner)
    finally:
        spinner.stop()
