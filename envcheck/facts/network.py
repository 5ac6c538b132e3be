"""Where packages and models come from: pip's indexes, conda's channels, the Hugging Face endpoint,
and (unless --offline) whether each answers.

Read straight from the files and variables pip and conda read, without running either (a second
interpreter costs ~0.5 s of CPU next to the torch probe), in their order:

- pip (https://pip.pypa.io/en/stable/topics/configuration/): global files (XDG_CONFIG_DIRS/pip/pip.conf,
  then /etc/pip.conf), user files (~/.pip/pip.conf, then XDG_CONFIG_HOME/pip/pip.conf; not read when
  PIP_CONFIG_FILE names an existing file), base (<base prefix>/pip.conf of a venv), site
  (<prefix>/pip.conf), PIP_CONFIG_FILE; os.devnull there disables every file. A later file wins; an
  `[install]` section beats `[global]` in any file; a PIP_* variable beats every file.
- conda (its SEARCH_PATH in conda/base/constants.py): /etc/conda, /var/lib/conda, $CONDA_ROOT,
  $XDG_CONFIG_HOME/conda, ~/.config/conda, ~/.conda, ~/.condarc, $CONDA_PREFIX, $CONDARC. A later
  file wins for single values and per key of a mapping; lists (channels) are merged, the later
  file's entries first. Then the CONDA_CHANNELS, CONDA_DEFAULT_CHANNELS, CONDA_CHANNEL_ALIAS and
  CONDA_SSL_VERIFY variables, which beat every file (conda/common/configuration.py, EnvRawParameter:
  comma-separated lists, an optional "!important"; maps cannot be set this way).

Credentials never reach the facts: every URL is stored with user:password replaced by ***; only the
probes, inside this module, use the real value.

The reasons stored here (why a file does not parse, why a source did not answer) end up in the
doctor's messages: they are translated where they are produced (issue #11, docs/i18n.md), so the
--json facts carry the run's language in those text fields. The parsers' and the system's own
English (configparser, PyYAML, strerror) is translated only for the messages listed below; any
other keeps its English words.
"""

from __future__ import annotations

import base64
import configparser
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname


from envcheck.core.context import Context
from envcheck.core.redact import redact_text, safe_url
from envcheck.facts import collector
from envcheck.i18n import N_, _
from envcheck.util.reasons import SYSTEM_REASONS

# The pip options that decide where packages come from, and the variables that set them.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "find-links", "proxy", "no-index")
LIST_KEYS = ("extra-index-url", "trusted-host", "find-links")  # pip splits these on whitespace
PIP_VARIABLES = {key: "PIP_" + key.upper().replace("-", "_") for key in PIP_KEYS}
PYPI_SIMPLE = "https://pypi.org/simple"

CONDA_KEYS = ("channels", "default_channels", "custom_channels", "channel_alias", "proxy_servers", "ssl_verify")
CONDA_DEFAULT_CHANNELS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
CONDA_DEFAULT_ALIAS = "https://conda.anaconda.org"

HF_VARIABLES = ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HOME", "TORCH_HOME")

PROBE_BUDGET = 3.0  # seconds of wall time for all probes together
PROBE_TIMEOUT = 2.5  # one request
PIP_DEFAULT_SOURCE = "pip's default"  # the `source` of pip's built-in index (the checks translate it)




def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact_text(text[0] if text else type(exc).__name__)


def system_reason(exc: BaseException) -> str:
    """str(exc)'s first line, the system's reason in the current language where it is a known one:
    "[Errno 111] Connection refused" / "[Errno 111] 连接被拒绝"."""
    strerror = getattr(exc, "strerror", None)
    if isinstance(strerror, str) and strerror in SYSTEM_REASONS:
        text = str(exc)
        if text == strerror:
            return _(strerror)
        errno = getattr(exc, "errno", None)
        if text == f"[Errno {errno}] {strerror}":
            return f"[Errno {errno}] {_(strerror)}"
    return _one_line(exc)


