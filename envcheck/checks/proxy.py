"""Proxy checks: the mistakes that make pip, conda, git and torch.hub downloads fail in odd ways.

Every URL shown comes from the collector, which already replaced credentials with ***.
"""

from __future__ import annotations

from envcheck.checks import check, fail, ok, skip, warn
from envcheck.checks._commands import pip_install, python_command
from envcheck.core.model import Facts, Finding

LOCAL_NAMES = ("localhost", "127.0.0.1")


def _proxy_variables(facts: Facts) -> dict[str, dict]:
    variables = facts.data("proxy").get("variables") or {}
    return {name: info for name, info in variables.items() if info.get("kind") != "no"}


def _no_proxy_variables(facts: Facts) -> dict[str, dict]:
    variables = facts.data("proxy").get("variables") or {}
    return {name: info for name, info in variables.items() if info.get("kind") == "no"}


def _shown(info: dict) -> str:
    return info.get("url") or info.get("value") or ""


@check("proxy.summary", "proxy", "Which proxies are set (environment, pip, conda)", facts=("proxy",))
def summary(facts: Facts) -> Finding | None:
    """ "no proxy set" (OK), or every proxy in the environment, pip config, `PIP_PROXY` and
    `~/.condarc`, redacted.

    Why: Shows what each tool will use.

    Fix: –.
    """
    data = facts.data("proxy")
    if not data:
        return skip(f"proxy settings could not be collected: {facts.error('proxy') or 'unknown'}")
    variables = data.get("variables") or {}
    details = []
    pip_config = data.get("pip_config") or {}
    if pip_config.get("proxy"):
        details.append(f"pip config proxy: {pip_config['proxy'].get('url')}")
    elif pip_config.get("error"):
        details.append(f"pip config could not be read: {pip_config['error']}")
    if data.get("pip_env_proxy"):
        details.append(f"PIP_PROXY: {data['pip_env_proxy'].get('url')}")
    conda_servers = (data.get("conda") or {}).get("proxy_servers") or {}
    for scheme, info in conda_servers.items():
        details.append(f"~/.condarc proxy_servers.{scheme}: {info.get('url')}")
    if (data.get("conda") or {}).get("error"):
        details.append(f"~/.condarc: {data['conda']['error']}")
    if not variables and not details:
        return ok("no proxy set (environment, pip config, ~/.condarc)")
    shown = [f"{name}={_shown(info)}" for name, info in variables.items()]
    text = "proxies set: " + (", ".join(shown) if shown else "none in the environment")
    if details:
        text += "; plus pip/conda settings (see details)"
    return ok(text, details=details)


@check("proxy.case_mismatch", "proxy", "http_proxy and HTTP_PROXY (and the other pairs) agree", facts=("proxy",))
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
            f"{kind}_proxy={lower_value} but {kind.upper()}_PROXY={upper_value}: curl and wget read the lower-case "
            "one, some Python tools the upper-case one, so downloads behave differently per tool",
            fix=f"export {kind}_proxy=VALUE {kind.upper()}_PROXY=VALUE   (the same value in both)\n"
                f"or remove one of them: unset {kind.upper()}_PROXY",
        ))
    if not findings:
        text = ("lower- and upper-case proxy variables agree: " + ", ".join(agreeing)) if agreeing \
            else "each proxy variable is set in one letter case only (no conflicting pair)"
        return ok(text)
    return findings


@check("proxy.malformed", "proxy", "Proxy URLs parse and use a known scheme", facts=("proxy",))
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
                f"{name}={_shown(info)} is not a usable proxy URL: {info['error']}",
                fix=f"export {name}=http://HOST:PORT   (e.g. http://127.0.0.1:7890 for a local Clash)",
            ))
        elif info.get("missing_scheme"):
            findings.append(warn(
                f"{name}={_shown(info)} has no scheme: curl assumes http://, but some tools (conda, older pip) reject it",
                fix=f"export {name}=http://{_shown(info)}",
            ))
    if not findings:
        return ok(f"{len(variables)} proxy URL{'s' if len(variables) != 1 else ''} parse correctly")
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
        found.append({"tool": "pip", "value": data["pip_config"]["proxy"].get("url") or "", "kind": "file",
                      "source": "your pip config file", "section": "global", "line": None})
    conda = data.get("conda") or {}
    for key, info in (conda.get("proxy_servers") or {}).items():
        found.append({"tool": "conda", "key": key, "value": info.get("url") or "", "source": conda.get("path") or "~/.condarc"})
    return found


