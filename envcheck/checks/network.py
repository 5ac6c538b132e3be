"""Network checks: where pip, conda and huggingface_hub download from, the configuration mistakes
that make those downloads fail, and whether each source answers.

Every URL shown comes from the `network` collector, which already replaced credentials with ***.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.core.model import Facts, Finding
from envcheck.knowledge import indexes

HF_TRUE = ("1", "ON", "YES", "TRUE")  # huggingface_hub's own truthy values
SYSTEM_KINDS = ("global", "base")  # pip config files only an admin can usually edit


def _where(setting: dict) -> str:
    """ "~/.config/pip/pip.conf [global], line 3" or "PIP_INDEX_URL"."""
    if setting.get("kind") == "variable" or not setting.get("section"):
        return str(setting.get("source"))
    text = f"{setting['source']} [{setting['section']}]"
    return text + (f", line {setting['line']}" if setting.get("line") else "")


def _builds_note(url: str) -> str:
    built = indexes.builds_from(url)
    if built == indexes.PYPI_DEFAULT:
        return "PyPI or a PyPI mirror: torch from it is PyPI's default Linux build"
    if built:
        return f"a PyTorch index: torch from it is the {built} build"
    return ""


def _is_local(host: str | None) -> bool:
    """pip's secure origins besides https: localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address in ipaddress.ip_network("127.0.0.0/8") or address == ipaddress.ip_address("::1")


def _trusted(host: str, port: int | None, trusted: list[str]) -> bool:
    """pip's rule: `trusted-host HOST` trusts every port of HOST; `HOST:PORT` only that port."""
    for entry in trusted:
        text = entry if "://" in entry else "//" + entry
        try:
            parts = urlsplit(text)
            t_host, t_port = parts.hostname, parts.port
        except ValueError:
            continue
        if t_host and t_host.lower() == host.lower() and (t_port is None or t_port == port):
            return True
    return False


# ---------------------------------------------------------------- summary


@check("network.summary", "network", "Where pip, conda and huggingface_hub download from, and which setting says so",
       facts=("network",))
def summary(facts: Facts) -> Finding | None:
    """Every pip index (`index-url`, `extra-index-url`, `find-links`, `trusted-host`, `no-index`), conda
    channel and Hugging Face variable (`HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_HOME`, `TORCH_HOME`), each
    with the file and line or the variable it comes from, following pip's and conda's own order of
    config files (OK). For a pip index it also says which torch build it gives: PyPI and its
    mirrors give PyPI's default Linux build, download.pytorch.org/whl/<variant> and its mirrors that
    variant (envcheck/knowledge/package_indexes.yaml); other hosts are not guessed.

    Why: pip reads up to six config files and `PIP_*` variables, conda up to a dozen condarc files;
    when a download goes to the wrong place, the first question is which setting sent it there.

    Fix: –.
    """
    data = facts.data("network")
    if not data:
        return skip(f"package sources could not be collected: {facts.error('network') or 'unknown'}")
    pip = data.get("pip") or {}
    settings = pip.get("settings") or {}
    details = []
    if pip.get("disabled"):
        details.append("pip: PIP_CONFIG_FILE=/dev/null: pip reads no config file")
    index = settings.get("index-url")
    if index:
        note = _builds_note(index["value"])
        details.append(f"pip index-url: {index['value']} (from {_where(index)})" + (f"; {note}" if note else ""))
        for old in index.get("overridden") or []:
            details.append(f"  overrides index-url {old['value']} from {_where({**old, 'kind': 'file' if old.get('section') else 'variable'})}")
    else:
        details.append("pip index-url: https://pypi.org/simple (pip's default; no setting)")
    for key in ("extra-index-url", "find-links"):
        setting = settings.get(key)
        for value in (setting or {}).get("values") or []:
            note = _builds_note(value) if key == "extra-index-url" else ""
            details.append(f"pip {key}: {value} (from {_where(setting)})" + (f"; {note}" if note else ""))
    for key in ("trusted-host", "no-index"):
        if settings.get(key):
            details.append(f"pip {key}: {settings[key]['value']} (from {_where(settings[key])})")
    conda = data.get("conda") or {}
    for item in conda.get("channels") or []:
        details.append(f"conda channel: {item['value']} (from {item['source']})")
    for item in conda.get("default_channels") or []:
        details.append(f"conda default_channels: {item['value']} (from {item['source']})")
    for name, item in (conda.get("custom_channels") or {}).items():
        details.append(f"conda custom_channels.{name}: {item['value']} (from {item['source']})")
    for key in ("channel_alias", "ssl_verify"):
        if conda.get(key):
            details.append(f"conda {key}: {conda[key]['value']} (from {conda[key]['source']})")
    for name, value in (data.get("huggingface") or {}).items():
        if value is not None:
            details.append(f"{name}={value}")
    text = f"pip installs from {index['value'] if index else 'https://pypi.org/simple (default)'}"
    extra = len((settings.get("extra-index-url") or {}).get("values") or [])
    if extra:
        text += f" plus {extra} extra index{'es' if extra != 1 else ''}"
    channels = [item["value"] for item in conda.get("channels") or []]
    if channels:
        text += f"; conda channels: {', '.join(channels)}"
    endpoint = (data.get("huggingface") or {}).get("HF_ENDPOINT")
    if endpoint:
        text += f"; HF_ENDPOINT={endpoint}"
    return ok(text, details=details)


