"""File writes that never leave a half-written file and never clobber without being asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from envcheck.errors import UserError


def atomic_write_text(path: str | os.PathLike, text: str, force: bool = False, mode: int | None = None) -> Path:
    """Write `text` to `path` via a temporary file in the same directory and a rename.

    Refuses to replace an existing file unless force=True.
    """
    target = Path(path)
    if target.exists() and not force:
        raise UserError(f"{target} already exists; pass --force to replace it, or choose another file with -o.")
    if target.exists() and target.is_dir():
        raise UserError(f"{target} is a directory; give a file name with -o.")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"the folder {parent} does not exist; create it first or choose another path.")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target
