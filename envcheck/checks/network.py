"""Network checks: where pip, conda and huggingface_hub download from, the configuration mistakes
that make those downloads fail, and whether each source answers.

Every URL shown comes from the `network` collector, which already replaced credentials with ***.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); URLs, files, settings, variable names and
commands are placeholders or stay literally inside the message.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _, current_language, join, ngettext
from envcheck.knowledge import indexes

HF_TRUE = ("1", "ON", "YES", "TRUE")  # huggingface_hub's own truthy values
SYSTEM_KINDS = ("global", "base")  # pip config files only an admin can usually edit
PIP_DEFAULT_SOURCE = "pip's default"  # the `source` the collector gives pip's built-in index


def _clauses(parts: list[str]) -> str:
    """Independent clauses of one summary, each a whole message: "a; b" / "a；b"."""
    return ("；" if current_language() == "zh" else "; ").join(parts)


def _source(source) -> str:
    """Where a source comes from, as the collector names it: a file, a variable, or pip's default."""
    return _("pip's default") if source == PIP_DEFAULT_SOURCE else str(source)


def _where(setting: dict) -> str:
    """ "~/.config/pip/pip.conf [global], line 3" or "PIP_INDEX_URL"."""
    if setting.get("kind") == "variable" or not setting.get("section"):
        return str(setting.get("source"))
    if setting.get("line"):
        # TRANSLATORS: where a pip setting is written: a file, its [section] and a line number.
        return _("{file} [{section}], line {line}").format(file=setting["source"], section=setting["section"],
                                                            line=setting["line"])
    return f"{setting['source']} [{setting['section']}]"


def _builds_note(url: str) -> str:
    built = indexes.builds_from(url)
    if built == indexes.PYPI_DEFAULT:
        return _("PyPI or a PyPI mirror: torch from it is PyPI's default Linux build")
    if built:
        return _("a PyTorch index: torch from it is the {build} build").format(build=built)
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