# ---------------------------------------------------------------- config files that do not load


@check("network.config_files", "network", "pip config files and condarc files parse", facts=("network",))
def config_files(facts: Facts) -> Finding | list[Finding] | None:
    """A pip config file pip would read that is not valid INI (a duplicate key, a line outside any
    `[section]`), or a condarc file that is not valid YAML or not a mapping (fail).

    Why: pip stops every command with "Configuration file could not be loaded", and conda stops
    with a ConfigurationLoadError: nothing installs until the file is fixed.

    Fix: Edit the file at the place the error names (for pip: one `key = value` per key and
    section, every key under a `[global]` or `[install]` header), or move it away.
    """
    data = facts.data("network")
    if not data:
        return None
    findings = []
    pip_files = [f for f in (data.get("pip") or {}).get("files") or [] if f.get("exists")]
    for entry in pip_files:
        if entry.get("error"):
            finding = fail(
                f"pip cannot read {entry['path']}: {entry['error']}; every pip command stops with "
                "'Configuration file could not be loaded'",
                fix=f"Fix the line the error names in {entry['path']} (each key once per section, under a "
                    f"[global] or [install] header), or move the file away: mv {entry['path']} {entry['path']}.broken",
            )
            findings.append(finding.by("admin" if entry.get("kind") in SYSTEM_KINDS else "you"))
    conda_files = (data.get("conda") or {}).get("files") or []
    for entry in conda_files:
        if entry.get("error"):
            system = bool(entry.get("system"))
            finding = fail(
                f"conda cannot read {entry['path']}: {entry['error']}; conda stops with a ConfigurationLoadError",
                fix=f"Fix the YAML in {entry['path']} (e.g. `channels:` followed by `  - conda-forge` lines), "
                    f"or move it away: mv {entry['path']} {entry['path']}.broken",
            )
            findings.append(finding.by("admin" if system else "you"))
    if findings:
        return findings
    read = [f["path"] for f in pip_files] + [f["path"] for f in conda_files]
    if not read:
        return ok("no pip config or condarc file present (pip and conda use their defaults)")
    return ok(f"{len(read)} pip/conda config file{'s' if len(read) != 1 else ''} parse: {', '.join(read)}")


# ---------------------------------------------------------------- http:// index without trusted-host


