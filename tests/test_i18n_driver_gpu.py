"""Chinese output of the driver and gpu doctor areas (issue #11): envcheck/checks/driver.py,
envcheck/checks/gpu.py, the collector texts they show (envcheck/facts/nvidia.py, nvsmi.py) and the
CUDA_VISIBLE_DEVICES parser's problem lines (envcheck/facts/visible_devices.py, shown by the cuda
area).

Scenario worlds are collected in the language under test (the collectors write their texts in the
run's language), and Facts.of cases reach the branches no scenario does. NVML's and nvidia-smi's own
messages (an NVMLError's text, nvidia-smi's first output line) are shown as they come: they are
taken out before looking for English, like commands.
"""

from __future__ import annotations

import re

import pytest

from test_i18n import COMMANDS, _gpus, assert_chinese_report, english_sentences, gather_world
from envcheck import i18n
from envcheck.checks import run_checks, select
from envcheck.core.model import Facts, Status
from envcheck.facts.visible_devices import parse_visible_devices

# Commands the driver and gpu fixes print (never translated).
DRIVER_COMMANDS = COMMANDS + (
    "sudo modprobe nvidia-uvm", "sudo modprobe nvidia", "sudo nvidia-modprobe -u -c=0", "python train.py",
    "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia", "-m pip uninstall -y nvidia-ml-py3 pynvml",
    "-m pip install --force-reinstall nvidia-ml-py", "install --upgrade nvidia-ml-py", "install --force-reinstall",
    "nvidia-ml-py3 pynvml", "grep -n", "docker run --gpus all", "sudo systemctl enable --now",
)

# Scenario worlds: healthy and broken drivers, MIG, CUDA_VISIBLE_DEVICES mistakes, no driver at all.
WORLDS = ["baseline-healthy-h100-box", "baseline-clean-debian-home", "root-driver-not-loaded",
          "root-module-differs-from-library", "root-nvml-version-mismatch-is-admins-reboot",
          "root-smi-mismatch-outranks-nvml-library-not-found", "missed-mig-cvd-by-index",
          "root-cvd-empty-hides-every-gpu", "root-cvd-index-beyond-the-gpus", "missed-cvd-exported-in-bashrc"]


def _gpu(index, name="NVIDIA H100 80GB HBM3", **extra):
    gpu = {"index": index, "name": name, "uuid": f"GPU-{index}0000000-0000-0000-0000-000000000000",
           "pci_bus_id": f"00000000:0{index}:00.0", "memory_total_mib": 81559, "memory_used_mib": 0,
           "utilization_gpu_pct": 0, "temperature_c": 35, "compute_capability": "9.0", "mig_mode": "Disabled",
           "mig_devices": [], "processes": []}
    gpu.update(extra)
    return gpu


def _proc(pid, user, mib=20480, name="python"):
    return {"pid": pid, "user": user, "used_memory_mib": mib, "name": name}


def _driver(**extra):
    data = {"source": "nvml", "driver_version": "550.54.15", "cuda_driver_version": "12.4",
            "kernel_module_version": "550.54.15", "proc_driver_present": True,
            "dev_nodes": {"/dev/nvidiactl": True, "/dev/nvidia-uvm": True, "/dev/nvidia0": True},
            "library_versions": ["550.54.15"], "pci_gpus": [{"slot": "0000:01:00.0", "device": "0x2330"}],
            "nvml_error": None, "smi": {"path": "/usr/bin/nvidia-smi", "error": None},
            "pynvml": {"module_file": "/opt/venv/lib/python3.12/site-packages/pynvml.py", "has_nvmlInitWithFlags": True,
                       "version": "12.560.30"},
            "gpus": [_gpu(0)], "gpu_errors": []}
    data.update(extra)
    return data


def _failed(kind, message, **extra):
    return _driver(source=None, driver_version=None, cuda_driver_version=None, gpus=[],
                   nvml_error={"kind": kind, "message": message}, **extra)


ENV = {"vars": {"USER": "u"}}
PYTHON = {"target": {"distributions": {"nvidia-ml-py": "12.560.30"}}, "running": {"executable": "/opt/venv/bin/python"}}
LOST = {"index": 1, "kind": "gpu_is_lost", "message": "NVMLError_GpuIsLost: GPU is lost",
        "call": "nvmlDeviceGetHandleByIndex", "uuid": None, "pci_bus_id": "00000000:02:00.0", "name": "NVIDIA H100"}