def config_error(exc: Exception) -> str:
    """The first line of a configparser error, as Python words it, in the current language (Python's
    own words when this Python words it differently)."""
    first = _one_line(exc)
    source, line = repr(getattr(exc, "source", None)), getattr(exc, "lineno", None)
    line = f"{line:2d}" if isinstance(line, int) else line
    if isinstance(exc, configparser.DuplicateOptionError):
        message = N_("While reading from {source} [line {line}]: option {option} in section {section} already exists")
        values = dict(source=source, line=line, option=repr(exc.option), section=repr(exc.section))
    elif isinstance(exc, configparser.DuplicateSectionError):
        message = N_("While reading from {source} [line {line}]: section {section} already exists")
        values = dict(source=source, line=line, section=repr(exc.section))
    elif isinstance(exc, configparser.MissingSectionHeaderError):
        message, values = N_("File contains no section headers."), {}
    elif isinstance(exc, configparser.ParsingError):
        message, values = N_("Source contains parsing errors: {source}"), dict(source=source)
    else:
        return first
    if redact_text(message.format(**values)) != first:
        return first
    return redact_text(_(message).format(**values))


# PyYAML's commonest problems (the first line of its error), marked so that they are translated.
YAML_PROBLEMS = {
    N_("mapping values are not allowed here"), N_("while scanning for the next token"),
    N_("while parsing a block mapping"), N_("while parsing a block collection"), N_("while scanning a simple key"),
    N_("while parsing a flow sequence"), N_("while parsing a flow mapping"), N_("while scanning a quoted scalar"),
    N_("while parsing a block node"), N_("while scanning a block scalar"),
}


def yaml_error(exc: Exception) -> str:
    """ "not valid YAML: <PyYAML's first line>", in the current language."""
    first = _one_line(exc)
    return _("not valid YAML: {error}").format(error=_(first) if first in YAML_PROBLEMS else first)


def not_a_mapping(config) -> str:
    return _("not a mapping of settings (the file holds a {type})").format(type=type(config).__name__)


# ---------------------------------------------------------------- pip


def _normalize_key(name: str) -> str:
    """pip's own normalisation: `index_url`, `Index-URL` and `--index-url` are one option."""
    name = name.strip().lower().replace("_", "-")
    return name.removeprefix("--")


def _venv_base_prefix(prefix: Path) -> Path | None:
    """The base interpreter's prefix of a venv (from pyvenv.cfg's `home`), or None."""
    try:
        text = (prefix / "pyvenv.cfg").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "home" and value.strip():
            return Path(value.strip()).parent
    return None


def _target_prefix(ctx: Context) -> Path:
    """sys.prefix of the diagnosed interpreter, from its path: a venv's folder, else the real
    interpreter's prefix."""
    python = Path(ctx.python)
    prefix = python.parent.parent
    if (prefix / "pyvenv.cfg").exists():
        return prefix
    return Path(os.path.realpath(python)).parent.parent


