"""The `network` collector against a fake HOME, root and environment; the network checks on
recorded facts; the probes against local HTTP servers on 127.0.0.1 (never the real network); the
index table; and that credentials in an index URL never reach a report."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from envcheck.knowledge import loading

from envcheck.checks import network as net
from envcheck.checks import proxy as proxy_checks
from envcheck.core.context import Context
from envcheck.core.model import Facts, Status
from envcheck.facts.network import collect_network, probe_url
from envcheck.knowledge import indexes
from envcheck.knowledge.loading import KnowledgeError

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cr3tpass"


@pytest.fixture
def world(tmp_path):
    """A fake HOME, a fake / and a fake venv as the target interpreter (its site pip.conf)."""
    home, root, venv = tmp_path / "home", tmp_path / "root", tmp_path / "venv"
    for folder in (home, root / "etc", venv / "bin"):
        folder.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {tmp_path / 'base' / 'bin'}\n")
    (venv / "bin" / "python").write_text("")
    return {"home": home, "root": root, "venv": venv, "tmp": tmp_path}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def collect(world, env: dict | None = None, offline: bool = True) -> dict:
    full = {"HOME": str(world["home"]), "PATH": "/usr/bin:/bin", **(env or {})}
    ctx = Context(env=full, home=world["home"], cwd=world["tmp"], sys_root=world["root"],
                  python=str(world["venv"] / "bin" / "python"), offline=offline)
    data = collect_network(ctx)
    json.dumps(data)  # JSON-able
    return data


def results(fn, facts) -> list:
    found = fn(facts)
    return [] if found is None else found if isinstance(found, list) else [found]


# ---------------------------------------------------------------- pip's files, order and winner


def test_pip_files_in_pips_order_with_the_winner_and_its_line(world):
    home, root, venv = world["home"], world["root"], world["venv"]
    write(root / "etc/xdg/pip/pip.conf", "[global]\nindex-url = https://xdg.example/simple\n")
    write(root / "etc/pip.conf", "[global]\nindex-url = https://etc.example/simple\ntrusted-host = a.example\n")
    write(home / ".pip/pip.conf", "[global]\nindex-url = https://legacy.example/simple\n")
    write(world["tmp"] / "xdg/pip/pip.conf", "[global]\n# a comment\nindex_url = https://user.example/simple\n")
    write(venv / "pip.conf", "[global]\ntimeout = 5\n\n[install]\nextra-index-url =\n    https://x1.example/simple\n"
                             "    https://x2.example/simple\n")
    data = collect(world, {"XDG_CONFIG_HOME": str(world["tmp"] / "xdg")})
    files = data["pip"]["files"]
    assert [(f["kind"], f["path"]) for f in files] == [
        ("global", str(root / "etc/xdg/pip/pip.conf")),
        ("global", str(root / "etc/pip.conf")),
        ("user", str(home / ".pip/pip.conf")),
        ("user", str(world["tmp"] / "xdg/pip/pip.conf")),
        ("base", str(world["tmp"] / "base/pip.conf")),
        ("site", str(venv / "pip.conf")),
    ]
    index = data["pip"]["settings"]["index-url"]
    # The XDG user file is read after the legacy one and wins; `index_url` is pip's index-url.
    assert index["value"] == "https://user.example/simple" and index["line"] == 3 and index["kind"] == "user"
    assert [o["value"] for o in index["overridden"]] == ["https://xdg.example/simple", "https://etc.example/simple",
                                                          "https://legacy.example/simple"]
    extra = data["pip"]["settings"]["extra-index-url"]
    assert extra["values"] == ["https://x1.example/simple", "https://x2.example/simple"]
    assert extra["section"] == "install" and extra["source"] == str(venv / "pip.conf")
    assert data["pip"]["settings"]["trusted-host"]["source"] == str(root / "etc/pip.conf")


def test_install_section_beats_global_and_a_variable_beats_every_file(world):
    write(world["root"] / "etc/pip.conf", "[install]\nindex-url = https://install.example/simple\n")
    write(world["home"] / ".config/pip/pip.conf", "[global]\nindex-url = https://global.example/simple\n")
    data = collect(world)
    assert data["pip"]["settings"]["index-url"]["value"] == "https://install.example/simple"
    data = collect(world, {"PIP_INDEX_URL": "https://env.example/simple", "PIP_NO_INDEX": ""})
    index = data["pip"]["settings"]["index-url"]
    assert index["value"] == "https://env.example/simple" and index["source"] == "PIP_INDEX_URL"
    assert "no-index" not in data["pip"]["settings"]  # pip ignores an empty value
    assert data["pip"]["variables"] == {"PIP_INDEX_URL": "https://env.example/simple", "PIP_NO_INDEX": ""}


def test_pip_config_file_variable_skips_user_files_and_devnull_disables_all(world):
    write(world["home"] / ".config/pip/pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    forced = write(world["tmp"] / "forced.conf", "[global]\nextra-index-url = https://forced.example/simple\n")
    data = collect(world, {"PIP_CONFIG_FILE": str(forced)})
    user = [f for f in data["pip"]["files"] if f["kind"] == "user"]
    assert user and all(not f["loaded"] and "PIP_CONFIG_FILE" in f["skipped"] for f in user)
    assert "index-url" not in data["pip"]["settings"]
    assert data["pip"]["settings"]["extra-index-url"]["source"] == str(forced)
    # PIP_CONFIG_FILE naming a missing file: the user files are read again.
    data = collect(world, {"PIP_CONFIG_FILE": str(world["tmp"] / "missing.conf")})
    assert data["pip"]["settings"]["index-url"]["value"] == "https://user.example/simple"
    disabled = collect(world, {"PIP_CONFIG_FILE": os.devnull, "PIP_EXTRA_INDEX_URL": "https://e.example/simple"})
    assert disabled["pip"]["disabled"] is True and all(not f["loaded"] for f in disabled["pip"]["files"])
    assert set(disabled["pip"]["settings"]) == {"extra-index-url"}


def test_bad_pip_file_is_data_and_the_others_still_count(world):
    write(world["root"] / "etc/pip.conf", "[global]\nindex-url = https://a.example/simple\nindex-url = https://b.example\n")
    write(world["home"] / ".pip/pip.conf", "index-url = https://no-section.example/simple\n")
    write(world["home"] / ".config/pip/pip.conf", "[global]\nextra-index-url = https://ok.example/simple\n")
    data = collect(world)
    errors = {f["path"]: f["error"] for f in data["pip"]["files"] if f.get("error")}
    assert set(errors) == {str(world["root"] / "etc/pip.conf"), str(world["home"] / ".pip/pip.conf")}
    assert all("\n" not in e for e in errors.values())
    assert data["pip"]["settings"]["extra-index-url"]["values"] == ["https://ok.example/simple"]
    findings = results(net.config_files, Facts.of(network=data))
    assert {f.status for f in findings} == {Status.FAIL} and len(findings) == 2
    assert "Configuration file could not be loaded" in findings[0].summary
    assert findings[0].who == "admin" and findings[1].who == "you"  # /etc needs the admin


# ---------------------------------------------------------------- conda


def test_condarc_files_merge_in_condas_order(world):
    home, root = world["home"], world["root"]
    write(root / "etc/conda/.condarc", "channels: [defaults]\nssl_verify: true\nchannel_alias: https://sys.example\n")
    write(home / ".config/conda/condarc", "channels:\n  - pytorch\n")
    write(home / ".condarc", "channels:\n  - conda-forge\n  - defaults\nproxy_servers:\n  http: http://127.0.0.1:7890\n"
                             "channel_alias: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n")
    prefix = world["tmp"] / "env"
    write(prefix / "condarc.d/mirror.yml", "custom_channels:\n  nvidia: https://nv.example\n")
    write(world["tmp"] / "forced.condarc", "ssl_verify: false\nproxy_servers:\n  https: http://127.0.0.1:7890\n")
    data = collect(world, {"CONDA_PREFIX": str(prefix), "CONDARC": str(world["tmp"] / "forced.condarc")})
    conda = data["conda"]
    # The file read last comes first in a merged list; duplicates are dropped.
    assert [c["value"] for c in conda["channels"]] == ["conda-forge", "defaults", "pytorch"]
    assert conda["channels"][0]["source"] == str(home / ".condarc")
    assert conda["channel_alias"]["value"] == "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"
    assert conda["ssl_verify"] == {"value": "false", "source": str(world["tmp"] / "forced.condarc")}
    assert set(conda["proxy_servers"]) == {"http", "https"}
    assert conda["custom_channels"]["nvidia"]["source"] == str(prefix / "condarc.d/mirror.yml")
    assert [f["path"] for f in conda["files"]][0] == str(root / "etc/conda/.condarc") and conda["files"][0]["system"]
    urls = {s["url"]: s for s in data["sources"] if s["tool"] == "conda"}
    assert "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge" in urls
    assert "https://repo.anaconda.com/pkgs/main" in urls and urls["https://repo.anaconda.com/pkgs/main"]["written"] == "defaults"


def test_bad_condarc_is_data(world):
    write(world["home"] / ".condarc", "channels: [unclosed\n")
    write(world["home"] / ".conda/condarc", "- just\n- a list\n")
    data = collect(world)
    errors = {f["path"]: f["error"] for f in data["conda"]["files"]}
    assert errors[str(world["home"] / ".condarc")].startswith("not valid YAML:")
    assert "not a mapping" in errors[str(world["home"] / ".conda/condarc")]
    findings = results(net.config_files, Facts.of(network=data))
    assert [f.status for f in findings] == [Status.FAIL, Status.FAIL]
    assert "ConfigurationLoadError" in findings[0].summary


def test_hugging_face_variables(world):
    data = collect(world, {"HF_ENDPOINT": "hf-mirror.com", "HF_HUB_OFFLINE": "1", "TORCH_HOME": "/data/torch"})
    assert data["huggingface"] == {"HF_ENDPOINT": "hf-mirror.com", "HF_HUB_OFFLINE": "1", "HF_HOME": None,
                                   "TORCH_HOME": "/data/torch"}
    assert not [s for s in data["sources"] if s["tool"] == "huggingface"]  # no scheme: nothing to probe


# ---------------------------------------------------------------- checks


def pip_facts(settings: dict, **extra) -> Facts:
    return Facts.of(network={"pip": {"settings": settings, "files": []}, "conda": {}, "huggingface": {}, "sources": [],
                             "offline": True, **extra})


def setting(value: str, source="/home/u/.config/pip/pip.conf", section="global", line=2, kind="user", **extra) -> dict:
    values = value.split() if extra.pop("is_list", False) else [value]
    return {"value": value, "values": values, "source": source, "section": section, "line": line, "kind": kind,
            "overridden": [], **extra}


def test_http_index_without_trusted_host_warns_with_the_line_to_add():
    facts = pip_facts({"index-url": setting("http://mirrors.aliyun.com/pypi/simple/")})
    finding = results(net.trusted_host, facts)[0]
    assert finding.status is Status.WARN and "not a trusted or secure host" in finding.summary
    assert "/home/u/.config/pip/pip.conf [global], line 2" in finding.summary
    assert "Add this line under [global] in /home/u/.config/pip/pip.conf:\n  trusted-host = mirrors.aliyun.com" in finding.fix
    assert finding.who == "you"


def test_trusted_host_rules_follow_pip():
    trusted = setting("mirrors.aliyun.com 10.0.0.5:8080", source="/etc/pip.conf", line=4, kind="global", is_list=True)
    ok = pip_facts({"index-url": setting("http://mirrors.aliyun.com/pypi/simple/"), "trusted-host": trusted,
                    "extra-index-url": setting("http://127.0.0.1:3141/simple http://localhost/simple", is_list=True)})
    assert [f.status for f in results(net.trusted_host, ok)] == [Status.OK]
    # A port in trusted-host trusts only that port; the fix extends the existing line (a second
    # trusted-host line in one section would make the file unreadable).
    other_port = pip_facts({"index-url": setting("http://10.0.0.5:9090/simple"), "trusted-host": trusted})
    finding = results(net.trusted_host, other_port)[0]
    assert finding.status is Status.WARN
    assert "change\n  trusted-host = mirrors.aliyun.com 10.0.0.5:8080\nto\n  trusted-host = mirrors.aliyun.com 10.0.0.5:8080 10.0.0.5:9090" in finding.fix
    assert "In /etc/pip.conf, section [global] (line 4)" in finding.fix and finding.who == "admin"
    # From variables: the fix is a variable (PIP_TRUSTED_HOST replaces the config's list).
    env = pip_facts({"index-url": setting("http://m.example/simple", source="PIP_INDEX_URL", section=None, line=None, kind="variable")})
    assert results(net.trusted_host, env)[0].fix.startswith("export PIP_TRUSTED_HOST=m.example")
    env_trusted = pip_facts({"index-url": setting("http://m.example/simple"),
                             "trusted-host": setting("a.example", source="PIP_TRUSTED_HOST", section=None, line=None, kind="variable")})
    assert results(net.trusted_host, env_trusted)[0].fix.startswith('export PIP_TRUSTED_HOST="a.example m.example"')
    assert results(net.trusted_host, pip_facts({"index-url": setting("https://m.example/simple")})) == []


def test_https_proxy_in_pip_and_conda_settings_fails():
    facts = Facts.of(proxy={"variables": {}}, network={
        "pip": {"settings": {"proxy": setting("https://127.0.0.1:7890", line=3)}},
        "conda": {"proxy_servers": {"https": {"value": "https://***@10.0.0.2:8080", "source": "/home/u/.condarc"}}},
    })
    findings = results(proxy_checks.https_scheme, facts)
    assert [f.status for f in findings] == [Status.FAIL, Status.FAIL]
    assert "In /home/u/.config/pip/pip.conf [global], line 3, set:\n  proxy = http://127.0.0.1:7890" == findings[0].fix
    assert findings[1].fix == "conda config --file /home/u/.condarc --set proxy_servers.https http://USER:PASSWORD@10.0.0.2:8080"
    pip_env = Facts.of(proxy={"variables": {}}, network={"pip": {"settings": {"proxy": setting(
        "https://127.0.0.1:7890", source="PIP_PROXY", section=None, line=None, kind="variable")}}, "conda": {}})
    assert results(proxy_checks.https_scheme, pip_env)[0].fix == "export PIP_PROXY=http://127.0.0.1:7890"
    good = Facts.of(proxy={"variables": {}}, network={"pip": {"settings": {"proxy": setting("http://127.0.0.1:7890")}}, "conda": {}})
    assert [f.status for f in results(proxy_checks.https_scheme, good)] == [Status.OK]


def test_https_proxy_without_network_facts_uses_the_proxy_collectors_view():
    facts = Facts.of(proxy={"variables": {}, "pip_env_proxy": {"url": "https://127.0.0.1:7890"}, "pip_config": {},
                            "conda": {"path": "/home/u/.condarc", "proxy_servers": {"https": {"url": "https://127.0.0.1:7890"}}}})
    fixes = [f.fix for f in results(proxy_checks.https_scheme, facts)]
    assert fixes == ["export PIP_PROXY=http://127.0.0.1:7890",
                     "conda config --file /home/u/.condarc --set proxy_servers.https http://127.0.0.1:7890"]


def test_hf_endpoint_without_scheme_fails_and_offline_is_noted():
    def run(hf):
        return results(net.hf_endpoint, Facts.of(network={"huggingface": hf}))

    finding = run({"HF_ENDPOINT": "hf-mirror.com"})[0]
    assert finding.status is Status.FAIL and finding.fix == "export HF_ENDPOINT=https://hf-mirror.com"
    assert [f.status for f in run({"HF_ENDPOINT": "https://hf-mirror.com"})] == [Status.OK]
    offline = run({"HF_HUB_OFFLINE": "1"})
    assert [f.status for f in offline] == [Status.OK] and "downloads nothing" in offline[0].summary
    assert run({"HF_HUB_OFFLINE": "0"}) == [] and run({}) == []


def test_summary_lists_each_source_with_where_it_comes_from(world):
    write(world["home"] / ".config/pip/pip.conf", "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n"
          "extra-index-url = https://download.pytorch.org/whl/cu126 https://pypi.example.com/simple\n")
    write(world["home"] / ".condarc", "channels: [conda-forge]\n")
    data = collect(world, {"HF_ENDPOINT": "https://hf-mirror.com"})
    finding = results(net.summary, Facts.of(network=data))[0]
    assert finding.status is Status.OK
    assert finding.summary.startswith("pip installs from https://pypi.tuna.tsinghua.edu.cn/simple plus 2 extra indexes")
    assert "conda channels: conda-forge" in finding.summary and "HF_ENDPOINT=https://hf-mirror.com" in finding.summary
    details = "\n".join(finding.details)
    assert f"https://pypi.tuna.tsinghua.edu.cn/simple (from {world['home']}/.config/pip/pip.conf [global], line 2); PyPI or a PyPI mirror" in details
    assert "https://download.pytorch.org/whl/cu126" in details and "the cu126 build" in details
    assert "pypi.example.com/simple (from" in details and "pypi.example.com/simple (from " + str(world["home"]) in details
    assert not any("pypi.example.com" in line and "build" in line for line in finding.details)  # unknown host: no guess
    nothing = results(net.summary, Facts.of(network=collect(world.copy() | {"home": world["tmp"] / "empty"})))
    assert "pip's default" in "\n".join(nothing[0].details)


# ---------------------------------------------------------------- index table and index_note


def test_builds_from_known_indexes_and_unknown_stays_unknown():
    assert indexes.builds_from("https://pypi.org/simple/") == "pypi-default"
    assert indexes.builds_from("https://pypi.tuna.tsinghua.edu.cn/simple") == "pypi-default"
    assert indexes.builds_from("http://mirrors.aliyun.com/pypi/simple/") == "pypi-default"
    assert indexes.builds_from("https://pypi.mirrors.ustc.edu.cn/simple") == "pypi-default"
    assert indexes.builds_from("https://download.pytorch.org/whl/cu126") == "cu126"
    assert indexes.builds_from("https://download.pytorch.org/whl/nightly/cu128/") == "cu128"
    assert indexes.builds_from("https://mirrors.aliyun.com/pytorch-wheels/cu121/") == "cu121"
    assert indexes.builds_from("https://mirror.sjtu.edu.cn/pytorch-wheels/cpu") == "cpu"
    for unknown in ("https://download.pytorch.org/whl", "https://download.pytorch.org/whl/torch_stable.html",
                    "https://mirrors.aliyun.com/other/simple", "https://pypi.example.com/simple", "not a url", ""):
        assert indexes.builds_from(unknown) is None, unknown
    assert indexes.is_pytorch_channel("https://download.pytorch.org/whl/test/cu126") == "test"


def test_index_table_is_validated():
    doc = indexes.load()
    assert all(s["url"].startswith("https://") for s in doc["sources"])
    broken = json.loads(json.dumps(doc))
    broken["pytorch"][0]["source"] = "NOPE"
    with pytest.raises(KnowledgeError, match=r"pytorch\[0\]: source must be one of the keys"):
        loading.validate("package_indexes", broken)
    broken = json.loads(json.dumps(doc))
    del broken["pypi"][1]["path"]
    with pytest.raises(KnowledgeError, match=r"pypi\[1\]: missing `path:`"):
        loading.validate("package_indexes", broken)


def test_index_note_says_when_install_commands_bypass_the_mirror():
    assert net.index_note(pip_facts({}), "https://download.pytorch.org/whl/cu126") is None
    mirror = pip_facts({"index-url": setting("https://mirrors.aliyun.com/pypi/simple/")})
    note = net.index_note(mirror, "https://download.pytorch.org/whl/cu126")
    assert "--index-url replaces the index-url set in /home/u/.config/pip/pip.conf [global], line 2" in note
    assert "not through your mirror" in note and "--index-url https://mirrors.aliyun.com/pytorch-wheels/cu126" in note
    tuna = pip_facts({"index-url": setting("https://pypi.tuna.tsinghua.edu.cn/simple")})
    assert "pytorch-wheels" not in net.index_note(tuna, "https://download.pytorch.org/whl/cu126")
    same = pip_facts({"index-url": setting("https://mirror.sjtu.edu.cn/pytorch-wheels/cu126")})
    assert "gives the same cu126 build" in net.index_note(same, "https://download.pytorch.org/whl/cu126")
    extra = pip_facts({"extra-index-url": setting("https://pypi.tuna.tsinghua.edu.cn/simple", kind="variable",
                                                  source="PIP_EXTRA_INDEX_URL", section=None, line=None)})
    assert "PIP_EXTRA_INDEX_URL" in net.index_note(extra, "https://download.pytorch.org/whl/cu126")


# ---------------------------------------------------------------- probes against local servers


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        type(self).seen.append({"line": self.requestline, "auth": self.headers.get("Authorization"),
                                "proxy_auth": self.headers.get("Proxy-Authorization")})
        code = 404 if "/missing" in self.path else 405 if (self.command == "HEAD" and "/nohead" in self.path) else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], _Handler.seen
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_online_probes_index_channel_and_endpoint(world, server, silent_port):
    port, seen = server
    dead = closed_port()
    write(world["home"] / ".config/pip/pip.conf",
          f"[global]\nindex-url = http://alice:{SECRET}@127.0.0.1:{port}/simple\n"
          f"extra-index-url = http://127.0.0.1:{port}/missing http://127.0.0.1:{dead}/simple http://127.0.0.1:{silent_port}/simple\n"
          f"find-links = {world['tmp']}/no-wheels-here\n")
    write(world["home"] / ".condarc", f"channels:\n  - http://127.0.0.1:{port}/conda-forge\n")
    started = time.monotonic()
    data = collect(world, {"HF_ENDPOINT": f"http://127.0.0.1:{port}/nohead"}, offline=False)
    assert time.monotonic() - started < 4.5  # the silent server is cut off by the 3 s budget
    probes = {s["url"]: s["probe"] for s in data["sources"]}
    assert probes[f"http://***@127.0.0.1:{port}/simple"]["status"] == 200
    assert probes[f"http://127.0.0.1:{port}/missing"]["status"] == 404
    assert probes[f"http://127.0.0.1:{dead}/simple"]["status"] is None and probes[f"http://127.0.0.1:{dead}/simple"]["error"]
    assert "no answer within" in probes[f"http://127.0.0.1:{silent_port}/simple"]["error"]
    assert probes[f"http://127.0.0.1:{port}/conda-forge"]["status"] == 200
    assert probes[f"http://127.0.0.1:{port}/nohead"]["status"] == 200  # HEAD refused (405): GET answered
    assert probes[f"{world['tmp']}/no-wheels-here"]["local"] and "does not exist" in probes[f"{world['tmp']}/no-wheels-here"]["error"]
    lines = [s["line"] for s in seen]
    assert "HEAD /simple/ HTTP/1.1" in lines and "HEAD /conda-forge/noarch/repodata.json HTTP/1.1" in lines
    assert any(s["auth"] and s["auth"].startswith("Basic ") for s in seen)  # credentials sent as a header
    assert SECRET not in json.dumps(data)

    findings = results(net.reachable, Facts.of(network=data))
    warned = [f for f in findings if f.status is Status.WARN]
    assert len(warned) == 4  # 404, refused, silent, missing folder
    assert any("HTTP 404" in f.summary and "check the URL's path" in f.fix for f in warned)
    assert any("Direct connection, no proxy" in f.fix for f in warned)
    oks = [f for f in findings if f.status is Status.OK]
    assert len(oks) == 1 and "3 package sources answer" in oks[0].summary
    (world["tmp"] / "no-wheels-here").mkdir()
    probes[f"{world['tmp']}/no-wheels-here"]["error"] = None  # the folder exists now
    assert "(a local folder)" in [f for f in results(net.reachable, Facts.of(network=data)) if f.status is Status.OK][0].summary


def test_probe_goes_through_the_proxy_unless_no_proxy(world, server):
    port, seen = server
    target = "http://192.0.2.1:9/simple"  # TEST-NET-1: only the proxy can answer for it
    write(world["home"] / ".config/pip/pip.conf", f"[global]\nindex-url = {target}\n")
    data = collect(world, {"http_proxy": f"http://bob:{SECRET}@127.0.0.1:{port}", "HTTP_PROXY": "http://127.0.0.1:1"},
                   offline=False)
    source = data["sources"][0]
    assert source["probe"]["status"] == 200 and source["proxy"] == f"http://***@127.0.0.1:{port}"
    assert seen[-1]["line"] == f"HEAD {target}/ HTTP/1.1" and seen[-1]["proxy_auth"].startswith("Basic ")
    assert SECRET not in json.dumps(data)
    # no_proxy exempts the host: the probe goes direct (to the local server itself).
    write(world["home"] / ".config/pip/pip.conf", f"[global]\nindex-url = http://127.0.0.1:{port}/simple\n")
    data = collect(world, {"http_proxy": "http://127.0.0.1:1", "no_proxy": "localhost,127.0.0.1"}, offline=False)
    assert data["sources"][0]["proxy"] is None and data["sources"][0]["probe"]["status"] == 200
    # pip's own proxy setting wins over the environment for pip's indexes.
    data = collect(world, {"http_proxy": "http://127.0.0.1:1", "no_proxy": "127.0.0.1", "PIP_PROXY": f"http://127.0.0.1:{port}"},
                   offline=False)
    assert data["sources"][0]["proxy"] == f"http://127.0.0.1:{port}"


def test_socks_proxy_and_offline_are_not_probed(world):
    write(world["home"] / ".config/pip/pip.conf", "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n")
    data = collect(world, {"https_proxy": "socks5h://127.0.0.1:1"}, offline=False)
    assert data["sources"][0]["probe"]["error"].startswith("not probed")
    assert [f.status for f in results(net.reachable, Facts.of(network=data))] == [Status.SKIP]
    offline = collect(world)
    assert offline["sources"][0]["probe"] is None
    finding = results(net.reachable, Facts.of(network=offline))[0]
    assert finding.status is Status.SKIP and "--offline" in finding.summary


def test_probe_url_never_raises_on_bad_input():
    assert probe_url("http://[::1", None)["error"]
    assert probe_url("ftp://example.invalid/x", None)["error"].startswith("not an http")
    assert probe_url("http://127.0.0.1:9/", "http://bad:port:x@")["error"]


# ---------------------------------------------------------------- credentials never reach a report


def test_index_credentials_never_appear_in_text_or_json_reports(tmp_path):
    home = tmp_path / "home"
    write(home / ".config/pip/pip.conf", f"[global]\nindex-url = https://user:{SECRET}@mirror.example/simple\n"
                                         f"proxy = https://u:{SECRET}@127.0.0.1:7890\n")
    write(home / ".condarc", f"channels:\n  - https://conda.example/t/{SECRET}/main\n")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PIP_EXTRA_INDEX_URL": f"https://x:{SECRET}@extra.example/simple"}
    for output in (["--json"], [], ["--markdown"]):
        proc = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--offline", "--no-torch-probe",
                               "--only", "network,proxy", *output], capture_output=True, text=True, env=env, cwd=REPO,
                              timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
        assert "mirror.example" in proc.stdout and "extra.example" in proc.stdout
        assert SECRET not in proc.stdout + proc.stderr, output


# --- the probes started before the doctor's imports (facts/network.py run_early, envcheck/cli.py) ---


def test_an_early_collection_is_adopted_only_by_the_same_context(monkeypatch):
    from envcheck.facts import network

    calls = []
    monkeypatch.setattr(network, "_collect", lambda ctx: calls.append(ctx.offline) or {"offline": ctx.offline})
    network.run_early(sys.executable)
    assert calls == [False]
    adopted = collect_network(Context(python=sys.executable))
    assert adopted == {"offline": False} and calls == [False]  # taken, not collected again
    # Taken once: a second collection runs for real.
    collect_network(Context(python=sys.executable))
    assert calls == [False, False]
    # Another context (offline, another interpreter, another environment): collected again.
    for other in (Context(python=sys.executable, offline=True), Context(python="/other/python"),
                  Context(python=sys.executable, env={"PIP_INDEX_URL": "https://mirror.example/simple"})):
        calls.clear()
        network.run_early(sys.executable)
        assert collect_network(other) == {"offline": other.offline} and len(calls) == 2


def test_an_early_collection_that_failed_is_collected_again(monkeypatch):
    from envcheck.facts import network

    def broken(ctx):
        raise OSError("boom")

    monkeypatch.setattr(network, "_collect", broken)
    network.run_early(sys.executable)  # never raises
    monkeypatch.setattr(network, "_collect", lambda ctx: {"again": True})
    assert collect_network(Context(python=sys.executable)) == {"again": True}


def test_the_doctor_probes_each_index_once(server, tmp_path):
    """`envcheck doctor` starts the network probes early and adopts them: the index is asked
    once, not once early and once more by the collector."""
    port, seen = server
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("PIP_")}
    env.update(HOME=str(tmp_path), PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=f"http://127.0.0.1:{port}/simple",
               PIP_TRUSTED_HOST="127.0.0.1")
    result = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--json", "--no-torch-probe"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    sources = json.loads(result.stdout)["facts"]["network"]["data"]["sources"]
    index = [s for s in sources if s["setting"] == "index-url"]
    assert index and index[0]["probe"]["status"] == 200, sources
    assert len([r for r in seen if "/simple" in r["line"]]) == 1, seen