RESET = {"index": 2, "kind": "reset_required", "message": "NVMLError_ResetRequired: GPU requires reset",
         "call": "reading the GPU", "uuid": "GPU-2", "pci_bus_id": None, "name": None}
BY_BUS = {"index": None, "kind": "unknown", "call": "nvidia-smi", "uuid": None, "pci_bus_id": "0000:07:00.0", "name": None,
          "message": "Unable to determine the device handle for GPU0000:07:00.0: Unknown Error"}
IRQ = {"index": 3, "kind": "irq_issue", "message": "NVMLError_IrqIssue: Interrupt request issue", "call": None}
POWER = {"index": 4, "kind": "insufficient_power", "message": "NVMLError_InsufficientPower: Insufficient External Power"}

DRIVER_FACTS = {
    "healthy-mine": dict(nvidia=_driver(gpus=[_gpu(0, processes=[_proc(11, "u")]), _gpu(1)]), env=ENV, python=PYTHON),
    "busy-and-hot": dict(nvidia=_driver(gpus=[
        _gpu(0, memory_used_mib=70000, temperature_c=91, processes=[_proc(11, "alice"), _proc(12, None, name=None)]),
        _gpu(1, name="NVIDIA L40S", processes=[_proc(13, "bob", mib=None)]), _gpu(2, name=None, memory_total_mib=None,
                                                                              utilization_gpu_pct=None, temperature_c=None,
                                                                              compute_capability=None, mig_mode=None)]),
        env=ENV, python=PYTHON),
    "all-busy": dict(nvidia=_driver(gpus=[_gpu(0, memory_used_mib=80000)]), env=ENV, python=PYTHON),
    "lost-gpus": dict(nvidia=_driver(gpus=[_gpu(0)], gpu_errors=[LOST, RESET, BY_BUS, IRQ, POWER]), env=ENV, python=PYTHON),
    "none-readable": dict(nvidia=_driver(gpus=[], gpu_errors=[LOST]), env=ENV, python=PYTHON),
    "mig": dict(nvidia=_driver(gpus=[_gpu(0, mig_mode="Enabled", mig_devices=[
        {"uuid": "MIG-11111111-1111-1111-1111-111111111111", "name": "NVIDIA H100 80GB HBM3 MIG 1g.10gb"},
        {"uuid": "MIG-22222222-2222-2222-2222-222222222222", "name": None}]),
        _gpu(1, mig_mode="Enabled")]), env=ENV, python=PYTHON),
    # Texts the collector writes in the run's language: built when the case is (see _case).
    "smi-fallback": lambda: dict(nvidia=_driver(source="nvidia-smi", nvml_error={
        "kind": "unknown", "message": i18n._("the NVML Python binding could not be imported ({error}); install it with "
                                             "{command}").format(error="ModuleNotFoundError: No module named 'pynvml'",
                                                                 command="`pip install nvidia-ml-py`")},
        smi={"path": "/usr/bin/nvidia-smi",
             "error": i18n._("nvidia-smi exited with {status}: {output}").format(status=6, output="No running processes found")},
        pynvml={}), env=ENV, python=PYTHON),
    "no-devices": dict(nvidia=_driver(gpus=[]), env=ENV, python=PYTHON),
    "hung": dict(nvidia=_failed("unknown", "NVMLError_Unknown: Unknown Error",
                                smi={"path": "/usr/bin/nvidia-smi", "error": "timed out", "hung": True}), python=PYTHON),
    "library-not-found": lambda: dict(nvidia=_failed(
        "library_not_found", "NVMLError_LibraryNotFound: NVML Shared Library Not Found",
        smi={"path": None, "error": i18n._("nvidia-smi is not on PATH")},
        kernel_module_version=None, proc_driver_present=False, library_versions=[]), python=PYTHON),
    "function-not-found": dict(nvidia=_failed("function_not_found", "NVMLError_FunctionNotFound: Function Not Found"),
                               python=PYTHON),
    "no-permission": dict(nvidia=_failed("no_permission", "NVMLError_NoPermission: Insufficient Permissions",
                                         library_versions=["550.54.15", "550.90.07"]), python=PYTHON),
    "unknown-failure": dict(nvidia=_failed("unknown", "NVMLError_Unknown: Unknown Error", library_versions=[],
                                           kernel_module_version=None), python=PYTHON),
    "kernel-mismatch": dict(nvidia=_driver(driver_version="550.90.07", library_versions=["550.90.07"]), env=ENV,
                            python=PYTHON),
    "kernel-version-unknown": dict(nvidia=_driver(driver_version=None, library_versions=[]), env=ENV, python=PYTHON),
    "no-uvm": dict(nvidia=_driver(dev_nodes={"/dev/nvidiactl": True, "/dev/nvidia-uvm": False}), env=ENV, python=PYTHON),
    "binding-look-alike": dict(nvidia=_driver(pynvml={"module_file": "/opt/venv/lib/python3.12/site-packages/pynvml.py",
                                                      "has_nvmlInitWithFlags": False}),
                               python={"target": {"distributions": {"pynvml": "11.0.0", "nvidia_ml_py3": "7.352.0"}}},
                               env=ENV),
    "binding-version-unknown": dict(nvidia=_driver(pynvml={"module_file": "/x/pynvml.py", "has_nvmlInitWithFlags": True}),
                                    env=ENV, python={}),
    "no-driver": dict(nvidia=_driver(source=None, gpus=[], kernel_module_version=None, proc_driver_present=False,
                                     dev_nodes={}, library_versions=[], pci_gpus=[], smi={"path": None, "error": None}),
                      python=PYTHON),
    "not-collected": dict(),
}


