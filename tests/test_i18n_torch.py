"""Chinese output of the torch area (issue #11): envcheck/checks/torch.py and the sentences the
torch probe collector writes (envcheck/facts/torch_probe.py), in scenario worlds from
tests/scenarios/ and in Facts.of cases built from the recorded probes, healthy and broken.

What stays English on purpose is taken out before looking for English: torch's, CUDA's and the
loader's own error texts (an import error, a traceback, stderr, torch's warnings, the CUDA init
error, a failed op's error), the commands the fixes print, and the pip-index note of the network
area (envcheck/checks/network.py index_note, converted with that area)."""

from __future__ import annotations

import copy
import re

import pytest

from test_i18n import COMMANDS, _module_report, _world_facts, assert_chinese_report, english_sentences
from test_torch_checks import _cpu_wheel, _old_driver_torch, h100_torch, no_driver, nvidia, real_cpu_box
from envcheck import i18n
from envcheck.checks.network import index_note
from envcheck.core.context import CommandResult
from envcheck.core.model import FactResult, Facts, Status
from envcheck.facts import python_env, torch_probe
from envcheck.facts.torch_probe import interpret

# The scenario worlds whose checks include the torch area (grep -l 'torch\.' tests/scenarios/*.yaml).
WORLDS = ["baseline-real-interpreter", "baseline-healthy-h100-box", "net-cpu-wheel-aliyun-pytorch-mirror",
          "net-cpu-wheel-fix-bypasses-the-tuna-mirror", "root-arch-missing-for-the-gpu",
          "root-cpu-wheel-fix-names-the-target-python", "root-cu132-wheel-minor-compat-you-first",
          "root-cvd-empty-hides-every-gpu", "root-glibcxx-conda-env-own-libstdcxx",
          "root-glibcxx-folder-on-ld-library-path", "root-glibcxx-system-lib-in-conda-env",
          "root-k80-under-r470-never-told-to-upgrade-past-r470", "root-nvcc-11-8-with-torch-cu130",
          "root-pythonpath-torch-defers-to-shadowing", "root-torchvision-fix-names-the-target-python",
          "root-torchvision-from-another-release", "shadow-pythonpath-old-torch",
          "shadow-user-site-before-base-site-packages", "shadow-user-site-only-copy"]

# Commands and command fragments the torch fixes print (never translated).
TORCH_COMMANDS = COMMANDS + (
    "-m pip install", "--force-reinstall", "--index-url", "uv pip install", "conda install -p", "conda create -n",
    "-c conda-forge libstdcxx-ng", "conda install -c conda-forge libstdcxx-ng", "unset CUDA_VISIBLE_DEVICES",
    "unset LD_LIBRARY_PATH", "sudo modprobe nvidia_uvm", "sudo rmmod nvidia_uvm", "nvidia-smi -q -i",
    "envcheck doctor --python", "-X importtime", "-X faulthandler", "tail -20", "import torch", "torch torchvision",
    "torchvision --index-url", "<torch's index>", "python -c", "python -m pip", "pip install torch",
)

_TRACE_KEYS = ("import_traceback", "stderr_tail", "warnings")


def torch_own_texts(facts: Facts) -> list[str]:
    """Texts torch, CUDA or the loader wrote, which the report quotes as they are."""
    torch = facts.data("torch")
    texts = [torch.get("import_error"), torch.get("cuda_init_error")]
    if torch.get("status") == "import_error":
        texts.append(torch.get("error"))
    for key in _TRACE_KEYS:
        texts += list(torch.get(key) or [])
    for device in torch.get("devices") or []:
        texts += [device.get("op_error"), device.get("error")]
    vision = torch.get("torchvision") or {}
    texts += [vision.get("error"), vision.get("ops_error")]
    # GPU model names ("NVIDIA GeForce RTX 5090") are names.
    texts += [d.get("name") for d in list(torch.get("devices") or []) + list(facts.data("nvidia").get("gpus") or [])]
    note = index_note(facts, "https://download.pytorch.org/whl/cu130")
    texts += [note] if note else []
    for variant in ("cpu", "cu118", "cu126", "cu128", "cu130"):
        note = index_note(facts, f"https://download.pytorch.org/whl/{variant}")
        texts += [note] if note else []
    return sorted({t for t in texts if t and t not in ("not installed",)}, key=len, reverse=True)


