"""The compatibility data: every file loads and names its sources, unknown cells stay unknown,
lookups agree with the sources the YAML files name, malformed data is refused with a precise
message, and the version helpers handle pre-release, local and garbage versions."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from envcheck.export import envfiles

from envcheck.target import pkginfo, pyinfo
from envcheck import knowledge as k


@pytest.mark.parametrize("name", k.FILES)
def test_every_file_loads_with_sources(name):
    doc = k.load(name)
    assert doc["sources"], name
    for source in doc["sources"]:
        assert source["url"].startswith("https://") and source["key"] and source["title"]


def test_question_mark_cells_are_none():
    # No source gives the 2.14 torchvision pairing or the 2.14 PyPI default, NVIDIA's Table 3 has
    # no 12.7 row, and the 2.9-2.11 cu128 arch list is unconfirmed (docs/knowledge.md).
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


def test_driver_table_matches_nvidia_release_notes():
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
           "pairs": {"2.15": {"torchvision": None, "python": None}}, "patch_pairs": {}}
    with pytest.raises(k.KnowledgeError, match="needs a note"):
        k.validate("torch_torchvision", bad)
    with pytest.raises(k.KnowledgeError, match="sources"):
        k.validate("compute_capability", {"architectures": {}})


def test_every_file_has_a_schema():
    assert set(k.SCHEMAS) == set(k.FILES)


def _with(name, edit):
    """A deep copy of a shipped table with one edit applied."""
    doc = copy.deepcopy(k.load(name))
    edit(doc)
    return doc


def _error(name, doc):
    with pytest.raises(k.KnowledgeError) as caught:
        k.validate(name, doc)
    return str(caught.value)


@pytest.mark.parametrize(("name", "edit", "message"), [
    # The sources rule: every file names where its facts come from.
    ("cuda_driver", lambda d: d.pop("sources"), "cuda_driver.yaml: needs a non-empty `sources:` list"),
    ("arch_lists", lambda d: d.update(sources=[]), "arch_lists.yaml: needs a non-empty `sources:` list"),
    ("python_support", lambda d: d["sources"][0].pop("url"), "python_support.yaml: sources[0]: missing `url:`"),
    ("python_support", lambda d: d["sources"][0].update(url="http://x"),
     "sources[0].url: expected an https:// URL, got 'http://x'"),
    ("torch_wheels", lambda d: d["sources"].append(dict(d["sources"][0])), "sources: key REL is listed more than once"),
    # Where and what: the path inside the file, the value expected and the value found.
    ("cuda_driver", lambda d: d["cuda"]["12.8"].update(toolkit_driver=570.26),
     'cuda_driver.yaml: cuda["12.8"].toolkit_driver: expected a quoted driver version like "570.26", '
     "got 570.26 (a float: quote it)"),
    ("cuda_driver", lambda d: d["cuda"]["12.8"].update(minor_compat_min="abc"),
     'cuda["12.8"].minor_compat_min: expected a quoted driver version like "570.26" or null, got \'abc\''),
    ("cuda_driver", lambda d: d["cuda"]["12.8"].pop("toolkit_driver_latest"),
     'cuda["12.8"]: missing `toolkit_driver_latest:`'),
    ("cuda_driver", lambda d: d["cuda"]["12.8"].update(toolkit_driver=None),
     'cuda["12.8"].toolkit_driver: expected a quoted driver version like "570.26", got None'),
    ("cuda_driver", lambda d: d["cuda"].update({12.7: d["cuda"]["12.8"]}),
     'cuda: key 12.7 (a float: quote it): expected a quoted "X.Y"'),
    ("cuda_driver", lambda d: d["minor_compat_by_major"]["12"].update(mn="525"),
     'minor_compat_by_major["12"]: unknown key \'mn\' (allowed: min, below, note)'),
    ("torch_wheels", lambda d: d["releases"]["2.8"].update(pypi_default="cu999"),
     'releases["2.8"]: pypi_default \'cu999\' is not one of its variants (cu126, cu128, cu129)'),
    ("torch_wheels", lambda d: d["releases"]["2.8"]["variants"].update(cu129="nine"),
     'releases["2.8"].variants.cu129: expected a quoted cuDNN version like "9.10.2.21" or null'),
    ("torch_wheels", lambda d: d["index_url"].update(release="https://download.pytorch.org/whl/cu126"),
     "index_url.release: expected a URL pattern containing {variant}"),
    ("torch_torchvision", lambda d: d["pairs"]["2.13"].update(python=["3.14", "3.10"]),
     'pairs["2.13"]: python must be [low, high] with low <= high'),
    ("torch_torchvision", lambda d: d["pairs"]["2.13"].update(python=["3.10"]),
     'pairs["2.13"].python: expected a list of exactly 2 or null'),
    ("arch_lists", lambda d: d["releases"]["2.8"]["cu128"].update(source="NOPE"),
     'releases["2.8"].cu128: source must be one of the keys under `sources:` (BLD, MOI, PT-CI, TI-PKG, REL, '
     "TORCH-CUDA), got 'NOPE'"),
    ("arch_lists", lambda d: d["releases"]["2.8"]["cu128"].update(archs=None),
     'releases["2.8"].cu128: an unknown arch list (archs: null) needs a note saying why'),
    ("arch_lists", lambda d: d["releases"]["2.8"]["cu128"].update(archs=["7.5", 8.0]),
     'releases["2.8"].cu128.archs[1]: expected a quoted "X.Y" like "12.8", got 8.0 (a float: quote it)'),
    # A YAML alias shares one mapping: an error inside it names the first place it appears.
    ("arch_lists", lambda d: d["releases"]["2.14"]["cu130"].update(ptx="12"),
     'releases["2.12"].cu130.ptx: expected a quoted "X.Y"'),
    ("compute_capability", lambda d: d["architectures"]["Hopper"].update({"9": "H100"}),
     'architectures.Hopper: key \'9\': expected a quoted "X.Y"'),
    ("python_support", lambda d: d["releases"]["2.14"].update(validated="3.10-3.14"),
     'releases["2.14"].validated: expected a list of exactly 2, got \'3.10-3.14\''),
])
def test_schema_errors_name_file_place_and_problem(name, edit, message):
    assert message in _error(name, _with(name, edit))


def test_a_file_that_is_not_a_mapping_is_refused():
    assert "the top level must be a mapping, got ['a'] (list)" in _error("cuda_driver", ["a"])


@pytest.mark.parametrize(("text", "release", "minor", "variant"), [
    ("2.1.2+cu121", (2, 1, 2), "2.1", "cu121"),
    ("2.6.0.dev20241001", (2, 6, 0), "2.6", None),  # nightly pre-release
    ("2.6.0.dev20241001+cu124", (2, 6, 0), "2.6", "cu124"),
    ("2.0.0a0+gitabc", (2, 0, 0), "2.0", "gitabc"),  # source build
    ("2.3.0rc1", (2, 3, 0), "2.3", None),
    ("2.1.2+CU121", (2, 1, 2), "2.1", "cu121"),  # PEP 440 local labels compare lower-cased
    ("2.4.0+cpu", (2, 4, 0), "2.4", "cpu"),
    ("590.48.01", (590, 48, 1), "590.48", None),  # driver
    ("9.24.0.43", (9, 24, 0, 43), "9.24", None),  # cuDNN
    (" 12.8 ", (12, 8), "12.8", None),
    ("3.14t", (3, 14), "3.14", None),  # not PEP 440: the leading digits still count
    ("535.104.05 (beta)", (535, 104, 5), "535.104", None),
    ("2", (2,), None, None),
    ("abc", None, None, None),
    ("", None, None, None),
    (None, None, None, None),
    ("2.1+", (2, 1), "2.1", None),  # empty local label
])
def test_version_helpers(text, release, minor, variant):
    assert k.version_tuple(text) == release
    assert k.minor_of(text) == minor
    assert k.variant_of(text) == variant


def test_variant_cuda_and_major_minor():
    assert k.variant_cuda("cu126") == "12.6" and k.variant_cuda("cu92") == "9.2"
    assert k.variant_cuda("cpu") is None and k.variant_cuda("rocm6.2") is None and k.variant_cuda("") is None
    assert k.major_minor("8.6") == (8, 6) and k.major_minor("3.11.7") == (3, 11)
    assert k.major_minor("9") is None and k.major_minor("x") is None


def test_canonical_name_is_pep_503():
    assert k.canonical_name("PyYAML") == "pyyaml"
    assert k.canonical_name("nvidia_ml.py") == "nvidia-ml-py"
    assert k.canonical_name("Foo__Bar--baz") == "foo-bar-baz"
    assert envfiles.canonical_name is k.canonical_name
    # pyinfo.py and pkginfo.py run in the diagnosed interpreter without envcheck: their copies must agree.
    for name in ("PyYAML", "nvidia_ml.py", "Foo__Bar--baz", "torch"):
        assert pkginfo.canonical_name(name) == pyinfo._normalize(name) == k.canonical_name(name)


def test_the_project_points_at_no_file_outside_it():
    """Comments and messages cite the upstream source or a docs/ page, never research notes or
    fixtures that only existed beside the repository (the project must stand alone)."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("envcheck", "reference_train", "templates", "benchmarks", "docs", "tests"):
        for path in (root / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".yaml", ".yml", ".txt", ".j2", ".toml"} or path == Path(__file__):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if any(note in line for note in ("compat.md", "/work/shared", "../shared", "doctor-anchors", "trainer-scaffold-anchors")):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_architecture_specific_code_runs_only_on_its_own_capability():
    assert k.covers(["sm_90a"], "9.0") == "cubin"
    assert k.covers(["sm_90a"], "9.1") is None  # sm_90 would run there; sm_90a does not
    assert k.covers(["sm_90"], "9.1") == "cubin"
    assert k.covers(["sm_80", "compute_90a"], "10.0") is None