@check("network.summary", "network", N_("Where pip, conda and huggingface_hub download from, and which setting says so"),
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
        return skip(_("package sources could not be collected: {error}").format(
            error=facts.error("network") or _("unknown")))
    pip = data.get("pip") or {}
    settings = pip.get("settings") or {}
    details = []

    def setting_line(key: str, value: str, where: str, note: str = "") -> str:
        if note:
            return _("pip {key}: {value} (from {where}); {note}").format(key=key, value=value, where=where, note=note)
        return _("pip {key}: {value} (from {where})").format(key=key, value=value, where=where)

    if pip.get("disabled"):
        details.append(_("pip: PIP_CONFIG_FILE=/dev/null: pip reads no config file"))
    index = settings.get("index-url")
    if index:
        details.append(setting_line("index-url", index["value"], _where(index), _builds_note(index["value"])))
        for old in index.get("overridden") or []:
            details.append("  " + _("overrides index-url {value} from {where}").format(
                value=old["value"], where=_where({**old, "kind": "file" if old.get("section") else "variable"})))
    else:
        details.append(_("pip index-url: {url} (pip's default; no setting)").format(url="https://pypi.org/simple"))
    for key in ("extra-index-url", "find-links"):
        setting = settings.get(key)
        for value in (setting or {}).get("values") or []:
            note = _builds_note(value) if key == "extra-index-url" else ""
            details.append(setting_line(key, value, _where(setting), note))
    for key in ("trusted-host", "no-index"):
        if settings.get(key):
            details.append(setting_line(key, settings[key]["value"], _where(settings[key])))
    conda = data.get("conda") or {}

    def conda_line(key: str, item: dict) -> str:
        return _("conda {key}: {value} (from {where})").format(key=key, value=item["value"], where=item["source"])

    for item in conda.get("channels") or []:
        details.append(_("conda channel: {value} (from {where})").format(value=item["value"], where=item["source"]))
    for item in conda.get("default_channels") or []:
        details.append(conda_line("default_channels", item))
    for name, item in (conda.get("custom_channels") or {}).items():
        details.append(conda_line(f"custom_channels.{name}", item))
    for key in ("channel_alias", "ssl_verify"):
        if conda.get(key):
            details.append(conda_line(key, conda[key]))
    for name, value in (data.get("huggingface") or {}).items():
        if value is not None:
            details.append(f"{name}={value}")
    extra = len((settings.get("extra-index-url") or {}).get("values") or [])
    if index and extra:
        text = ngettext("pip installs from {url} plus {count} extra index",
                        "pip installs from {url} plus {count} extra indexes", extra).format(url=index["value"], count=extra)
    elif index:
        text = _("pip installs from {url}").format(url=index["value"])
    elif extra:
        text = ngettext("pip installs from {url} (default) plus {count} extra index",
                        "pip installs from {url} (default) plus {count} extra indexes", extra).format(
            url="https://pypi.org/simple", count=extra)
    else:
        text = _("pip installs from {url} (default)").format(url="https://pypi.org/simple")
    parts = [text]
    channels = [item["value"] for item in conda.get("channels") or []]
    if channels:
        parts.append(_("conda channels: {channels}").format(channels=join(channels)))
    endpoint = (data.get("huggingface") or {}).get("HF_ENDPOINT")
    if endpoint:
        parts.append(f"HF_ENDPOINT={endpoint}")
    return ok(_clauses(parts), details=details)


# ---------------------------------------------------------------- config files that do not load


@check("network.config_files", "network", N_("pip config files and condarc files parse"), facts=("network",))
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
                _("pip cannot read {file}: {error}; every pip command stops with {message}").format(
                    file=entry["path"], error=entry["error"], message="'Configuration file could not be loaded'"),
                fix=_("Fix the line the error names in {file} (each key once per section, under a [global] or "
                      "[install] header), or move the file away: {command}").format(
                    file=entry["path"], command=f"mv {entry['path']} {entry['path']}.broken"),
            )
            findings.append(finding.by("admin" if entry.get("kind") in SYSTEM_KINDS else "you"))
    conda_files = (data.get("conda") or {}).get("files") or []
    for entry in conda_files:
        if entry.get("error"):
            system = bool(entry.get("system"))
            finding = fail(
                _("conda cannot read {file}: {error}; conda stops with a ConfigurationLoadError").format(
                    file=entry["path"], error=entry["error"]),
                fix=_("Fix the YAML in {file} (e.g. {example} followed by {item} lines), or move it away: {command}").format(
                    file=entry["path"], example="`channels:`", item="`  - conda-forge`",
                    command=f"mv {entry['path']} {entry['path']}.broken"),
            )
            findings.append(finding.by("admin" if system else "you"))
    if findings:
        return findings
    read = [f["path"] for f in pip_files] + [f["path"] for f in conda_files]
    if not read:
        return ok(_("no pip config or condarc file present (pip and conda use their defaults)"))
    return ok(ngettext("{count} pip/conda config file parse: {files}", "{count} pip/conda config files parse: {files}",
                       len(read)).format(count=len(read), files=join(read)))


# ---------------------------------------------------------------- http:// index without trusted-host


def _trusted_host_fix(host: str, origin: dict, trusted: dict | None) -> tuple[str, str]:
    """The exact change that trusts `host`, and who can make it."""
    if trusted:
        current = " ".join(trusted.get("values") or [])
        if trusted.get("kind") == "variable":
            return f'export PIP_TRUSTED_HOST="{current} {host}"', "you"
        old_line, new_line = f"trusted-host = {current}", f"trusted-host = {current} {host}"
        if trusted.get("line"):
            text = _("In {file}, section [{section}] (line {line}), change\n  {old}\nto\n  {new}\n(one trusted-host "
                     "line per section: a second one makes the file unreadable)").format(
                file=trusted["source"], section=trusted["section"], line=trusted["line"], old=old_line, new=new_line)
        else:
            text = _("In {file}, section [{section}], change\n  {old}\nto\n  {new}\n(one trusted-host line per "
                     "section: a second one makes the file unreadable)").format(
                file=trusted["source"], section=trusted["section"], old=old_line, new=new_line)
        return text, "admin" if trusted.get("kind") in SYSTEM_KINDS else "you"
    if origin.get("kind") == "variable":
        return f"export PIP_TRUSTED_HOST={host}", "you"
    return (_("Add this line under [{section}] in {file}:\n  {line}").format(
                section=origin["section"], file=origin["source"], line=f"trusted-host = {host}"),
            "admin" if origin.get("kind") in SYSTEM_KINDS else "you")


