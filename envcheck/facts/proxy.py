"""Proxies from the environment, pip's config and ~/.condarc, parsed, with a TCP reachability probe.

Credentials never leave this module: every URL is stored through hide_credentials_in_url, and
only a yes/no "has_credentials" says there was a user or password.

The reasons stored here (why a proxy URL is unusable, why a file does not parse, why a proxy does
not accept a connection) end up in the doctor's messages: they are translated where they are
produced (issue #11, docs/i18n.md).
"""

from __future__ import annotations

import configparser
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from envcheck.core.context import Context
from envcheck.core.redact import redact_text, safe_url
from envcheck.facts import collector
from envcheck.facts.network import config_error, no_answer_within, url_error, yaml_error
from envcheck.facts.network import pip_config_files as network_pip_config_files
from envcheck.i18n import _
from envcheck.util.reasons import reason

PROXY_KINDS = ("http", "https", "ftp", "all", "no")
_PROXY_NAME = re.compile(r"^(http|https|ftp|all|no|socks)_proxy$", re.IGNORECASE)
KNOWN_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks4a": 1080, "socks5": 1080, "socks5h": 1080}
CONNECT_TIMEOUT = 1.5


def parse_proxy_url(value: str) -> dict:
    """scheme/host/port of a proxy URL; `error` says why it is unusable, never the password."""
    value = value.strip()
    result = {
        "url": safe_url(value),
        "scheme": None,
        "host": None,
        "port": None,
        "effective_port": None,
        "has_credentials": False,
        "missing_scheme": False,
        "error": None,
    }
    if not value:
        result["error"] = _("empty value")
        return result
    text = value
    if "://" not in value:
        # curl and requests assume http:// here; other tools reject it, so it is recorded.
        result["missing_scheme"] = True
        text = "http://" + value
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        result["error"] = _("cannot parse the URL: {error}").format(error=url_error(exc))
        if "@" in value:
            result["has_credentials"] = True
            result["url"] = _("(hidden: it contains credentials and cannot be parsed)")
        return result
    result["has_credentials"] = parts.username is not None or parts.password is not None
    if result["missing_scheme"] and result["has_credentials"]:
        result["url"] = safe_url(text)
    scheme = (parts.scheme or "").lower()
    result["scheme"] = None if result["missing_scheme"] else scheme
    result["host"] = parts.hostname
    result["port"] = port
    if not parts.hostname:
        result["error"] = _("no host name in the URL")
    elif scheme not in KNOWN_SCHEMES:
        result["error"] = _("unknown scheme {scheme} (use http://, or socks5h:// for a SOCKS proxy)").format(
            scheme=repr(scheme))
    result["effective_port"] = port if port is not None else DEFAULT_PORTS.get(scheme)
    return result


def _environment_proxies(ctx: Context) -> dict:
    variables = {}
    for name, value in sorted(ctx.env.items()):
        if not _PROXY_NAME.match(name):
            continue
        if name.lower() == "no_proxy":
            entries = [e.strip() for e in value.split(",") if e.strip()]
            variables[name] = {"kind": "no", "value": redact_text(value), "entries": entries}
        else:
            variables[name] = {"kind": name.lower()[: -len("_proxy")], **parse_proxy_url(value)}
    return variables


def pip_config_files(ctx: Context) -> list[Path]:
    """pip's configuration files that pip reads, lowest priority first (facts/network.py follows
    pip's "Configuration" docs: global, user, base, site, then PIP_CONFIG_FILE, which overrides them
    all and, when it names an existing file, makes pip skip the user files; PIP_CONFIG_FILE=/dev/null
    disables every file)."""
    return [Path(entry["path"]) for entry in network_pip_config_files(ctx) if entry["loaded"]]


def _pip_config(ctx: Context) -> dict:
    """pip's settings read from its config files directly: the same answer as `pip config list`
    without starting a second interpreter (which cost ~0.5 s of CPU next to the torch probe)."""
    entries: dict[str, str] = {}
    errors = []
    for path in pip_config_files(ctx):
        text = ctx.read_text(path)
        if text is None:
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text, source=str(path))
        except configparser.Error as exc:
            errors.append(f"{path}: {config_error(exc)}")
            continue
        for section in parser.sections():
            for key, value in parser.items(section):
                entries[f"{section}.{key}"] = redact_text(value.strip().strip("'\""))
    # As in pip: an [install] section beats [global].
    proxy_value = entries.get("install.proxy") or entries.get("global.proxy")
    return {
        "entries": entries,
        "proxy": parse_proxy_url(proxy_value) if proxy_value else None,
        "error": "; ".join(errors) or None,
    }


def _condarc(ctx: Context) -> dict:
    path = ctx.home / ".condarc"
    text = ctx.read_text(path)
    if text is None:
        return {"path": str(path), "exists": False, "proxy_servers": {}, "error": None}
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return {"path": str(path), "exists": True, "proxy_servers": {}, "error": yaml_error(exc)}
    servers = config.get("proxy_servers") if isinstance(config, dict) else None
    parsed = {}
    if isinstance(servers, dict):
        parsed = {str(k): parse_proxy_url(str(v)) for k, v in servers.items() if v}
    return {"path": str(path), "exists": True, "proxy_servers": parsed, "error": None}


def probe_tcp(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """None when a TCP connection is accepted, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.timeout:
        return no_answer_within(timeout)
    except OSError as exc:
        if exc.strerror:
            return reason(exc.strerror)
        return str(exc)


def _reachability(ctx: Context, parsed: list[dict]) -> list[dict]:
    targets = []
    for entry in parsed:
        if entry.get("error") or not entry.get("host") or not entry.get("effective_port"):
            continue
        key = (entry["host"], entry["effective_port"])
        if key not in targets:
            targets.append(key)
    if ctx.offline:
        return [{"host": h, "port": p, "status": "skipped (offline)", "error": None} for h, p in targets]
    results = [{"host": h, "port": p, "status": None, "error": None} for h, p in targets]

    def probe(slot: dict) -> None:
        error = probe_tcp(slot["host"], slot["port"])
        slot["status"] = "reachable" if error is None else "unreachable"
        slot["error"] = error

    # In parallel: several dead proxies must not add their timeouts up.
    threads = [threading.Thread(target=probe, args=(slot,), daemon=True) for slot in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CONNECT_TIMEOUT + 1.0)
    for slot in results:
        if slot["status"] is None:
            slot["status"], slot["error"] = "unreachable", _("the connection attempt did not finish")
    return results


@collector("proxy", "Proxy variables, pip and conda proxy settings, and whether each proxy accepts a connection",
           timeout=25, network=True)
def collect_proxy(ctx: Context) -> dict:
    variables = _environment_proxies(ctx)
    pip_env = ctx.env.get("PIP_PROXY")
    pip = _pip_config(ctx)
    conda = _condarc(ctx)
    parsed = [v for v in variables.values() if v["kind"] != "no"]
    pip_env_parsed = parse_proxy_url(pip_env) if pip_env else None
    for extra in [pip_env_parsed, pip.get("proxy"), *conda["proxy_servers"].values()]:
        if extra:
            parsed.append(extra)
    return {
        "variables": variables,
        "pip_env_proxy": pip_env_parsed,
        "pip_config": pip,
        "conda": conda,
        "reachability": _reachability(ctx, parsed),
        "offline": ctx.offline,
    }