# ---------------------------------------------------------------- last driver branch per GPU (issue #9)

from envcheck.knowledge import driver_fit, gpu_driver_branches as branches  # noqa: E402


def test_last_driver_branch_per_architecture_follows_nvidia():
    # NVIDIA's "CUDA Toolkit, Driver, and Architecture Matrix": Kepler R470; Maxwell, Pascal, Volta R580.
    doc = branches.load_branches()
    assert all(source["url"].startswith("https://") for source in doc["sources"])
    k80 = branches.last_branch("3.7")
    assert (k80.architecture, k80.branch, k80.max_cuda) == ("Kepler", "470", "11.4")
    assert branches.last_branch("Kepler") == k80
    for cc in ("5.2", "6.1", "7.0"):
        assert branches.last_branch(cc).branch == "580", cc
    assert branches.last_branch("2.0").architecture == "Fermi"
    # Turing and newer: no last branch announced, so no ceiling; unknown capabilities stay unknown.
    for cc in ("7.5", "8.6", "9.0", "12.0", "99.9", None):
        assert branches.last_branch(cc) is None, cc
    assert branches.branch_ceiling(["9.0", "6.1", "3.7"]).branch == "470"
    assert branches.branch_ceiling(["9.0"]) is None


def test_last_branch_max_cuda_agrees_with_the_toolkit_driver_table():
    for name, row in branches.load_branches()["architectures"].items():
        if row["last_branch"] is None or row["last_branch"] == "390":
            continue  # no ceiling; CUDA 9.1 is older than cuda_driver.yaml's first row
        assert k.cuda_for_driver(f"{row['last_branch']}.999.99") == row["max_cuda"], name


