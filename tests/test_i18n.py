"""Translations (issue #11): language choice, catalog completeness, and Chinese output of the parts
converted so far (the doctor report frame, --list-checks headers, the error lines, the top-level and
doctor --help, the shell and terminal checks, and the check modules in MODULE_WORLDS/MODULE_FACTS).
English output is covered byte for byte by every other test file; here: the same facts give the
same ids and statuses in both languages."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from _cli import run_cli
from test_host_checks import assignment, shell_facts
from test_nvcc import _nvcc, _torch
from envcheck import i18n
from envcheck.checks import AREAS, select, run_checks
from envcheck.core.model import FactResult, Facts, Status

# --- language choice ---------------------------------------------------------------------------

LOCALE_TABLE = [
    # (environment, --lang, chosen with the locale switched on)
    ({}, None, "en"),
    ({"LANG": "zh_CN.UTF-8"}, None, "zh"),
    ({"LANG": "zh_SG.UTF-8"}, None, "zh"),
    ({"LANG": "zh_TW.UTF-8"}, None, "zh"),  # Traditional reads Simplified until a zh_TW catalog exists
    ({"LANG": "zh_HK.UTF-8"}, None, "zh"),
    ({"LANG": "en_US.UTF-8"}, None, "en"),
    ({"LANG": "de_DE.UTF-8"}, None, "en"),
    ({"LANG": "C.UTF-8"}, None, "en"),
    ({"LC_MESSAGES": "zh_CN.UTF-8"}, None, "zh"),
    ({"LC_ALL": "zh_CN.UTF-8"}, None, "zh"),
    # LC_ALL before LC_MESSAGES before LANG
    ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"LC_MESSAGES": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, None, "en"),
    # LANGUAGE first, unless the locale is C/POSIX (or unset)
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"LANGUAGE": "fr", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"LANGUAGE": "zh_CN", "LANG": "C"}, None, "en"),
    ({"LANGUAGE": "zh_CN", "LC_ALL": "POSIX"}, None, "en"),
    ({"LANGUAGE": "zh_CN"}, None, "en"),
    # ENVCHECK_LANG over the locale, --lang over both; English can be forced in a Chinese locale
    ({"ENVCHECK_LANG": "zh", "LANG": "en_US.UTF-8"}, None, "zh"),
    ({"ENVCHECK_LANG": "en", "LANG": "zh_CN.UTF-8"}, None, "en"),
    ({"ENVCHECK_LANG": "en", "LANGUAGE": "zh_CN", "LC_ALL": "zh_CN.UTF-8"}, None, "en"),
    ({"ENVCHECK_LANG": "klingon", "LANG": "zh_CN.UTF-8"}, None, "zh"),
    ({"LANG": "zh_CN.UTF-8"}, "en", "en"),
    ({"ENVCHECK_LANG": "zh"}, "en", "en"),
    ({"ENVCHECK_LANG": "en"}, "zh", "zh"),
    ({}, "zh_CN", "zh"),
    ({}, "zh-TW", "zh"),
]


@pytest.mark.parametrize("environ,option,expected", LOCALE_TABLE)
def test_language_choice_with_the_locale_switched_on(environ, option, expected):
    assert i18n.choose_language(option, environ, locale_auto=True) == expected


@pytest.mark.parametrize("environ,option,expected", LOCALE_TABLE)
def test_while_locale_auto_is_off_only_lang_and_envcheck_lang_choose_chinese(environ, option, expected):
    explicit = i18n.normalize(option) or i18n.normalize(environ.get("ENVCHECK_LANG"))
    assert i18n.choose_language(option, environ, locale_auto=False) == (explicit or "en")


def test_the_locale_chooses_the_language_now_that_every_module_is_converted():
    # docs/i18n.md: LOCALE_AUTO was off while only part of the tool was translated.
    assert i18n.LOCALE_AUTO is True
    assert i18n.choose_language(None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert i18n.choose_language(None, {"LANG": "zh_CN.UTF-8", "ENVCHECK_LANG": "en"}) == "en"
    assert i18n.choose_language("en", {"LC_ALL": "zh_TW.UTF-8"}) == "en"
    assert i18n.choose_language(None, {"LANG": "de_DE.UTF-8"}) == "en"


def test_set_and_current_language():
    assert i18n.set_language("zh") == "zh" and i18n.current_language() == "zh"
    assert i18n._("Settings") == "设置"
    assert i18n.ngettext("{count} warning", "{count} warnings", 2).format(count=2) == "2 项警告"
    assert i18n.set_language("en") == "en"
    assert i18n._("Settings") == "Settings"
    assert i18n.ngettext("{count} warning", "{count} warnings", 1) == "{count} warning"
    assert i18n.ngettext("{count} warning", "{count} warnings", 2) == "{count} warnings"
    assert i18n._("not a message in the catalog") == "not a message in the catalog"


# --- the catalog -------------------------------------------------------------------------------

babel = pytest.importorskip("babel")
from envcheck.i18n import catalog as tools  # noqa: E402 - needs Babel


_CACHE: dict = {}


def _all_problems() -> list[str]:
    """tools.problems("zh"), computed once per test process (it extracts the whole code: ~1.5 s)."""
    if "problems" not in _CACHE:
        _CACHE["problems"] = tools.problems("zh")
    return _CACHE["problems"]


def _template():
    if "template" not in _CACHE:
        _CACHE["template"] = tools.extract_template()
    return _CACHE["template"]


def _problems(kind: str) -> list[str]:
    return [p for p in _all_problems() if p.startswith(kind)]


def test_every_message_has_a_chinese_translation():
    messages = [m for m in tools.read("zh") if m.id]
    assert len(messages) > 90
    assert _problems("untranslated") == [] and _problems("fuzzy") == []


def test_placeholders_are_named_and_identical_in_both_languages():
    assert [p for p in _all_problems() if "placeholder" in p or "format string" in p] == []
    assert tools.placeholders("{count} of {total}") == ["count", "total"]
    assert tools.placeholders("{} and {0}") == ["", "0"]


def test_the_catalog_holds_exactly_the_messages_in_the_code():
    # Extraction compared with the .po: a new _() without `python -m envcheck.i18n extract` fails here.
    extracted = {m.id for m in _template() if m.id}
    in_catalog = {m.id for m in tools.read("zh") if m.id}
    assert extracted - in_catalog == set(), "run `python -m envcheck.i18n extract`"
    assert in_catalog - extracted == set(), "run `python -m envcheck.i18n extract`"
    for converted in ("envcheck/checks/shell.py", "envcheck/checks/terminal.py", "envcheck/core/render.py",
                      "envcheck/core/errors.py", "envcheck/cli.py", "envcheck/checks/torch.py", "envcheck/checks/driver.py",
                      "envcheck/checks/gpu.py", "envcheck/checks/network.py", "envcheck/commands/smoke_train.py",
                      "envcheck/commands/scaffold.py", "envcheck/commands/export.py", "envcheck/commands/diff.py",
                      "envcheck/commands/gpu_bench.py", "envcheck/commands/fleet.py", "envcheck/commands/explain.py",
                      "reference_train/datacheck.py"):
        assert any(converted in (loc for loc, _ in m.locations) for m in _template()), converted


def test_the_compiled_catalog_is_up_to_date_with_the_po():
    assert [p for p in _all_problems() if ".mo" in p] == [], "run `python -m envcheck.i18n compile`"


def test_check_command_reports_a_complete_catalog(capsys):
    from envcheck.i18n.__main__ import main

    assert main(["check"]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["nonsense"]) == 2


# --- "no English sentence" helper --------------------------------------------------------------

# The commands the converted parts print (fixes, the report's header), taken out before looking
# for English: commands are never translated.
COMMANDS = ("envcheck doctor", "envcheck explain", "tmux new -s train", "tmux attach -t train",
            "sudo apt install tmux", "conda install -c conda-forge tmux", "init bash", "init zsh")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_NAMES = {"PyTorch", "Python", "Shell", "NVIDIA", "CUDA", "cuDNN", "NCCL", "GPU", "SSH", "ssh", "root"}


def english_sentences(text: str, commands=COMMANDS) -> list[str]:
    """Runs of 3+ English words left in text once code spans, quoted strings, the given commands,
    paths and identifiers (anything with / ~ = _ . : $ @ - or a digit), ALL-CAPS names and product
    names are taken out. Chinese characters and full-width punctuation end a run."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"`[^`]*`", " ", line)
        line = re.sub(r"'[^']*'|\"[^\"]*\"", " ", line)
        for command in commands:
            line = line.replace(command, " ")
        line = re.sub(r"[^\s%s]*[/~=_.:$@\\\d-][^\s%s]*" % (_CJK, _CJK), " ", line)
        line = " ".join(w for w in line.split(" ") if w not in _NAMES and not re.fullmatch(r"[A-Z]{2,}", w))
        found += [m.group(0) for m in re.finditer(r"[A-Za-z]+(?:[ \t]+[A-Za-z]+){2,}", line)]
    return found


def test_the_english_sentence_helper():
    assert english_sentences("tmux is not installed") == ["tmux is not installed"]
    assert english_sentences("没有失败项；Doctor found problems") == ["Doctor found problems"]
    assert english_sentences("no proxy set (environment, pip config, ~/.condarc)") != []
    assert english_sentences("不在 tmux 或 screen 中：训练会被终止") == []
    assert english_sentences("修复：tmux new -s train   （按 Ctrl-b d 脱离会话，之后用 tmux attach -t train 重新连上）") == []
    assert english_sentences("  • ~/.bashrc:3: export CUDA_VISIBLE_DEVICES=1") == []
    assert english_sentences("把 ~/.bashrc 第 4 行移到 '>>> conda initialize >>>' 代码块之前：export PATH=\"$PATH:DIR\"") == []
    assert english_sentences("envcheck doctor 0.1.0 · 正在诊断 /home/u/.venv/bin/python") == []
    assert english_sentences("/home/u/miniconda3/bin/conda init bash") == []


# --- Chinese output of the converted parts -----------------------------------------------------


BROKEN_ASSIGNMENTS = [
    assignment(3, "CUDA_VISIBLE_DEVICES", "export CUDA_VISIBLE_DEVICES=1", [{"dir": "1"}]),
    assignment(4, "https_proxy", "export https_proxy=http://10.0.0.1:3128", []),
    assignment(5, "PATH", "export PATH=/opt/tools/bin", [{"dir": "/opt/tools/bin", "replaces_old_value": True}]),
    assignment(6, "PATH", "export PATH=/opt/missing/bin:$PATH", [{"dir": "/opt/missing/bin", "exists": False}]),
    assignment(7, "LD_LIBRARY_PATH", "export LD_LIBRARY_PATH=/opt/nolib:$LD_LIBRARY_PATH",
                [{"dir": "/opt/nolib", "exists": False}]),
    assignment(30, "PATH", "export PATH=/opt/py/bin:$PATH",
                [{"dir": "/opt/py/bin", "prepended": True, "python_executables": ["python", "pip"]}]),
]

SCENARIOS = {
    "healthy": dict(shell=shell_facts(conda_lines=[10, 20], conda_installed=True),
                    terminal={"in_tmux": True, "tmux_session": "train", "tmux_installed": True}),
    "healthy-screen": dict(shell=shell_facts([assignment(7, "LD_LIBRARY_PATH", "export LD_LIBRARY_PATH=/opt/nolib",
                                                     [{"dir": "/opt/nolib", "exists": False}])]),
                           terminal={"in_screen": True, "screen_session": "123.pts", "tmux_installed": True}),
    "broken": dict(shell=shell_facts(BROKEN_ASSIGNMENTS, conda_lines=[10, 20], conda_installed=True,
                                **{".profile": {"path": "/home/u/.profile", "exists": True, "sources_bashrc": False,
                                                "assignments": []}}),
                   terminal={"over_ssh": True, "tmux_installed": False, "screen_installed": True}),
    "no-conda-init": dict(shell=shell_facts(conda_installed=True, **{".profile": {"path": "/home/u/.profile", "exists": False}}),
                          terminal={"tmux_installed": False}),
    "zsh": dict(shell=shell_facts(conda_lines=[1, 9], conda_installed=True, shell="zsh"), terminal={}),
}


def _facts(scenario: str, settings: dict | None = None) -> Facts:
    data = SCENARIOS[scenario]
    facts = Facts.of(shell=data["shell"], terminal=data["terminal"] or {"tmux_installed": True},
                     env={"vars": {}}, nvidia={"gpus": [{"index": 0}]})
    if settings is not None:
        facts["settings"] = FactResult("settings", True, data=settings)
    return facts


def _findings(facts: Facts):
    return run_checks(select(["shell", "terminal"]), facts)


def _terminal(language: str, scenario: str, verbose: bool = False, width: int = 80, silence: bool = True) -> str:
    from envcheck.core.render import render_terminal

    i18n.set_language(language)
    facts = _facts(scenario, settings={"values": {"ignore": ["terminal.tmux_installed"]},
                                       "sources": {"ignore": "/home/u/.config/envcheck/config.toml"}} if silence else None)
    findings = _findings(facts)
    for f in findings:
        if f.id == "terminal.tmux_installed" and silence:
            f.silenced_by = "/home/u/.config/envcheck/config.toml"
    # A failed collector: its reason is an identifier here (collectors' reasons are tested in Chinese
    # in tests/test_i18n_network_host.py and test_i18n_driver_gpu.py).
    facts["broken-collector"] = FactResult("broken-collector", False, error="TimeoutExpired")
    out = io.StringIO()
    render_terminal(Console(file=out, width=width, color_system=None, highlight=False), facts, findings,
                    "/home/u/.venv/bin/python", verbose)
    return out.getvalue()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("verbose", [False, True])
def test_chinese_report_of_the_converted_checks_has_no_english_sentence(scenario, verbose):
    text = _terminal("zh", scenario, verbose)
    assert english_sentences(text) == [], text
    assert re.search(r"[\u4e00-\u9fff]", text)
    english = _terminal("en", scenario, verbose)
    assert english_sentences(english), english  # the helper does see English


def test_the_broken_scenario_reaches_every_shell_and_terminal_message():
    findings = _findings(_facts("broken")) + _findings(_facts("no-conda-init")) + _findings(_facts("zsh"))
    warned = {f.id for f in findings if f.status is Status.WARN}
    assert warned == {"shell.cuda_visible_devices", "shell.path_exports", "shell.conda_init",
                      "shell.login_reads_bashrc", "terminal.session", "terminal.tmux_installed"}


def test_chinese_markdown_frame_has_no_english_sentence():
    from envcheck.core.render import render_markdown

    i18n.set_language("zh")
    facts = _facts("broken")
    text = render_markdown(facts, _findings(facts), "/home/u/.venv/bin/python")
    # The host line names the kernel (e.g. "Linux 6.1.0-18-amd64 (x86_64)"); everything else is ours.
    assert english_sentences("\n".join(l for l in text.splitlines() if not l.startswith("- 主机"))) == [], text
    assert "#### Shell 启动文件" in text and "修复" in text


def test_chinese_fix_continuation_lines_line_up_under_the_wide_label():
    text = _terminal("zh", "broken", silence=False)
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if "修复：sudo apt install tmux" in line)
    # the second line of the fix starts where the first line's text starts, in cells
    start = cell_len(lines[i][:lines[i].index("sudo")])
    assert lines[i + 1][:start].strip() == "" and cell_len(lines[i + 1][:start]) == start


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_chinese_report_fits_80_columns(scenario):
    # CJK characters take two cells: rich must wrap by cells, not characters.
    for verbose in (False, True):
        text = _terminal("zh", scenario, verbose, width=80)
        assert all(cell_len(line) <= 80 for line in text.splitlines()), text
    wide = _terminal("zh", "broken", width=200)
    assert any(cell_len(line) > 80 for line in wide.splitlines())  # so the 80-column run had to wrap


def test_json_has_the_same_ids_and_statuses_in_both_languages():
    from envcheck.core.render import report_dict

    reports = {}
    for language in ("en", "zh"):
        i18n.set_language(language)
        facts = _facts("broken")
        reports[language] = report_dict(facts, _findings(facts), "/usr/bin/python3")
    shape = {lang: [(c["id"], c["area"], c["status"], c["who"], c["silenced_by"], bool(c["fix"]), len(c["details"]))
                    for c in doc["checks"]] for lang, doc in reports.items()}
    assert shape["en"] == shape["zh"]
    assert reports["en"]["summary"] == reports["zh"]["summary"]
    # The text fields are in the language of the run (docs/i18n.md).
    assert all(re.search(r"[\u4e00-\u9fff]", c["summary"]) for c in reports["zh"]["checks"])
    assert not any(re.search(r"[\u4e00-\u9fff]", c["summary"]) for c in reports["en"]["checks"])


def test_doctor_json_from_the_command_line_in_both_languages(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    docs = {}
    for language in ("en", "zh"):
        code, out, _err = run_cli(["doctor", "--only", "shell,terminal", "--json", "--offline", "--no-torch-probe",
                                   "--lang", language], capsys)
        assert code in (0, 1)
        docs[language] = json.loads(out)
    assert [(c["id"], c["status"]) for c in docs["en"]["checks"]] == [(c["id"], c["status"]) for c in docs["zh"]["checks"]]
    assert docs["en"]["summary"] == docs["zh"]["summary"]


# --- Chinese output of the converted check modules, in scenario worlds ------------------------

# Each converted check module: the scenario worlds (tests/scenarios/) run in both languages, at
# least one healthy and one broken, plus Facts.of(...) cases for branches no scenario reaches.
# The commands its fixes print, taken out before looking for English, are listed beside them.
MODULE_WORLDS = {
    "proxy": ["baseline-clean-debian-home", "fa-proxy-with-no-proxy-localhost", "missed-proxy-case-mismatch",
              "missed-https-scheme-proxy-env", "missed-socks-proxy-without-pysocks", "missed-proxy-without-no-proxy",
              "net-pip-conf-https-proxy", "net-condarc-https-proxy"],
    "path": ["baseline-clean-debian-home", "fa-debian-default-home-snap-path", "fa-duplicate-path-entries",
             "fa-ld-library-path-missing-cuda-folder", "fa-home-bin-python-symlink", "missed-ld-preload"],
    # The system area reads the machine running the tests (disks, cgroups): the Facts.of cases below
    # give its healthy and broken findings for sure.
    "system": ["baseline-clean-debian-home"],
    "python": ["baseline-clean-debian-home", "baseline-real-interpreter", "env-broken-requirements",
               "env-pip-torch-over-conda-pytorch", "env-pixi-env-without-pip", "env-plain-venv-without-pip",
               "env-uv-venv-without-pip", "fa-conda-base-set-venv-python", "fa-conda-env-reached-through-symlinks",
               "fa-home-bin-python-symlink", "fa-pythonpath-source-folder", "fa-venv-torch-wins-over-user-site",
               "shadow-pythonpath-old-torch", "shadow-user-site-before-base-site-packages", "shadow-user-site-only-copy"],
    "nvcc": ["baseline-clean-debian-home", "root-nvcc-11-8-with-torch-cu130"],
    "cuda": ["baseline-healthy-h100-box", "missed-mig-cvd-by-index", "root-cvd-empty-hides-every-gpu",
             "root-cvd-index-beyond-the-gpus"],
}


def _hit(folder, name):
    return {"dir": folder, "path": f"{folder}/{name}", "realpath": f"{folder}/{name}"}


def _gpus(*names):
    return [{"index": i, "name": name, "uuid": f"GPU-{i}0000000-0000-0000-0000-000000000000", "mig_devices": []}
            for i, name in enumerate(names)]


def _proxy_variable(value, kind, **extra):
    info = {"value": value, "url": value, "kind": kind}
    info.update(extra)
    return info


GIB = 1024**3

MODULE_FACTS = {
    "proxy": {
        "malformed-unreachable": dict(proxy={
            "variables": {
                "http_proxy": _proxy_variable("127.0.0.1:7890", "http", scheme=None, missing_scheme=True,
                                              host="127.0.0.1", port=7890, effective_port=7890),
                "HTTP_PROXY": _proxy_variable("http://127.0.0.1:7890", "http", scheme="http", host="127.0.0.1",
                                              port=7890, effective_port=7890),
                # An identifier for the collector's reason (its Chinese: tests/test_i18n_network_host.py).
                "https_proxy": _proxy_variable("http://proxy:99999", "https", error="ValueError"),
                "all_proxy": _proxy_variable("socks5://127.0.0.1:7891", "all", scheme="socks5", host="127.0.0.1",
                                             port=7891, effective_port=7891),
                "no_proxy": {"value": "localhost", "kind": "no", "entries": ["localhost"]},
                "NO_PROXY": {"value": "example.com", "kind": "no", "entries": ["example.com"]},
            },
            "pip_config": {"proxy": {"url": "https://***@10.0.0.1:3128"}},
            "pip_env_proxy": {"url": "https://10.0.0.2:3128"},
            "conda": {"proxy_servers": {"https": {"url": "https://10.0.0.3:3128"}}, "error": "line 3: bad YAML",
                      "path": "/home/u/.condarc"},
            "reachability": [{"host": "127.0.0.1", "port": 7890, "status": "unreachable",
                              "error": "ConnectionRefusedError"},
                             {"host": "127.0.0.1", "port": 7891, "status": "reachable"},
                             {"host": "10.0.0.9", "port": 3128, "status": "unreachable"},
                             {"host": "10.0.0.1", "port": 3128, "status": "skipped"}],
        }, python={"target": {"executable": "/home/u/.venv/bin/python", "socks_importable": None}}),
        "only-tools": dict(proxy={"variables": {}, "pip_config": {"proxy": {"url": "http://10.0.0.1:3128"}}}),
        "pip-config-https": dict(proxy={"variables": {}, "pip_config": {"proxy": {"url": "https://10.0.0.1:3128"}}}),
        "not-collected": dict(),
    },
    "path": {
        "broken": dict(paths={
            "path": [{"dir": "/opt/missing/bin", "is_dir": False}, {"dir": "", "is_dir": False},
                     {"dir": "/usr/games", "is_dir": False, "distro_default": True},
                     {"dir": "/usr/bin", "is_dir": True}, {"dir": "/usr/bin", "is_dir": True, "duplicate_of": 3}],
            "shadowed": {
                "nvcc": [_hit("/usr/local/cuda/bin", "nvcc"), _hit("/usr/bin", "nvcc")],
                "pip": [_hit("/home/u/.local/bin", "pip"), _hit("/usr/bin", "pip")],
                "torchrun": [_hit("/opt/conda/bin", "torchrun")],
                "python": [_hit("/home/u/.venv/bin", "python")],
            },
            "ld_library_path_set": True,
            "ld_library_path": [
                {"dir": "/usr/local/cuda-11.8/lib64", "exists": True, "cuda_libraries": ["libcudart.so.11.0"],
                 "cuda_version": "11.8"},
                {"dir": "/opt/libs", "exists": True, "cuda_libraries": ["libcublas.so"], "cuda_version": None},
                {"dir": "/usr/local/cuda-12.1/lib64", "exists": True, "cuda_libraries": ["libcudart.so.12"],
                 "cuda_version": "12.1"},
                {"dir": "/usr/local/cuda-10.2/lib64", "exists": False}],
            "ld_preload": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
        }, torch={"version": "2.3.0+cu121", "cuda": "12.1"}),
        "empty-path-no-torch": dict(paths={
            "path": [], "ld_library_path_set": True,
            "ld_library_path": [{"dir": "/usr/local/cuda/lib64", "exists": True, "cuda_libraries": ["libcudart.so.12"],
                                 "cuda_version": "12.4"}]}),
        "cpu-torch": dict(paths={
            "path": [{"dir": "/usr/bin", "is_dir": True}, {"dir": "/snap/bin", "is_dir": False, "distro_default": True}],
            "shadowed": {"python": [_hit("/usr/bin", "python"), _hit("/home/u/bin", "python")]},
            "ld_library_path_set": True,
            "ld_library_path": [{"dir": "/usr/local/cuda/lib64", "exists": True, "cuda_libraries": ["libcudart.so.12"],
                                 "cuda_version": "12.4"}, {"dir": "/opt/empty", "exists": True, "cuda_libraries": []}]},
            torch={"version": "2.3.0+cpu", "cuda": None}),
    },
    "system": {
        "healthy": dict(system={
            "os": "Ubuntu 22.04.4 LTS", "kernel": "5.15.0-105-generic", "glibc": "2.35", "cpu_count": 64,
            "cpu_usable": 64, "memory_total_bytes": 512 * GIB, "memory_available_bytes": 480 * GIB,
            "container": {"in_container": False}, "cgroup_limits": {"version": 2, "cpus": None, "memory_bytes": None},
            "disks": [{"label": "cwd", "path": "/home/u", "free_bytes": 800 * GIB, "total_bytes": 1800 * GIB},
                      {"label": "tmp", "path": "/tmp", "free_bytes": 50 * GIB, "total_bytes": 100 * GIB}],
            "shm": {"total_bytes": 256 * GIB, "free_bytes": 255 * GIB},
            "wsl": {"is_wsl": True, "libcuda_wsl": True, "version_text": "Linux version 5.15.146.1-microsoft-standard-WSL2"},
            "open_files_limit": {"soft": 1048576, "hard": 1048576}}),
        "container": dict(system={
            "os": None, "kernel": None, "glibc": None, "cpu_count": 64, "cpu_usable": 8,
            "memory_total_bytes": 512 * GIB, "memory_available_bytes": None,
            "container": {"in_container": True, "dockerenv": True, "cgroup_hint": "docker"},
            "cgroup_limits": {"version": 2, "cpus": 4.0, "memory_bytes": 16 * GIB},
            "disks": [{"label": "cwd", "path": "/workspace", "free_bytes": GIB // 2, "total_bytes": 100 * GIB},
                      {"label": "home", "path": "/root", "free_bytes": 3 * GIB, "total_bytes": 100 * GIB},
                      {"label": "tmp", "path": "/tmp", "free_bytes": None, "error": "PermissionError"}],
            "shm": {"total_bytes": 64 * 1024 * 1024, "free_bytes": 60 * 1024 * 1024},
            "wsl": {"is_wsl": True, "libcuda_wsl": False},
            "open_files_limit": {"soft": 1024, "hard": 2048}},
            python={"target": {"distributions": {"torch": "2.3.0"}}}),
        "bare-metal": dict(system={
            "cpu_count": None, "memory_total_bytes": 64 * GIB, "memory_available_bytes": 60 * GIB,
            "cgroup_limits": {"version": 1, "cpus": 2.5, "memory_bytes": None},
            "shm": {"total_bytes": 512 * 1024 * 1024, "free_bytes": 0},
            "open_files_limit": {"soft": 1024, "hard": None}}),
        "no-shm": dict(system={"cpu_count": 8, "cgroup_limits": {"version": 2, "cpus": None, "memory_bytes": 4 * GIB},
                               "memory_total_bytes": 64 * GIB, "shm": None,
                               "open_files_limit": {"soft": 1024, "hard": 4096}},
                       python={"target": {"distributions": {"numpy": "1.26.4"}}}),
        "unreadable": dict(system={"cpu_count": 8, "open_files_limit": {"error": "OSError"}}),
        "not-collected": dict(),
    },
    "python": {
        "not-collected": dict(),
        "target-error": dict(python={"target_error": "TimeoutExpired", "target": {}}),
        "wrong-conda-python": dict(python={
            "target": {"executable": "/usr/bin/python3", "version": "3.8.10", "version_info": [3, 8, 10],
                       "implementation": "CPython", "prefix": "/usr", "env_manager": "system", "is_venv": True,
                       "base_is_conda": True, "base_prefix": "/opt/conda", "user_site_enabled": False,
                       "pip": {"importable": False}, "distributions": {"numpy": "1.24.0"}},
            "running": {"executable": "/usr/bin/python3", "version": "3.8.10"},
            "conda": {"prefix": "/opt/conda/envs/train", "default_env": "train"},
            "on_path": {"python": {"path": "/usr/bin/python", "prefix": "/usr", "realpath": "/usr/bin/python3.8"},
                        "python3": {"path": "/opt/py/bin/python3", "prefix": "/opt/py", "realpath": "/opt/py/bin/python3"},
                        "pip": {"path": "/usr/local/bin/pip", "installs_into": None},
                        "pip3": {"path": "/home/u/.local/bin/pip3", "installs_into": "/home/u/.local",
                                 "interpreter": "/usr/bin/python3.10"}},
            "pythonhome": "/opt/py"}),
        "no-python-on-path": dict(python={
            "target": {"executable": "/opt/conda/envs/t/bin/python", "version": "3.15.0", "version_info": [3, 15, 0],
                       "implementation": "CPython", "prefix": "/opt/conda/envs/t", "is_conda": True,
                       "user_site_enabled": True, "user_site": "/home/u/.local/lib/python3.15/site-packages",
                       "user_site_distributions": {f"pkg{i}": "1.0" for i in range(14)},
                       "shadowed_by_user_site": ["numpy"], "pip": {"importable": True, "version": None},
                       "conda_packages": {"pytorch": "pytorch-2.3.0-py3.15_cuda12.1_0"},
                       "installers": {"torch": "pip"}, "distributions": {"torch": "2.4.0"},
                       "pythonpath_entries": [{"dir": "/opt/site", "distributions": [f"p{i}" for i in range(7)]}]},
            "conda": {"prefix": "/opt/conda/envs/t"}, "on_path": {}, "pythonpath": "/opt/site"}),
        "many-requirements": dict(python={
            "target": {"executable": "/home/u/.venv/bin/python", "version": "3.12.3", "version_info": [3, 12, 3],
                       "prefix": "/home/u/.venv", "is_conda": True, "env_manager": "pixi",
                       "conda_packages": {"pytorch": "pytorch-2.3.0"}, "installers": {"torch": "uv"},
                       "distributions": {"torch": "2.4.0", "torchvision": "0.15.0", **{f"lib{i}": "1.0" for i in range(20)}},
                       "requires": {"torchvision": ["torch==2.0.0"],
                                    **{f"lib{i}": [f"missing{i}>=1"] for i in range(20)}},
                       "marker_environment": {}},
            "on_path": {"python3": {"path": "/usr/bin/python3", "prefix": "/usr", "realpath": "/usr/bin/python3"}}}),
    },
    "nvcc": {
        "major": dict(nvcc=_nvcc("11.8", "11.8.89"), torch=_torch("13.0"), nvidia={"cuda_driver_version": "13.1"}),
        "minor-cuda-home": dict(nvcc=_nvcc("13.1", None, path_release="12.4", source="CUDA_HOME", path_nvcc="/usr/bin/nvcc"),
                                torch=_torch("13.0"), nvidia={}),
        "match": dict(nvcc=_nvcc("13.0", "13.0.88", source="/usr/local/cuda"), torch=_torch("13.0"), nvidia={}),
        "cpu-torch": dict(nvcc=_nvcc("12.4", "12.4.131"), torch=_torch(None), nvidia={}),
        "torch-unknown": dict(nvcc=_nvcc("12.4", "12.4.131", home_has_headers=False, home="/usr/local",
                                         header_homes=["/usr/local/cuda-12.4"]),
                              torch={"status": "error"}, nvidia={}),
        "unknown-version": dict(nvcc=_nvcc("12.4", home_nvcc_version={"release": None, "error": "exit status 127"}),
                                torch=_torch("12.4"), nvidia={}),
        "cuda-home-not-a-folder": dict(nvcc=_nvcc("12.4", cuda_home_env="/opt/cuda", cuda_home_is_dir=False,
                                                  source="CUDA_HOME"), torch=_torch("12.4"), nvidia={}),
        "no-nvcc-in-home": dict(nvcc=_nvcc("12.4", home_nvcc_exists=False, home_nvcc_version=None, source="CUDA_PATH"),
                                torch=_torch("12.4"), nvidia={}),
        "no-nvcc": dict(nvcc=_nvcc(None), torch=_torch("12.4"), nvidia={}),
        "no-nvcc-at-home": dict(nvcc=_nvcc(None, torch_cuda_home="/usr/local/cuda"), torch=_torch(None), nvidia={}),
    },
    "cuda": {
        "unset-mixed": dict(env={"vars": {}}, nvidia={"source": "nvml", "gpus": _gpus("NVIDIA A100-SXM4-80GB", None)}),
        "unset-one": dict(env={"vars": {}}, nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S")}),
        "pci-order": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
                          nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S", "NVIDIA A10")}),
        "bad-order": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "0, 1", "CUDA_DEVICE_ORDER": "SLOWEST_FIRST"}},
                          nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S", "NVIDIA A10")}),
        "invalid-entry": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "0,7,1"}},
                              nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S", "NVIDIA A10"),
                                      "gpu_errors": [{"index": 2, "error": "GPU is lost"}]}),
        "invalid-first": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "7"}},
                              nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S", "NVIDIA A10")}),
        "mig-whole-gpu": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "0"}},
                              nvidia={"source": "nvml", "gpus": [dict(_gpus("NVIDIA A100-SXM4-40GB")[0], mig_mode="Enabled",
                                                                     mig_devices=[{"uuid": "MIG-1234"}])]}),
        "hidden": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": ""}}, nvidia={"source": "nvml", "gpus": _gpus("NVIDIA L40S")}),
        "no-gpu": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "0"}}, nvidia={"source": "nvml", "gpus": []}),
        "no-driver": dict(env={"vars": {"CUDA_VISIBLE_DEVICES": "0"}}, nvidia={}),
    },
}

MODULE_COMMANDS = {
    "proxy": ("python -m pip install pysocks", "-c 'import socks'", "conda config", "import"),
    "system": ("python -m pip cache purge", "conda clean -a", "docker run", "import torch.multiprocessing"),
    "nvcc": ("conda install -c nvidia", "--version"),
    "cuda": ("grep -n",),
    "python": ("conda install -n", "conda activate NAME", "-m pip install", "-m pip uninstall", "-m pip show",
               "-m pip --version", "-m ensurepip --upgrade", "conda install --force-reinstall",
               "conda create -n", "python -c", "which python", "hash -r", "unset PYTHONPATH", "unset PYTHONHOME",
               "conda deactivate", "conda activate"),
}

_WORLD_FACTS: dict[str, Facts] = {}


def gather_world(name: str, area: str, folder) -> Facts:
    """The facts a scenario's world (tests/scenarios/NAME.yaml) gives the checks of one area,
    collected in the current language (collectors' reasons are written in it)."""
    import scenario_world
    from envcheck.commands.common import gather
    from envcheck.facts import nvidia

    scenario = scenario_world.load(scenario_world.SCENARIOS / f"{name}.yaml")
    ctx, extra = scenario_world.build(scenario, folder)
    original = nvidia.load_nvml
    nvidia.load_nvml = scenario_world._nvml_loader(scenario.world.get("nvml"))
    try:
        facts, _findings = gather(ctx, only=[area], skip_facts={"torch"} - set(extra) | set(extra), extra=extra)
    finally:
        nvidia.load_nvml = original
    return facts


def _world_facts(name: str, area: str, tmp_path_factory) -> Facts:
    """gather_world, collected once per test run."""
    key = f"{name}:{area}"
    if key not in _WORLD_FACTS:
        _WORLD_FACTS[key] = gather_world(name, area, tmp_path_factory.mktemp(name))
    return _WORLD_FACTS[key]


def assert_chinese_report(area: str, zh_facts: Facts, en_facts: Facts, commands, clean=lambda text: text,
                          width: int = 1000) -> list:
    """One area's report in both languages: no English sentence in the Chinese one (after `clean`
    takes out what other programs wrote, and `commands`), 80 columns, the same ids, statuses and
    who-fixes as in English, and the helper does see the English. Returns the Chinese findings."""
    zh, zh_findings = _module_report("zh", area, zh_facts, width=width)  # unwrapped: commands stay whole
    en, en_findings = _module_report("en", area, en_facts, width=width)
    texts = ["\n".join([f.summary, f.fix or "", *f.details]) for f in zh_findings]
    assert [english_sentences(clean(t), commands) for t in texts] == [[] for _t in texts], texts
    assert english_sentences(clean(zh), commands) == [], zh
    narrow, _findings = _module_report("zh", area, zh_facts, width=80)
    assert all(cell_len(line) <= 80 for line in narrow.splitlines()), narrow
    assert [(f.id, f.status, f.who) for f in zh_findings] == [(f.id, f.status, f.who) for f in en_findings]
    if en_findings:
        assert english_sentences(en, commands), en  # the helper does see the English
    return zh_findings


def _module_cases():
    for area, worlds in MODULE_WORLDS.items():
        for name in worlds:
            yield pytest.param(area, "world", name, id=f"{area}-{name}")
        for name in MODULE_FACTS.get(area, {}):
            yield pytest.param(area, "facts", name, id=f"{area}-{name}")


def _module_facts(area: str, kind: str, name: str, tmp_path_factory) -> Facts:
    if kind == "world":
        return _world_facts(name, area, tmp_path_factory)
    return Facts.of(**MODULE_FACTS[area][name])


def _module_report(language: str, area: str, facts: Facts, width: int = 80) -> tuple[str, list]:
    """The terminal report (verbose: every detail) of one area's checks in a language."""
    from envcheck.core.render import render_terminal

    i18n.set_language(language)
    findings = run_checks(select([area]), facts)
    # The worlds' facts are collected once, in English (_world_facts): a failed collector's reason
    # would be English here, so the "could not be collected" line is left out of the frame (the
    # collectors' reasons in Chinese: tests/test_i18n_network_host.py, test_i18n_driver_gpu.py).
    shown = Facts({name: result for name, result in facts.items() if result.ok})
    out = io.StringIO()
    render_terminal(Console(file=out, width=width, color_system=None, highlight=False), shown, findings,
                    "/home/u/.venv/bin/python", True)
    return out.getvalue(), findings


@pytest.mark.parametrize("area,kind,name", list(_module_cases()))
def test_chinese_report_of_a_converted_module_has_no_english_sentence(area, kind, name, tmp_path_factory):
    facts = _module_facts(area, kind, name, tmp_path_factory)
    zh, zh_findings = _module_report("zh", area, facts, width=200)  # unwrapped: commands stay whole
    en, en_findings = _module_report("en", area, facts, width=200)
    commands = COMMANDS + MODULE_COMMANDS.get(area, ())
    texts = ["\n".join([f.summary, f.fix or "", *f.details]) for f in zh_findings]
    assert [english_sentences(t, commands) for t in texts] == [[] for _t in texts], texts
    assert english_sentences(zh, commands) == [], zh
    narrow, _findings = _module_report("zh", area, facts, width=80)
    assert all(cell_len(line) <= 80 for line in narrow.splitlines()), narrow
    assert [(f.id, f.status) for f in zh_findings] == [(f.id, f.status) for f in en_findings]
    # Every summary is translated, apart from those without words (`CUDA_VISIBLE_DEVICES='1': cuda:0 = GPU 1 (...)`).
    assert all(re.search(r"[\u4e00-\u9fff]", f.summary) or f.summary == e.summary
               for f, e in zip(zh_findings, en_findings)), zh
    assert english_sentences(en, commands), en  # the helper does see the English


@pytest.mark.parametrize("area", list(MODULE_WORLDS))
def test_the_module_cases_are_healthy_and_broken(area, tmp_path_factory):
    statuses = set()
    for _area, kind, name in (p.values for p in _module_cases() if p.values[0] == area):
        i18n.set_language("en")
        statuses |= {f.status for f in run_checks(select([area]), _module_facts(area, kind, name, tmp_path_factory))}
    assert Status.OK in statuses and (Status.WARN in statuses or Status.FAIL in statuses), statuses


# --- command line ------------------------------------------------------------------------------


def test_a_chinese_locale_gives_chinese_and_english_can_be_forced(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    _code, zh_locale, _ = run_cli(["doctor", "--help"], capsys)
    assert "检查本机的" in zh_locale and "Inspect this machine" not in zh_locale
    i18n.set_language(None)
    _code, forced, _ = run_cli(["doctor", "--help", "--lang", "en"], capsys)
    assert "Inspect this machine" in forced and "检查本机的" not in forced
    i18n.set_language(None)
    monkeypatch.setenv("ENVCHECK_LANG", "en")
    _code, forced, _ = run_cli(["doctor", "--help"], capsys)
    assert "Inspect this machine" in forced
    i18n.set_language(None)
    monkeypatch.delenv("ENVCHECK_LANG")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    _code, c_locale, _ = run_cli(["doctor", "--help"], capsys)
    assert "Inspect this machine" in c_locale


def test_help_in_chinese_and_back_to_english(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    code, out, _ = run_cli(["doctor", "--help", "--lang", "zh"], capsys)
    assert code == 0
    assert "检查本机的 PyTorch/CUDA 环境" in out and "选项" in out and "输出 JSON 报告" in out
    assert "显示此帮助信息并退出" in out and "Inspect this machine" not in out
    code, out, _ = run_cli(["--lang", "zh", "--help"], capsys)
    assert code == 0 and "第一个要运行的工具" in out and "命令" in out
    monkeypatch.setenv("ENVCHECK_LANG", "zh")
    code, out, _ = run_cli(["doctor", "--help"], capsys)
    assert "检查本机的" in out
    code, out, _ = run_cli(["doctor", "--help", "--lang", "en"], capsys)
    assert code == 0 and "Inspect this machine" in out and "Options" in out and "检查" not in out


def test_list_checks_headers_in_chinese(capsys):
    code, out, _ = run_cli(["doctor", "--list-checks", "--lang", "zh"], capsys)
    assert code == 0
    assert "shell — Shell 启动文件" in out and "terminal — 终端会话" in out
    assert "查看某个检查项的详细说明：envcheck explain CHECK_ID" in out
    assert "在 tmux 或 screen 中运行" in out
    for area in AREAS:
        assert re.search(rf"^{area} — .*[\u4e00-\u9fff]|^{area} — PyTorch$", out, re.M), area


def test_error_lines_in_chinese(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    code, _out, err = run_cli(["doctor", "--no-such-flag", "--lang", "zh"], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：") and "参见 `envcheck doctor --help`。" in err
    code, _out, err = run_cli(["doctor", "--only", "nonsense", "--lang", "zh"], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：--only nonsense")
    code, _out, err = run_cli(["doctor", "--only", "nonsense"], capsys)
    assert code == 2 and err.startswith("envcheck: error: --only nonsense")


def test_an_unknown_language_is_a_usage_error(capsys):
    code, _out, err = run_cli(["doctor", "--lang", "fr", "--list-checks"], capsys)
    assert code == 2 and "'fr'" in err and "zh or en" in err and "Traceback" not in err


# click's usage errors, reworded (envcheck/i18n/usage.py): every pattern, in both languages.
USAGE_CASES = [
    (["doctor", "--foo"], "No such option: --foo", "没有这个选项：--foo", "envcheck doctor --help"),
    (["doctor", "--jsn"], "No such option: --jsn", "名字相近的选项：--json", "envcheck doctor --help"),
    (["smoke-train", "--gpu"], "Option '--gpu' requires an argument", "选项 --gpu 后面需要跟一个值",
     "envcheck smoke-train --help"),
    # The reason after the colon is typer's: click words it "'abc' is not a valid integer", typer 0.29
    # "Input should be a valid integer"; both are reworded (test_an_unknown_click_message...).
    (["smoke-train", "--epochs", "abc"], "Invalid value for '--epochs'", "--epochs 的值无效：",
     "envcheck smoke-train --help"),
    (["scaffold"], "Missing argument", "缺少参数 name", "envcheck scaffold --help"),
    (["nocmd"], "No such command 'nocmd'", "没有这个子命令：nocmd", "envcheck --help"),
    (["doctor", "extra"], "unexpected extra argument", "多余的参数：extra", "envcheck doctor --help"),
]


@pytest.mark.parametrize("argv, english, chinese, help_of", USAGE_CASES, ids=[" ".join(c[0]) for c in USAGE_CASES])
def test_click_usage_errors_in_both_languages(argv, english, chinese, help_of, capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    code, _out, err = run_cli(["--lang", "en", *argv], capsys)
    assert code == 2 and english in err and f"see `{help_of}`." in err and len(err.strip().splitlines()) == 1
    code, _out, err = run_cli(["--lang", "zh", *argv], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：") and chinese in err, err
    assert f"参见 `{help_of}`。" in err and english_sentences(err) == [] and "Traceback" not in err


def test_an_unknown_click_message_is_kept_as_click_wrote_it():
    from envcheck.i18n.usage import translate_usage

    i18n.set_language("zh")
    assert translate_usage("Something click says now.") == "Something click says now."
    # Both wordings of click's "did you mean" (typer's vendored click, and click 8).
    assert translate_usage("No such option: --fo Did you mean --foo?") == "没有这个选项：--fo（名字相近的选项：--foo）"
    assert translate_usage("Invalid value for '--x': 'a' is not a valid integer.") == "--x 的值无效：'a' 不是整数"
    assert translate_usage("Invalid value for '--x': -5 is not in the range x>=1.") == "--x 的值无效：-5 超出范围 x>=1"
    assert translate_usage("Invalid value for '--x': Input should be a valid integer, unable to parse string as an "
                           "integer") == "--x 的值无效：应为整数"


def test_no_option_leaves_its_range_to_typer():
    """typer words a refused min=/max= differently by version (click's "is not in the range", pydantic's
    "Input should be greater than or equal to 1" in typer 0.29, English in a Chinese run): every
    command checks its numbers' ranges itself, in both languages."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted((root / "envcheck").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("Option", "Argument")
                    and any(k.arg in ("min", "max", "clamp") for k in node.keywords)):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []


def test_explain_in_chinese_has_no_english_sentence(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    shown = 0
    for check in ("shell.conda_init", "python.shadowing", "proxy.https_scheme", "terminal.session"):
        code, out, _ = run_cli(["explain", check, "--lang", "zh"], capsys)
        assert code == 0 and "为什么重要" in out and "怎么修复" in out and f"docs/checks/zh/{check}.md" in out
        assert english_sentences(out, COMMANDS + ("envcheck doctor --only", "python -m pip uninstall torch")) == [], (check, out)
        shown += 1
    code, out, _ = run_cli(["explain", "shell", "--lang", "zh"], capsys)
    assert code == 0 and "项检查" in out and "查看其中一项的完整说明" in out
    code, _out, err = run_cli(["explain", "proxy.https", "--lang", "zh"], capsys)
    assert code == 2 and "没有检查项 'proxy.https'" in err and "proxy.https_scheme" in err
    assert shown == 4


def test_chinese_check_pages_are_generated_and_up_to_date():
    # docs/checks/zh/ is generated beside docs/checks/; regenerate with `python -m envcheck.checks._pages docs/checks`.
    from pathlib import Path

    from envcheck.checks import all_checks
    from envcheck.checks._pages import pages

    folder = Path(__file__).resolve().parent.parent / "docs" / "checks" / "zh"
    wanted = pages("zh")
    assert len(wanted) == len(all_checks()) + 1 > 1
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.md")}
    assert sorted(on_disk) == sorted(wanted), "regenerate docs/checks"
    assert [name for name, text in wanted.items() if on_disk[name] != text] == [], "regenerate docs/checks"
    page = wanted["shell.conda_init.md"]
    assert "## 为什么重要" in page and "| 类别 |" in page
    assert "English: [../index.md](../index.md)" in wanted["index.md"]
    assert pages("en")["index.md"].count("中文版：[zh/index.md](zh/index.md)") == 1
    assert i18n.current_language() == "en"  # pages() puts the language back


HELP_COMMANDS = [["--help"], *([name, "--help"] for name, _module in __import__("envcheck.cli").cli.COMMANDS),
                 ["fleet", "--help"], ["fleet", "doctor", "--help"], ["fleet", "smoke-train", "--help"]]


@pytest.mark.parametrize("argv", HELP_COMMANDS, ids=[" ".join(a) for a in HELP_COMMANDS])
def test_every_help_in_chinese_at_80_columns(argv, capsys, monkeypatch):
    """Every command's --help: translated, and no word cropped. Chinese has no spaces, so rich's
    help table cut long runs with an ellipsis until envcheck/cli.py made them fold."""
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(["--lang", "zh", *argv], capsys)
    assert code == 0 and "选项" in out
    assert "…" not in out, out
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    # click's "Usage:" line and typer's bracketed [default: ...] notes are not ours to translate.
    body = "\n".join(line for line in out.splitlines() if "Usage:" not in line)
    body = re.sub(r"\[(default|required|env var)[^\]]*\]", " ", body)
    assert english_sentences(body, COMMANDS + ("envcheck smoke-train", "envcheck gpu-bench")) == [], out


def _functions_that_shadow_the_translator(source: str) -> list[str]:
    """Functions that both assign `_` (a throw-away loop variable, `a, _, b = ...`) and call `_()`:
    the assignment makes `_` local to the whole function, so the call raises UnboundLocalError
    (or calls an int) - only on the path that prints the message, typically an error path."""
    import ast

    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stores, calls = [], []

        def visit(node):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.ClassDef)):
                    continue  # their own scope
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    # a closure's _() resolves to this function's local `_`
                    calls.extend(n.lineno for n in ast.walk(child) if isinstance(n, ast.Call)
                                 and isinstance(n.func, ast.Name) and n.func.id == "_")
                    continue
                if isinstance(child, ast.Name) and child.id == "_" and isinstance(child.ctx, ast.Store):
                    stores.append(child.lineno)
                if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "_":
                    calls.append(child.lineno)
                visit(child)

        visit(fn)
        if stores and calls:
            found.append(f"{fn.name} (line {fn.lineno}): assigns _ at {stores}, calls _() at {calls}")
    return found


def test_no_function_shadows_the_translator():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert _functions_that_shadow_the_translator(
        "def f(xs):\n    for _ in xs:\n        pass\n    return _('x')\n") != []  # the helper finds the bug
    assert _functions_that_shadow_the_translator("def f(xs):\n    return [_('x') for _y in xs]\n") == []
    files = [*root.joinpath("envcheck").rglob("*.py"), *root.joinpath("reference_train").rglob("*.py")]
    assert len(files) > 50
    found = [f"{p.relative_to(root)}: {hit}" for p in files for hit in _functions_that_shadow_the_translator(p.read_text())]
    assert found == []


# --- issue #11 "Done when": the locale alone, in real processes -------------------------------


def _zh_locale_env(tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("ENVCHECK_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update(LANG="zh_CN.UTF-8", COLUMNS="80")
    return env


def _envcheck(args, env, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "envcheck", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_lang_zh_cn_doctor_speaks_chinese_end_to_end(tmp_path):
    """`LANG=zh_CN.UTF-8 envcheck doctor` on this machine (the real collectors and torch probe),
    without --lang or ENVCHECK_LANG: Chinese, no English sentence outside commands, names and
    what other programs print (quoted)."""
    result = _envcheck(["doctor", "--offline", "-v"], _zh_locale_env(tmp_path), tmp_path)
    assert result.returncode in (0, 1), result.stderr
    out = result.stdout
    assert "正在诊断" in out and ("没有失败项" in out or "体检发现" in out), out
    assert "Traceback" not in result.stderr
    leftovers = english_sentences(out, COMMANDS + ("tmux new -s train",))
    assert leftovers == [], leftovers


@pytest.mark.slow
def test_lang_zh_cn_scaffold_and_bad_input_speak_chinese(tmp_path):
    env = _zh_locale_env(tmp_path)
    result = _envcheck(["scaffold", "demo"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert english_sentences(result.stdout + result.stderr, COMMANDS) == [], result.stdout
    readme = (tmp_path / "demo" / "README.md").read_text(encoding="utf-8")
    assert re.search(f"[{_CJK}]", readme)
    for args in (["scaffold", "demo"], ["smoke-train", "--epochs", "0"], ["smoke-train", "--gpu", "x"],
                 ["doctor", "--only", "nonsense"], ["diff", "nowhere.json"], ["nocmd"]):
        bad = _envcheck(args, env, tmp_path)
        assert bad.returncode == 2 and bad.stderr.startswith("envcheck: 错误："), (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1 and english_sentences(bad.stderr) == [], (args, bad.stderr)