@check("network.trusted_host", "network", N_("An http:// pip index has a matching trusted-host"), facts=("network",))
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
                _("pip {key} {url} (from {where}) is plain http:// and {host} is not a trusted-host: pip ignores it "
                  "({message}) and then finds no packages there").format(
                    key=key, url=url, where=_where(setting), host=host, message="'not a trusted or secure host'"),
                fix=_("{fix}\nor, better, if the mirror serves HTTPS: change http:// to https:// in that URL").format(fix=fix),
            ).by(who))
    if findings:
        return findings
    if checked:
        return ok(_("every http:// pip index is a trusted-host: {urls}").format(urls=join(checked)))
    return None


# ---------------------------------------------------------------- Hugging Face


@check("network.hf_endpoint", "network", N_("HF_ENDPOINT is a full URL; HF_HUB_OFFLINE noted"), facts=("network",))
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
                _("{variable} has no scheme: huggingface_hub builds URLs like {example} and every model download "
                  "fails ({message})").format(variable=f"HF_ENDPOINT={endpoint}",
                                              example=f"{endpoint}/<repo>/resolve/...", message="'No scheme supplied'"),
                fix=f"export HF_ENDPOINT=https://{endpoint.rstrip('/')}",
            ).by("you"))
        elif urlsplit(endpoint).scheme not in ("http", "https"):
            findings.append(fail(
                _("{variable} is not an http(s) URL: model downloads fail").format(variable=f"HF_ENDPOINT={endpoint}"),
                fix=_("{command}   (or unset HF_ENDPOINT for huggingface.co)").format(
                    command="export HF_ENDPOINT=https://hf-mirror.com"),
            ).by("you"))
        else:
            findings.append(ok(_("{variable}: huggingface_hub downloads models from there").format(
                variable=f"HF_ENDPOINT={endpoint}")))
    offline = (hf.get("HF_HUB_OFFLINE") or "").strip()
    if offline.upper() in HF_TRUE:
        findings.append(ok(
            _("{variable}: huggingface_hub downloads nothing, by design; a model not already in the cache fails to "
              "load").format(variable=f"HF_HUB_OFFLINE={offline}"),
            fix=_("{command}   (if downloads should work)").format(command="unset HF_HUB_OFFLINE"),
        ))
    return findings or None


# ---------------------------------------------------------------- reachability


def _failure_fix(entry: dict, probe: dict) -> str:
    status, error = probe.get("status"), (probe.get("error") or "")
    tool, url = entry.get("tool"), entry.get("url", "")
    host = urlsplit(url).hostname or url
    if status == 407:
        return _("The proxy wants a user name and password: put them in the proxy URL ({example}).").format(
            example="http://USER:PASS@HOST:PORT")
    if status in (401, 403):
        return _("{host} refuses the request: check the credentials in the URL, or whether the mirror blocks this "
                 "network; else point the setting at another mirror.").format(host=host)
    if status == 404:
        if tool == "pip":
            return _("Nothing at {url}: check the URL's path (e.g. {example} for a PyPI mirror).").format(
                url=url, example=".../simple")
        return _("Nothing at {url}: check the URL's path (the channel name).").format(url=url)
    if status and status >= 500:
        return _("{host} is failing (HTTP {status}): the mirror may be down; retry later or switch to another "
                 "mirror.").format(host=host, status=status)
    if "CERTIFICATE" in error.upper() or "SSL" in error.upper():
        if tool == "pip":
            return _("TLS verification failed: a proxy or firewall may intercept HTTPS, or the system's CA "
                     "certificates are old (update the ca-certificates package); as a last resort trust the host: "
                     "{command}.").format(command=f"pip config set global.trusted-host {host}")
        if tool == "conda":
            return _("TLS verification failed: a proxy or firewall may intercept HTTPS, or the system's CA "
                     "certificates are old (update the ca-certificates package); conda's ssl_verify can point at "
                     "your organisation's CA bundle.")
        return _("TLS verification failed: a proxy or firewall may intercept HTTPS, or the system's CA "
                 "certificates are old (update the ca-certificates package).")
    if entry.get("proxy"):
        return _("Through the proxy {proxy}: check that the proxy runs and can reach {host} (see the proxy area), "
                 "or add the host to no_proxy if it should be reached directly.").format(proxy=entry["proxy"], host=host)
    return _("Direct connection, no proxy: if this network needs one, {command} (and http_proxy); else {host} may be "
             "down or blocked: switch to another mirror.").format(command="export https_proxy=http://HOST:PORT",
                                                                  host=host)