def _health_gpu(index, name="NVIDIA H100 80GB HBM3", **extra):
    gpu = {"index": index, "name": name, "clock_event_reasons": ["gpu_idle"], "temperature_c": 40,
           "slowdown_temp_c": 87, "slowdown_margin_c": 47, "ecc_uncorrected_volatile": 0, "ecc_uncorrected_aggregate": 0,
           "retired_pages_pending": None, "remapped_rows_pending": False, "remapped_rows_failure": False,
           "pcie_width_current": 16, "pcie_width_max": 16, "pcie_gen_current": 1, "pcie_gen_max": 5,
           "compute_mode": "Default", "persistence_mode": "Enabled", "mig_mode": "Disabled",
           "nvlink": [{"link": i, "state": "up"} for i in range(4)]}
    gpu.update(extra)
    return gpu


def _health(gpus, p2p=(), nccl=None, nvlinks=0):
    return {"driver": True, "source": "nvml", "gpus": list(gpus),
            "p2p": [{"a": a, "b": b, "status": s} for a, b, s in p2p], "nccl_env": nccl or {},
            "topology": {"pairs": [{"a": 0, "b": 1, "nvlinks": nvlinks}]}}


GPU_FACTS = {
    "healthy": dict(gpu_health=_health([_health_gpu(0), _health_gpu(1)], p2p=[(0, 1, "OK")],
                                       nccl={"NCCL_DEBUG": "WARN"}, nvlinks=18)),
    "broken-hardware": dict(gpu_health=_health(
        [_health_gpu(0, clock_event_reasons=["hw_thermal_slowdown", "sw_power_cap"], slowdown_margin_c=3, temperature_c=84,
                     remapped_rows_failure=True, pcie_width_current=8, compute_mode="Prohibited",
                     persistence_mode="Disabled", mig_mode="Enabled",
                     nvlink=[{"link": 0, "state": "up"}, {"link": 1, "state": "down"}, {"link": 2, "state": "down"}]),
         _health_gpu(1, clock_event_reasons=["hw_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown"],
                     slowdown_margin_c=1, slowdown_temp_c=None, ecc_uncorrected_volatile=3, retired_pages_pending=True,
                     remapped_rows_pending=True)],
        p2p=[(0, 1, "CNS"), (1, 0, "TNS")],
        nccl={"NCCL_P2P_DISABLE": "1", "NCCL_SHM_DISABLE": "1", "NCCL_P2P_LEVEL": "LOC", "NCCL_DEBUG": "INFO"}, nvlinks=18)),
    "broken-software": dict(gpu_health=_health(
        [_health_gpu(0, "NVIDIA GeForce RTX 4090", clock_event_reasons=["sw_power_cap"], ecc_uncorrected_aggregate=2,
                     compute_mode="Exclusive_Process", nvlink=None),
         _health_gpu(1, "NVIDIA GeForce RTX 4090", ecc_uncorrected_volatile=None, remapped_rows_pending=None,
                     remapped_rows_failure=None, compute_mode="Exclusive_Process", nvlink=None)],
        p2p=[(0, 1, "GNS"), (1, 0, "GNS")], nccl={"NCCL_DEBUG": "TRACE"})),
    "nothing-reported": dict(gpu_health=_health(
        [{"index": 0, "name": None, "clock_event_reasons": None}, {"index": 1, "name": None}])),
}


