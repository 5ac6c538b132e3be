"""Proxy checks: the mistakes that make pip, conda, git and torch.hub downloads fail in odd ways.

Every URL shown comes from the collector, which already replaced credentials with ***.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); variable names, URLs, paths and commands are
placeholders or stay literally inside the message.
"""

from __future__ import annotations

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_install, python_command
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _, join, ngettext

LOCAL_NAMES = ("localhost", "127.0.0.1")


def _proxy_variables(facts: Facts) -> dict[str, dict]:
    variables = facts.data("proxy").get("variables") or {}
    return {name: info for name, info in variables.items() if info.get("kind") != "no"}


def _no_proxy_variables(facts: Facts) -> dict[str, dict]:
    variables = facts.data("proxy").get("variables") or {}
    return {name: info for name, info in variables.items() if info.get("kind") == "no"}


def _shown(info: dict) -> str:
    return info.get("url") or info.get("value") or ""


@check("proxy.summary", "proxy", N_("Which proxies are set (environment, pip, conda)"), facts=("proxy",))
def summary(facts: Facts) -> Finding | None:
    """ "no proxy set" (OK), or every proxy in the environment, pip config, `PIP_PROXY` and
    `~/.condarc`, redacted.

    Why: Shows what each tool will use.

    Fix: –.
    """
    data = facts.data("proxy")
    if not data:
        return skip(_("proxy settings could not be collected: {error}").format(error=facts.error("proxy") or _("unknown")))
    variables = data.get("variables") or {}
    details = []
    pip_config = data.get("pip_config") or {}
    if pip_config.get("proxy"):
        details.append(_("pip config proxy: {url}").format(url=pip_config["proxy"].get("url")))
    elif pip_config.get("error"):
        details.append(_("pip config could not be read: {error}").format(error=pip_config["error"]))
    if data.get("pip_env_proxy"):
        details.append(f"PIP_PROXY: {data['pip_env_proxy'].get('url')}")
    conda_servers = (data.get("conda") or {}).get("proxy_servers") or {}
    for scheme, info in conda_servers.items():
        details.append(f"~/.condarc proxy_servers.{scheme}: {info.get('url')}")
    if (data.get("conda") or {}).get("error"):
        details.append(f"~/.condarc: {data['conda']['error']}")
    if not variables and not details:
        return ok(_("no proxy set (environment, pip config, ~/.condarc)"))
    shown = join(f"{name}={_shown(info)}" for name, info in variables.items())
    if shown and details:
        text = _("proxies set: {proxies}; plus pip/conda settings (see details)").format(proxies=shown)
    elif shown:
        text = _("proxies set: {proxies}").format(proxies=shown)
    else:
        text = _("proxies set: none in the environment; plus pip/conda settings (see details)")
    return ok(text, details=details)


@check("proxy.case_mismatch", "proxy", N_("http_proxy and HTTP_PROXY (and the other pairs) agree"), facts=("proxy",))
def case_mismatch(facts: Facts) -> Finding | list[Finding] | None:
    """`http_proxy` ≠ `HTTP_PROXY` (and the https/ftp/all/no pairs) (fail).

    Why: Curl and wget read the lower-case name, some Python tools the upper-case one: one tool
    works, the next does not.

    Fix: Export both with one value, or unset one.
    """
    variables = facts.data("proxy").get("variables") or {}
    if not variables:
        return None
    findings = []
    agreeing = []
    for kind in ("http", "https", "ftp", "all", "no"):
        lower, upper = variables.get(f"{kind}_proxy"), variables.get(f"{kind.upper()}_PROXY")
        if not lower or not upper:
            continue
        lower_value, upper_value = _shown(lower), _shown(upper)
        if kind == "no":
            same = set(lower.get("entries") or []) == set(upper.get("entries") or [])
        else:
            same = lower_value == upper_value
        if same:
            agreeing.append(f"{kind}_proxy/{kind.upper()}_PROXY")
            continue
        findings.append(fail(
            _("{lower}={lower_value} but {upper}={upper_value}: curl and wget read the lower-case one, some Python "
              "tools the upper-case one, so downloads behave differently per tool").format(
                lower=f"{kind}_proxy", lower_value=lower_value, upper=f"{kind.upper()}_PROXY", upper_value=upper_value),
            fix=_("{command}   (the same value in both)\nor remove one of them: {unset}").format(
                command=f"export {kind}_proxy=VALUE {kind.upper()}_PROXY=VALUE", unset=f"unset {kind.upper()}_PROXY"),
        ))
    if not findings:
        text = _("lower- and upper-case proxy variables agree: {pairs}").format(pairs=join(agreeing)) if agreeing \
            else _("each proxy variable is set in one letter case only (no conflicting pair)")
        return ok(text)
    return findings