def _without(text: str, quoted: list[str]) -> str:
    for q in quoted:
        text = text.replace(q, " ")
    return text


def assert_chinese(facts: Facts) -> list:
    quoted = torch_own_texts(facts)

    def clean(text: str) -> str:
        # torch's own long texts (a wrapped traceback line) go whole; the rest is cut out.
        text = "\n".join(line for line in text.splitlines() if not any(q in line for q in quoted if len(q) > 60))
        return _without(text, quoted)

    zh_findings = assert_chinese_report("torch", facts, facts, TORCH_COMMANDS, clean=clean, width=400)
    assert all(re.search(r"[\u4e00-\u9fff]", f.summary) for f in zh_findings), [f.summary for f in zh_findings]
    return zh_findings


@pytest.mark.parametrize("name", WORLDS)
def test_chinese_torch_report_of_a_scenario_world_has_no_english_sentence(name, tmp_path_factory):
    assert_chinese(_world_facts(name, "torch", tmp_path_factory))


def _facts(torch: dict, nv: dict | None = None, env: dict | None = None, python: dict | None = None) -> Facts:
    return Facts.of(torch=torch, nvidia=nvidia() if nv is None else nv, env={"vars": env or {}},
                    python=python or {"target": {"executable": "/home/u/.venv/bin/python"}})


def _hung(step: str = "import_torch") -> dict:
    return interpret(CommandResult(["p"], None, '{"envcheck_probe": 1, "event": "start", "step": "%s"}\n' % step, "",
                                   timed_out=True), 60, "/home/u/.venv/bin/python")


def _crashed(step: str = "cuda_init") -> dict:
    return interpret(CommandResult(["p"], -11, '{"envcheck_probe": 1, "event": "start", "step": "%s"}\n' % step, ""),
                     60, "/home/u/.venv/bin/python")


def _not_installed(python_version: str = "3.12.3") -> dict:
    torch = real_cpu_box()
    for key in ("version", "cuda", "cudnn", "is_available"):
        torch[key] = None
    torch.update(status="not_installed", torch_import="not_installed")
    torch["python"] = dict(torch["python"], version=python_version)
    return torch


def _import_error(error: str) -> dict:
    torch = copy.deepcopy(real_cpu_box())
    torch.update(status="import_error", error=error, import_error=error,
                 import_traceback=["Traceback (most recent call last):", f"  {error}"])
    return torch


