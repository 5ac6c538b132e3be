"""smoke-train's environment fingerprint (--json/--out) touches no GPU that is not under test:
the torch probe creates no CUDA context in that mode, it runs with the training children's
CUDA_VISIBLE_DEVICES, and only after the phases have finished."""

from __future__ import annotations

import sys
from pathlib import Path

from envcheck.core.context import Context
from envcheck.facts.torch_probe import NO_CONTEXT_ENV, collect_torch, run_probe
from envcheck.smoke.phases import CheckResult

sys.path.insert(0, str(Path(__file__).parent))
from _cli import run_cli  # noqa: E402

# A torch that says it has two GPUs and writes down every call that would need a CUDA context.
FAKE_TORCH = '''
import os
__version__ = "9.9.9+cu128"
class version:
    cuda = "12.8"; hip = None; git_version = "fake"; debug = False
def _touched(what):
    with open(os.environ["FAKE_TORCH_MARK"], "a") as handle:
        handle.write(what + "\\n")
class _Props:
    name = "Fake GPU"; major = 9; minor = 0; total_memory = 80 * 2**30; multi_processor_count = 132
class cuda:
    get_arch_list = staticmethod(lambda: ["sm_80", "sm_90"])
    is_available = staticmethod(lambda: True)
    device_count = staticmethod(lambda: 2)
    @staticmethod
    def get_device_properties(index):
        _touched("properties:%d" % index)
        return _Props()
    @staticmethod
    def synchronize(device=None):
        _touched("synchronize")
    class nccl:
        version = staticmethod(lambda: (2, 21, 5))
class backends:
    class cudnn:
        version = staticmethod(lambda: 90100)
        is_available = staticmethod(lambda: True)
def device(*args):
    _touched("device")
    raise RuntimeError("fake torch has no devices")
def arange(*args, **kwargs):
    _touched("tensor")
    raise RuntimeError("fake torch has no tensors")
eye = arange
'''


def _fake_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    package = tmp_path / "fake" / "torch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_TORCH)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package.parent), "FAKE_TORCH_MARK": str(tmp_path / "touched.txt")}
    env.update(extra)
    return env


def _touched(tmp_path: Path) -> list[str]:
    mark = tmp_path / "touched.txt"
    return mark.read_text().split() if mark.is_file() else []


def test_fake_torch_is_touched_by_the_normal_probe(tmp_path):
    # The control: without the option the probe reads both GPUs' properties and runs ops on them.
    data = run_probe(Context(env=_fake_env(tmp_path)))
    assert data["status"] == "ok" and data["device_count"] == 2
    assert "properties:0" in _touched(tmp_path) and "properties:1" in _touched(tmp_path)


def test_no_context_probe_reports_versions_and_count_without_touching_a_gpu(tmp_path):
    data = collect_torch(Context(env=_fake_env(tmp_path, **{NO_CONTEXT_ENV: "1"})))
    assert _touched(tmp_path) == []
    assert data["status"] == "ok" and data["cuda_context_skipped"] is True and data["device_op_skipped"] is True
    assert data["version"] == "9.9.9+cu128" and data["cuda"] == "12.8" and data["device_count"] == 2
    assert data["arch_list"] == ["sm_80", "sm_90"] and data["nccl"] == "2.21.5" and data["devices"] == []


def test_no_context_probe_argument(tmp_path):
    data = run_probe(Context(env=_fake_env(tmp_path)), no_cuda_context=True)
    assert _touched(tmp_path) == [] and data["cuda_context_skipped"] is True


def test_fingerprint_uses_the_childrens_gpus_and_the_no_context_probe(monkeypatch):
    from envcheck.commands import smoke_train
    from envcheck.commands import common

    seen = []
    monkeypatch.setattr(common, "gather", lambda ctx, only=None, **kw: (seen.append((dict(ctx.env), only)), ({}, []))[1])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    smoke_train.fingerprint({"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "GPU-00000002-0000-0000-0000-000000000002"})
    smoke_train.fingerprint({"CUDA_VISIBLE_DEVICES": ""})
    (gpu_env, only), (cpu_env, _) = seen
    assert only == ["system", "driver", "torch"]
    assert gpu_env["CUDA_VISIBLE_DEVICES"] == "GPU-00000002-0000-0000-0000-000000000002"
    assert gpu_env[NO_CONTEXT_ENV] == "1" and cpu_env[NO_CONTEXT_ENV] == "1"
    assert cpu_env["CUDA_VISIBLE_DEVICES"] == ""


def test_fingerprint_runs_after_the_phases_not_beside_them(monkeypatch, capsys, tmp_path):
    import reference_train.synthetic

    from envcheck.commands import smoke_train
    from envcheck.smoke import phases

    order = []

    def fake_phases(config, names, timeouts, env, work_dir, on_start=None, on_result=None, worker_argv=None, **kwargs):
        order.append("phases start")
        results = [CheckResult(name, True, summary="ok") for name in names]
        order.append("phases end")
        return results

    monkeypatch.setattr(phases, "run_worker_phases", fake_phases)
    monkeypatch.setattr(reference_train.synthetic, "cached_dataset", lambda **kw: tmp_path)
    monkeypatch.setattr(smoke_train, "fingerprint", lambda env, base=None: (order.append(("fingerprint", env["CUDA_VISIBLE_DEVICES"])), {})[1])
    code, out, err = run_cli(["smoke-train", "--cpu", "--json"], capsys)
    assert code == 0, err
    assert order == ["phases start", "phases end", ("fingerprint", "")]
