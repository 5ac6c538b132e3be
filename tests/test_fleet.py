"""`envcheck fleet` (issue #13): doctor across nodes through fake `ssh` and `srun` executables put
first on PATH, the merge of reports, and a two-node gloo DDP run through torchrun's c10d rendezvous.

The fakes run the command they are given locally, as a shell would on the node, with
FAKE_HOSTNAME set to the node's name; the "remote" envcheck is a fake too (--remote-command),
which prints a doctor report prepared per node from ONE real `envcheck doctor --json --offline
--no-torch-probe` run of this session, or hangs, as the node's file says.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from _cli import run_cli

REPO = Path(__file__).resolve().parent.parent

FAKE_SSH = r'''#!{python}
import os, subprocess, sys
args = sys.argv[1:]
with open(os.path.join(os.environ["FAKE_DIR"], "ssh.log"), "a") as log:
    log.write(repr(args) + "\n")
while args and args[0].startswith("-"):
    args = args[2:] if args[0] == "-o" else args[1:]
host, command = args[0], " ".join(args[1:])
if host in os.environ.get("FAKE_REFUSE", "").split(","):
    sys.stderr.write(f"ssh: connect to host {{host}} port 22: Connection refused\n")
    sys.exit(255)
env = dict(os.environ, FAKE_HOSTNAME=host)
sys.exit(subprocess.call(["sh", "-c", command], env=env))
'''

# srun --label ... sh -c WRAPPER: run WRAPPER once per task (node), labelled "i: " like srun.
FAKE_SRUN = r'''#!{python}
import os, subprocess, sys, threading
args = sys.argv[1:]
with open(os.path.join(os.environ["FAKE_DIR"], "srun.log"), "a") as log:
    log.write(repr(args) + "\n")
nodes = int(next(a.split("=", 1)[1] for a in args if a.startswith("--nodes=")))
command = args[-1]
names = os.environ["FAKE_SRUN_NODES"].split(",")
lock = threading.Lock()
def task(i):
    env = dict(os.environ, FAKE_HOSTNAME=names[i], SLURM_PROCID=str(i))
    p = subprocess.Popen(["sh", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    with lock:
        for line in out.splitlines():
            print(f"{{i}}: {{line}}", flush=True)
        for line in err.splitlines():
            print(f"{{i}}: {{line}}", file=sys.stderr, flush=True)
threads = [threading.Thread(target=task, args=(i,)) for i in range(nodes)]
for t in threads: t.start()
for t in threads: t.join()
'''

FAKE_HOSTNAME = '#!/bin/sh\necho "$FAKE_HOSTNAME"\n'

# The "remote" envcheck: prints the node's prepared report, or hangs (with a child of its own, so
# the test sees that the whole tree is killed), as FAKE_DIR/<node>.* says.
FAKE_ENVCHECK = r'''#!{python}
import os, subprocess, sys, time
d, host = os.environ["FAKE_DIR"], os.environ.get("FAKE_HOSTNAME", "?")
with open(os.path.join(d, host + ".args"), "w") as f:
    f.write(" ".join(sys.argv[1:]))
if os.path.exists(os.path.join(d, host + ".hang")):
    child = subprocess.Popen(["sleep", "300"])
    with open(os.path.join(d, host + ".pids"), "w") as f:
        f.write(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(300)
path = os.path.join(d, host + ".json")
if not os.path.exists(path):
    print(f"envcheck: no report for {{host}}", file=sys.stderr)
    sys.exit(3)
sys.stdout.write(open(path).read())
sys.exit(0)
'''


def _write_exe(path: Path, text: str) -> Path:
    path.write_text(text.format(python=sys.executable) if "{python}" in text else text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture(scope="session")
def real_report() -> dict:
    """One real doctor run for the whole session; the nodes' reports are altered copies."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "envcheck", "doctor", "--json", "--offline", "--no-torch-probe"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def node_report(base: dict, driver: str = "550.90.07", gpus: int = 8, torch: str = "2.5.1+cu124") -> dict:
    """A GPU node's report: the real report with NVIDIA and torch facts of a H100 node."""
    doc = copy.deepcopy(base)
    nvidia = doc["facts"]["nvidia"]["data"]
    nvidia.update(driver_version=driver, cuda_driver_version="12.4",
                  gpus=[{"index": i, "name": "NVIDIA H100 80GB HBM3"} for i in range(gpus)])
    doc["facts"]["torch"] = {"name": "torch", "ok": True, "error": None, "duration_s": 1.0,
                             "data": {"version": torch, "cuda": "12.4", "nccl": "2.21.5", "python": {"version": "3.11.9"}}}
    # Every check passes on the healthy nodes (whatever this test machine warns about).
    for check in doc["checks"]:
        check["status"] = "ok" if check["status"] in ("warn", "fail") else check["status"]
    return doc