def _rtx_on_cu126() -> dict:
    torch = h100_torch()
    torch.update(version="2.14.1+cu126", cuda="12.6", arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"])
    for device in torch["devices"]:
        device.update(name="NVIDIA GeForce RTX 5090", capability="12.0", op_ok=False,
                      op_error="RuntimeError: CUDA error: no kernel image is available for execution on the device")
    return torch


def _device_op_failures() -> dict:
    torch = h100_torch()
    torch.update(cudnn=None, cudnn_available=False)
    torch["devices"][0].update(op_ok=False, op_error="result on cuda:0 differs from the CPU result")
    torch["devices"][1].update(op_ok=False, op_error="RuntimeError: CUDA error: an illegal memory access was encountered")
    return torch


def _torchvision(**vision) -> dict:
    torch = h100_torch()
    torch["torchvision"] = dict({"version": "0.29.1+cu130", "error": None, "ops_ok": True}, **vision)
    return torch


def _uvm_and_cvd() -> dict:
    torch = _old_driver_torch()
    torch["cuda_init_error"] = "RuntimeError: CUDA unknown error - this may be due to an incorrectly set up environment"
    torch["warnings"] = ["UserWarning: CUDA initialization: CUDA unknown error"]
    return torch


def _minor_compat() -> dict:
    torch = h100_torch()
    torch.update(version="2.7.1+cu128", cuda="12.8")
    return torch


CASES = {
    "healthy-h100": lambda: _facts(h100_torch()),
    "cpu-box-no-driver": lambda: _facts(real_cpu_box(), no_driver()),
    "not-installed-gpu": lambda: _facts(_not_installed(), nvidia()),
    "not-installed-no-driver": lambda: _facts(_not_installed(), no_driver()),
    "not-installed-old-driver": lambda: _facts(_not_installed(), nvidia(driver="440.33", cuda="10.2")),
    "python-too-old": lambda: _facts(_not_installed("3.9.18"), nvidia()),
    "python-too-new": lambda: _facts(_not_installed("3.19.0"), nvidia()),
    "python-ancient": lambda: _facts(_not_installed("3.5.2"), nvidia()),
    "hung-import": lambda: _facts(_hung()),
    "hung-cuda-init": lambda: _facts(_hung("cuda_init")),
    "hung-device-op": lambda: _facts(_hung("device_op:1")),
    "crashed-cuda-init": lambda: _facts(_crashed()),
    "crashed-import": lambda: _facts(_crashed("import_torch")),
    "exited-mid-step": lambda: _facts(interpret(CommandResult(
        ["p"], 1, '{"envcheck_probe": 1, "event": "start", "step": "cudnn"}\n', "Fatal Python error: Aborted"), 60, "p")),
    "no-result": lambda: _facts(interpret(CommandResult(["p"], 0, "hello\n", ""), 60, "p")),
    "old-python": lambda: _facts(interpret(CommandResult(["p"], 1, "", "SyntaxError: invalid syntax"), 60,
                                           "/usr/bin/python2")),
    "cannot-start": lambda: _facts(interpret(CommandResult(["p"], None, "", "", error="FileNotFoundError"), 60,
                                             "/opt/missing/python")),
    "import-error-cudnn": lambda: _facts(_import_error("ImportError: libcudnn.so.9: cannot open shared object file")),
    "import-error-other": lambda: _facts(_import_error("ModuleNotFoundError: No module named 'typing_extensions'")),
    "glibcxx-ld-library-path": lambda: Facts.of(
        torch=_import_error("ImportError: /opt/conda/envs/old/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found "
                            "(required by /home/u/.venv/lib/python3.12/site-packages/torch/lib/libtorch_cpu.so)"),
        nvidia=nvidia(), env={"vars": {"LD_LIBRARY_PATH": "/opt/conda/envs/old/lib:/usr/local/lib"}},
        python={"target": {"executable": "/home/u/.venv/bin/python"}}),
    "glibcxx-system": lambda: _facts(_import_error(
        "ImportError: /usr/lib/x86_64-linux-gnu/libstdc++.so.6: version `CXXABI_1.3.15' not found")),
    "glibcxx-unknown-place": lambda: _facts(_import_error("ImportError: libstdc++.so.6: version `GLIBCXX_3.4.32' not found")),
    "collector-failed": lambda: Facts({"torch": FactResult("torch", False, {}, "TimeoutExpired"),
                                      "nvidia": FactResult("nvidia", True, nvidia())}),
    "no-torch-probe": lambda: Facts.of(nvidia=nvidia(), env={"vars": {}}),
    "nvidia-not-collected": lambda: Facts({"torch": FactResult("torch", True, h100_torch()),
                                          "nvidia": FactResult("nvidia", False, {}, "TimeoutExpired")}),
    "cpu-wheel-on-gpus": lambda: _facts(_cpu_wheel()),
    "cpu-wheel-no-gpu": lambda: _facts(_cpu_wheel(), no_driver()),
    "driver-too-old": lambda: _facts(_old_driver_torch(), nvidia(driver="550.54.14", cuda="12.4")),
    "driver-r470": lambda: _facts(_old_driver_torch(), nvidia(driver="470.82.01", cuda="11.4")),
    "driver-440": lambda: _facts(_old_driver_torch(), nvidia(driver="440.33", cuda="10.2")),
    "k80-r470": lambda: _facts(_old_driver_torch(), nvidia(driver="470.82.01", cuda="11.4", name="Tesla K80", cc="3.7")),
    "minor-compat": lambda: _facts(_minor_compat(), nvidia(driver="560.35.03", cuda="12.6")),
    "minor-compat-admin": lambda: _facts(dict(_minor_compat(), version="2.9.1+cu128"),
                                         nvidia(driver="550.54.14", cuda="12.4")),
    "cvd-and-uvm": lambda: _facts(_uvm_and_cvd(), nvidia(uvm=False), env={"CUDA_VISIBLE_DEVICES": ""}),
    "unavailable-unknown-cause": lambda: _facts(dict(h100_torch(), is_available=False, device_count=0, devices=[])),
    "rtx-5090-on-cu126": lambda: _facts(_rtx_on_cu126(), nvidia(name="NVIDIA GeForce RTX 5090", cc="12.0")),
    "pascal-on-cu130": lambda: _facts(h100_torch(), nvidia(name="NVIDIA GeForce GTX 1080 Ti", cc="6.1")),
    "device-op-and-cudnn": lambda: _facts(_device_op_failures()),
    "torchvision-missing": lambda: _facts(_torchvision(version=None, error="not installed", ops_ok=None)),
    "torchvision-nms": lambda: _facts(_torchvision(version=None, error="RuntimeError: operator torchvision::nms does not exist")),
    "torchvision-broken": lambda: _facts(_torchvision(version=None, error="OSError: bad ELF header")),
    "torchvision-no-ops": lambda: _facts(_torchvision(
        ops_ok=False, ops_error="torchvision has no compiled ops library (_C_stable / _C) in /home/u/.venv/lib/tv")),
    "torchvision-unpaired": lambda: _facts(dict(_torchvision(version="0.27.0+cu130"), version="2.13.0+cu130")),
    "torchvision-other-index": lambda: _facts(dict(_torchvision(version="0.28.0+cu126"), version="2.13.0+cu130")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_chinese_torch_report_of_a_facts_case_has_no_english_sentence(name):
    assert_chinese(CASES[name]())


def test_the_cases_are_healthy_and_broken():
    i18n.set_language("en")
    from envcheck.checks import run_checks, select

    statuses = {f.status for make in CASES.values() for f in run_checks(select(["torch"]), make())}
    assert {Status.OK, Status.WARN, Status.FAIL, Status.SKIP} <= statuses


def test_probe_sentences_follow_the_language_of_the_report_not_of_the_collection():
    i18n.set_language("en")
    hung, crashed = _hung(), _crashed()
    assert hung["error"] == "importing torch hung for 60s, so the probe was stopped"
    assert crashed["error"] == "crashed with SIGSEGV while initialising CUDA"
    i18n.set_language("zh")
    assert torch_probe.error_text(hung) == "正在导入 torch，超过 60 秒没有完成，探测已被停止"
    assert torch_probe.error_text(crashed) == "崩溃（SIGSEGV），当时正在初始化 CUDA"
    summary = next(f for f in _module_report("zh", "torch", _facts(crashed))[1] if f.id == "torch.import").summary
    assert summary == "torch 崩溃（SIGSEGV），当时正在初始化 CUDA"
    # Collected in Chinese, the English report is English again.
    zh_hung = _hung()
    assert zh_hung["error"].startswith("正在导入 torch")
    i18n.set_language("en")
    assert torch_probe.error_text(zh_hung) == "importing torch hung for 60s, so the probe was stopped"
    # An import error is torch's own text: never translated.
    broken = _import_error("ImportError: libcudnn.so.9: cannot open shared object file")
    i18n.set_language("zh")
    assert torch_probe.error_text(broken) == "ImportError: libcudnn.so.9: cannot open shared object file"


def test_collectors_write_their_reasons_in_the_language_of_the_run(tmp_path):
    from envcheck.core.context import Context

    i18n.set_language("zh")
    ctx = Context(env={"PATH": "/usr/bin:/bin"}, python=str(tmp_path / "no-such-python"), timeout=5)
    data, error = python_env.inspect_target(ctx)
    assert data is None and error.startswith(f"无法运行 {tmp_path / 'no-such-python'}：")
    from envcheck.facts import packages

    problem = packages.packages(ctx)["problem"]
    assert problem.startswith(f"无法列出 {tmp_path / 'no-such-python'} 的包：") and english_sentences(
        problem.split("：", 1)[0]) == []
    i18n.set_language("en")
    assert python_env.inspect_target(ctx)[1].startswith(f"{tmp_path / 'no-such-python'} could not be run: ")