def test_malformed_branch_data_is_refused():
    doc = copy.deepcopy(branches.load_branches())
    doc["architectures"]["Kepler"]["last_branch"] = 470
    with pytest.raises(k.KnowledgeError, match=r'gpu_driver_branches.yaml: architectures.Kepler.last_branch: expected a quoted driver branch'):
        k.validate("gpu_driver_branches", doc)
    doc = copy.deepcopy(branches.load_branches())
    doc["architectures"]["Turing"].pop("note")
    with pytest.raises(k.KnowledgeError, match="needs a note"):
        k.validate("gpu_driver_branches", doc)


def test_newest_wheel_a_driver_runs_on_these_gpus():
    # R470 (CUDA 11.4) and a K80: cu118 runs through minor-version compatibility (>= 450.80.02) and
    # torch 2.7 is the last release whose cu118 arch list has sm_37 (arch_lists.yaml).
    fit = driver_fit.newest_wheel_for("11.4", "470.82.01", ["3.7"])
    assert (fit.release, fit.variant, fit.support, fit.torchvision) == ("2.7", "cu118", "minor_compat", "0.22")
    assert fit.pip_args() == "torch==2.7.* torchvision==0.22.* --index-url https://download.pytorch.org/whl/cu118"
    # A 12.4 driver runs 2.14's cu126 (minor compat), which covers Pascal.
    assert driver_fit.newest_wheel_for("12.4", "550.54.14", ["6.1"])[:2] == ("2.14", "cu126")
    # Python 3.14 has no torch 2.7 wheels: then no wheel fits the K80 at all.
    assert driver_fit.newest_wheel_for("11.4", "470.82.01", ["3.7"], python="3.14.0") is None
    # A CUDA 10.2 driver runs nothing in the data.
    assert driver_fit.newest_wheel_for("10.2", "440.33", ["7.0"]) is None
    assert driver_fit.current_release_covers("3.7") is False and driver_fit.current_release_covers("6.1") is True
    assert driver_fit.newest_release_covering("3.7") == ("2.7", "cu118")


def test_driver_upgrade_stops_at_the_gpus_last_branch():
    assert driver_fit.driver_upgrade_for("13.0", ["3.7"]).reachable is False
    assert driver_fit.driver_upgrade_for("13.0", ["6.1"]).reachable is True  # 580.65.06 is in R580
    assert driver_fit.driver_upgrade_for("13.1", ["6.1"]).reachable is False  # 590.44.01 is not
    assert driver_fit.driver_upgrade_for("13.0", ["9.0"]) == driver_fit.DriverUpgrade("580.65.06", None, True)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["models"][0]["tflops"].update(fp32="67"), r"models\[0\]\.tflops\.fp32: expected TFLOP/s, got '67'"),
    (lambda d: d["attainable"].update(matmul=1.5), r"attainable\.matmul: expected a share of the peak, 0 to 1, got 1\.5"),
    (lambda d: d["models"][1]["tflops"].update(int4=1.0), r"key 'int4': expected a dtype"),
    (lambda d: d["models"][2].update(source="NOPE"), r"models\[2\]: source must be one of the keys"),
])
def test_malformed_gpu_peaks_are_refused(change, message):
    doc = copy.deepcopy(k.load("gpu_peaks"))
    change(doc)
    with pytest.raises(k.KnowledgeError, match=message):
        k.validate("gpu_peaks", doc)


def test_every_table_loads_and_validates():
    # The package no longer loads every table on import (start-up time): this is where a malformed
    # edit of any of them fails.
    from envcheck.knowledge import loading

    loading.load.cache_clear()
    assert len(loading.FILES) >= 9
    loading.load_all()
    assert all(loading.load(name)["sources"] for name in loading.FILES)