@check("proxy.malformed", "proxy", N_("Proxy URLs parse and use a known scheme"), facts=("proxy",))
def malformed(facts: Facts) -> Finding | list[Finding] | None:
    """Unparseable URL, bad port, no host, unknown scheme (fail); no scheme at all (warn).

    Why: Curl assumes `http://` for a bare `host:port`; conda and older pip do not.

    Fix: `export http_proxy=http://HOST:PORT`
    """
    variables = _proxy_variables(facts)
    if not variables:
        return None
    findings = []
    for name, info in variables.items():
        if info.get("error"):
            findings.append(fail(
                _("{variable}={value} is not a usable proxy URL: {error}").format(
                    variable=name, value=_shown(info), error=info["error"]),
                fix=_("{command}   (e.g. {example} for a local Clash)").format(
                    command=f"export {name}=http://HOST:PORT", example="http://127.0.0.1:7890"),
            ))
        elif info.get("missing_scheme"):
            findings.append(warn(
                _("{variable}={value} has no scheme: curl assumes http://, but some tools (conda, older pip) reject it")
                .format(variable=name, value=_shown(info)),
                fix=f"export {name}=http://{_shown(info)}",
            ))
    if not findings:
        return ok(ngettext("{count} proxy URL parse correctly", "{count} proxy URLs parse correctly",
                           len(variables)).format(count=len(variables)))
    return findings


def _tool_proxies(facts: Facts) -> list[dict]:
    """Proxies set for pip (config file or PIP_PROXY) and conda (proxy_servers in any condarc):
    [{tool, value, where, fix_target}], from the `network` facts (which know each file), else from
    the `proxy` facts (pip config, PIP_PROXY and ~/.condarc only)."""
    network = facts.data("network")
    found = []
    if network:
        pip_proxy = ((network.get("pip") or {}).get("settings") or {}).get("proxy")
        if pip_proxy:
            found.append({"tool": "pip", "value": pip_proxy["value"], "kind": pip_proxy.get("kind"),
                          "source": pip_proxy["source"], "section": pip_proxy.get("section"), "line": pip_proxy.get("line")})
        for key, item in ((network.get("conda") or {}).get("proxy_servers") or {}).items():
            found.append({"tool": "conda", "key": key, "value": item["value"], "source": item["source"]})
        return found
    data = facts.data("proxy")
    if data.get("pip_env_proxy"):
        found.append({"tool": "pip", "value": data["pip_env_proxy"].get("url") or "", "kind": "variable", "source": "PIP_PROXY"})
    elif (data.get("pip_config") or {}).get("proxy"):
        # source None: the file is not known here ("your pip config file").
        found.append({"tool": "pip", "value": data["pip_config"]["proxy"].get("url") or "", "kind": "file",
                      "source": None, "section": "global", "line": None})
    conda = data.get("conda") or {}
    for key, info in (conda.get("proxy_servers") or {}).items():
        found.append({"tool": "conda", "key": key, "value": info.get("url") or "", "source": conda.get("path") or "~/.condarc"})
    return found


def _as_http(value: str) -> str:
    """The same proxy URL with http://; hidden credentials become placeholders to fill in."""
    return "http://" + value.split("://", 1)[1].replace("***@", "USER:PASSWORD@")


@check("proxy.https_scheme", "proxy", N_("No https:// scheme on a proxy URL (pip: check_hostname requires server_hostname)"),
       facts=("proxy", "network"))