@pytest.fixture
def fake_cluster(tmp_path, monkeypatch):
    """Fake ssh/srun/hostname first on PATH and a fake remote envcheck; returns (dir, remote command)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _write_exe(bin_dir / "ssh", FAKE_SSH)
    _write_exe(bin_dir / "srun", FAKE_SRUN)
    _write_exe(bin_dir / "hostname", FAKE_HOSTNAME)
    remote = _write_exe(bin_dir / "fake-envcheck", FAKE_ENVCHECK)
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DIR", str(nodes))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("SLURM_JOB_ID", "SLURM_JOB_NODELIST", "SLURM_NODELIST", "SLURM_JOB_NUM_NODES", "SLURM_NNODES"):
        monkeypatch.delenv(name, raising=False)
    return nodes, str(remote)


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            pass
    return True


def _leftovers(nodes: Path) -> list[int]:
    pids = []
    for file in nodes.glob("*.pids"):
        pids += [int(p) for p in file.read_text().split()]
    return pids


def _prepare_fleet(nodes: Path, base: dict) -> None:
    """n1, n6 healthy; n2 another driver; n3 a GPU missing; n4 refuses ssh; n5 hangs."""
    for name, doc in (("n1", node_report(base)), ("n6", node_report(base)), ("n2", node_report(base, driver="535.104.05")),
                      ("n3", node_report(base, gpus=7))):
        (nodes / f"{name}.json").write_text(json.dumps(doc))
    (nodes / "n5.hang").write_text("")


def test_ssh_fleet_names_each_bad_node(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    _prepare_fleet(nodes, real_report)
    monkeypatch.setenv("FAKE_REFUSE", "n4")
    start = time.monotonic()
    code, out, err = run_cli(["fleet", "doctor", "--hosts", "n1,n2,n3,n4,n5,n6", "--remote-command", remote,
                              "--timeout", "4", "--parallel", "3", "--offline", "--json"], capsys)
    took = time.monotonic() - start
    assert code == 1, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["summary"]["nodes"] == 6
    rows = {r["name"]: r for r in doc["nodes"]}
    assert rows["n4"]["failure"] == "ssh"
    assert rows["n4"]["reason"] == "ssh exit 255: ssh: connect to host n4 port 22: Connection refused"
    assert rows["n5"]["failure"] == "timeout" and "4 s" in rows["n5"]["reason"]
    assert rows["n2"]["differs"] == [{"fact": "driver", "value": "535.104.05", "majority": "550.90.07"}]
    assert rows["n3"]["differs"] == [{"fact": "gpu_count", "value": 7, "majority": 8}]
    assert rows["n1"]["differs"] == [] and rows["n1"]["facts"]["torch"] == "2.5.1+cu124"
    assert sorted(doc["failed_nodes"]) == ["n4", "n5"] and sorted(doc["differing_nodes"]) == ["n2", "n3"]
    # Failed nodes first, then the ones that differ, then the alike ones.
    assert [r["name"] for r in doc["nodes"]] == ["n4", "n5", "n2", "n3", "n1", "n6"]
    # The hung node was killed with its child, and the run did not wait for it.
    pids = _leftovers(nodes)
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while not _gone(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pids), pids
    assert took < 20
    # ssh was run non-interactively, with the doctor flags passed on.
    log = (nodes / "ssh.log").read_text()
    assert "'BatchMode=yes'" in log and "'ConnectTimeout=4'" in log
    assert (nodes / "n1.args").read_text() == "doctor --json --offline"


def test_terminal_and_markdown_name_the_nodes(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    _prepare_fleet(nodes, real_report)
    (nodes / "n5.hang").unlink()
    (nodes / "n5.json").write_text("{not json")
    monkeypatch.setenv("FAKE_REFUSE", "n4")
    code, out, _ = run_cli(["fleet", "doctor", "--hosts", "n1,n2,n3,n4,n5,n6", "--remote-command", remote], capsys)
    assert code == 1
    assert "Connection refused" in out and "bad_json" in out
    assert "driver 535.104.05 (majority 550.90.07)" in out and "GPUs 7 (majority 8)" in out
    assert out.index("Nodes that failed") < out.index("Nodes that differ") < out.index("FAIL: 6 nodes")
    code, md, _ = run_cli(["fleet", "doctor", "--hosts", "n1,n2,n3,n4,n5,n6", "--remote-command", remote, "--markdown"], capsys)
    assert code == 1
    assert "| n2 | driver 535.104.05 (majority 550.90.07) |" in md
    assert "| n5 | bad_json | bad JSON:" in md
    assert "| n4 | ssh | ssh exit 255: ssh: connect to host n4 port 22: Connection refused |" in md


def test_alike_healthy_nodes_exit_0(fake_cluster, real_report, capsys):
    nodes, remote = fake_cluster
    for name in ("a1", "a2", "a3"):
        (nodes / f"{name}.json").write_text(json.dumps(node_report(real_report)))
    hosts = nodes.parent / "hosts.txt"
    hosts.write_text("# the rack\na1\na2  a3\n\n")
    code, out, err = run_cli(["fleet", "doctor", "--hosts-file", str(hosts), "--remote-command", remote], capsys)
    assert code == 0, out + err
    assert "PASS" in out
    # A failing check on one node makes the fleet fail, naming it.
    bad = node_report(real_report)
    bad["checks"][0].update(status="fail", summary="proxy https://alice:s3cret@proxy.example:3128 refused")
    (nodes / "a2.json").write_text(json.dumps(bad))
    code, out, _ = run_cli(["fleet", "doctor", "--hosts-file", str(hosts), "--remote-command", remote, "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    row = next(r for r in doc["nodes"] if r["name"] == "a2")
    assert row["failed_checks"][0]["id"] == bad["checks"][0]["id"]
    assert "s3cret" not in out and "***@proxy.example" in out


def test_srun_inside_an_allocation(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    (nodes / "gpu01.json").write_text(json.dumps(node_report(real_report)))
    (nodes / "gpu03.json").write_text(json.dumps(node_report(real_report, driver="535.104.05")))
    (nodes / "gpu02.hang").write_text("")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_JOB_NODELIST", "gpu[01-03]")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "3")
    monkeypatch.setenv("FAKE_SRUN_NODES", "gpu01,gpu02,gpu03")
    code, out, err = run_cli(["fleet", "doctor", "--remote-command", remote, "--timeout", "4", "--json"], capsys)
    assert code == 1, err
    doc = json.loads(out)
    rows = {r["name"]: r for r in doc["nodes"]}
    assert set(rows) == {"gpu01", "gpu02", "gpu03"}
    assert rows["gpu02"]["failure"] == "timeout"
    assert rows["gpu01"]["state"] == "ok" and rows["gpu03"]["state"] == "ok"
    assert doc["source"]["launcher"] == "slurm" and doc["source"]["allocation"] == "42"
    log = (nodes / "srun.log").read_text()
    assert "'--ntasks-per-node=1'" in log and "'--nodes=3'" in log
    pids = _leftovers(nodes)
    deadline = time.monotonic() + 5
    while not _gone(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids and _gone(pids)


def test_from_folder_with_a_corrupt_file(tmp_path, real_report, capsys):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in ("x1", "x2"):
        (folder / f"{name}.json").write_text(json.dumps(node_report(real_report)))
    (folder / "x3.json").write_text('{"schema_version": 1, "facts": ')
    (folder / "notes.txt").write_text("not a report")
    code, out, _ = run_cli(["fleet", "doctor", "--from", str(folder), "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["nodes"] == 3
    assert doc["failed_nodes"] == ["x3"]
    row = doc["nodes"][0]
    assert row["name"] == "x3" and row["failure"] == "bad_json" and "x3.json" in row["reason"]
    (folder / "x3.json").unlink()
    code, out, _ = run_cli(["fleet", "doctor", "--from", str(folder), "--json"], capsys)
    assert code == 0


def test_save_then_from(fake_cluster, real_report, capsys, tmp_path):
    nodes, remote = fake_cluster
    (nodes / "s1.json").write_text(json.dumps(node_report(real_report)))
    (nodes / "s2.json").write_text(json.dumps(node_report(real_report, torch="2.4.0+cu121")))
    saved = tmp_path / "saved"
    code, out1, _ = run_cli(["fleet", "doctor", "--hosts", "s1,s2,s3", "--remote-command", remote, "--save", str(saved), "--json"], capsys)
    assert code == 1
    assert sorted(p.name for p in saved.iterdir()) == ["s1.json", "s2.json"]
    rows = {r["name"]: r for r in json.loads(out1)["nodes"]}
    assert rows["s3"]["failure"] == "exit" and "no report for s3" in rows["s3"]["reason"]
    code, out2, _ = run_cli(["fleet", "doctor", "--from", str(saved), "--json"], capsys)
    doc = json.loads(out2)
    # Two nodes: a tie; the first node's torch is the "majority", the other differs.
    assert [d["fact"] for r in doc["nodes"] for d in r["differs"]] == ["torch"]


@pytest.mark.parametrize("args, message", [
    ([], "no nodes given"),
    (["--hosts", ""], "--hosts is empty"),
    (["--hosts", "a,b", "--parallel", "0"], "--parallel 0"),
    (["--hosts-file", "/nonexistent/hosts.txt"], "--hosts-file /nonexistent/hosts.txt: no such file"),
    (["--hosts-file", "/tmp"], "--hosts-file /tmp is a folder"),
    (["--hosts-file", "/dev/null"], "--hosts-file /dev/null names no host"),  # it exists: not "no such file"
    (["--hosts", "-oProxyCommand=touch /tmp/x"], "is not a host ssh can take"),
    (["--hosts", "a", "--from", "/tmp"], "give one"),
    (["--hosts", "a", "--timeout", "0"], "--timeout 0"),
    (["--from", "/nonexistent-reports"], "no such folder"),
    (["--partition", "gpu"], "--partition needs --nodes"),
    (["--hosts", "a", "--json", "--markdown"], "choose one of --json and --markdown"),
])
def test_bad_arguments_are_one_line_exit_2(args, message, capsys, monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_JOB_NODELIST"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(["fleet", "doctor", *args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_hosts_file_may_be_a_pipe(tmp_path):
    """`--hosts-file <(squeue ...)`: bash passes /dev/fd/N, a pipe, which is not a regular file."""
    import os

    from envcheck.fleet.launch import parse_hosts

    read, write = os.pipe()
    os.write(write, b"node1 node2\n# a comment\nnode1\n")
    os.close(write)
    try:
        assert parse_hosts(None, f"/dev/fd/{read}") == ["node1", "node2"]
    finally:
        os.close(read)


def test_hostlist_expansion():
    from envcheck.fleet.launch import expand_hostlist

    assert expand_hostlist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_hostlist("a[1-2]-ib[0-1]") == ["a1-ib0", "a1-ib1", "a2-ib0", "a2-ib1"]
    assert expand_hostlist("n5") == ["n5"]


def test_merge_of_many_reports_is_linear(real_report):
    """The merge of 200 reports: every node compared, the one odd node found (speed: benchmarks/fleet_merge.py)."""
    from envcheck.fleet import merge
    from envcheck.fleet.launch import NodeRun

    nodes = [(NodeRun(f"n{i:03d}"), node_report(real_report, driver="535.1" if i == 137 else "550.90.07")) for i in range(200)]
    doc = merge.merge(nodes)
    assert doc["differing_nodes"] == ["n137"] and doc["summary"]["answered"] == 200


# ---------------------------------------------------------------------------------------------
# fleet smoke-train


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
@pytest.mark.xdist_group("ddp")
def test_two_node_gloo_through_c10d_rendezvous(fake_cluster, capsys, monkeypatch, tmp_path):
    """Two simulated nodes (fake ssh runs the command here) meet at 127.0.0.1 and pass."""
    node_tmp = tmp_path / "node-tmp"
    node_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(node_tmp))
    code, out, err = run_cli(["fleet", "smoke-train", "--cpu", "--hosts", "n1,n2", "--rdzv-endpoint",
                              f"127.0.0.1:{_free_port()}", "--timeout", "60", "--json"], capsys)
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["passed"] is True and doc["problems"] == []
    assert [r["name"] for r in doc["nodes"]] == ["n1", "n2"] and all(r["state"] == "ok" for r in doc["nodes"])
    numbers = doc["ddp"]["numbers"]
    assert numbers["world_size"] == 2 and numbers["backend"] == "gloo" and numbers["busbw_gbps"] > 0
    assert numbers["grads_equal_all_ranks"] and numbers["allreduce_values"] == [3.0, 3.0]
    assert sum(1 for r in doc["nodes"] if r.get("rank0")) == 1
    # The nodes were told how to meet, and left nothing behind: no process, no temporary folder.
    log = (fake_cluster[0] / "ssh.log").read_text()
    assert "--nnodes 2" in log and "--rdzv-id envcheck-" in log and "--watch-stdin" in log
    assert _descendants() == []
    assert list(node_tmp.iterdir()) == []


@pytest.mark.slow
@pytest.mark.xdist_group("ddp")
def test_a_refusing_node_is_named_and_the_other_times_out(fake_cluster, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_REFUSE", "n2")
    start = time.monotonic()
    code, out, err = run_cli(["fleet", "smoke-train", "--cpu", "--hosts", "n1,n2", "--rdzv-endpoint",
                              f"127.0.0.1:{_free_port()}", "--timeout", "4", "--json"], capsys)
    assert code == 1, out + err
    assert time.monotonic() - start < 40
    doc = json.loads(out)
    rows = {r["name"]: r for r in doc["nodes"]}
    assert rows["n2"]["state"] == "failed" and "Connection refused" in rows["n2"]["reason"]
    assert rows["n1"]["state"] == "failed"
    assert any(p.startswith("node n2: ssh exit 255") for p in doc["problems"])
    assert doc["passed"] is False
    assert _descendants() == []


def test_summarise_names_the_failing_and_the_slow_node():
    from envcheck.fleet import ddp
    from envcheck.fleet.launch import NodeRun

    rank = {"allreduce_expected": 6.0, "allreduce_value": 6.0, "allreduce_wrong": 0, "size_bytes": 2**20,
            "algbw_gbps": 1.0, "busbw_gbps": 1.5, "grads_equal_rank0": True, "params_equal_rank0": True,
            "grad_mean_rel_err": 0.0, "problems": []}
    combined = {"world_size": 3, "backend": "nccl", "ranks": [dict(rank, rank=i, host=f"h{i}") for i in range(3)]}

    def line(host, startup, code=0, result=None, errors=None):
        return json.dumps({"envcheck_fleet_ddp": 1, "host": host, "startup_s": startup, "exit_code": code, "seconds": 9.0,
                           "result": result, "errors": errors or {}, "log_tail": [], "stopped": None})

    runs = [NodeRun("a", line("h0", 2.0, result=combined), exit_code=0), NodeRun("b", line("h1", 2.5), exit_code=0),
            NodeRun("c", line("h2", 30.0), exit_code=0)]
    report = ddp.summarise(runs, 3, 1)
    # A slow node is named (a warning); the check itself passed.
    assert report["ddp"]["passed"] and report["passed"] and report["problems"] == []
    assert report["warnings"] == ["node c: slow: started 27.5 s after the median node (Python and envcheck start-up 30.0 s)"]
    runs[2] = NodeRun("c", line("h2", 2.0, code=1, errors={"rank2": "DistBackendError: NCCL error: unhandled system error"}),
                      exit_code=1)
    report = ddp.summarise(runs, 3, 1)
    assert not report["passed"] and report["warnings"] == []
    assert report["problems"] == ["node c: torchrun exit code 1: rank2: DistBackendError: NCCL error: unhandled system error"]
    runs[2] = NodeRun("c", failure="timeout", reason="timeout: no answer within 60 s; killed")
    assert ddp.summarise(runs, 3, 1)["problems"] == ["node c: timeout: no answer within 60 s; killed"]


@pytest.mark.parametrize("args, message", [
    (["--hosts", "a,b", "--nproc-per-node", "0"], "--nproc-per-node 0"),
    (["--hosts", "a,b", "--rdzv-endpoint", "a b"], "--rdzv-endpoint"),
    (["--hosts", "a,b", "--from", "x"], "No such option"),
    (["--hosts", "a,b", "--timeout", "-1"], "--timeout -1"),
])
def test_smoke_train_bad_arguments(args, message, capsys):
    code, _, err = run_cli(["fleet", "smoke-train", *args], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err


@pytest.mark.slow
@pytest.mark.xdist_group("ddp")
def test_node_side_stops_its_ranks_when_ssh_goes_away(tmp_path):
    """node-ddp --watch-stdin: when its stdin closes (ssh's connection ended), torchrun and the ranks go."""
    node_tmp = tmp_path / "node-tmp"
    node_tmp.mkdir()
    env = dict(os.environ, ENVCHECK_SMOKE_TEST_SLEEP="ddp=120", TMPDIR=str(node_tmp), PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "fleet", "node-ddp", "--nnodes", "1", "--nproc-per-node", "2",
                             "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "t1", "--cpu", "--timeout", "100",
                             "--watch-stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(psutil.Process(proc.pid).children(recursive=True)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        below = psutil.Process(proc.pid).children(recursive=True)
        assert len(below) >= 3  # torchrun and its two ranks
        proc.stdin.close()
        out = proc.stdout.read()
        assert proc.wait(timeout=20) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    record = json.loads(out)
    assert record["stopped"] == "the launcher went away (ssh closed)"
    pids = [p.pid for p in below]
    deadline = time.monotonic() + 5
    while not _gone(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pids)
    assert list(node_tmp.iterdir()) == []
