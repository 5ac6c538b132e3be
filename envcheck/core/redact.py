"""Keep secrets on the machine: every renderer passes its text or data through here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"

# Variable names whose values are secrets. Matched on word parts so that e.g. KEYBOARD or
# TOKENIZERS_PARALLELISM are not hidden while HF_TOKEN, WANDB_API_KEY, AWS_SECRET_ACCESS_KEY are.
_SECRET_NAME = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PWD|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|KEY|CREDENTIALS?|AUTH|COOKIE)(_|$)",
    re.IGNORECASE,
)
# Names that match the pattern above but are not secrets.
_NOT_SECRET = {"PWD", "OLDPWD", "TOKENIZERS_PARALLELISM", "SSH_AUTH_SOCK", "XAUTHORITY"}

# user:password@ inside any URL-ish string (proxies, index URLs, git remotes).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<cred>[^/@\s:]+(?::[^/@\s]*)?)@")
# A conda channel token: https://conda.anaconda.org/t/<token>/channel, or deeper in a private
# server's path (conda's token-in-URL form). Any `/t/<segment>` inside a URL is hidden: hiding a
# harmless segment costs less than printing a token.
_CONDA_TOKEN = re.compile(r"(?P<pre>://[^\s]*?)/t/[^/\s]+")


def is_secret_name(name: str) -> bool:
    if name.upper() in _NOT_SECRET:
        return False
    return bool(_SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """Replace the user:password part of a URL, and a conda channel token; keep everything else readable."""
    url = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", url)
    return _CONDA_TOKEN.sub(lambda m: f"{m.group('pre')}/t/{REDACTED}", url)


def redact_text(text: str) -> str:
    return redact_url(text)


def redact_env_value(name: str, value: str) -> str:
    if is_secret_name(name):
        return REDACTED if value else value
    return redact_url(value)


def redact_data(value: Any, key: str | None = None) -> Any:
    """Walk a JSON-like structure: secret-looking keys lose their values, URLs lose credentials."""
    if isinstance(value, dict):
        return {k: redact_data(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, key) for v in value]
    if isinstance(value, tuple):
        return [redact_data(v, key) for v in value]
    if isinstance(value, str):
        if key is not None and is_secret_name(key):
            return REDACTED if value else value
        return redact_text(value)
    return value


def hide_credentials_in_url(url: str) -> str:
    """For URLs we parse ourselves: returns the URL with any password replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_url(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # a malformed port ("78x0"): fall back to the pattern-based redaction
        return redact_url(url)
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, f"{REDACTED}@{host}", parts.path, parts.query, parts.fragment))


def safe_url(value: str) -> str:
    """A URL (or URL-ish setting) as collectors store it: credentials and conda tokens hidden, even
    when it does not parse (hide_credentials_in_url raises nothing; a bad port falls back to the
    pattern-based redaction)."""
    if "://" not in value:
        return redact_text(value)
    return redact_url(hide_credentials_in_url(value))
