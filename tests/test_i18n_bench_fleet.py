"""`envcheck gpu-bench` and `envcheck fleet doctor|smoke-train` in Chinese (issue #11): the tables,
verdicts, progress lines, errors of bad input and --help speak Chinese with --lang zh, fit 80
columns (measured in cells), and the English output stays as it was (the English tests of these
commands are tests/test_gpu_bench.py and tests/test_fleet.py; a few English lines are pinned here).
The JSON keeps its keys and status values in both languages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from _cli import run_cli
from test_fleet import _prepare_fleet, fake_cluster, node_report, real_report  # noqa: F401 - fixtures
from test_i18n import COMMANDS, english_sentences
from envcheck import i18n

REPO = Path(__file__).resolve().parent.parent
# What ssh itself printed (kept as it is, a placeholder in the message) and the commands shown.
RAW = ("ssh: connect to host n4 port 22: Connection refused", "ssh: connect to host n2 port 22: Connection refused")
FLEET_COMMANDS = COMMANDS + ("envcheck fleet doctor", "envcheck fleet smoke-train", "envcheck gpu-bench") + RAW


RAW_WORDS = {word for line in RAW for word in line.replace(":", " ").split()}


def _english(text: str) -> list[str]:
    """English sentences, leaving out ssh's own message (a table may break it over lines)."""
    return [found for found in english_sentences(text, FLEET_COMMANDS) if not set(found.split()) <= RAW_WORDS]


