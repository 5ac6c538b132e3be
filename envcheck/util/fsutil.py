"""File writes that never leave a half-written file and never clobber without being asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from envcheck.core.errors import UserError
from envcheck.i18n import _
from envcheck.util.reasons import reason

# Longest output file name: 255 bytes (NAME_MAX) less what the temporary file's name adds.
MAX_NAME = 240
# What Linux takes (limits.h): 255 bytes per file name on ext4, xfs and btrfs (NAME_MAX), and
# 4096 bytes per path with its terminating NUL (PATH_MAX).
NAME_MAX = 255
PATH_MAX = 4096


def path_text_problem(option: str, text: str) -> str | None:
    """Why the path `text` given to `option` can name no file, as one sentence; None when it can.

    Asked of every path on the command line before a command starts: the OS would otherwise answer
    with ENAMETOOLONG (or Python with "embedded null byte") wherever the path is first used.
    """
    if "\0" in text:
        return _("{option}: the path contains a NUL character, which no file name can hold.").format(option=option)
    size = len(os.fsencode(text))
    if size >= PATH_MAX:
        return _("{option}: the path is {size} bytes long, more than the {most} the system accepts; give a shorter "
                 "path.").format(option=option, size=size, most=PATH_MAX - 1)
    longest = max((len(os.fsencode(part)) for part in text.split("/")), default=0)
    if longest > NAME_MAX:
        return _("{option}: a name in that path is {size} bytes long, more than the {most} a file name may have; give "
                 "a shorter path.").format(option=option, size=longest, most=NAME_MAX)
    return None


def umask_mode(base: int) -> int:
    """`base` (0o666 for files, 0o777 for folders) less the process's umask: the mode open() and
    mkdir() would give, for things tempfile creates private (0600/0700) and then moves into place."""
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def folder_problem(folder: Path, prefix: str) -> str | None:
    """Why files cannot be created in `folder`, as one sentence starting with `prefix`; None when they can.

    Asked before any slow work, so the answer must be the one the write would get: after the
    permission bits, a temporary file is created and removed, which also catches folders no one
    can write to whatever the bits say (/proc, a read-only mount) and paths the OS refuses.
    """
    try:
        if folder.exists() and not folder.is_dir():
            return _("{prefix}: {folder} is a file, not a folder; choose a folder.").format(prefix=prefix, folder=folder)
        if not folder.is_dir():
            return _("{prefix}: the folder {folder} does not exist; create it first or choose another one.").format(
                prefix=prefix, folder=folder)
    except OSError as exc:  # a name too long, a component that is a file...
        return _("{prefix}: {folder} cannot be used ({error}); choose another folder.").format(
            prefix=prefix, folder=folder, error=reason(exc.strerror))
    if not os.access(folder, os.W_OK | os.X_OK):
        return _("{prefix}: you cannot create files in {folder} (permission denied); choose a folder you can write "
                 "to.").format(prefix=prefix, folder=folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=".envcheck-write-test-", dir=folder)
    except OSError as exc:
        return _("{prefix}: cannot create files in {folder} ({error}); choose a folder you can write to.").format(
            prefix=prefix, folder=folder, error=reason(exc.strerror))
    os.close(fd)
    _unlink_quietly(probe)
    return None


def check_output_file(path: str | os.PathLike, force: bool, flag: str = "-o") -> Path:
    """Refuse an output file path before any slow work starts: the same rules atomic_write_text applies."""
    text = os.fspath(path)
    if not text.strip():
        raise UserError(_("{option} is empty; give a file name, e.g. {example}.").format(
            option=flag, example=f"{flag} requirements.txt"))
    target = Path(os.path.expanduser(text))
    try:
        if target.is_dir():
            raise UserError(_("{option} is a folder; give a file name, e.g. {example}.").format(
                option=f"{flag} {target}", example=f"{flag} {target / 'requirements.txt'}"))
        if target.exists() and not target.is_file():
            # A device, pipe or socket (-o /dev/null, -o /dev/stdout): the atomic write would put a
            # regular file in its place (as root, a new /dev/null), so even --force does not.
            raise UserError(_("{option} is not a regular file (a device, pipe or socket); give a file name, or leave "
                              "out {flag} to print to the terminal.").format(option=f"{flag} {target}", flag=flag))
        if (target.exists() or target.is_symlink()) and not force:
            raise UserError(_("{file} already exists; pass {force} to replace it, or choose another file with {option}.")
                            .format(file=target, force="--force", option=flag))
    except OSError as exc:  # ENAMETOOLONG and friends: os.stat refuses the path itself
        raise UserError(_("{option}: this path cannot be used ({error}); choose another file name.").format(
            option=f"{flag} {target}", error=reason(exc.strerror))) from None
    if len(os.fsencode(target.name)) > MAX_NAME:
        # The temporary file written first is named .NAME.XXXXXXXX.tmp: NAME must leave room for that.
        raise UserError(_("{option}: the file name is {length} bytes long; use at most {limit}.").format(
            option=f"{flag} {target}", length=len(os.fsencode(target.name)), limit=MAX_NAME))
    problem = folder_problem(target.parent if str(target.parent) else Path("."), f"{flag} {target}")
    if problem:
        raise UserError(problem)
    return target


def atomic_write_text(path: str | os.PathLike, text: str, force: bool = False, mode: int | None = None,
                      flag: str = "-o") -> Path:
    """Write `text` to `path` via a temporary file in the same directory and a rename.

    Refuses to replace an existing file unless force=True; any path problem is a UserError.
    """
    target = check_output_file(path, force, flag)
    parent = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise UserError(_("cannot write {file} ({error}); choose another path with {option}.").format(
            file=target, error=reason(exc.strerror), option=flag)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; a written file gets the mode any new file gets here.
        os.chmod(tmp, mode if mode is not None else umask_mode(0o666))
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise UserError(_("cannot write {file} ({error}); choose another path with {option}.").format(
            file=target, error=reason(exc.strerror), option=flag)) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return target


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