def _trusted_host_fix(host: str, origin: dict, trusted: dict | None) -> tuple[str, str]:
    """The exact change that trusts `host`, and who can make it."""
    if trusted:
        current = " ".join(trusted.get("values") or [])
        if trusted.get("kind") == "variable":
            return f'export PIP_TRUSTED_HOST="{current} {host}"', "you"
        where = trusted["source"]
        line = f" (line {trusted['line']})" if trusted.get("line") else ""
        text = (f"In {where}, section [{trusted['section']}]{line}, change\n  trusted-host = {current}\nto\n"
                f"  trusted-host = {current} {host}\n(one trusted-host line per section: a second one makes the file "
                "unreadable)")
        return text, "admin" if trusted.get("kind") in SYSTEM_KINDS else "you"
    if origin.get("kind") == "variable":
        return f"export PIP_TRUSTED_HOST={host}", "you"
    return (f"Add this line under [{origin['section']}] in {origin['source']}:\n  trusted-host = {host}",
            "admin" if origin.get("kind") in SYSTEM_KINDS else "you")


@check("network.trusted_host", "network", "An http:// pip index has a matching trusted-host", facts=("network",))
def trusted_host(facts: Facts) -> Finding | list[Finding] | None:
    """An `http://` `index-url`, `extra-index-url` or `find-links` (from a pip config file or a `PIP_*`
    variable) whose host is not in the `trusted-host` pip uses (warn). localhost, 127.0.0.0/8 and
    ::1 need none, as in pip.

    Why: pip skips such an index with "The repository located at HOST is not a trusted or secure
    host and is being ignored", and then reports "Could not find a version that satisfies the
    requirement": the mirror looks empty although it answers.

    Fix: Use the mirror's `https://` URL, or add `trusted-host = HOST` in the section and file the
    finding names (or extend the existing `trusted-host` line there; a second one makes the file
    unreadable).
    """
    data = facts.data("network")
    settings = ((data.get("pip") or {}).get("settings")) or {}
    trusted_setting = settings.get("trusted-host")
    trusted = (trusted_setting or {}).get("values") or []
    checked, findings = [], []
    for key in ("index-url", "extra-index-url", "find-links"):
        setting = settings.get(key)
        for url in (setting or {}).get("values") or []:
            try:
                parts = urlsplit(url)
                host, port = parts.hostname, parts.port
            except ValueError:
                continue
            if parts.scheme != "http" or not host:
                continue
            checked.append(url)
            if _is_local(host) or _trusted(host, port, trusted):
                continue
            fix, who = _trusted_host_fix(host if port is None else f"{host}:{port}", setting, trusted_setting)
            findings.append(warn(
                f"pip {key} {url} (from {_where(setting)}) is plain http:// and {host} is not a trusted-host: pip "
                f"ignores it ('not a trusted or secure host') and then finds no packages there",
                fix=f"{fix}\nor, better, if the mirror serves HTTPS: change http:// to https:// in that URL",
            ).by(who))
    if findings:
        return findings
    if checked:
        return ok(f"every http:// pip index is a trusted-host: {', '.join(checked)}")
    return None


# ---------------------------------------------------------------- Hugging Face