def pip_config_files(ctx: Context) -> list[dict]:
    """Every pip config file in the order pip loads them (later wins): {kind, path, loaded, skipped}.

    `loaded` False with a `skipped` reason: pip does not read it (PIP_CONFIG_FILE exists, or is
    os.devnull)."""
    forced = ctx.env.get("PIP_CONFIG_FILE")
    root = ctx.sys_root
    files: list[tuple[str, Path]] = []
    for folder in (ctx.env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":"):
        if folder:
            files.append(("global", root / folder.lstrip("/") / "pip" / "pip.conf"))
    files.append(("global", root / "etc" / "pip.conf"))
    files.append(("user", ctx.home / ".pip" / "pip.conf"))
    files.append(("user", Path(ctx.env.get("XDG_CONFIG_HOME") or ctx.home / ".config") / "pip" / "pip.conf"))
    prefix = _target_prefix(ctx)
    base = _venv_base_prefix(prefix)
    if base is not None and base != prefix:
        files.append(("base", base / "pip.conf"))
    files.append(("site", prefix / "pip.conf"))
    if forced:
        files.append(("env", Path(forced)))
    forced_exists = bool(forced) and forced != os.devnull and Path(forced).exists()
    result, seen = [], set()
    for kind, path in files:
        if path in seen:
            continue
        seen.add(path)
        entry = {"kind": kind, "path": str(path), "loaded": True, "skipped": None}
        if forced == os.devnull:
            entry.update(loaded=False, skipped="PIP_CONFIG_FILE=/dev/null disables every pip config file")
        elif kind == "user" and forced_exists:
            entry.update(loaded=False, skipped="PIP_CONFIG_FILE names an existing file, so pip skips the user files")
        result.append(entry)
    return result


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, normalized key) -> the line number where that key is set."""
    lines: dict[tuple[str, str], int] = {}
    section = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = re.match(r"^\[([^\]]+)\]", stripped)
        if match:
            section = match.group(1).strip()
            continue
        if section is None or not stripped or stripped[0] in "#;" or line[:1].isspace():
            continue
        key = re.split(r"[=:]", stripped, maxsplit=1)[0]
        lines.setdefault((section, _normalize_key(key)), number)
    return lines


def _read_pip_file(ctx: Context, entry: dict) -> dict[tuple[str, str], dict]:
    """Parse one file like pip (RawConfigParser, strict): (section, key) -> {raw, line}; an error
    sets entry["error"]."""
    entry.update(exists=False, error=None)
    text = ctx.read_text(entry["path"])
    if text is None:
        return {}
    entry["exists"] = True
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=entry["path"])
    except configparser.Error as exc:
        entry["error"] = config_error(exc)
        return {}
    lines = _key_lines(text)
    found = {}
    for section in parser.sections():
        for name, value in parser.items(section):
            key = _normalize_key(name)
            if key in PIP_KEYS:
                found[(section, key)] = {"raw": value.strip(), "line": lines.get((section, key))}
    return found


def _pip_config(ctx: Context) -> tuple[dict, dict[str, list[str]]]:
    """The pip facts, and the effective raw values (credentials kept) for the probes."""
    files = pip_config_files(ctx)
    # Every place that sets a key, in pip's override order: files in load order per section,
    # `global` before `install`, then the variable.
    places: dict[str, list[dict]] = {key: [] for key in PIP_KEYS}
    for section in ("global", "install"):
        for entry in files:
            if not entry["loaded"]:
                continue
            if "exists" not in entry:
                entry["_found"] = _read_pip_file(ctx, entry)
            for (sect, key), item in entry["_found"].items():
                if sect == section and item["raw"]:  # pip ignores empty values
                    places[key].append({"source": entry["path"], "kind": entry["kind"], "section": section,
                                        "line": item["line"], "raw": item["raw"]})
    for entry in files:
        entry.pop("_found", None)
        entry.setdefault("exists", None)  # not read: pip would not read it either
        entry.setdefault("error", None)
    variables = {}
    for key, name in PIP_VARIABLES.items():
        value = ctx.env.get(name)
        if value is None:
            continue
        variables[name] = safe_url(value)
        if value.strip():
            places[key].append({"source": name, "kind": "variable", "section": None, "line": None, "raw": value.strip()})
    settings, raw_effective = {}, {}
    for key, where in places.items():
        if not where:
            continue
        winner = where[-1]
        raw_values = winner["raw"].split() if key in LIST_KEYS else [winner["raw"]]
        raw_effective[key] = raw_values
        settings[key] = {
            "value": safe_url(winner["raw"]),
            "values": [safe_url(v) for v in raw_values],
            "source": winner["source"],
            "kind": winner["kind"],
            "section": winner["section"],
            "line": winner["line"],
            "overridden": [{"source": p["source"], "section": p["section"], "line": p["line"], "value": safe_url(p["raw"])}
                           for p in where[:-1]],
        }
    forced = ctx.env.get("PIP_CONFIG_FILE")
    return {
        "files": files,
        "config_file_variable": forced,
        "disabled": forced == os.devnull,
        "settings": settings,
        "variables": variables,
    }, raw_effective


# ---------------------------------------------------------------- conda


def condarc_paths(ctx: Context) -> list[Path]:
    """The files and condarc.d folders conda reads, lowest priority first (conda's SEARCH_PATH)."""
    env, home, root = ctx.env, ctx.home, ctx.sys_root
    candidates: list[Path] = []

    def folder(base: Path) -> None:
        candidates.extend([base / ".condarc", base / "condarc", base / "condarc.d"])

    folder(root / "etc" / "conda")
    folder(root / "var" / "lib" / "conda")
    if env.get("CONDA_ROOT"):
        folder(Path(env["CONDA_ROOT"]))
    if env.get("XDG_CONFIG_HOME"):
        folder(Path(env["XDG_CONFIG_HOME"]) / "conda")
    folder(home / ".config" / "conda")
    folder(home / ".conda")
    candidates.append(home / ".condarc")
    if env.get("CONDA_PREFIX"):
        folder(Path(env["CONDA_PREFIX"]))
    if env.get("CONDARC"):
        candidates.append(Path(env["CONDARC"]))
    unique: list[Path] = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def _condarc_files(ctx: Context) -> list[Path]:
    files: list[Path] = []
    for path in condarc_paths(ctx):
        if path.name == "condarc.d":
            try:
                files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml")))
            except OSError:
                continue
        else:
            files.append(path)
    return files


def _as_text(value) -> str:
    return value if isinstance(value, str) else str(value)


def read_condarcs(ctx: Context) -> tuple[list[dict], list[tuple[str, dict]]]:
    """Each condarc conda would read: ([{path, exists, error, keys}], [(path, parsed mapping)])."""
    files, parsed = [], []
    for path in _condarc_files(ctx):
        text = ctx.read_text(path)
        if text is None:
            if path.name != "condarc.d":
                files.append({"path": str(path), "exists": False, "error": None, "keys": []})
            continue
        entry = {"path": str(path), "exists": True, "error": None, "keys": [],
                 "system": any(str(path).startswith(str(ctx.sys_root / d)) for d in ("etc", "var"))}
        files.append(entry)
        import yaml  # here: a machine without a condarc never pays its import

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            entry["error"] = yaml_error(exc)
            continue
        if config is None:
            continue
        if not isinstance(config, dict):
            entry["error"] = not_a_mapping(config)
            continue
        entry["keys"] = [str(k) for k in config if k in CONDA_KEYS]
        parsed.append((str(path), config))
    # Only the files that exist are worth listing; the search path is long.
    return [f for f in files if f["exists"]], parsed


def _conda_config(ctx: Context) -> tuple[dict, dict]:
    files, parsed = read_condarcs(ctx)
    lists: dict[str, list[dict]] = {"channels": [], "default_channels": []}
    maps: dict[str, dict[str, dict]] = {"custom_channels": {}, "proxy_servers": {}}
    scalars: dict[str, dict | None] = {"channel_alias": None, "ssl_verify": None}
    raw_lists: dict[str, list[str]] = {"channels": [], "default_channels": []}
    raw_maps: dict[str, dict[str, str]] = {"custom_channels": {}, "proxy_servers": {}}
    raw_alias = None
    for path, config in reversed(parsed):  # the highest-priority file first, for the lists
        for key in lists:
            value = config.get(key)
            items = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
            for item in items:
                if item is None or isinstance(item, (dict, list)):
                    continue
                text = _as_text(item).strip()
                if text and text not in raw_lists[key]:
                    raw_lists[key].append(text)
                    lists[key].append({"value": safe_url(text), "source": path})
    for path, config in parsed:  # later files win, key by key
        for key in maps:
            value = config.get(key)
            if isinstance(value, dict):
                for name, url in value.items():
                    if url in (None, "") or isinstance(url, (dict, list)):
                        continue
                    raw_maps[key][_as_text(name)] = _as_text(url).strip()
                    maps[key][_as_text(name)] = {"value": safe_url(_as_text(url).strip()), "source": path}
        for key in scalars:
            if key in config and config[key] is not None and not isinstance(config[key], (dict, list)):
                value = config[key]
                text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
                scalars[key] = {"value": safe_url(text), "source": path}
                if key == "channel_alias":
                    raw_alias = text
    # CONDA_<KEY> variables beat every file (conda reads them after its SEARCH_PATH); lists are
    # comma-separated and go first. Only flat settings can come from the environment: conda's
    # EnvRawParameter takes primitives and sequences, not maps (custom_channels, proxy_servers).
    env = ctx.env
    for key in lists:
        name = f"CONDA_{key.upper()}"
        if env.get(name, "").strip():
            items = [item.strip() for item in env[name].split("!important")[0].split(",") if item.strip()]
            fresh = [item for item in items if item not in raw_lists[key]]
            raw_lists[key][:0] = fresh
            lists[key][:0] = [{"value": safe_url(item), "source": name} for item in fresh]
    for key in scalars:
        name = f"CONDA_{key.upper()}"
        if env.get(name, "").strip():
            text = env[name].split("!important")[0].strip()
            scalars[key] = {"value": safe_url(text), "source": name}
            if key == "channel_alias":
                raw_alias = text
    data = {"files": files, **lists, **maps, **scalars}
    raw = {**raw_lists, **raw_maps, "channel_alias": raw_alias}
    return data, raw


def conda_channel_urls(raw: dict) -> list[tuple[str, str]]:
    """(channel as written, the URL conda fetches it from) for each configured channel."""
    alias = (raw.get("channel_alias") or CONDA_DEFAULT_ALIAS).rstrip("/")
    custom = raw.get("custom_channels") or {}
    defaults = raw.get("default_channels") or list(CONDA_DEFAULT_CHANNELS)
    result = []
    for channel in raw.get("channels") or []:
        if channel == "defaults":
            result.extend((channel, url.rstrip("/")) for url in defaults)
        elif "://" in channel:
            result.append((channel, channel.rstrip("/")))
        elif channel in custom:
            result.append((channel, f"{custom[channel].rstrip('/')}/{channel}"))
        else:
            result.append((channel, f"{alias}/{channel}"))
    return result


# ---------------------------------------------------------------- probes


def _proxy_for(url: str, env: dict, pip_proxy: str | None = None, conda_proxies: dict | None = None) -> str | None:
    """The proxy the tool would use for `url`, honouring no_proxy: pip's own proxy setting first,
    conda's proxy_servers for conda, else the environment (lower-case names first, all_proxy as
    the fallback, as requests does)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if pip_proxy:
        return pip_proxy
    if conda_proxies:
        for key in (f"{scheme}://{parts.hostname}", scheme, "all"):
            if conda_proxies.get(key):
                return conda_proxies[key]
    proxies = {}
    for name, value in env.items():
        if value and name.lower().endswith("_proxy"):
            kind = name.lower()[: -len("_proxy")]
            if name.islower() or kind not in proxies:
                proxies[kind] = value
    if proxies.get("no") and parts.hostname and urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return None
    return proxies.get(scheme) or proxies.get("all")


def _split_credentials(url: str) -> tuple[str, str | None]:
    """The URL without user:password, and an Authorization header value for them (or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    token = base64.b64encode(f"{parts.username or ''}:{parts.password or ''}".encode()).decode()
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), f"Basic {token}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def no_answer_within(seconds: float) -> str:
    return _("no answer within {seconds} s").format(seconds=f"{seconds:g}")


# urllib's reasons a URL does not parse (the port, an IPv6 address), marked so that they are translated.
URL_PROBLEMS = {N_("Port out of range 0-65535"), N_("Invalid IPv6 URL")}
_PORT_NOT_INT = re.compile(r"^Port could not be cast to integer value as (.*)$")


def url_error(exc: Exception) -> str:
    """urllib's ValueError about a URL, in the current language where it is a known one."""
    text = str(exc)
    if text in URL_PROBLEMS:
        return _(text)
    match = _PORT_NOT_INT.match(text)
    if match:
        return redact_text(_("Port could not be cast to integer value as {value}").format(value=match.group(1)))
    return _one_line(exc)


def probe_url(url: str, proxy: str | None, timeout: float = PROBE_TIMEOUT) -> dict:
    """HEAD the URL (GET where HEAD is refused) through `proxy` or directly: {status, latency_ms, error}."""
    result: dict = {"status": None, "latency_ms": None, "error": None}
    try:
        target, auth = _split_credentials(url)
    except ValueError as exc:
        result["error"] = _("not a valid URL: {error}").format(error=url_error(exc))
        result["not_probed"] = True
        return result
    if urlsplit(target).scheme not in ("http", "https"):
        result["error"] = _("not an http(s) URL: not probed")
        result["not_probed"] = True
        return result
    proxy_host, proxy_auth = None, None
    if proxy:
        proxy_text = proxy if "://" in proxy else "http://" + proxy
        pparts = urlsplit(proxy_text)
        if pparts.scheme.startswith("socks"):
            result["error"] = _("not probed: the proxy is a SOCKS proxy, which this probe cannot use")
            result["not_probed"] = True
            return result
        try:
            proxy_host = f"{pparts.hostname}:{pparts.port or 80}"
        except ValueError as exc:
            result["error"] = _("the proxy URL does not parse: {error}").format(error=url_error(exc))
            return result
        if pparts.username is not None:
            token = base64.b64encode(f"{pparts.username}:{pparts.password or ''}".encode()).decode()
            proxy_auth = f"Basic {token}"
    # The proxy is chosen above; a redirect is an answer (following it would drop the proxy).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    started = time.monotonic()
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(target, method=method, headers={"User-Agent": "envcheck"})
        if auth:
            request.add_header("Authorization", auth)
        if proxy_host:
            request.set_proxy(proxy_host, urlsplit(target).scheme)
            if proxy_auth:
                request.add_header("Proxy-Authorization", proxy_auth)
        try:
            with opener.open(request, timeout=timeout) as response:
                result["status"] = response.status
                if method == "GET":
                    response.read(1024)
        except urllib.error.HTTPError as exc:
            result["status"] = exc.code
            exc.close()
            if exc.code in (405, 501) and method == "HEAD":
                continue
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            result["error"] = system_reason(reason) if isinstance(reason, BaseException) else redact_text(str(reason))
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                result["error"] = no_answer_within(timeout)
        break
    result["latency_ms"] = round((time.monotonic() - started) * 1000)
    return result


class _Probes:
    """Probes started one by one as the sources become known (the pip index before conda's
    condarc is even read), all ending within PROBE_BUDGET seconds of the first."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.started: list[tuple[threading.Thread, dict]] = []

    def start(self, target: dict) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + PROBE_BUDGET
        deadline = self.deadline

        def run() -> None:
            target["probe"] = probe_url(target.pop("_raw"), target.pop("_proxy"),
                                        timeout=min(PROBE_TIMEOUT, max(0.1, deadline - time.monotonic() - 0.2)))

        thread = threading.Thread(target=run, name="envcheck-probe", daemon=True)
        self.started.append((thread, target))
        thread.start()

    def join(self) -> None:
        for thread, _target in self.started:
            thread.join(max(0.0, (self.deadline or 0.0) - time.monotonic()))
        for _thread, target in self.started:
            if target.get("probe") is None:
                target.pop("_raw", None)
                target.pop("_proxy", None)
                target["probe"] = {"status": None, "latency_ms": None, "error": no_answer_within(PROBE_BUDGET)}


def _local_probe(value: str) -> dict:
    """A find-links or index that is a local path or file:// URL: does it exist?"""
    path = value
    if value.lower().startswith("file:"):
        path = url2pathname(urlsplit(value).path)
    exists = Path(path).exists()
    return {"local": True, "status": None, "latency_ms": None,
            "error": None if exists else _("{path} does not exist").format(path=safe_url(path))}


def _probe_root(url: str, tool: str) -> str:
    """What to fetch to see that a source answers: an index's root, a channel's noarch/repodata.json."""
    if tool == "conda":
        return url.rstrip("/") + "/noarch/repodata.json"
    return url.rstrip("/") + "/" if tool == "pip" else url


# ---------------------------------------------------------------- the collector


# The collection started before the doctor's imports (run_early), with the context it ran in.
_early: dict = {}


def _context_key(ctx: Context) -> tuple:
    return (ctx.python, tuple(sorted(ctx.env.items())), str(ctx.home), str(ctx.cwd), ctx.offline, str(ctx.sys_root))


def run_early(python: str) -> None:
    """Collect now, in a thread envcheck/cli.py starts before the doctor's imports: the probes
    spend their time waiting on the network (0.3-0.5 s), which then hides behind the start-up.
    The collector takes the result only when its context is the same (the same interpreter,
    environment, home and folder, online); otherwise it collects again. Online only: not called
    with --offline. Never raises."""
    ctx = Context(python=python)
    done, holder = threading.Event(), {}
    _early.update(key=_context_key(ctx), done=done, holder=holder)
    try:
        holder["data"] = _collect(ctx)
    except BaseException:  # noqa: BLE001 - the collector runs again and reports it then
        pass
    finally:
        done.set()


def _adopt_early(ctx: Context) -> dict | None:
    early = dict(_early)
    _early.clear()
    if not early or early["key"] != _context_key(ctx):
        return None
    early["done"].wait(PROBE_BUDGET + 5)
    return early["holder"].get("data")


@collector("network", "pip indexes and conda channels with the file each comes from, Hugging Face "
           "endpoint variables, and (unless --offline) whether each source answers", timeout=15, network=True)
def collect_network(ctx: Context) -> dict:
    adopted = _adopt_early(ctx)
    return adopted if adopted is not None else _collect(ctx)


def _collect(ctx: Context) -> dict:
    pip, pip_raw = _pip_config(ctx)
    huggingface = {name: (safe_url(ctx.env[name]) if name in ctx.env else None) for name in HF_VARIABLES}

    # The sources each tool would fetch from, with the proxy it would use (raw values stay here).
    # Each remote one is probed as soon as it is known (unless offline): pip's before conda's
    # config is read, so the slowest wait of the report starts as early as it can.
    pip_proxy = (pip_raw.get("proxy") or [None])[0]
    sources: list[dict] = []
    probes = _Probes()

    def add(tool: str, setting: str, raw: str, origin: str, proxy: str | None, written: str | None = None) -> None:
        entry = {"tool": tool, "setting": setting, "url": safe_url(raw), "source": origin, "probe": None, "proxy": None}
        if written is not None and written != raw:
            entry["written"] = safe_url(written)
        scheme = urlsplit(raw).scheme.lower() if "://" in raw else ""
        sources.append(entry)
        if scheme in ("", "file"):  # a local folder: looked at, even offline
            entry["probe"] = _local_probe(raw)
            return
        entry["proxy"] = safe_url(proxy) if proxy else None
        if not ctx.offline:
            entry["_raw"], entry["_proxy"] = _probe_root(raw, tool), proxy
            probes.start(entry)

    settings = pip["settings"]
    no_index = (pip_raw.get("no-index") or ["no"])[0].lower() in ("1", "true", "yes", "on")
    if not no_index:
        if "index-url" in pip_raw:
            add("pip", "index-url", pip_raw["index-url"][0], settings["index-url"]["source"],
                pip_proxy or _proxy_for(pip_raw["index-url"][0], ctx.env))
        else:
            add("pip", "index-url", PYPI_SIMPLE, PIP_DEFAULT_SOURCE, pip_proxy or _proxy_for(PYPI_SIMPLE, ctx.env))
        for url in pip_raw.get("extra-index-url", []):
            add("pip", "extra-index-url", url, settings["extra-index-url"]["source"], pip_proxy or _proxy_for(url, ctx.env))
    for url in pip_raw.get("find-links", []):
        if url:
            add("pip", "find-links", url, settings["find-links"]["source"], pip_proxy or _proxy_for(url, ctx.env))
    conda, conda_raw = _conda_config(ctx)
    channel_source = {item["value"]: item["source"] for item in conda["channels"]}
    for written, url in conda_channel_urls(conda_raw):
        add("conda", "channels", url, channel_source.get(safe_url(written), "condarc"),
            _proxy_for(url, ctx.env, conda_proxies=conda_raw["proxy_servers"]), written=written)
    endpoint = ctx.env.get("HF_ENDPOINT", "").strip()
    if endpoint and "://" in endpoint:
        add("huggingface", "HF_ENDPOINT", endpoint, "HF_ENDPOINT", _proxy_for(endpoint, ctx.env))
    probes.join()
    return {
        "pip": pip,
        "conda": conda,
        "huggingface": huggingface,
        "sources": sources,
        "offline": ctx.offline,
    }