def _as_http(value: str) -> str:
    """The same proxy URL with http://; hidden credentials become placeholders to fill in."""
    return "http://" + value.split("://", 1)[1].replace("***@", "USER:PASSWORD@")


@check("proxy.https_scheme", "proxy", "No https:// scheme on a proxy URL (pip: check_hostname requires server_hostname)",
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
            f"{', '.join(bad)} use{'s' if len(bad) == 1 else ''} an https:// proxy URL: local proxies (Clash, v2ray) speak plain "
            "HTTP, and pip fails with 'ValueError: check_hostname requires server_hostname'",
            fix="\n".join(f"export {name}=http://{host}" for name in bad),
            details=["pypa/pip#9972: the scheme is how the client talks to the proxy, not the site it fetches."],
        ))
    for item in tools:
        if not item["value"].lower().startswith("https://"):
            continue
        fixed = _as_http(item["value"])
        if item["tool"] == "pip" and item.get("kind") == "variable":
            where, fix = "PIP_PROXY", f"export PIP_PROXY={fixed}"
        elif item["tool"] == "pip":
            line = f", line {item['line']}" if item.get("line") else ""
            where = f"pip's proxy setting in {item['source']}"
            fix = f"In {item['source']} [{item.get('section') or 'global'}]{line}, set:\n  proxy = {fixed}"
        else:
            where = f"conda's proxy_servers.{item['key']} in {item['source']}"
            fix = f"conda config --file {item['source']} --set proxy_servers.{item['key']} {fixed}"
        findings.append(fail(
            f"{where} is an https:// proxy URL ({item['value']}): local proxies (Clash, v2ray) speak plain HTTP, so "
            f"{item['tool']} cannot connect through it (pip: 'ValueError: check_hostname requires server_hostname')",
            fix=fix,
            details=["pypa/pip#9972: the scheme is how the client talks to the proxy, not the site it fetches."],
        ))
    if not findings:
        return ok("no proxy URL uses the https:// scheme")
    return findings


@check("proxy.socks_support", "proxy", "A SOCKS proxy is usable by pip/requests (PySocks installed)",
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
        return warn(f"{', '.join(socks)} use a SOCKS proxy; whether the target python can use it (PySocks) is unknown",
                       fix=f"{python_command(facts)} -c 'import socks'   (if it fails: env -u all_proxy -u ALL_PROXY {pip_install(facts, 'pysocks')})")
    if importable:
        return ok(f"{', '.join(socks)} use SOCKS and PySocks is installed in the target")
    unset = " ".join(f"-u {name}" for name in socks)
    return fail(
        f"{', '.join(socks)} point{'s' if len(socks) == 1 else ''} at a SOCKS proxy but the target python cannot import "
        "`socks`: pip and requests fail "
        "with 'Missing dependencies for SOCKS support'",
        fix=f"env {unset} {pip_install(facts, 'pysocks')}\n(the proxy must be unset for this one command, or pip fails the same way)",
        details=["conda/conda#3838, #5320"],
    )


@check("proxy.reachable", "proxy", "Each proxy accepts a TCP connection", facts=("proxy",))
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
                f"the proxy {address} does not accept connections ({probe.get('error') or 'no reason given'}): "
                "every download through it fails",
                fix=f"Start the proxy client (Clash, v2ray, ...) or, if you do not need it:\n{unset}",
                details=[f"used by: {', '.join(names)}"] if names else [],
            ))
        else:
            skipped.append(address)
    if reachable:
        findings.append(ok(f"the proxy {', '.join(reachable)} accepts connections"))
    if skipped:
        findings.append(skip(f"proxy reachability not tested for {', '.join(skipped)} (--offline)"))
    return findings


@check("proxy.no_proxy_local", "proxy", "no_proxy exempts localhost when a proxy is set", facts=("proxy",))
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
        return ok("no_proxy exempts localhost and 127.0.0.1")
    return warn(
        f"a proxy is set but no_proxy does not list {' and '.join(missing)}: local services (TensorBoard, Jupyter, "
        "torch.distributed with MASTER_ADDR=127.0.0.1) may be sent through the proxy",
        fix="export no_proxy=localhost,127.0.0.1,::1 NO_PROXY=localhost,127.0.0.1,::1",
    )