def https_scheme(facts: Facts) -> Finding | list[Finding] | None:
    """A proxy URL with the `https://` scheme (fail): in a proxy variable (`https_proxy`, ...), in
    pip's `proxy` setting (any pip config file, or `PIP_PROXY`), or in conda's `proxy_servers` (any
    condarc file).

    Why: Local proxies (Clash, v2ray) speak plain HTTP; pip fails with "ValueError: check_hostname
    requires server_hostname" (pypa/pip#9972). The scheme is how the client talks to the proxy,
    not the scheme of the sites it fetches, so conda's `proxy_servers: {https: https://...}` is the
    same mistake.

    Fix: `export https_proxy=http://HOST:PORT`; in pip.conf `proxy = http://HOST:PORT`;
    `conda config --set proxy_servers.https http://HOST:PORT`.
    """
    variables = _proxy_variables(facts)
    tools = _tool_proxies(facts)
    if not variables and not tools:
        return None
    findings = []
    bad = [name for name, info in variables.items() if info.get("scheme") == "https"]
    if bad:
        first = variables[bad[0]]
        host = f"{first.get('host')}:{first.get('port') or first.get('effective_port')}"
        findings.append(fail(
            ngettext("{variables} uses an https:// proxy URL: local proxies (Clash, v2ray) speak plain HTTP, and pip "
                     "fails with {error}",
                     "{variables} use an https:// proxy URL: local proxies (Clash, v2ray) speak plain HTTP, and pip "
                     "fails with {error}", len(bad)).format(
                variables=join(bad), error="'ValueError: check_hostname requires server_hostname'"),
            fix="\n".join(f"export {name}=http://{host}" for name in bad),
            details=[_("{issue}: the scheme is how the client talks to the proxy, not the site it fetches.").format(
                issue="pypa/pip#9972")],
        ))
    for item in tools:
        if not item["value"].lower().startswith("https://"):
            continue
        fixed = _as_http(item["value"])
        error = "'ValueError: check_hostname requires server_hostname'"
        if item["tool"] == "pip" and item.get("kind") == "variable":
            summary = _("{variable} is an https:// proxy URL ({value}): local proxies (Clash, v2ray) speak plain HTTP, "
                        "so pip cannot connect through it (pip: {error})").format(
                variable="PIP_PROXY", value=item["value"], error=error)
            fix = f"export PIP_PROXY={fixed}"
        elif item["tool"] == "pip":
            setting = f"proxy = {fixed}"
            section = f"[{item.get('section') or 'global'}]"
            if item["source"]:
                summary = _("pip's proxy setting in {file} is an https:// proxy URL ({value}): local proxies (Clash, "
                            "v2ray) speak plain HTTP, so pip cannot connect through it (pip: {error})").format(
                    file=item["source"], value=item["value"], error=error)
            else:
                summary = _("pip's proxy setting in your pip config file is an https:// proxy URL ({value}): local "
                            "proxies (Clash, v2ray) speak plain HTTP, so pip cannot connect through it (pip: {error})"
                            ).format(value=item["value"], error=error)
            if item["source"] and item.get("line"):
                fix = _("In {file} {section}, line {line}, set:\n  {setting}").format(
                    file=item["source"], section=section, line=item["line"], setting=setting)
            elif item["source"]:
                fix = _("In {file} {section}, set:\n  {setting}").format(
                    file=item["source"], section=section, setting=setting)
            else:
                fix = _("In your pip config file {section}, set:\n  {setting}").format(section=section, setting=setting)
        else:
            summary = _("conda's {key} in {file} is an https:// proxy URL ({value}): local proxies (Clash, v2ray) "
                        "speak plain HTTP, so conda cannot connect through it (pip: {error})").format(
                key=f"proxy_servers.{item['key']}", file=item["source"], value=item["value"], error=error)
            fix = f"conda config --file {item['source']} --set proxy_servers.{item['key']} {fixed}"
        findings.append(fail(
            summary,
            fix=fix,
            details=[_("{issue}: the scheme is how the client talks to the proxy, not the site it fetches.").format(
                issue="pypa/pip#9972")],
        ))
    if not findings:
        return ok(_("no proxy URL uses the https:// scheme"))
    return findings


@check("proxy.socks_support", "proxy", N_("A SOCKS proxy is usable by pip/requests (PySocks installed)"),
       facts=("proxy", "python"))
