"""The compatibility data: every file loads and names its sources, unknown cells stay unknown, and
lookups agree with /work/shared/knowledge/compat.md."""

from __future__ import annotations

import pytest
import yaml

from envcheck import knowledge as k


@pytest.mark.parametrize("name", k.FILES)
def test_every_file_loads_with_sources(name):
    doc = k.load(name)
    assert doc["sources"], name
    for source in doc["sources"]:
        assert source["url"].startswith("https://") and source["key"] and source["title"]


def test_question_mark_cells_are_none():
    # compat.md: the 2.14 torchvision row is "?", the 2.14 PyPI default is "?", there is no 12.7
    # row in NVIDIA's table, and the 2.9-2.11 cu128 arch list is marked "(?)".
    assert k.torchvision_for_torch("2.14") is None
    assert k.torchvision_for_torch("2.14.1+cu130") is None
    assert k.pypi_default_variant("2.14") is None
    assert k.min_driver_for_cuda("12.7") is None
    assert k.arch_list("2.10", "cu128") is None
    assert k.arch_list("2.8", "cu129") is None
    assert k.minor_compat_min_for_major(10) is None
    # Outside the data: unknown, not a guess.
    assert k.wheel_variants("3.0") is None and k.torchvision_for_torch("2.99") is None


def test_no_file_has_a_literal_question_mark_value():
    for name in k.FILES:
        text = (k.HERE / f"{name}.yaml").read_text()
        doc = yaml.safe_load(text)

        def walk(value):
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
            else:
                assert value != "?", name

        walk(doc)


def test_driver_table_matches_compat_md():
    assert k.min_driver_for_cuda("12.8") == ("570.26", "525")
    assert k.min_driver_for_cuda("13.0") == ("580.65.06", "580")
    assert k.min_driver_for_cuda("11.8") == ("520.61.05", "450.80.02")
    assert k.min_driver_for_cuda("10.2") == ("440.33", None)
    assert k.cuda_for_driver("590.48.01") == "13.1"
    assert k.cuda_for_driver("550.54.14") == "12.4"
    assert k.cuda_for_driver("400.1") is None


def test_driver_rule():
    assert k.driver_supports("13.0", "13.1").verdict == "ok"
    assert k.driver_supports("12.8", "12.4", "550.54.14").verdict == "minor_compat"
    assert k.driver_supports("13.0", "12.4", "550.54.14").verdict == "too_old"
    assert k.driver_supports("11.8", "11.0", "450.51.05").verdict == "too_old"  # below 450.80.02
    assert k.driver_supports("12.6", None, None).verdict == "unknown"


def test_wheels_and_variants():
    assert k.wheel_variants("2.14") == ["cu126", "cu130", "cu132"]
    assert k.wheel_variants("2.7.1") == ["cu118", "cu126", "cu128"]
    assert k.pypi_default_variant("2.8") == "cu128"
    assert k.wheel_cudnn("2.14", "cu130") == "9.24.0.43"
    assert k.best_variant_for_driver("2.14", "12.4") == ("cu126", "https://download.pytorch.org/whl/cu126")
    assert k.best_variant_for_driver("2.14", "13.1") == ("cu130", "https://download.pytorch.org/whl/cu130")
    assert k.best_variant_for_driver("2.14", "11.8") is None
    assert k.install_command("cu126") == "pip install torch torchvision --index-url https://download.pytorch.org/whl/cu126"
    assert k.variant_of("2.14.1+cu130") == "cu130" and k.variant_of("2.14.1") is None
    assert k.variant_cuda("cu118") == "11.8"


def test_torchvision_pairs():
    assert k.torchvision_for_torch("2.13.0") == "0.28"
    assert k.torchvision_for_torch("2.0") == "0.15"
    assert k.torchvision_patch_pair("2.1.2") == "0.16.2"
    assert k.torchvision_patch_pair("2.13.0") is None


def test_arch_lists_and_torchs_coverage_rule():
    cu126 = k.arch_list("2.14", "cu126")
    cu130 = k.arch_list("2.14", "cu130")
    assert cu126 == ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
    assert cu130[:6] == ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]
    assert k.covers(cu126, "12.0") is None  # RTX 50xx needs cu128+
    assert k.covers(cu130, "12.0") == "cubin"
    assert k.covers(cu130, "6.1") is None  # Pascal dropped from cu13x
    assert k.covers(cu126, "6.1") == "cubin"  # sm_60 code runs on 6.1
    assert k.covers(cu126, "8.9") == "cubin"  # sm_86 code runs on Ada
    assert k.covers(["sm_80"], "8.7") is None  # DEVICE_REQUIREMENT exception
    assert k.covers(["sm_90", "compute_90"], "12.0") == "ptx"
    assert k.variants_covering("2.14", "12.0") == ["cu130", "cu132"]
    assert k.variants_covering("2.14", "6.1") == ["cu126"]
    assert k.architecture_of("9.0") == "Hopper" and k.architecture_of("12.0") == "Blackwell"
    assert k.architecture_of("4.2") is None


def test_python_support():
    assert k.python_range("2.14") == ("3.10", "3.14")
    assert k.python_supported("2.14", "3.11.7") is True
    assert k.python_supported("2.14", "3.9.18") is False
    assert k.newest_torch_for_python("3.9") == "2.8"
    assert k.newest_torch_for_python("3.15") is None


def test_malformed_data_is_rejected():
    bad = {"sources": [{"key": "X", "title": "t", "url": "https://x"}],
           "pairs": {"2.15": {"torchvision": None, "python": None}}}
    with pytest.raises(k.KnowledgeError, match="needs a note"):
        k._validate("torch_torchvision", bad)
    with pytest.raises(k.KnowledgeError, match="sources"):
        k._validate("compute_capability", {"architectures": {}})