def _world(name: str, area: str, language: str, tmp_path_factory) -> Facts:
    """A scenario world's facts for one area, collected in the language under test."""
    i18n.set_language(language)
    return gather_world(name, area, tmp_path_factory.mktemp(name))


def _raw_texts(facts: Facts) -> list[str]:
    """NVML's and nvidia-smi's own words in these facts: shown as they come, never translated."""
    nvidia = facts.data("nvidia")
    raw = [(nvidia.get("nvml_error") or {}).get("message") or ""]
    raw += [e.get("message") or "" for e in nvidia.get("gpu_errors") or []]
    smi_error = (nvidia.get("smi") or {}).get("error") or ""
    # "nvidia-smi 退出码 9：<nvidia-smi's first line>": the part after the first full-width colon.
    raw += [part.split("；")[0] for part in smi_error.split("：")[1:]]
    raw += re.findall(r"\[[^\]]+\]", smi_error + " ".join(raw))  # nvidia-smi's [GPU is lost] markers
    return sorted({r.strip() for r in raw if r.strip()}, key=len, reverse=True)


def _without(text: str, raw: list[str]) -> str:
    for words in raw:
        text = text.replace(words, " ")
    return text


def _english_left(text: str, raw: list[str]) -> list[str]:
    return english_sentences(_without(text, raw), DRIVER_COMMANDS)


def _assert_chinese(area: str, zh_facts: Facts, en_facts: Facts) -> list:
    raw = _raw_texts(zh_facts) + _raw_texts(en_facts)
    zh_findings = assert_chinese_report(area, zh_facts, en_facts, DRIVER_COMMANDS, clean=lambda t: _without(t, raw))
    en_findings = run_checks(select([area]), en_facts)
    # Every summary is in Chinese, apart from those without words.
    assert all(re.search(r"[\u4e00-\u9fff]", f.summary) or f.summary == e.summary
               for f, e in zip(zh_findings, en_findings)), [f.summary for f in zh_findings]
    return zh_findings


# The worlds have no gpu_health facts (no driver for that collector): the gpu area is covered by GPU_FACTS.
@pytest.mark.parametrize("area", ("driver", "cuda"))
@pytest.mark.parametrize("name", WORLDS)
def test_chinese_report_of_a_scenario_world_has_no_english_sentence(name, area, tmp_path_factory):
    zh_facts = _world(name, area, "zh", tmp_path_factory)
    en_facts = _world(name, area, "en", tmp_path_factory)
    _assert_chinese(area, zh_facts, en_facts)


def _case(case, language: str) -> Facts:
    i18n.set_language(language)
    return Facts.of(**(case() if callable(case) else case))


@pytest.mark.parametrize("name", list(DRIVER_FACTS))
def test_chinese_driver_report_has_no_english_sentence(name):
    _assert_chinese("driver", _case(DRIVER_FACTS[name], "zh"), _case(DRIVER_FACTS[name], "en"))


@pytest.mark.parametrize("name", list(GPU_FACTS))
def test_chinese_gpu_report_has_no_english_sentence(name):
    _assert_chinese("gpu", Facts.of(**GPU_FACTS[name]), Facts.of(**GPU_FACTS[name]))


def test_the_facts_cases_reach_healthy_and_broken_findings_of_every_check():
    seen = {}
    for area, cases in (("driver", DRIVER_FACTS), ("gpu", GPU_FACTS)):
        for case in cases.values():
            for finding in run_checks(select([area]), _case(case, "en")):
                seen.setdefault(finding.id.split(".")[0] + "." + finding.id.split(".")[1], set()).add(finding.status)
    for check_id in ("driver.nvml", "driver.kernel_module", "driver.uvm", "driver.nvml_binding", "driver.gpu",
                     "gpu.throttling", "gpu.temperature", "gpu.memory_errors", "gpu.pcie_link", "gpu.compute_mode",
                     "gpu.persistence", "gpu.nvlink", "gpu.p2p", "gpu.nccl_env"):
        assert Status.OK in seen[check_id] and (Status.WARN in seen[check_id] or Status.FAIL in seen[check_id]), (
            check_id, seen.get(check_id))
    assert Status.WARN in seen["gpu.mig"] and Status.OK in seen["driver.mig"]


