"""Chinese output of the network area, the proxy/network collectors' reasons, the doctor's own
bad-input errors, the settings file's errors and the collectors' failure texts (issue #11).

English is covered byte for byte by test_network.py, test_host_*.py, test_settings.py and
test_doctor_e2e.py; here the same inputs give Chinese without English sentences, and the English
run of the same errors is unchanged."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from _cli import run_cli
from test_i18n import COMMANDS, _module_report, _world_facts, assert_chinese_report, english_sentences
from envcheck import i18n
from envcheck.core.model import Facts, Status

pytest.importorskip("babel")  # the catalog is compiled with Babel in the test extra

CJK = re.compile(r"[\u4e00-\u9fff]")

NETWORK_WORLDS = sorted(p.stem for p in __import__("scenario_world").SCENARIOS.glob("net-*.yaml")) + [
    "baseline-clean-debian-home", "baseline-healthy-h100-box"]

# Commands the network fixes print (never translated), taken out before looking for English.
NETWORK_COMMANDS = COMMANDS + ("pip config set", "pip install", "or unset")


def _assert_chinese(area: str, facts: Facts):
    zh_findings = assert_chinese_report(area, facts, facts, NETWORK_COMMANDS)
    en_findings = _english_findings(area, facts)
    assert all(CJK.search(f.summary) or f.summary == e.summary for f, e in zip(zh_findings, en_findings)), \
        [f.summary for f in zh_findings]
    return zh_findings, en_findings


def _english_findings(area: str, facts: Facts):
    return _module_report("en", area, facts, width=1000)[1]


@pytest.mark.parametrize("name", NETWORK_WORLDS)
def test_chinese_network_report_in_scenario_worlds(name, tmp_path_factory):
    i18n.set_language("zh")  # the collectors write their reasons in the run's language
    facts = _world_facts(name, "network", tmp_path_factory)
    _assert_chinese("network", facts)


def test_the_network_worlds_are_healthy_and_broken(tmp_path_factory):
    from envcheck.checks import run_checks, select

    statuses = set()
    for name in NETWORK_WORLDS:
        i18n.set_language("en")
        statuses |= {f.status for f in run_checks(select(["network"]), _world_facts(name, "network", tmp_path_factory))}
    assert {Status.OK, Status.WARN, Status.FAIL} <= statuses, statuses


# --- network findings no scenario world reaches (probes answered, failed, local folders) ---------

def _source(url, probe, tool="pip", setting="index-url", source="/home/u/.config/pip/pip.conf", **extra):
    return {"tool": tool, "setting": setting, "url": url, "source": source, "probe": probe, "proxy": None, **extra}


def _network_facts(language: str) -> Facts:
    """Network facts with the probes' reasons written by the collector's own functions in `language`."""
    from envcheck.facts import network as collector

    i18n.set_language(language)
    missing = collector._local_probe("/data/wheels")
    refused = {"status": None, "latency_ms": 3, "error": collector.system_reason(ConnectionRefusedError(111, "Connection refused"))}
    timeout = {"status": None, "latency_ms": None, "error": collector.no_answer_within(2.5)}
    socks = collector.probe_url("https://pypi.org/simple/", "socks5://127.0.0.1:1080")
    settings = {"index-url": {"value": "https://mirrors.aliyun.com/pypi/simple/", "values": ["https://mirrors.aliyun.com/pypi/simple/"],
                              "source": "/home/u/.config/pip/pip.conf", "kind": "user", "section": "global", "line": 2,
                              "overridden": [{"source": "/etc/pip.conf", "section": "global", "line": 1,
                                              "value": "https://pypi.tuna.tsinghua.edu.cn/simple"}]},
                "extra-index-url": {"value": "http://10.0.0.5/simple https://download.pytorch.org/whl/cu121",
                                    "values": ["http://10.0.0.5/simple", "https://download.pytorch.org/whl/cu121"],
                                    "source": "PIP_EXTRA_INDEX_URL", "kind": "variable", "section": None, "line": None},
                "trusted-host": {"value": "pypi.org", "values": ["pypi.org"], "source": "/etc/pip.conf", "kind": "global",
                                 "section": "global", "line": 3},
                "find-links": {"value": "/data/wheels", "values": ["/data/wheels"], "source": "/etc/pip.conf",
                               "kind": "global", "section": "install", "line": None}}
    return Facts.of(network={
        "pip": {"disabled": False, "settings": settings, "files": [
            {"kind": "global", "path": "/etc/pip.conf", "exists": True, "error": None},
            {"kind": "user", "path": "/home/u/.config/pip/pip.conf", "exists": True, "error": None}]},
        "conda": {"files": [], "channels": [{"value": "conda-forge", "source": "/home/u/.condarc"}],
                  "default_channels": [{"value": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main",
                                        "source": "/home/u/.condarc"}],
                  "custom_channels": {"pytorch": {"value": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud",
                                                  "source": "/home/u/.condarc"}},
                  "channel_alias": {"value": "https://mirrors.tuna.tsinghua.edu.cn/anaconda", "source": "/home/u/.condarc"},
                  "ssl_verify": {"value": "false", "source": "/home/u/.condarc"}},
        "huggingface": {"HF_ENDPOINT": "ftp://hf-mirror.com", "HF_HUB_OFFLINE": "1", "HF_HOME": None, "TORCH_HOME": None},
        "offline": False,
        "sources": [
            _source("https://mirrors.aliyun.com/pypi/simple/", {"status": 200, "latency_ms": 40}),
            _source("/data/wheels", missing, setting="find-links", source="/etc/pip.conf"),
            _source("/opt/wheels", {"local": True, "status": None, "error": None}, setting="find-links"),
            _source("https://pypi.org/simple", refused, source="pip's default"),
            _source("https://download.pytorch.org/whl/cu121", timeout, setting="extra-index-url",
                    source="PIP_EXTRA_INDEX_URL", proxy="http://127.0.0.1:7890"),
            _source("https://mirror.example.org/simple", {"status": 404}),
            _source("https://conda.example.org/main", {"status": 404}, tool="conda", setting="channels",
                    source="/home/u/.condarc", written="main"),
            _source("https://a.example.org/simple", {"status": 407}),
            _source("https://b.example.org/simple", {"status": 403}),
            _source("https://c.example.org/simple", {"status": 503}),
            _source("https://d.example.org/simple", {"status": None, "error": "[SSL: CERTIFICATE_VERIFY_FAILED]"}),
            _source("https://e.example.org/main", {"status": None, "error": "SSL: WRONG_VERSION_NUMBER"}, tool="conda",
                    setting="channels"),
            _source("https://f.example.org", {"status": None, "error": "SSL"}, tool="huggingface", setting="HF_ENDPOINT"),
            _source("https://pypi.org/simple/", socks),
        ],
    })


def test_chinese_network_findings_no_world_reaches():
    zh_findings, en_findings = _assert_chinese("network", _network_facts("zh"))
    en = {f.id: f for f in _module_report("en", "network", _network_facts("en"))[1]}
    assert en["network.summary"].summary.startswith("pip installs from https://mirrors.aliyun.com/pypi/simple/ plus 2 extra")
    assert sum(f.status is Status.WARN for f in zh_findings) >= 10
    zh = "\n".join(f"{f.summary}\n{f.fix}\n" + "\n".join(f.details) for f in zh_findings)
    for text in ("连接被拒绝", "2.5 秒内无响应", "/data/wheels 不存在", "未探测：代理是 SOCKS 代理", "pip 的默认设置"):
        assert text in zh, text


def test_index_note_in_chinese():
    from envcheck.checks.network import index_note

    for language in ("en", "zh"):
        facts = _network_facts(language)
        note = index_note(facts, "https://download.pytorch.org/whl/cu121")
        if language == "en":
            assert note.startswith("--index-url replaces the index-url set in /home/u/.config/pip/pip.conf [global], line 2")
        else:
            assert english_sentences(note) == [] and "仍然有效" in note, note


# --- the proxy collector's reasons --------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proxy_facts(language: str, tmp_path) -> Facts:
    from envcheck.core.context import Context
    from envcheck.facts.proxy import collect_proxy

    i18n.set_language(language)
    home = tmp_path / language
    home.mkdir()
    (home / "pip.conf").write_text("[global]\nproxy = http://a:1\nproxy = http://b:2\n")
    (home / ".condarc").write_text("proxy_servers:\n\thttp: http://c:3\n")
    env = {"http_proxy": "http://proxy:99999", "HTTP_PROXY": "http://proxy:port", "https_proxy": "ftp://proxy:21",
           "HTTPS_PROXY": "http://:8080", "all_proxy": f"http://127.0.0.1:{_free_port()}", "ALL_PROXY": "",
           "ftp_proxy": "http://user:secret@[::1", "XDG_CONFIG_DIRS": str(tmp_path / "none"),
           "PIP_CONFIG_FILE": str(home / "pip.conf")}
    ctx = Context(env=env, python="/usr/bin/python3", home=home, cwd=home, offline=False, sys_root=tmp_path / "root")
    return Facts.of(proxy=collect_proxy(ctx), python={"target": {"executable": "/usr/bin/python3", "socks_importable": True}})


def test_proxy_collector_reasons_in_chinese(tmp_path):
    from test_i18n import MODULE_COMMANDS

    zh_facts, en_facts = _proxy_facts("zh", tmp_path), _proxy_facts("en", tmp_path)
    zh_vars, en_vars = zh_facts.data("proxy")["variables"], en_facts.data("proxy")["variables"]
    expected = {
        "http_proxy": ("cannot parse the URL: Port out of range 0-65535", "无法解析该地址：端口超出范围 0-65535"),
        "HTTP_PROXY": ("cannot parse the URL: Port could not be cast to integer value as 'port'",
                       "无法解析该地址：端口 'port' 不是整数"),
        "https_proxy": ("unknown scheme 'ftp' (use http://, or socks5h:// for a SOCKS proxy)",
                        "未知协议 'ftp'（请用 http://，SOCKS 代理用 socks5h://）"),
        "HTTPS_PROXY": ("no host name in the URL", "地址中没有主机名"),
        "ALL_PROXY": ("empty value", "值为空"),
        "ftp_proxy": ("cannot parse the URL: Invalid IPv6 URL", "无法解析该地址：IPv6 地址格式无效"),
    }
    for name, (english, chinese) in expected.items():
        assert en_vars[name]["error"] == english and zh_vars[name]["error"] == chinese, name
    assert en_vars["ftp_proxy"]["url"] == "(hidden: it contains credentials and cannot be parsed)"
    assert "secret" not in zh_vars["ftp_proxy"]["url"] and CJK.search(zh_vars["ftp_proxy"]["url"])
    zh, en = zh_facts.data("proxy"), en_facts.data("proxy")
    assert en["pip_config"]["error"].endswith("[line  3]: option 'proxy' in section 'global' already exists")
    assert zh["pip_config"]["error"].endswith("时出错（第  3 行）：'global' 节中的选项 'proxy' 重复出现")
    assert en["conda"]["error"] == "not valid YAML: while scanning for the next token"
    assert zh["conda"]["error"] == '不是有效的 YAML："扫描下一个记号时出错"'
    assert [p["error"] for p in en["reachability"]] == ["Connection refused"]
    assert [p["error"] for p in zh["reachability"]] == ["连接被拒绝"]
    # The whole proxy area, with these reasons inside its messages, speaks Chinese.
    zh_report, _findings = _module_report("zh", "proxy", zh_facts, width=1000)
    assert english_sentences(zh_report, COMMANDS + MODULE_COMMANDS["proxy"]) == [], zh_report
    narrow, _findings = _module_report("zh", "proxy", zh_facts, width=80)
    assert all(cell_len(line) <= 80 for line in narrow.splitlines()), narrow


def test_proxy_probe_timeout_and_unfinished_connection_in_chinese(monkeypatch):
    import socket
    from envcheck.facts import proxy

    def hang(*_args, **_kwargs):
        raise socket.timeout()

    monkeypatch.setattr(socket, "create_connection", hang)
    for language, text in (("en", "no answer within 1.5 s"), ("zh", "1.5 秒内无响应")):
        i18n.set_language(language)
        assert proxy.probe_tcp("10.0.0.1", 3128) == text


def test_collector_failures_in_chinese():
    from envcheck.core.context import CommandResult

    results = [CommandResult(["tmux", "display-message"], None, error="not found"),
               CommandResult(["nvcc", "--version"], None, timed_out=True),
               CommandResult(["nvidia-smi"], 9, stderr="NVIDIA-SMI has failed\n")]
    i18n.set_language("en")
    assert [r.describe_failure() for r in results] == [
        "`tmux display-message` could not run: not found", "`nvcc --version` did not finish in time (timed out)",
        "`nvidia-smi` exited with 9: NVIDIA-SMI has failed"]
    i18n.set_language("zh")
    assert [r.describe_failure() for r in results] == [
        "`tmux display-message` 无法运行：未找到", "`nvcc --version` 没有按时结束（超时）",
        '`nvidia-smi` 退出码为 9："NVIDIA-SMI has failed"']
    assert all(english_sentences(r.describe_failure()) == [] for r in results)


def test_a_collector_timeout_in_chinese():
    from envcheck.core import runner
    from envcheck.core.context import Context
    from envcheck.facts import Collector

    def slow(_ctx):
        import time

        time.sleep(3)
        return {}

    registry = {"slow": Collector("slow", slow, "sleeps", 0.2)}
    original = runner.all_collectors
    runner.all_collectors = lambda: registry
    try:
        for language, text in (("en", "timed out after 0s"), ("zh", "0 秒后超时")):
            i18n.set_language(language)
            assert runner.collect(Context(), ["slow"])["slow"].error == text
    finally:
        runner.all_collectors = original


# --- the doctor's own errors: bad options and bad settings files --------------------------------

def _bad_inputs(tmp_path):
    """(arguments, environment, the English error line as envcheck printed it before issue #11)."""
    folder = tmp_path / "env"
    folder.mkdir()
    broken = tmp_path / "broken-python"
    broken.symlink_to(tmp_path / "gone")
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    areas = ", ".join(__import__("envcheck.checks", fromlist=["AREAS"]).AREAS)
    cases = [
        (["--json", "--markdown"], {}, "choose one of --json and --markdown."),
        (["--probe-timeout", "inf"], {}, "--probe-timeout inf: give the seconds the torch probe may take as a number, "
                                         "e.g. --probe-timeout 60."),
        (["--only", ","], {}, "--only is empty; give an area (e.g. --only torch) or a check id, see --list-checks."),
        (["--only", "nonsense,proxy"], {}, f"--only nonsense matches no area or check; areas are: {areas} (see --list-checks)."),
        (["--python", " "], {}, "--python is empty; give the path of a Python interpreter, e.g. "
                                "--python ~/miniconda3/envs/NAME/bin/python."),
        (["--python", str(broken)], {}, f"--python {broken} is a broken symbolic link (it points to {tmp_path / 'gone'}, "
                                        "which does not exist or loops); give the path of an existing interpreter."),
        (["--python", str(folder)], {}, f"--python {folder}: that folder has no bin/python; give the interpreter itself, "
                                        f"e.g. {folder}/bin/python."),
        (["--python", "no-such-python-here"], {}, "--python no-such-python-here: no such command on PATH; give the full "
                                                  "path, e.g. ~/miniconda3/envs/NAME/bin/python."),
        (["--python", str(tmp_path / "nope" / "python")], {},
         f"--python {tmp_path / 'nope' / 'python'}: no such file; give the path of a Python interpreter, e.g. "
         "~/miniconda3/envs/NAME/bin/python."),
        (["--python", str(plain)], {}, f"--python {plain}: that file is not executable."),
        ([], {"ENVCHECK_CONFIG": str(tmp_path / "missing.toml")},
         f"ENVCHECK_CONFIG points at {tmp_path / 'missing.toml'}, which is not a file; fix or unset it."),
    ]
    settings_cases = [
        ("disk_warn = 3", "{file}: unknown setting 'disk_warn'; known settings: ignore, disk_warn_gib, disk_fail_gib, "
                          "shm_warn_gib, gpu_hot_c, gpu_busy_memory_fraction."),
        ('disk_warn_gib = "lots"', "{file}: disk_warn_gib must be a number, e.g. disk_warn_gib = 5.0."),
        ("gpu_hot_c = 84.5", "{file}: gpu_hot_c must be a whole number, e.g. gpu_hot_c = 85."),
        ("gpu_hot_c = 500", "{file}: gpu_hot_c = 500 is out of range; use 30 to 120."),
        ('ignore = "terminal"', '{file}: ignore must be a list of check ids or areas, e.g. ignore = ["proxy.reachable"].'),
        ('ignore = ["proxy.reachabel"]', "{file}: ignore entry 'proxy.reachabel' matches no check or area "
                                         "(see `envcheck doctor --list-checks`)."),
        ("disk_fail_gib = 9", "disk_fail_gib (9) must not exceed disk_warn_gib (5); set by {file} and default."),
        ("[envcheck]\nx = 1", "{file}: unknown setting 'envcheck'; known settings: ignore, disk_warn_gib, disk_fail_gib, "
                              "shm_warn_gib, gpu_hot_c, gpu_busy_memory_fraction."),
    ]
    for i, (text, english) in enumerate(settings_cases):
        config = tmp_path / f"config{i}.toml"
        config.write_text(text + "\n")
        cases.append(([], {"ENVCHECK_CONFIG": str(config)}, english.format(file=config)))
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("disk_warn_gib = \n")
    cases.append(([], {"ENVCHECK_CONFIG": str(bad_toml)}, None))  # TOML's own reason: checked by prefix below
    return cases


def test_doctor_bad_input_errors_in_chinese_and_unchanged_in_english(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.delenv("ENVCHECK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)  # no pyproject.toml above a temporary folder
    for args, env, english in _bad_inputs(tmp_path):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        argv = ["doctor", "--offline", "--no-torch-probe", *([] if "--only" in args else ["--only", "system"]), *args]
        code, _out, err = run_cli([*argv, "--lang", "en"], capsys)
        assert code == 2 and err.count("\n") == 1, (args, err)
        if english is None:
            assert err.startswith(f"envcheck: error: {env['ENVCHECK_CONFIG']} is not valid TOML (") and \
                err.endswith("); fix it or move it away.\n"), err
        else:
            assert err == f"envcheck: error: {english}\n"
        code, _out, err = run_cli([*argv, "--lang", "zh"], capsys)
        assert code == 2 and err.startswith("envcheck: 错误：") and CJK.search(err[len("envcheck: 错误："):]), (args, err)
        assert english_sentences(err, COMMANDS + ("no-such-python-here",)) == [], err
        for name in env:
            monkeypatch.delenv(name)


def test_the_spinner_texts_are_translated():
    for language, texts in (("en", ["Collecting facts...", "Collecting...", "Collecting facts... waiting for torch"]),
                            ("zh", ["正在采集信息……", "正在采集……", "正在采集信息……还在等待：torch"])):
        i18n.set_language(language)
        assert [i18n._("Collecting facts..."), i18n._("Collecting..."),
                i18n._("Collecting facts... waiting for {collectors}").format(collectors="torch")] == texts


def test_output_file_errors_in_chinese(tmp_path):
    from envcheck.core.errors import UserError
    from envcheck.util.fsutil import check_output_file, folder_problem

    existing = tmp_path / "requirements.txt"
    existing.write_text("")
    cases = [lambda: check_output_file(" ", False), lambda: check_output_file(tmp_path, False),
             lambda: check_output_file(existing, False), lambda: check_output_file(tmp_path / ("x" * 250), False),
             lambda: check_output_file(tmp_path / "missing" / "out.txt", False)]
    for language in ("en", "zh"):
        i18n.set_language(language)
        messages = []
        for case in cases:
            with pytest.raises(UserError) as caught:
                case()
            messages.append(str(caught.value))
        messages.append(folder_problem(existing, "--dir x"))
        if language == "en":
            assert messages[2] == f"{existing} already exists; pass --force to replace it, or choose another file with -o."
            assert messages[5] == f"--dir x: {existing} is a file, not a folder; choose a folder."
        else:
            assert all(CJK.search(m) and english_sentences(m) == [] for m in messages), messages