@check("network.reachable", "network", N_("Each configured index, channel and HF endpoint answers"), facts=("network",))
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
        where = _source(entry.get("source"))
        if probe is None:
            skipped.append(entry.get("url"))
            continue
        if probe.get("local"):
            if probe.get("error"):
                findings.append(warn(_("{source} (from {where}): {error}").format(source=label, where=where,
                                                                                    error=probe["error"]),
                                     fix=_("Create the folder, or remove the setting from {where}").format(where=where),
                                     ).by("you"))
            else:
                answered.append(_("{url} (a local folder)").format(url=entry.get("url")))
            continue
        status = probe.get("status")
        if status is not None and status < 400:
            answered.append(f"{entry.get('url')} ({status}, {probe.get('latency_ms')} ms)")
            continue
        # The collector marks a URL it did not probe (a SOCKS proxy, not http(s)); its reason starts
        # with "not " in English (facts saved by an older envcheck carry no mark).
        if status is None and (probe.get("not_probed") or (probe.get("error") or "").startswith("not ")):
            skipped.append(f"{entry.get('url')}: {probe['error']}")
            continue
        what = f"HTTP {status}" if status is not None else probe.get("error") or _("no answer")
        if entry.get("proxy"):
            summary_text = _("{source} (from {where}) does not answer via the proxy {proxy}: {error}").format(
                source=label, where=where, proxy=entry["proxy"], error=what)
        else:
            summary_text = _("{source} (from {where}) does not answer (direct, no proxy): {error}").format(
                source=label, where=where, error=what)
        findings.append(warn(
            summary_text,
            fix=_failure_fix(entry, probe),
            details=[_("written as {value}").format(value=entry["written"])] if entry.get("written") else [],
        ).by("you"))
    if answered:
        findings.append(ok(ngettext("{count} package source answers: {sources}", "{count} package sources answer: {sources}",
                                    len(answered)).format(count=len(answered), sources=join(answered))))
    if skipped:
        if data.get("offline"):
            findings.append(skip(_("package sources not tested ({option}): {sources}").format(
                option="--offline", sources=join(str(s) for s in skipped))))
        else:
            findings.append(skip(_("not tested: {sources}").format(sources=_clauses([str(s) for s in skipped]))))
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
            notes.append(_("Your configured index {url} ({where}) gives the same {build} build: you can keep it by "
                           "using {option} instead.").format(url=configured["value"], where=where, build=built,
                                                             option=f"--index-url {configured['value']}"))
        else:
            host = indexes.index_host(configured["value"])
            mirrors = [m for m in indexes.pytorch_mirrors(wanted or "") if indexes.index_host(m) == host]
            if mirrors:
                notes.append(_("--index-url replaces the index-url set in {where} ({url}) for this command: pip "
                               "downloads from the URL given, not through your mirror; {host} also mirrors "
                               "download.pytorch.org: {option}.").format(
                    where=where, url=configured["value"], host=host, option=f"--index-url {mirrors[0]}"))
            else:
                notes.append(_("--index-url replaces the index-url set in {where} ({url}) for this command: pip "
                               "downloads from the URL given, not through your mirror.").format(
                    where=where, url=configured["value"]))
    if extra and extra.get("values"):
        notes.append(_("The extra-index-url set in {where} ({urls}) still applies: pip takes the newest matching "
                       "torch from any of these indexes.").format(where=_where(extra), urls=join(extra["values"])))
    return ("" if current_language() == "zh" else " ").join(notes) or None
