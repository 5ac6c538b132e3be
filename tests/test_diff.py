"""envcheck diff: crafted snapshots, ordering by what breaks runs, exit codes, redaction."""

from __future__ import annotations

import json

import pytest

from envcheck.core.model import Facts
from envcheck.export.snapshot import build_snapshot, diff_snapshots, dump_snapshot
from _cli import run_cli




def snapshot(torch="2.1.2+cu118", cuda="11.8", driver="535.104.05", gpus=("NVIDIA A100-SXM4-80GB",) * 2,
             python="3.10.14", packages=None, env=None):
    packages = packages if packages is not None else {"torch": torch, "numpy": "1.26.4", "six": "1.16.0"}
    facts = Facts.of(
        torch={"version": torch, "cuda": cuda},
        nvidia={"driver_version": driver, "cuda_driver_version": "12.2", "gpus": [{"name": g} for g in gpus]},
        env={"vars": env if env is not None else {"CUDA_VISIBLE_DEVICES": "0", "https_proxy": "http://u:pw1@proxy:3128"}},
    )
    report = {
        "python": {"version": python, "implementation": "CPython", "executable": "/env/bin/python", "is_venv": True},
        "conda": None,
        "distributions": [{"name": n, "version": v, "installer": "pip", "requested": True, "direct_url": None}
                          for n, v in packages.items()],
    }
    return build_snapshot(report, facts.to_dict(), [], "/env/bin/python", created_at="2026-01-01T00:00:00+00:00")


def write(tmp_path, name, document, fmt="yaml"):
    path = tmp_path / name
    path.write_text(dump_snapshot(document, fmt))
    return path


def test_identical_snapshots_are_equivalent(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", snapshot())
    b = write(tmp_path, "b.json", snapshot(), fmt="json")  # same content, other format
    code, out, _ = run_cli(["diff", str(a), str(b)], capsys)
    assert code == 0
    assert "Equivalent" in out


def test_cuda_change_is_listed_before_python_packages_and_env(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", snapshot())
    b = write(tmp_path, "b.yaml", snapshot(
        torch="2.3.1+cu121", cuda="12.1", python="3.11.9",
        packages={"torch": "2.3.1+cu121", "numpy": "2.0.0", "idna": "3.7"},
        env={"CUDA_VISIBLE_DEVICES": "1", "https_proxy": "http://u:pw2@proxy:3128"},
    ))
    code, out, _ = run_cli(["diff", str(a), str(b)], capsys)
    assert code == 1
    order = [out.index(text) for text in (
        "torch CUDA build: 11.8 -> 12.1", "Python version: 3.10.14 -> 3.11.9", "numpy 1.26.4 -> 2.0.0",
        "CUDA_VISIBLE_DEVICES: 0 -> 1",
    )]
    assert order == sorted(order)
    assert "+ idna 3.7" in out and "- six 1.16.0" in out
    # torch is reported once, with the runtime group, not again among the packages.
    assert out.count("2.3.1+cu121") == 1
    assert "pw1" not in out and "pw2" not in out


def test_driver_and_gpu_changes(tmp_path):
    groups = diff_snapshots(snapshot(), snapshot(driver="550.54.15", gpus=("NVIDIA H100 80GB HBM3",)))
    runtime = {c.key: (c.before, c.after) for c in groups[0].changes}
    assert runtime["NVIDIA driver"] == ("535.104.05", "550.54.15")
    assert runtime["GPU count"] == ("2", "1")
    assert runtime["GPU models"] == ("2 x NVIDIA A100-SXM4-80GB", "1 x NVIDIA H100 80GB HBM3")
    assert [g.id for g in groups] == ["runtime", "python", "packages", "env"]
    assert not groups[2].changes and not groups[3].changes


def test_json_output(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", snapshot())
    b = write(tmp_path, "b.yaml", snapshot(packages={"torch": "2.1.2+cu118", "numpy": "1.26.4"}))
    code, out, _ = run_cli(["diff", str(a), str(b), "--json"], capsys)
    assert code == 1
    document = json.loads(out)
    assert document["equivalent"] is False
    packages = next(g for g in document["groups"] if g["id"] == "packages")
    assert packages["changes"] == [{"item": "six", "kind": "removed", "a": "1.16.0", "b": None}]


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such snapshot file"),
        ("foo: [unclosed\n", "not valid YAML or JSON"),
        ("just: a mapping\n", "not an envcheck snapshot"),
        ("kind: envcheck-snapshot\nschema_version: 99\n", "does not understand"),
    ],
)
def test_missing_or_invalid_snapshot_is_exit_2_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "s.yaml"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(["diff", str(path), str(path)], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out