def _too_wide(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


def _table_too_wide(text: str, width: int = 80) -> list[str]:
    """Table lines wider than the terminal (a line of prose is wrapped by rich on a terminal; on a
    pipe, as here, it is printed whole in both languages)."""
    return [line for line in _too_wide(text, width) if any(c in line for c in "│┃┏┡└━─")]


# --- gpu-bench ---------------------------------------------------------------------------------


def _bench(args, lang):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("ENVCHECK_LANG", None)
    return subprocess.run([sys.executable, "-m", "envcheck", "gpu-bench", *args, "--lang", lang], capture_output=True,
                          text=True, cwd=REPO, timeout=120, env=env)


def test_gpu_bench_cpu_quick_in_chinese_and_english():
    zh = _bench(["--cpu", "--quick"], "zh")
    assert zh.returncode == 0, zh.stderr
    assert _english(zh.stdout) == [] and _too_wide(zh.stdout) == []
    assert "未评判" in zh.stdout and "结论：未评判" in zh.stdout and "matmul_fp32" in zh.stdout
    # The worker words its progress steps in the parent's language (--lang, passed as ENVCHECK_LANG).
    assert "envcheck gpu-bench: 正在导入 torch" in zh.stderr and "cpu 上的 matmul fp32" in zh.stderr
    assert _english(zh.stderr) == []
    en = _bench(["--cpu", "--quick"], "en")
    assert en.returncode == 0, en.stderr
    lines = en.stdout.splitlines()
    assert lines[0] == "envcheck gpu-bench: CPU (quick)"
    assert lines[1].startswith("  NOT JUDGED matmul_fp32            cpu      ") and lines[1].endswith(" GFLOP/s")
    assert lines[-1] == "verdict: not judged (no reference figures for this device: the figures above are what it measured)"
    assert "envcheck gpu-bench: matmul fp32 on cpu" in en.stderr


@pytest.mark.parametrize("args", [["--cpu", "--gpu", "0"], ["--gpu", "-1"], ["--timeout", "0"], ["--timeout", "nan"],
                                  ["--gpus", "0,0"], ["--gpus", "a,b"]])
def test_gpu_bench_bad_input_is_one_chinese_line(args):
    done = _bench(args, "zh")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "错误" in done.stderr, done.stderr
    assert _english(done.stderr) == [], done.stderr


def _gpu_report():
    """A two-GPU report judged in the current language: ok, slow with causes, error, not judged."""
    from envcheck.bench.verdict import judge

    a100 = {"index": 0, "pcie_gen_max": 4, "pcie_width_max": 16, "pcie_width_current": 8,
            "clock_event_reasons": ["hw_thermal_slowdown"]}
    health = {"nccl_env": {"NCCL_P2P_DISABLE": "1"},
              "gpus": [a100, {"index": 1, "nvlink": [{"state": "down"}]}]}
    figures = [
        ({"name": "matmul_bf16", "kind": "matmul", "device": 0, "value": 250.0, "unit": "TFLOP/s", "params": {"dtype": "bf16"}}, 0),
        ({"name": "matmul_fp16", "kind": "matmul", "device": 0, "value": 40.0, "unit": "TFLOP/s", "params": {"dtype": "fp16"}}, 0),
        ({"name": "matmul_fp8", "kind": "matmul", "device": 0, "value": 100.0, "unit": "TFLOP/s", "params": {"dtype": "fp8"}}, 0),
        ({"name": "memory_copy", "kind": "memory_bandwidth", "device": 0, "value": 300.0, "unit": "GB/s"}, 0),
        ({"name": "h2d_pinned", "kind": "h2d_pinned", "device": 0, "value": 6.0, "unit": "GB/s"}, 0),
        ({"name": "launch_latency", "kind": "launch_latency", "device": 0, "value": 5.1, "unit": "us"}, 0),
        ({"name": "p2p_0_1", "kind": "p2p", "device": [0, 1], "value": 1.0, "unit": "GB/s"}, None),
        ({"name": "allreduce", "kind": "allreduce_busbw", "device": [0, 1], "value": None, "unit": "GB/s",
          "error": "RuntimeError: NCCL error"}, None),
    ]
    rows = []
    for figure, physical in figures:
        row = judge(figure, "NVIDIA A100-SXM4-80GB", a100 if physical == 0 else None, health, ["PID 4242 (bob) python"])
        row["physical"] = physical
        rows.append(row)
    return {"quick": False, "device": {"describe": "GPUs 0 (NVIDIA A100-SXM4-80GB), 1 (NVIDIA A100-SXM4-80GB)"},
            "figures": rows, "notes": [i18n._("other processes use the GPU(s): figures are not judged (--shared)")],
            "error": i18n._("the measuring process ended early: {reason}").format(reason="Killed"), "verdict": "slow"}


def test_gpu_bench_table_with_verdicts_and_causes_in_chinese():
    from envcheck.commands.gpu_bench import render_text

    i18n.set_language("zh")
    text = render_text(_gpu_report())
    assert _english(text) == [], text
    assert _too_wide(text) == [], text
    for word in ("正常", "偏慢", "出错", "未评判", "可能原因：", "修复（需要服务器管理员）：", "修复（无需管理员）：",
                 "结论：偏慢", "注意：", "错误：测量进程提前退出"):
        assert word in text, word
    # The table's columns line up by cells: every row's name column starts at the same cell.
    rows = [line for line in text.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert rows and {cell_len(line[:line.index(" matmul_") if " matmul_" in line else line.index(" ", 3)]) for line in rows
                     if "matmul_" in line} == {12}


def test_gpu_bench_table_in_english_is_unchanged():
    from envcheck.commands.gpu_bench import render_text

    i18n.set_language("en")
    lines = render_text(_gpu_report()).splitlines()
    assert lines[0] == "envcheck gpu-bench: GPUs 0 (NVIDIA A100-SXM4-80GB), 1 (NVIDIA A100-SXM4-80GB)"
    assert lines[1] == ("  OK         matmul_bf16            GPU 0    250 TFLOP/s (expected >= 162.2; peak 312, "
                        "A100 80GB SXM datasheet bf16)")
    assert lines[2] == ("  SLOW       matmul_fp16            GPU 0    40 TFLOP/s (expected >= 162.2; peak 312, "
                        "A100 80GB SXM datasheet fp16)")
    assert lines[3] == ("             likely cause: clocks limited by hw_thermal_slowdown -> Ask the admin to check cooling "
                        "and power (`nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER`). (admin)")
    assert "  ERROR      allreduce              [0, 1]   error" in lines
    assert "             RuntimeError: NCCL error" in lines
    assert "             likely cause: PCIe link at x8 of x16 -> Ask the admin to reseat the card or move it to a full x16 slot. (admin)" in lines
    assert lines[-3:] == ["note: other processes use the GPU(s): figures are not judged (--shared)",
                          "error: the measuring process ended early: Killed", "verdict: slow"]


# --- fleet doctor ------------------------------------------------------------------------------


def _broken_fleet(nodes: Path, base: dict, monkeypatch) -> None:
    """n1, n6 healthy; n2 another driver; n3 a GPU missing and a failing check; n4 refuses ssh;
    n5 answers with broken JSON."""
    _prepare_fleet(nodes, base)
    (nodes / "n5.hang").unlink()
    (nodes / "n5.json").write_text("{not json")
    n3 = node_report(base, gpus=7)
    n3["checks"][0].update(status="fail")
    n3["checks"][1].update(status="warn")
    (nodes / "n3.json").write_text(json.dumps(n3))
    monkeypatch.setenv("FAKE_REFUSE", "n4")
    monkeypatch.setenv("COLUMNS", "80")


HOSTS = ["--hosts", "n1,n2,n3,n4,n5,n6"]


def test_fleet_doctor_of_a_broken_fleet_in_chinese(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    _broken_fleet(nodes, real_report, monkeypatch)
    code, out, err = run_cli(["fleet", "doctor", *HOSTS, "--remote-command", remote, "--lang", "zh"], capsys)
    assert code == 1, err
    assert _english(out) == [], out
    assert _table_too_wide(out) == [], out
    for text in ("失败的节点", "与多数节点不同的节点", "JSON 无效", "缺少用双引号括起的属性名", "ssh 失败",
                 "ssh 退出码 255：ssh: connect to host n4", "Connection refused", "驱动 535.104.05（多数节点为 550.90.07）",
                 "GPU 数 7（多数节点为 8）", "（多数）", "各节点状态不一致或不正常的检查项", "失败：6 个节点、4 个有应答"):
        assert text in out, text
    assert out.index("失败的节点") < out.index("与多数节点不同的节点") < out.index("失败：6 个节点")
    # Markdown: the same words.
    code, md, _ = run_cli(["fleet", "doctor", *HOSTS, "--remote-command", remote, "--markdown", "--lang", "zh"], capsys)
    assert code == 1 and _english(md) == [], md
    assert "| n2 | 驱动 535.104.05（多数节点为 550.90.07） |" in md and "| n5 | JSON 无效 | JSON 无效：" in md
    assert "## 各节点的检查项" in md


def test_fleet_doctor_json_keeps_keys_and_values_in_chinese(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    _broken_fleet(nodes, real_report, monkeypatch)
    docs = {}
    for lang in ("en", "zh"):
        code, out, _ = run_cli(["fleet", "doctor", *HOSTS, "--remote-command", remote, "--json", "--lang", lang], capsys)
        assert code == 1
        docs[lang] = json.loads(out)

    def shape(doc):
        return ([(r["name"], r["state"], r["failure"], r["differs"], sorted(r["checks"].items())) for r in doc["nodes"]],
                doc["summary"], doc["facts"], doc["checks"], doc["failed_nodes"], doc["differing_nodes"])

    assert shape(docs["zh"]) == shape(docs["en"])
    reasons = {r["name"]: r["reason"] for r in docs["en"]["nodes"]}
    assert reasons["n5"].startswith("bad JSON: Expecting property name enclosed in double quotes at line 1 column 2")
    assert reasons["n4"] == "ssh exit 255: ssh: connect to host n4 port 22: Connection refused"


def test_fleet_doctor_of_a_healthy_fleet_in_chinese(fake_cluster, real_report, capsys, monkeypatch):
    nodes, remote = fake_cluster
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("a1", "a2", "a3"):
        (nodes / f"{name}.json").write_text(json.dumps(node_report(real_report)))
    code, out, err = run_cli(["fleet", "doctor", "--hosts", "a1,a2,a3", "--remote-command", remote, "--lang", "zh"], capsys)
    assert code == 0, out + err
    assert _english(out) == [] and _table_too_wide(out) == [], out
    assert "通过：所有节点都有应答，没有检查项失败，各节点配置一致。" in out and "全部正常" in out
    assert "3 个节点、3 个有应答" in out
    code, out, err = run_cli(["fleet", "doctor", "--hosts", "a1,a2,a3", "--remote-command", remote, "--lang", "en"], capsys)
    assert code == 0
    assert "envcheck fleet doctor: 3 nodes, 3 answered" in out
    assert "PASS: every node answered, no check failed, and all nodes are alike." in out


@pytest.mark.parametrize("command, args", [
    ("doctor", []),
    ("doctor", ["--hosts", ""]),
    ("doctor", ["--hosts", "a,b", "--parallel", "0"]),
    ("doctor", ["--hosts-file", "/nonexistent/hosts.txt"]),
    ("doctor", ["--hosts", "-oProxyCommand=touch /tmp/x"]),
    ("doctor", ["--hosts", "a", "--from", "/tmp"]),
    ("doctor", ["--hosts", "a", "--timeout", "0"]),
    ("doctor", ["--hosts", "a", "--connect-timeout", "0"]),
    ("doctor", ["--from", "/nonexistent-reports"]),
    ("doctor", ["--partition", "gpu"]),
    ("doctor", ["--partition", " ", "--nodes", "2"]),
    ("doctor", ["--nodes", "0"]),
    ("doctor", ["--hosts", "a", "--json", "--markdown"]),
    ("doctor", ["--hosts", "a", "--remote-command", " "]),
    ("smoke-train", ["--hosts", "a,b", "--nproc-per-node", "0"]),
    ("smoke-train", ["--hosts", "a,b", "--rdzv-endpoint", "a b"]),
    ("smoke-train", ["--hosts", "a,b", "--timeout", "-1"]),
    ("smoke-train", ["--hosts", "a,b", "--port", "0"]),
    ("smoke-train", ["--hosts", "a,b", "--size-mb", "0"]),
    ("smoke-train", []),
])
def test_fleet_bad_input_in_chinese(command, args, capsys, monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_JOB_NODELIST"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(["fleet", command, *args, "--lang", "zh"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "错误" in err, err
    assert _english(err) == [], err


def test_fleet_from_an_empty_folder_and_a_slurm_allocation_in_chinese(tmp_path, capsys, monkeypatch):
    code, _, err = run_cli(["fleet", "doctor", "--from", str(tmp_path), "--lang", "zh"], capsys)
    assert code == 2 and "中没有 .json 文件" in err and _english(err) == [], err
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "2")
    code, _, err = run_cli(["fleet", "doctor", "--nodes", "3", "--lang", "zh"], capsys)
    assert code == 2 and "这次分配只有 2 个节点" in err and _english(err) == [], err


# --- fleet smoke-train -------------------------------------------------------------------------


def _line(host, startup, code=0, result=None, errors=None, stopped=None, kind=None):
    return json.dumps({"envcheck_fleet_ddp": 1, "host": host, "startup_s": startup, "exit_code": code, "seconds": 9.0,
                       "result": result, "errors": errors or {}, "log_tail": [], "stopped": stopped,
                       "stopped_kind": kind, "timeout_s": 60.0})


def _combined():
    rank = {"allreduce_expected": 6.0, "allreduce_value": 6.0, "allreduce_wrong": 0, "size_bytes": 2**20,
            "algbw_gbps": 1.0, "busbw_gbps": 1.5, "grads_equal_rank0": True, "params_equal_rank0": True,
            "grad_mean_rel_err": 0.0, "problems": []}
    return {"world_size": 3, "backend": "nccl", "ranks": [dict(rank, rank=i, host=f"h{i}") for i in range(3)]}


def _smoke_doc(runs, nnodes=3, nproc=1):
    from envcheck.fleet import ddp

    report = ddp.summarise(runs, nnodes, nproc)
    return {"settings": {"nnodes": nnodes, "nproc_per_node": str(nproc) if nproc else "gpu", "backend": "nccl",
                         "rdzv_endpoint": "h0:29400"}, **report}


def _render_smoke(doc) -> str:
    from envcheck.commands.fleet import _render_smoke

    console = Console(width=80, record=True, file=open(os.devnull, "w"), highlight=False)
    _render_smoke(console, doc)
    return console.export_text()


def test_fleet_smoke_train_report_in_chinese():
    from envcheck.fleet.launch import NodeRun

    i18n.set_language("zh")
    passing = [NodeRun("a", _line("h0", 2.0, result=_combined()), exit_code=0), NodeRun("b", _line("h1", 2.5), exit_code=0),
               NodeRun("c", _line("h2", 30.0), exit_code=0)]
    text = _render_smoke(_smoke_doc(passing))
    assert _english(text) == [] and _too_wide(text) == [], text
    assert "rank 0（汇报了结果）" in text and "比中位节点晚 27.5 秒启动" in text and text.rstrip().endswith("通过")
    failing = [NodeRun("a", _line("h0", 2.0, code=None, stopped="did not finish within 60 s", kind="deadline"), exit_code=1),
               NodeRun("b", _line("h1", 2.0, code=1, errors={"rank1": "DistBackendError: NCCL error"}), exit_code=1),
               NodeRun("c", failure="timeout", reason=i18n._("timeout: no answer within {seconds} s; killed").format(seconds="60")),
               NodeRun("d", exit_code=255, stderr="ssh: connect to host n2 port 22: Connection refused\n"),
               NodeRun("e", exit_code=3, stderr="")]
    doc = _smoke_doc(failing, nnodes=5, nproc=0)
    text = _render_smoke(doc)
    assert _english(text) == [] and _too_wide(text) == [], text
    assert doc["problems"] == [
        "节点 a：torchrun 没有在 60 秒内完成",
        "节点 b：torchrun 退出码 1：rank1: DistBackendError: NCCL error",
        "节点 c：超时：60 秒内没有应答；已终止",
        "节点 d：ssh 退出码 255：ssh: connect to host n2 port 22: Connection refused",
        "节点 e：没有应答（退出码 3）",
    ]
    assert "每块 GPU 一个进程" in text and text.rstrip().endswith("失败")


def test_fleet_smoke_train_report_in_english_is_unchanged():
    from envcheck.fleet.launch import NodeRun

    i18n.set_language("en")
    failing = [NodeRun("a", _line("h0", 2.0, code=None, stopped="did not finish within 60 s", kind="deadline"), exit_code=1),
               NodeRun("b", _line("h1", 2.0, code=None, stopped="the launcher went away (ssh closed)", kind="launcher_gone"),
                       exit_code=1),
               NodeRun("c", _line("h2", 2.0, code=None, stopped="did not finish within 60 s"), exit_code=1),
               NodeRun("e", exit_code=3, stderr="boom\n")]
    doc = _smoke_doc(failing, nnodes=4)
    assert doc["problems"] == ["node a: torchrun did not finish within 60 s",
                               "node b: torchrun the launcher went away (ssh closed)",
                               "node c: torchrun did not finish within 60 s",
                               "node e: no answer (exit 3): boom"]
    text = _render_smoke(doc)
    assert text.startswith("envcheck fleet smoke-train: 4 nodes x 1 ranks, nccl, rendezvous h0:29400\n")
    assert text.rstrip().endswith("FAIL")


def test_fleet_help_in_chinese(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for command in (["gpu-bench"], ["fleet"], ["fleet", "doctor"], ["fleet", "smoke-train"]):
        code, out, _ = run_cli(["--lang", "zh", *command, "--help"], capsys)
        assert code == 0
        # click's "Usage:" line stays English (docs/i18n.md); typer may cut a long help line with "…".
        body = "\n".join(line for line in out.splitlines() if "Usage:" not in line)
        assert _english(body) == [], (command, body)



@pytest.mark.slow
@pytest.mark.xdist_group("ddp")
def test_fleet_smoke_train_with_a_refusing_node_in_chinese(fake_cluster, capsys, monkeypatch):
    """Through the fake ssh: n2 refuses, n1 waits at the rendezvous until its deadline; the node's
    English line is worded here, in Chinese."""
    from test_fleet import _descendants, _free_port

    monkeypatch.setenv("FAKE_REFUSE", "n2")
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli(["fleet", "smoke-train", "--cpu", "--hosts", "n1,n2", "--rdzv-endpoint",
                              f"127.0.0.1:{_free_port()}", "--timeout", "4", "--lang", "zh"], capsys)
    assert code == 1, out + err
    assert _english(out) == [] and _table_too_wide(out) == [], out
    assert "节点 n1：torchrun 没有在 4 秒内完成" in out and "节点 n2：ssh 退出码 255" in out
    assert out.rstrip().endswith("失败")
    assert _descendants() == []