def test_a_hung_nvidia_smi_is_recognised_whatever_the_language_of_its_text():
    from envcheck.checks.driver import failure_kind

    zh = {"smi": {"path": "/usr/bin/nvidia-smi", "error": "nvidia-smi 在 8 秒内没有响应", "hung": True}}
    en = {"smi": {"path": "/usr/bin/nvidia-smi", "error": "nvidia-smi did not answer within 8s (it can hang ...)"}}
    assert failure_kind(zh) == failure_kind(en) == "smi_hung"


# --- the CUDA_VISIBLE_DEVICES parser's problem lines ---------------------------------------------

GPUS = _gpus("NVIDIA L40S", "NVIDIA L40S", "NVIDIA A10")
MIG_GPUS = [dict(g, mig_mode="Enabled", mig_devices=[{"uuid": f"MIG-{i}aaaaaaa-0000-0000-0000-00000000000{j}"}
                                                     for j in range(2)]) for i, g in enumerate(_gpus("A100", "A100"))]
VISIBLE_CASES = [
    ("", GPUS), ("   ", GPUS), ("-1", GPUS), ("0,-1,1", GPUS), ("0,7,1", GPUS), ("9", _gpus("A10")), ("GPU-9", GPUS),
    ("GPU-", GPUS), ("0,0", GPUS), ("0, 1", GPUS), (" 9,1", GPUS), ("0,,1", GPUS), ("abc,1,2", GPUS), ("0", []),
    ("MIG-0aaaaaaa-0000-0000-0000-000000000000,MIG-1aaaaaaa-0000-0000-0000-000000000001", MIG_GPUS),
    ("0,MIG-0aaaaaaa-0000-0000-0000-000000000000", MIG_GPUS), ("MIG-0aaa", MIG_GPUS), ("MIG-9", MIG_GPUS),
    ("MIG-", MIG_GPUS), ("MIG-GPU-99999999-0000-0000-0000-000000000000/1/0", MIG_GPUS),
    ("MIG-GPU-99999999-0000-0000-0000-000000000000/1/0,MIG-0aaaaaaa-0000-0000-0000-000000000000,"
     "MIG-0aaaaaaa-0000-0000-0000-000000000000", MIG_GPUS),
]


@pytest.mark.parametrize("raw,gpus", VISIBLE_CASES)
def test_visible_devices_problem_lines_in_chinese(raw, gpus):
    i18n.set_language("en")
    english = parse_visible_devices(raw, gpus).problems
    i18n.set_language("zh")
    chinese = parse_visible_devices(raw, gpus).problems
    assert english and len(chinese) == len(english), (english, chinese)
    assert all(re.search(r"[\u4e00-\u9fff]", line) for line in chinese), chinese
    assert [english_sentences(line, DRIVER_COMMANDS) for line in chinese] == [[] for _l in chinese], chinese
    assert all(zh != en for zh, en in zip(chinese, english)), chinese


def test_visible_devices_still_reads_the_same_in_both_languages():
    for raw, gpus in VISIBLE_CASES:
        i18n.set_language("en")
        en = parse_visible_devices(raw, gpus)
        i18n.set_language("zh")
        zh = parse_visible_devices(raw, gpus)
        assert (zh.visible, zh.visible_mig, zh.stopped_at, [e.kind for e in zh.entries]) == (
            en.visible, en.visible_mig, en.stopped_at, [e.kind for e in en.entries])


def test_explain_of_the_driver_and_gpu_checks_in_chinese(capsys, monkeypatch):
    """The docstring sections (what it looks at / Why / Fix) of every driver.* and gpu.* check."""
    from _cli import run_cli
    from envcheck.checks import all_checks

    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "1000")  # unwrapped: commands stay whole
    ids = [i for i in all_checks() if i.split(".")[0] in ("driver", "gpu")]
    assert len(ids) == 15
    for check_id in ids:
        code, out, _err = run_cli(["explain", check_id, "--lang", "zh"], capsys)
        assert code == 0 and "为什么重要" in out and "怎么修复" in out, out
        # Raw messages quoted in the text ("CUDA unknown error") are taken out as quoted strings.
        assert english_sentences(out, DRIVER_COMMANDS + ("envcheck doctor --only",)) == [], (check_id, out)