def socks_support(facts: Facts) -> Finding | None:
    """A `socks*://` proxy while the target cannot import `socks` (fail).

    Why: Pip/requests/conda fail with "Missing dependencies for SOCKS support" (conda/conda#3838,
    #5320).

    Fix: `env -u all_proxy -u ALL_PROXY python -m pip install pysocks` (the proxy must be unset for
    that one command).
    """
    variables = _proxy_variables(facts)
    socks = [name for name, info in variables.items() if (info.get("scheme") or "").startswith("socks")]
    if not socks:
        return None
    target = facts.data("python").get("target") or {}
    importable = target.get("socks_importable")
    if importable is None:
        return warn(_("{variables} use a SOCKS proxy; whether the target python can use it (PySocks) is unknown").format(
                        variables=join(socks)),
                    fix=_("{command}   (if it fails: {install})").format(
                        command=f"{python_command(facts)} -c 'import socks'",
                        install=f"env -u all_proxy -u ALL_PROXY {pip_install(facts, 'pysocks')}"))
    if importable:
        return ok(_("{variables} use SOCKS and PySocks is installed in the target").format(variables=join(socks)))
    unset = " ".join(f"-u {name}" for name in socks)
    return fail(
        ngettext("{variables} points at a SOCKS proxy but the target python cannot import `socks`: pip and requests "
                 "fail with {error}",
                 "{variables} point at a SOCKS proxy but the target python cannot import `socks`: pip and requests "
                 "fail with {error}", len(socks)).format(
            variables=join(socks), error="'Missing dependencies for SOCKS support'"),
        fix=_("{command}\n(the proxy must be unset for this one command, or pip fails the same way)").format(
            command=f"env {unset} {pip_install(facts, 'pysocks')}"),
        details=["conda/conda#3838, #5320"],
    )


@check("proxy.reachable", "proxy", N_("Each proxy accepts a TCP connection"), facts=("proxy",))
def reachable(facts: Facts) -> Finding | list[Finding] | None:
    """A proxy host:port that refuses or does not answer a TCP connection within 1.5 s (fail); skipped
    with `--offline`

    Why: Every download through it fails, usually because the proxy client is not running.

    Fix: Start the proxy client, or `unset http_proxy https_proxy`
    """
    data = facts.data("proxy")
    probes = data.get("reachability")
    if not probes:
        return None
    findings = []
    reachable = []
    skipped = []
    for probe in probes:
        address = f"{probe['host']}:{probe['port']}"
        if probe.get("status") == "reachable":
            reachable.append(address)
        elif probe.get("status") == "unreachable":
            names = [n for n, info in _proxy_variables(facts).items()
                     if info.get("host") == probe["host"] and info.get("effective_port") == probe["port"]]
            unset = f"unset {' '.join(names)}" if names else "unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY"
            findings.append(fail(
                _("the proxy {address} does not accept connections ({error}): every download through it fails").format(
                    address=address, error=probe.get("error") or _("no reason given")),
                fix=_("Start the proxy client (Clash, v2ray, ...) or, if you do not need it:\n{command}").format(
                    command=unset),
                details=[_("used by: {variables}").format(variables=join(names))] if names else [],
            ))
        else:
            skipped.append(address)
    if reachable:
        findings.append(ok(_("the proxy {addresses} accepts connections").format(addresses=join(reachable))))
    if skipped:
        findings.append(skip(_("proxy reachability not tested for {addresses} ({option})").format(
            addresses=join(skipped), option="--offline")))
    return findings


@check("proxy.no_proxy_local", "proxy", N_("no_proxy exempts localhost when a proxy is set"), facts=("proxy",))
def no_proxy_local(facts: Facts) -> Finding | None:
    """A proxy is set but `no_proxy` lacks `localhost`/`127.0.0.1` (warn).

    Why: TensorBoard, Jupyter and a `torch.distributed` rendezvous on `MASTER_ADDR=127.0.0.1` may be
    sent through the proxy.

    Fix: `export no_proxy=localhost,127.0.0.1,::1 NO_PROXY=localhost,127.0.0.1,::1`
    """
    variables = _proxy_variables(facts)
    http_like = [n for n, info in variables.items() if info.get("kind") in ("http", "https", "all")]
    if not http_like:
        return None
    entries = {e.lower() for info in _no_proxy_variables(facts).values() for e in info.get("entries") or []}
    missing = [name for name in LOCAL_NAMES if name not in entries]
    if not missing:
        return ok(_("no_proxy exempts localhost and 127.0.0.1"))
    if len(missing) == 2:
        text = _("a proxy is set but no_proxy does not list {first} and {second}: local services (TensorBoard, Jupyter, "
                 "torch.distributed with MASTER_ADDR=127.0.0.1) may be sent through the proxy").format(
            first=missing[0], second=missing[1])
    else:
        text = _("a proxy is set but no_proxy does not list {name}: local services (TensorBoard, Jupyter, "
                 "torch.distributed with MASTER_ADDR=127.0.0.1) may be sent through the proxy").format(name=missing[0])
    return warn(
        text,
        fix="export no_proxy=localhost,127.0.0.1,::1 NO_PROXY=localhost,127.0.0.1,::1",
    )
