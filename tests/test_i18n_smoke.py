"""`envcheck smoke-train` and `envcheck check-data` in Chinese (issue #11): the report table, the
verdict, the progress lines, the bad-input errors and --help speak Chinese with --lang zh, and the
English output is unchanged (covered byte for byte by tests/test_smoke*.py and test_check_data.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from _cli import run_cli
from test_i18n import COMMANDS, english_sentences
from envcheck import i18n

REPO = Path(__file__).resolve().parent.parent
# Commands, option names and figures' units the smoke-train output names (never translated).
SMOKE_COMMANDS = COMMANDS + ("envcheck smoke-train", "envcheck check-data", "smoke-train", "check-data",
                             "img/s", "images/s", "weights_only=True", "all_reduce")
SMALL = ["--learn-per-class", "16", "--image-size", "32", "--epochs", "1", "--batch-size", "8"]


def _english(text: str) -> list[str]:
    return english_sentences(text, SMOKE_COMMANDS)


def _fits(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


# --- the report, verdict and progress lines, without a run ---------------------------------------


def _checks():
    from envcheck.commands.smoke_train import too_small_to_judge
    from envcheck.smoke.phases import CheckResult, not_judged, timed_out
    from envcheck.smoke.progress import PhaseProgress

    progress = PhaseProgress("learning", clock=lambda: 100.0)
    progress.update({"kind": "step", "epoch": 1, "epochs": 3, "step_in_epoch": 40, "steps_per_epoch": 125,
                     "images_per_sec": 310.0, "eta_s": 45})
    progress.update({"kind": "eval", "step": 40, "epoch": 1, "val_acc": 0.71})
    reason, figures = too_small_to_judge(40, 32)
    return [
        CheckResult("device", True, summary=i18n._("torch {version} on the CPU, {threads} threads").format(
            version="2.5.1", threads=2), seconds=3.2),
        timed_out("learning", 900, progress, Path("/runs/r1/logs/worker-1.log")),
        timed_out("determinism", 300, None, Path("/tmp/envcheck-smoke-x/logs/worker-2.log"), log_kept=False),
        not_judged("throughput", reason, figures),
        CheckResult("checkpoint", False, error=i18n._("the checkpoint lacks {keys}").format(keys="optimizer"), seconds=1.0),
    ]


def _terminal(language: str) -> str:
    from envcheck.smoke.phases import registered
    from envcheck.smoke.report import render_terminal
    from envcheck.smoke.selection import DevicePlan

    registered()  # the phases' titles

    i18n.set_language(language)
    console = Console(file=io.StringIO(), width=80, color_system=None, highlight=False)
    plan = DevicePlan("cpu", nproc=2)
    render_terminal(console, _checks(), plan.describe(), [i18n._("Only one GPU was listed, so the DDP check (which "
                                                                 "needs 2 or more) is skipped.")], "/runs/r1")
    return console.file.getvalue()


def test_chinese_report_table_and_verdict_have_no_english_sentence_and_fit_80_columns():
    out = _terminal("zh")
    flat = "".join(out.split())
    assert "检查项" in out and "失败：在CPU（DDP用2个进程）上参与评判的4项检查中有3项失败" in flat
    assert "未评判" in flat and "跳过" in flat and "学习" in flat and "检查点" in flat and "验证准确率" in flat
    assert _english(out) == [], out
    assert _fits(out) == [], out


def test_english_report_is_unchanged():
    out = " ".join(_terminal("en").split())
    assert "FAIL: 3 of 4 judged checks failed on CPU (2 processes for DDP) (learning, determinism, checkpoint); " in out
    assert "Learning" in out and "Check" in out and "not judged" in out and "Checkpoint" in out
    assert "检" not in out


def test_chinese_progress_lines_and_phase_feedback():
    from envcheck.commands.smoke_train import PhaseFeedback
    from envcheck.smoke.progress import PhaseProgress, progress_line

    i18n.set_language("zh")
    stream = io.StringIO()
    feedback = PhaseFeedback({"learning": 900.0}, lines=True, stream=stream)
    feedback.skipped([c for c in _checks() if c.skipped])
    feedback.start("learning")
    feedback.start("amp")  # no limit known
    state = PhaseProgress("learning")
    for event in ({"kind": "step", "epoch": 1, "epochs": 3, "step_in_epoch": 31, "steps_per_epoch": 125,
                   "images_per_sec": 310.0, "eta_s": 45},
                  {"kind": "eval", "step": 62, "epoch": 1, "epochs": 3, "steps_per_epoch": 125, "val_acc": 0.742},
                  {"kind": "epoch", "epoch": 1, "epochs": 3, "train_loss": 0.5, "val_acc": 0.75, "images_per_sec": 300,
                   "seconds": 40.0}):
        state.update(event)
        feedback.progress("learning", event, state)
    for check in _checks():
        feedback.result(check)
    text = stream.getvalue() + state.status_text() + "\n" + state.reached() + "\n"
    text += progress_line("学习", {"kind": "epoch"}) + "\n"
    assert "smoke-train: 学习阶段开始（限时 900 s）" in text
    assert "smoke-train: 学习：第 1/3 轮 第 62/125 步 验证准确率 0.742" in text
    assert "smoke-train: 学习：第 1/3 轮结束，训练损失 0.500，验证准确率 0.750，300 img/s，40.0 s" in text
    assert "smoke-train: 设备阶段：通过，用时 3.2 s" in text
    assert _english(text) == [], text
    i18n.set_language("en")
    assert progress_line("learning", {"kind": "eval", "step": 62, "epoch": 1, "epochs": 3, "steps_per_epoch": 125,
                                      "val_acc": 0.742}) == "learning: epoch 1/3 step 62/125 val acc 0.742"


def test_the_children_get_the_language_of_the_run(monkeypatch):
    from envcheck.commands.smoke_train import _child_env

    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    i18n.set_language("zh")
    assert _child_env({})["ENVCHECK_LANG"] == "zh"
    i18n.set_language("en")
    assert _child_env({})["ENVCHECK_LANG"] == "en"


# --- bad input, --help ---------------------------------------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("x")
    return {
        "gpu and cpu": ["--gpu", "0", "--cpu"],
        "gpu and gpus": ["--gpu", "0", "--gpus", "0,1"],
        "negative gpu": ["--gpu=-1"],
        "bad gpus": ["--gpus", "a,b"],
        "gpu twice": ["--gpus", "0,0"],
        "empty gpus": ["--gpus", ""],
        "no epochs": ["--cpu", "--epochs", "0"],
        "too many epochs": ["--cpu", "--epochs", "100000"],
        "image too small": ["--cpu", "--image-size", "16"],
        "image too large": ["--cpu", "--image-size", "100000"],
        "no batch": ["--cpu", "--batch-size", "0"],
        "seed": ["--cpu", "--seed", "-1"],
        "nan timeout": ["--cpu", "--timeout", "nan"],
        "phase timeout": ["--cpu", "--phase-timeout", "learning=inf"],
        "phase": ["--cpu", "--phase", "nonsense"],
        "nproc": ["--cpu", "--nproc", "0"],
        "too many processes": ["--cpu", "--nproc", "100000"],
        "out is a file": ["--cpu", "--out", str(a_file)],
        "out not empty": ["--cpu", "--out", str(full)],
        "out unwritable": ["--cpu", "--out", "/proc/envcheck-smoke/new"],
        "empty out": ["--cpu", "--out", " "],
        "empty data": ["--cpu", "--data", ""],
    }


BAD_INPUT_CASES = [
    "gpu and cpu", "gpu and gpus", "negative gpu", "bad gpus", "gpu twice", "empty gpus", "no epochs",
    "too many epochs", "image too small", "image too large", "no batch", "seed", "nan timeout", "phase timeout",
    "phase", "nproc", "too many processes", "out is a file", "out not empty", "out unwritable", "empty out",
    "empty data"]


@pytest.mark.parametrize("case", BAD_INPUT_CASES)
def test_bad_input_errors_in_chinese_and_unchanged_in_english(tmp_path, capsys, monkeypatch, case):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    args = _bad_inputs(tmp_path)[case]
    code, _out, err = run_cli(["smoke-train", *args, "--lang", "zh"], capsys)
    assert code == 2, err
    assert err.startswith("envcheck: 错误："), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _english(err) == [], err
    i18n.set_language(None)
    code, _out, err = run_cli(["smoke-train", *args, "--lang", "en"], capsys)
    assert code == 2 and err.startswith("envcheck: error: ") and not [c for c in err if "\u4e00" <= c <= "\u9fff"], err


def test_smoke_train_and_check_data_help_in_chinese(capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    code, out, _ = run_cli(["smoke-train", "--help", "--lang", "zh"], capsys)
    assert code == 0 and "端到端验证 GPU 环境" in out and "测试 CPU 环境" in out and "Prove the GPU stack" not in out
    code, out, _ = run_cli(["check-data", "--help", "--lang", "zh"], capsys)
    assert code == 0 and "ImageFolder" in out and "列出所有无法使用的文件" in out and "List every unusable" not in out
    code, out, _ = run_cli(["smoke-train", "--help", "--lang", "en"], capsys)
    assert code == 0 and "Prove the GPU stack" in out


# --- check-data ----------------------------------------------------------------------------------


@pytest.fixture
def good_tree(tmp_path):
    pytest.importorskip("PIL")
    from reference_train.synthetic import write_dataset

    root = tmp_path / "data"
    write_dataset(root, classes=("cat", "dog"), train_per_class=3, val_per_class=2, image_size=16, seed=1)
    return root


def _datacheck_translated() -> bool:
    """reference_train/datacheck.py's sentences are in the catalog only once the extraction covers
    reference_train/ (envcheck/i18n/catalog.py scans envcheck/ only)."""
    i18n.set_language("zh")
    try:
        return i18n._("cannot be read (permission denied)") != "cannot be read (permission denied)"
    finally:
        i18n.set_language(None)


def test_check_data_in_chinese_healthy_and_broken(good_tree, capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    code, out, _ = run_cli(["check-data", str(good_tree), "--lang", "zh"], capsys)
    assert code == 0 and "类别" in out and "合计" in out and "正常：数据集的目录结构符合 ImageFolder 的要求。" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ") and len(line.split()) == 3}
    assert rows["cat"] == ["3", "2"] and rows["合计"] == ["6", "4"]
    # Columns line up in terminal cells: every row of the table is as wide as its header.
    table = [line for line in out.splitlines() if line.startswith("  ")]
    assert len({cell_len(line) for line in table}) == 1, table
    assert _english(out) == []

    (good_tree / "val" / "dog").rename(good_tree / "val" / "dogs")
    (good_tree / "train" / "cat" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (good_tree / "train" / "rabbit").mkdir()
    code, out, _ = run_cli(["check-data", str(good_tree), "--lang", "zh"], capsys)
    assert code == 1 and "问题（" in out and "无法使用的文件（" in out and "暂不可用" in out
    frame = [line for line in out.splitlines() if not line.startswith("  ")]
    assert _english("\n".join(frame)) == [], frame
    assert "只在 train/ 中：dog、rabbit；只在 val/ 中：dogs" in out
    if _datacheck_translated():
        # Pillow's own reason for the broken image stays as Pillow words it (a quoted library message).
        assert _english(out.replace("cannot identify image file", "")) == [], out
    code, out, _ = run_cli(["check-data", str(good_tree), "--lang", "en"], capsys)
    assert code == 1 and "Not usable yet" in out


def test_check_data_bad_usage_in_chinese(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    (tmp_path / "data").mkdir()
    for args in ([str(tmp_path / "missing")], [str(tmp_path / "data"), "--splits", ","],
                 [str(tmp_path / "data"), "--splits", "../x"], [str(tmp_path / "data"), "--splits", "train,train"]):
        code, _, err = run_cli(["check-data", *args, "--lang", "zh"], capsys)
        assert code == 2 and err.startswith("envcheck: 错误：") and _english(err) == [], err
        i18n.set_language(None)
    code, _, err = run_cli(["check-data", str(tmp_path / "missing")], capsys)
    assert code == 2 and "no such folder" in err


# --- one end-to-end run on the CPU ---------------------------------------------------------------


@pytest.mark.slow
def test_chinese_cpu_run_prints_no_english_sentence(tmp_path):
    """The small set the smoke tests use (seconds a phase), without a terminal: the phase
    and progress lines on stderr (produced from the worker's events), the worker's summaries (the
    child reads ENVCHECK_LANG) and the report on stdout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "CUDA_VISIBLE_DEVICES", "ENVCHECK_LANG")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), COLUMNS="80")
    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", "--cpu", "--lang", "zh", "--phase", "device",
         "--phase", "numerics", "--phase", "learning", *SMALL],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    # 32 training images learn little in one epoch: the learning check may pass or fail (a failed
    # check's message is what a broken run shows); device and numerics pass.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "smoke-train: 设备阶段开始" in result.stderr and "smoke-train: 学习：第 1/1 轮" in result.stderr
    assert "smoke-train: 设备阶段：通过" in result.stderr and "smoke-train: 数值精度阶段：通过" in result.stderr
    assert ("通过：在 CPU 上 3 项检查全部通过。" in result.stdout if result.returncode == 0 else
            "失败：在 CPU 上 3 项检查中有 1 项失败（learning）。" in result.stdout and "模型没有学到东西" in result.stdout)
    assert "torch " in result.stdout and "运行在 CPU 上" in result.stdout and "fp32 对比 float64" in result.stdout
    assert _english(result.stdout) == [], result.stdout
    assert _english(result.stderr) == [], result.stderr
    assert _fits(result.stdout) == [], result.stdout
