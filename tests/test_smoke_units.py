"""smoke-train's pure pieces: the arch check, the numerics comparison, busbw, the DDP summary, the
verdict and the JSON document."""

from __future__ import annotations

import json

import pytest

from envcheck.smoke.ddp_worker import bus_bandwidth
from envcheck.smoke.phases import CheckResult, summarise_ddp, timed_out
from envcheck.smoke.report import report_dict, verdict, verdict_line
from envcheck.smoke.worker import NUMERICS_TOLERANCE, compare_to_reference, kernels_for

# Arch lists of the torch 2.8 cu126 and cu128 Linux x86_64 wheels (envcheck/knowledge/arch_lists.yaml, PT-CI).
CU126 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU128 = ["sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]


@pytest.mark.parametrize(
    "capability, arch_list, ok",
    [
        ((9, 0), CU126, True),  # H100/H200: exact
        ((8, 9), CU126, True),  # L40S/RTX 40xx: sm_86 code runs on 8.9 (same major)
        ((12, 0), CU126, False),  # RTX 50xx needs cu128+
        ((12, 0), CU128, True),
        ((6, 1), CU128, False),  # Pascal dropped from cu128
        ((12, 0), CU126[:-1] + ["compute_90"], True),  # PTX JIT
        ((9, 0), ["sm_80", "sm_90a"], True),  # arch-specific variant on its own capability
        ((10, 0), ["sm_80", "sm_90a"], False),  # ... and not elsewhere
    ],
)
def test_kernels_for(capability, arch_list, ok):
    result, why = kernels_for(capability, arch_list)
    assert result is ok
    assert f"sm_{capability[0] * 10 + capability[1]}" in why


def test_numerics_comparison_catches_tf32_sized_and_nonfinite_errors():
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(256, 512, generator=generator)
    b = torch.randn(512, 256, generator=generator)
    reference = a.double() @ b.double()
    fp32 = compare_to_reference(a @ b, reference)
    assert fp32["max_rel_err"] <= NUMERICS_TOLERANCE
    # Rounding the inputs to TF32's 10-bit mantissa (what allow_tf32 does) must fail the tolerance.
    tf32 = lambda t: (t.view(torch.int32) & ~0x1FFF).view(torch.float32)  # noqa: E731
    assert compare_to_reference(tf32(a) @ tf32(b), reference)["max_rel_err"] > NUMERICS_TOLERANCE
    broken = (a @ b).clone()
    broken[0, 0] = float("nan")
    assert compare_to_reference(broken, reference)["max_rel_err"] == float("inf")


def test_bus_bandwidth_is_nccl_tests_definition():
    algbw, busbw = bus_bandwidth(1_000_000_000, 0.5, 4)
    assert algbw == pytest.approx(2.0)
    assert busbw == pytest.approx(2.0 * 2 * 3 / 4)
    assert bus_bandwidth(10**9, 1.0, 2)[1] == pytest.approx(1.0)


def _rank(rank, **overrides):
    base = {
        "rank": rank, "device": "cpu", "problems": [], "allreduce_expected": 3.0, "allreduce_value": 3.0,
        "allreduce_wrong": 0, "size_bytes": 8 * 2**20, "algbw_gbps": 1.0, "busbw_gbps": 1.0,
        "grads_equal_rank0": True, "params_equal_rank0": True, "grad_mean_rel_err": 0.0,
    }
    base.update(overrides)
    return base


def test_ddp_summary_passes_only_when_every_rank_agrees():
    good = summarise_ddp({"world_size": 2, "backend": "gloo", "ranks": [_rank(0), _rank(1)]}, 2)
    assert good.passed and good.numbers["allreduce_values"] == [3.0, 3.0] and good.numbers["busbw_gbps"] == 1.0
    wrong = summarise_ddp({"world_size": 2, "backend": "gloo", "ranks": [
        _rank(0), _rank(1, allreduce_wrong=5, problems=["all_reduce gave 5 wrong element(s)"], grads_equal_rank0=False,
                        )]}, 2)
    assert not wrong.passed and "rank 1" in wrong.error
    assert wrong.numbers["allreduce_wrong_elements"] == 5 and wrong.numbers["grads_equal_all_ranks"] is False
    missing = summarise_ddp({"world_size": 2, "backend": "gloo", "ranks": [_rank(0)]}, 2)
    assert not missing.passed and "1 of 2 ranks" in missing.error


def test_verdict_is_pass_only_when_all_checks_pass():
    passed = [CheckResult("device", True), CheckResult("numerics", True)]
    assert verdict(passed) == "PASS" and verdict([]) == "FAIL"
    failed = passed + [timed_out("learning", 300)]
    assert verdict(failed) == "FAIL"
    assert "learning" in verdict_line(failed, "CPU")
    assert failed[-1].error.startswith("learning phase did not finish within 300 s")


def test_report_is_strict_json_and_redacted():
    checks = [CheckResult("numerics", False, {"matmul_max_rel_err": float("inf")}, error="nan in result"),
              CheckResult("device", True, {"name": "x"}, summary="ok")]
    env = {"facts": {"environment": {"HTTPS_PROXY": "http://alice:hunter2@proxy:3128", "HF_TOKEN": "hf_secret"}}}
    doc = report_dict(checks, {"kind": "cpu"}, {}, env, None, [])
    text = json.dumps(doc, allow_nan=False)  # raises on Infinity/NaN
    assert "hunter2" not in text and "hf_secret" not in text
    assert doc["verdict"] == "FAIL"
    assert [c["name"] for c in doc["checks"]] == ["numerics", "device"]
    assert doc["checks"][0]["numbers"]["matmul_max_rel_err"] == "inf"


FAKE_WORKER = '''
import json, os, sys, time
config = json.load(open(sys.argv[1]))
out = sys.stdout
for phase in config["phases"]:
    out.write(json.dumps({"event": "start", "phase": phase}) + "\\n"); out.flush()
    if phase == "crashes":
        print("boom: the driver fell over", file=sys.stderr, flush=True)
        os._exit(7)
    if phase == "hangs":
        time.sleep(600)
    out.write(json.dumps({"event": "result", "phase": phase, "passed": phase != "fails", "numbers": {"pid": os.getpid()},
                          "summary": "fine", "error": None if phase != "fails" else "it failed"}) + "\\n")
    out.flush()
'''


def test_worker_crash_and_hang_become_failed_checks_and_the_rest_still_run(tmp_path):
    import sys
    import time

    from envcheck.smoke.phases import run_worker_phases

    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    phases = ["first", "crashes", "after_crash", "hangs", "fails", "last"]
    timeouts = {name: 20.0 for name in phases}
    timeouts["hangs"] = 1.0
    start = time.monotonic()
    results = run_worker_phases({}, phases, timeouts, {"PATH": "/usr/bin:/bin"}, tmp_path,
                                worker_argv=[sys.executable, str(script)])
    assert time.monotonic() - start < 15
    by_name = {r.name: r for r in results}
    assert [r.name for r in results] == phases
    assert by_name["first"].passed and by_name["after_crash"].passed and by_name["last"].passed
    assert not by_name["crashes"].passed
    assert "exit code 7" in by_name["crashes"].error and "boom: the driver fell over" in by_name["crashes"].error
    assert not by_name["hangs"].passed and by_name["hangs"].error.startswith("hangs phase did not finish within 1 s")
    assert not by_name["fails"].passed and by_name["fails"].error == "it failed"
    # A fresh worker took over after the crash and after the hang.
    pids = [by_name[n].numbers["pid"] for n in ("first", "after_crash", "fails")]
    assert len(set(pids)) == 3