@check("network.hf_endpoint", "network", "HF_ENDPOINT is a full URL; HF_HUB_OFFLINE noted", facts=("network",))
def hf_endpoint(facts: Facts) -> Finding | list[Finding] | None:
    """`HF_ENDPOINT` without a scheme, e.g. `hf-mirror.com` (fail); `HF_ENDPOINT` with `http(s)://`
    (OK); `HF_HUB_OFFLINE` set to 1/ON/YES/TRUE (OK, noted: huggingface_hub downloads nothing).

    Why: huggingface_hub builds download URLs as `$HF_ENDPOINT/<repo>/resolve/...`; without a scheme
    the HTTP client rejects them ("No scheme supplied" / "missing an 'http://' or 'https://'
    protocol"). With `HF_HUB_OFFLINE=1` every model not already in the cache fails to load, by
    design.

    Fix: `export HF_ENDPOINT=https://hf-mirror.com` (the scheme included); `unset HF_HUB_OFFLINE` to
    allow downloads again.
    """
    hf = facts.data("network").get("huggingface") or {}
    findings = []
    endpoint = (hf.get("HF_ENDPOINT") or "").strip()
    if endpoint:
        if "://" not in endpoint:
            findings.append(fail(
                f"HF_ENDPOINT={endpoint} has no scheme: huggingface_hub builds URLs like {endpoint}/<repo>/resolve/... "
                "and every model download fails ('No scheme supplied')",
                fix=f"export HF_ENDPOINT=https://{endpoint.rstrip('/')}",
            ).by("you"))
        elif urlsplit(endpoint).scheme not in ("http", "https"):
            findings.append(fail(
                f"HF_ENDPOINT={endpoint} is not an http(s) URL: model downloads fail",
                fix="export HF_ENDPOINT=https://hf-mirror.com   (or unset HF_ENDPOINT for huggingface.co)",
            ).by("you"))
        else:
            findings.append(ok(f"HF_ENDPOINT={endpoint}: huggingface_hub downloads models from there"))
    offline = (hf.get("HF_HUB_OFFLINE") or "").strip()
    if offline.upper() in HF_TRUE:
        findings.append(ok(
            f"HF_HUB_OFFLINE={offline}: huggingface_hub downloads nothing, by design; a model not already in the "
            "cache fails to load",
            fix="unset HF_HUB_OFFLINE   (if downloads should work)",
        ))
    return findings or None


# ---------------------------------------------------------------- reachability


def _failure_fix(entry: dict, probe: dict) -> str:
    status, error = probe.get("status"), (probe.get("error") or "")
    tool, url = entry.get("tool"), entry.get("url", "")
    host = urlsplit(url).hostname or url
    if status == 407:
        return "The proxy wants a user name and password: put them in the proxy URL (http://USER:PASS@HOST:PORT)."
    if status in (401, 403):
        return (f"{host} refuses the request: check the credentials in the URL, or whether the mirror "
                "blocks this network; else point the setting at another mirror.")
    if status == 404:
        return f"Nothing at {url}: check the URL's path ({'e.g. .../simple for a PyPI mirror' if tool == 'pip' else 'the channel name'})."
    if status and status >= 500:
        return f"{host} is failing (HTTP {status}): the mirror may be down; retry later or switch to another mirror."
    if "CERTIFICATE" in error.upper() or "SSL" in error.upper():
        fix = ("TLS verification failed: a proxy or firewall may intercept HTTPS, or the system's CA certificates are old "
               "(update the ca-certificates package)")
        if tool == "pip":
            fix += f"; as a last resort trust the host: pip config set global.trusted-host {host}"
        elif tool == "conda":
            fix += "; conda's ssl_verify can point at your organisation's CA bundle"
        return fix + "."
    if entry.get("proxy"):
        return (f"Through the proxy {entry['proxy']}: check that the proxy runs and can reach {host} "
                "(see the proxy area), or add the host to no_proxy if it should be reached directly.")
    return (f"Direct connection, no proxy: if this network needs one, export https_proxy=http://HOST:PORT "
            f"(and http_proxy); else {host} may be down or blocked: switch to another mirror.")


