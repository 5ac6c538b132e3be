"""The system's own reasons (strerror, getaddrinfo), translated where they are known (issue #11).

A reason such as "Connection refused" comes from the C library in English. The common ones are
marked here, so `reason("Connection refused")` gives "连接被拒绝" in a Chinese run and the same text
in English; any other reason is returned as the system gave it.
"""

from __future__ import annotations

from envcheck.i18n import N_, _

SYSTEM_REASONS = frozenset({
    N_("Connection refused"), N_("Connection reset by peer"), N_("Connection timed out"), N_("No route to host"),
    N_("Network is unreachable"), N_("Host is unreachable"), N_("Name or service not known"),
    N_("Temporary failure in name resolution"), N_("No address associated with hostname"),
    N_("Permission denied"), N_("Operation not permitted"), N_("No such file or directory"), N_("Not a directory"), N_("Is a directory"),
    N_("File name too long"), N_("Read-only file system"), N_("No space left on device"),
    N_("Too many levels of symbolic links"), N_("Disk quota exceeded"),
})


def reason(text: str | None) -> str | None:
    """text in the current language when it is one of the system's known reasons, else text."""
    return _(text) if text in SYSTEM_REASONS else text


def os_error(exc: BaseException) -> str:
    """An OSError's strerror (else its str()), translated where known."""
    return reason(getattr(exc, "strerror", None) or str(exc)) or ""
