"""CUDA_VISIBLE_DEVICES rules (CUDA Programming Guide 13.x, section 5.2.1.1) on a recorded GPU list."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from envcheck.facts import nvsmi
from envcheck.facts.visible_devices import parse_visible_devices

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "nvidia-smi"


def _fake_smi():
    spec = importlib.util.spec_from_file_location("fake_nvidia_smi", CAPTURES.parent / "fake_nvidia_smi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _list_section(name: str) -> str:
    return _fake_smi().section((CAPTURES / name).read_text(), "capabilities :: list (-L)")


@pytest.fixture
def four_gpus():
    """Four GPUs with distinct UUIDs; GPU 1 and 2 share a UUID prefix longer than 'GPU-'."""
    uuids = [
        "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6",
        "GPU-1a2b3c4d-0000-4000-8000-000000000001",
        "GPU-1a2b3c4d-0000-4000-8000-000000000002",
        "GPU-77777777-0000-4000-8000-000000000003",
    ]
    return [{"index": i, "name": f"NVIDIA Test {i}", "uuid": u, "mig_devices": []} for i, u in enumerate(uuids)]


@pytest.fixture
def mig_gpus():
    # The real MIG capture's `nvidia-smi -L`: one H100 with four MIG devices.
    return nvsmi.parse_list(_list_section("linux-x86_64__nvidia-h100-mig__590.48.01.txt"))


def test_unset_shows_every_gpu_in_index_order(four_gpus):
    result = parse_visible_devices(None, list(reversed(four_gpus)))
    assert result.visible == [0, 1, 2, 3]
    assert result.problems == [] and result.stopped_at is None


def test_empty_string_hides_everything(four_gpus):
    result = parse_visible_devices("", four_gpus)
    assert result.visible == [] and result.entries == []
    assert any("empty string" in p for p in result.problems)


def test_minus_one_alone_hides_everything(four_gpus):
    result = parse_visible_devices("-1", four_gpus)
    assert result.visible == [] and result.stopped_at == "-1"
    assert result.entries[0].kind == "invalid"


@pytest.mark.parametrize("raw, expected", [("0,1", [0, 1]), ("2,1", [2, 1]), ("3", [3])])
def test_listed_order_is_cuda_order(four_gpus, raw, expected):
    result = parse_visible_devices(raw, four_gpus)
    assert result.visible == expected
    assert result.problems == []
    assert result.cuda_map() == list(enumerate(expected))


def test_invalid_entry_hides_itself_and_the_rest(four_gpus):
    result = parse_visible_devices("0,2,-1,1", four_gpus)
    assert result.visible == [0, 2]
    assert result.stopped_at == "-1"
    assert [e.kind for e in result.entries] == ["index", "index", "invalid", "index"]
    assert any("hides the 1 entry after it" in p for p in result.problems)


def test_out_of_range_index(four_gpus):
    result = parse_visible_devices("1,4,0", four_gpus)
    assert result.visible == [1]
    assert result.stopped_at == "4"
    assert "does not exist" in result.entries[1].problem


def test_full_uuid_and_unique_prefix(four_gpus):
    assert parse_visible_devices(four_gpus[3]["uuid"], four_gpus).visible == [3]
    result = parse_visible_devices("GPU-8932f937,GPU-77777777", four_gpus)
    assert result.visible == [0, 3]
    assert [e.kind for e in result.entries] == ["uuid", "uuid"]


def test_ambiguous_prefix_is_invalid(four_gpus):
    result = parse_visible_devices("3,GPU-1a2b3c4d", four_gpus)
    assert result.visible == [3]
    assert result.entries[1].kind == "invalid"
    assert "ambiguous" in result.entries[1].problem
    assert "GPU 1" in result.entries[1].problem and "GPU 2" in result.entries[1].problem


def test_unknown_uuid_is_invalid(four_gpus):
    result = parse_visible_devices("GPU-deadbeef,0", four_gpus)
    assert result.visible == [] and result.stopped_at == "GPU-deadbeef"


def test_mig_uuid_selects_one_instance(mig_gpus):
    first = mig_gpus[0]["mig_devices"][0]["uuid"]
    result = parse_visible_devices(first, mig_gpus)
    assert result.visible_mig == [first] and result.visible == []
    assert result.entries[0].kind == "mig" and result.entries[0].physical_index == 0
    assert result.problems == []


def test_two_mig_instances_are_a_problem(mig_gpus):
    uuids = [m["uuid"] for m in mig_gpus[0]["mig_devices"][:2]]
    result = parse_visible_devices(",".join(uuids), mig_gpus)
    assert result.visible_mig == uuids
    assert any("only one MIG instance" in p for p in result.problems)


def test_unknown_mig_uuid(mig_gpus):
    result = parse_visible_devices("MIG-ffffffff-0000-0000-0000-000000000000", mig_gpus)
    assert result.visible_mig == [] and result.stopped_at is not None


def test_duplicates_are_flagged_and_stop_the_list(four_gpus):
    result = parse_visible_devices(f"1,0,{four_gpus[1]['uuid']},2", four_gpus)
    assert result.visible == [1, 0]
    assert result.entries[2].kind == "invalid"
    assert "second time" in result.entries[2].problem
    # The behaviour is not documented by NVIDIA: the sentence must say so rather than guess.
    assert "does not document" in result.entries[2].problem


def test_spaces_are_flagged_without_guessing(four_gpus):
    result = parse_visible_devices("0, 1", four_gpus)
    assert result.visible == [0, 1]
    assert result.entries[1].token == " 1"
    assert any("spaces" in p and "unknown" in p for p in result.problems)


def test_garbage_token(four_gpus):
    result = parse_visible_devices("0,gpu1", four_gpus)
    assert result.visible == [0] and result.stopped_at == "gpu1"


def test_without_gpu_list_only_syntax_is_checked():
    result = parse_visible_devices("0,GPU-1234,-1,3", [])
    assert result.mapped is False
    assert result.visible == []
    assert [e.kind for e in result.entries] == ["index", "uuid", "invalid", "index"]
    assert result.stopped_at == "-1"
    assert any("could only be checked for syntax" in p for p in result.problems)


# --- how the doctor's suggested commands select GPUs (envcheck.checks.cuda.select_gpus) -----------

def _models(*names):
    return [{"index": i, "name": n, "uuid": f"GPU-{i:08x}-aaaa-4000-8000-000000000000"} for i, n in enumerate(names)]


@pytest.mark.parametrize("names, env, expected", [
    (("NVIDIA L40S", "NVIDIA L40S", "NVIDIA L40S"), {}, "CUDA_VISIBLE_DEVICES=2"),
    (("NVIDIA H100 80GB HBM3", "NVIDIA L40S", "NVIDIA L40S"), {}, "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=2"),
    (("NVIDIA H100 80GB HBM3", "NVIDIA L40S", "NVIDIA L40S"), {"CUDA_DEVICE_ORDER": "FASTEST_FIRST"},
     "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=2"),
    (("NVIDIA H100 80GB HBM3", "NVIDIA L40S", "NVIDIA L40S"), {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, "CUDA_VISIBLE_DEVICES=2"),
])
def test_select_gpus_uses_the_index_only_where_cuda_numbers_like_nvidia_smi(names, env, expected):
    from envcheck.checks.cuda import select_gpus

    assert select_gpus([2], _models(*names), env) == expected


def test_select_gpus_names_gpus_by_uuid_when_one_gpu_is_lost():
    from envcheck.checks.cuda import select_gpus

    gpus = _models("NVIDIA L40S", "NVIDIA L40S")
    lost = [{"index": 2, "kind": "gpu_is_lost"}]
    assert select_gpus([0, 1], gpus, {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, lost) == \
        f"CUDA_VISIBLE_DEVICES={gpus[0]['uuid']},{gpus[1]['uuid']}"
    gpus[1]["uuid"] = None  # UUID unknown: fall back to the PCI-ordered index
    assert select_gpus([1], gpus, {}, lost) == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1"