@check("network.reachable", "network", "Each configured index, channel and HF endpoint answers", facts=("network",))
def reachable(facts: Facts) -> Finding | list[Finding] | None:
    """Each source pip, conda or huggingface_hub would download from: pip's index (PyPI when none
    is set), extra indexes and find-links URLs, each conda channel (`<channel>/noarch/repodata.json`)
    and `HF_ENDPOINT`, asked with one HEAD request through the proxy that tool would use for that
    URL (no_proxy honoured; redirects count as an answer), all in parallel within 3 s. An error or
    an HTTP status of 400 and above (warn) with the likely fix; a local `file://` index or find-links
    folder that does not exist (warn). Skipped with `--offline`.

    Why: A source that does not answer makes installs hang and then fail with "Could not find a
    version" (pip) or "CondaHTTPError" (conda), far from the real cause: a proxy, a mirror that
    is down, a wrong path.

    Fix: Follow the finding's fix: start or set the proxy, switch mirrors, correct the URL.
    """
    data = facts.data("network")
    sources = data.get("sources") or []
    if not sources:
        return None
    findings, answered, skipped = [], [], []
    for entry in sources:
        probe = entry.get("probe")
        label = f"{entry.get('tool')} {entry.get('setting')} {entry.get('url')}"
        if probe is None:
            skipped.append(entry.get("url"))
            continue
        if probe.get("local"):
            if probe.get("error"):
                findings.append(warn(f"{label} (from {entry.get('source')}): {probe['error']}",
                                     fix=f"Create the folder, or remove the setting from {entry.get('source')}").by("you"))
            else:
                answered.append(f"{entry.get('url')} (a local folder)")
            continue
        status = probe.get("status")
        if status is not None and status < 400:
            answered.append(f"{entry.get('url')} ({status}, {probe.get('latency_ms')} ms)")
            continue
        if status is None and (probe.get("error") or "").startswith("not "):
            skipped.append(f"{entry.get('url')}: {probe['error']}")
            continue
        what = f"HTTP {status}" if status is not None else probe.get("error") or "no answer"
        via = f" via the proxy {entry['proxy']}" if entry.get("proxy") else " (direct, no proxy)"
        findings.append(warn(
            f"{label} (from {entry.get('source')}) does not answer{via}: {what}",
            fix=_failure_fix(entry, probe),
            details=[f"written as {entry['written']}"] if entry.get("written") else [],
        ).by("you"))
    if answered:
        findings.append(ok(f"{len(answered)} package source{'s' if len(answered) != 1 else ''} answer{'s' if len(answered) == 1 else ''}: "
                           + ", ".join(answered)))
    if skipped:
        if data.get("offline"):
            findings.append(skip(f"package sources not tested (--offline): {', '.join(str(s) for s in skipped)}"))
        else:
            findings.append(skip(f"not tested: {'; '.join(str(s) for s in skipped)}"))
    return findings


# ---------------------------------------------------------------- for the install commands


def index_note(facts: Facts, index_url: str | None = None) -> str | None:
    """What the user should know when an install command passes `--index-url index_url` (by
    default a download.pytorch.org URL): pip's command-line `--index-url` replaces the configured
    index-url (pip.conf or PIP_INDEX_URL) for that one command, so the user's mirror is not used;
    `extra-index-url` settings still apply. None when nothing is configured that it overrides.

    Meant for the torch checks' fix text; returns one or two sentences.
    """
    settings = ((facts.data("network").get("pip") or {}).get("settings")) or {}
    configured = settings.get("index-url")
    extra = settings.get("extra-index-url")
    if not configured and not extra:
        return None
    target = (index_url or "").rstrip("/")
    notes = []
    if configured and configured["value"].rstrip("/") != target:
        where = _where(configured)
        built = indexes.builds_from(configured["value"])
        wanted = indexes.builds_from(target) if target else None
        if built and wanted and built == wanted:
            notes.append(f"Your configured index {configured['value']} ({where}) gives the same {built} build: "
                         f"you can keep it by using --index-url {configured['value']} instead.")
        else:
            note = (f"--index-url replaces the index-url set in {where} ({configured['value']}) for this command: "
                    "pip downloads from the URL given, not through your mirror")
            host = indexes.index_host(configured["value"])
            mirrors = [m for m in indexes.pytorch_mirrors(wanted or "") if indexes.index_host(m) == host]
            if mirrors:
                note += f"; {host} also mirrors download.pytorch.org: --index-url {mirrors[0]}"
            notes.append(note + ".")
    if extra and extra.get("values"):
        notes.append(f"The extra-index-url set in {_where(extra)} ({', '.join(extra['values'])}) still applies: pip "
                     "takes the newest matching torch from any of these indexes.")
    return " ".join(notes) or None
