"""smoke-train while it runs and when a phase does not finish: progress from inside the training
phases (spinner text, one line per evaluation without a terminal, the worker's log), the figures
a timed-out phase had reached, the busy-machine note at the start, and a --data set too small to
judge learning and throughput (not judged, not failed).

Stand-in workers (plain Python scripts speaking the worker's protocol) stand for the real one,
except in the tests marked slow, which train a real ResNet18 on the CPU.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.commands import smoke_train
from envcheck.commands.smoke_train import PhaseFeedback, load_note, too_small_to_judge
from envcheck.smoke import phases
from envcheck.smoke.phases import CheckResult, not_judged, run_worker_phases, timed_out
from envcheck.smoke.progress import PhaseProgress, format_eta, log_line, progress_line
from envcheck.smoke.report import render_terminal, report_dict, verdict, verdict_line
from envcheck.smoke.worker import PhaseFailed, Worker

sys.path.insert(0, str(Path(__file__).parent))
from _cli import run_cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# What reference_train's train() hands TrainConfig.on_progress during a learning run (the worker
# adds epochs/steps_per_epoch/step_in_epoch to evaluation events; see Worker.progress_listener).
STEP = {"kind": "step", "epoch": 1, "epochs": 3, "step_in_epoch": 40, "steps_per_epoch": 125,
        "images_per_sec": 310.4, "eta_s": 45.2}
EVAL_1 = {"kind": "eval", "epoch": 1, "step": 31, "val_loss": 0.6, "val_acc": 0.71}
EVAL_2 = {"kind": "eval", "epoch": 1, "step": 62, "val_loss": 0.5, "val_acc": 0.742}
EPOCH = {"kind": "epoch", "epoch": 1, "epochs": 3, "train_loss": 0.6613, "train_acc": 0.6, "val_acc": 0.742,
         "images_per_sec": 305.0, "seconds": 40.12}

# A stand-in worker: each phase reports the progress events in config["events"] (then hangs if
# config["hang"], or dies if config["crash"]), then its result.
FAKE_WORKER = r'''
import json, os, sys, time
config = json.load(open(sys.argv[1]))
def send(record):
    sys.stdout.write(json.dumps(record) + "\n"); sys.stdout.flush()
for phase in config["phases"]:
    send({"event": "start", "phase": phase})
    print("smoke-worker: " + phase + " phase started", file=sys.stderr, flush=True)
    for event in config["events"]:
        send({"event": "progress", "phase": phase, **event})
        send({"event": "progress", "phase": "some other phase", "kind": "step", "epoch": 9, "step_in_epoch": 9})
    if config.get("crash"):
        print("boom: the driver fell over", file=sys.stderr, flush=True)
        print("smoke-worker: " + phase + ": epoch 1/3, step 40/125", file=sys.stderr, flush=True)
        os._exit(9)
    if config.get("hang"):
        time.sleep(600)
    send({"event": "result", "phase": phase, "passed": True, "numbers": {}, "summary": "fine", "seconds": 1.5})
'''


def _fake_worker(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    return [sys.executable, str(script)]


class FakeStatus:
    def __init__(self):
        self.texts: list[str] = []

    def update(self, text: str) -> None:
        self.texts.append(text)


# -- pure formatting -------------------------------------------------------------------------------


def test_eta_is_minutes_and_seconds_or_hours():
    assert format_eta(45.2) == "0:45"
    assert format_eta(725) == "12:05"
    assert format_eta(3725) == "1:02:05"
    assert format_eta(None) is None and format_eta(float("nan")) is None and format_eta(-1) is None


def test_progress_state_folds_in_steps_evaluations_and_epochs():
    clock = iter([10.0, 11.0, 12.0, 20.0])
    state = PhaseProgress("learning", clock=lambda: next(clock))
    assert state.status_text() == "" and state.numbers() == {} and state.reached() == ""
    state.update(STEP)
    state.update(EVAL_1)
    assert state.status_text() == "epoch 1/3, step 31/125, 310 img/s, val acc 0.71, ETA 0:45"
    state.update({"kind": "eval", "epoch": 1, "step": 40, "val_acc": 0.69})
    assert state.reached() == "epoch 1/3, step 40/125 (310 img/s; val acc last 0.690, best 0.710)"
    assert state.numbers() == {
        "reached_epoch": 1, "epochs": 3, "reached_step_in_epoch": 40, "steps_per_epoch": 125, "reached_step": 40,
        "last_images_per_sec": 310.4, "last_val_acc": 0.69, "best_val_acc": 0.71, "evaluations": 2,
        "seconds_since_progress": 8.0,
    }


def test_an_epoch_that_ends_early_keeps_the_step_it_reached():
    # The learning run stops at its bar mid-epoch: its epoch event must not claim the whole epoch.
    state = PhaseProgress("learning")
    state.update({**STEP, "epoch": 2, "step_in_epoch": 17, "steps_per_epoch": 62})
    state.update({"kind": "eval", "epoch": 2, "step": 80, "val_acc": 0.83})
    state.update({**EPOCH, "epoch": 2, "val_acc": 0.83})
    assert state.status_text().startswith("epoch 2/3, step 18/62, ")
    assert state.numbers()["reached_step_in_epoch"] == 18 and state.numbers()["reached_step"] == 80


def test_a_line_per_evaluation_and_epoch_never_per_step():
    assert progress_line("learning", STEP) is None
    state = PhaseProgress("learning")
    state.update(STEP)
    assert progress_line("learning", EVAL_2, state) == "learning: epoch 1/3 step 62/125 val acc 0.742"
    assert progress_line("learning", EPOCH, state) == (
        "learning: epoch 1/3 ended, train loss 0.661, val acc 0.742, 305 img/s, 40.1 s")
    # The worker's log gets every event, steps too, each marked as the worker's own line.
    assert log_line("learning", STEP) == "smoke-worker: learning: epoch 1/3, step 40/125, 310 img/s, ETA 0:45"
    assert log_line("learning", {**EVAL_2, "epochs": 3, "steps_per_epoch": 125}) == (
        "smoke-worker: learning: epoch 1/3 step 62/125 val acc 0.742")


# -- the worker: events on the protocol stream and lines in its log --------------------------------


def _worker(tmp_path: Path, **config) -> tuple[Worker, list[dict]]:
    records: list[dict] = []
    base = {"out_dir": str(tmp_path), "device": "cpu", "batch_size": 32, "image_size": 48, "amp": None, "seed": 0,
            "epochs": 3, "accuracy_threshold": 0.8, "data_dir": str(tmp_path), "small_data_dir": str(tmp_path),
            "small_batch_size": 8, "deterministic": False, "train_images": 4000, "throughput_steps": 20}
    base.update(config)
    return Worker(base, records.append), records


def test_worker_forwards_training_progress_and_logs_a_line_for_each(tmp_path, capsys):
    worker, records = _worker(tmp_path)
    listen = worker.progress_listener("learning")
    listen(STEP)
    listen(EVAL_2)
    listen(EPOCH)
    assert [r["event"] for r in records] == ["progress"] * 3
    assert all(r["phase"] == "learning" for r in records)
    assert records[0] == {"event": "progress", "phase": "learning", **STEP}
    # An evaluation is placed in its epoch with the step events' shape: global step 62 of epoch 1.
    assert records[1]["step_in_epoch"] == 62 and records[1]["steps_per_epoch"] == 125 and records[1]["epochs"] == 3
    log = capsys.readouterr().err.splitlines()
    assert log == [
        "smoke-worker: learning: epoch 1/3, step 40/125, 310 img/s, ETA 0:45",
        "smoke-worker: learning: epoch 1/3 step 62/125 val acc 0.742",
        "smoke-worker: learning: epoch 1/3 ended, train loss 0.661, val acc 0.742, 305 img/s, 40.1 s",
    ]


def test_a_broken_progress_report_never_fails_the_run(tmp_path, capsys):
    def broken(record):
        raise BrokenPipeError("parent gone")

    worker = Worker(_worker(tmp_path)[0].config, broken)
    worker.progress_listener("learning")(STEP)  # must not raise into train()
    assert "progress report failed: BrokenPipeError" in capsys.readouterr().err


def test_learning_and_throughput_runs_report_progress(tmp_path, monkeypatch):
    import reference_train.train as train_module

    def fake_train(cfg):
        cfg.on_progress(dict(STEP))
        return SimpleNamespace(final_val_acc=0.9, best_val_acc=0.9, epochs=[{"train_loss": 0.5}], steps=80,
                               class_names=["cat", "dog"], plot_path=None, metrics_path=None, stopped_early=True,
                               target_reached_at_step=80, images_per_sec=0.0, amp_dtype=None, settings={},
                               peak_memory_bytes=None)

    monkeypatch.setattr(train_module, "train", fake_train)
    worker, records = _worker(tmp_path)
    worker.phase_learning()
    with pytest.raises(PhaseFailed):  # a learning rate of 0 img/s: throughput runs (and fails) its own run
        worker.phase_throughput()
    assert [(r["event"], r["phase"]) for r in records] == [("progress", "learning"), ("progress", "throughput")]


def test_the_worker_log_is_never_empty_while_a_phase_runs(tmp_path):
    # The real worker, one quick phase: its log says which phase started and how it ended.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    results = run_worker_phases({"out_dir": str(tmp_path), "device": "cpu", "seed": 0}, ["device"], {"device": 120.0},
                                env, tmp_path)
    assert results[0].passed, results[0].error
    log = (tmp_path / "worker-1.log").read_text().splitlines()
    assert "smoke-worker: device phase started" in log
    assert any(line.startswith("smoke-worker: device phase: pass (") for line in log)


# -- the parent: spinner text and lines ------------------------------------------------------------


def test_spinner_shows_epoch_step_rate_accuracy_eta_and_limit(tmp_path):
    status = FakeStatus()
    feedback = PhaseFeedback({"learning": 900.0}, status=status)
    config = {"events": [STEP, EVAL_1, STEP]}
    results = run_worker_phases(config, ["learning"], {"learning": 30.0}, {"PATH": os.environ["PATH"]}, tmp_path,
                                on_start=feedback.start, on_result=feedback.result, on_progress=feedback.progress,
                                worker_argv=_fake_worker(tmp_path))
    assert results[0].passed
    assert status.texts[0] == "smoke-train: learning phase running (limit 900 s)..."
    assert status.texts[-1] == "smoke-train: learning phase: epoch 1/3, step 40/125, 310 img/s, val acc 0.71, ETA 0:45 (limit 900 s)"
    # Events another phase sent are not this phase's progress.
    assert not any("epoch 9" in text for text in status.texts)


def test_without_a_terminal_one_line_per_evaluation_and_epoch(tmp_path):
    stream = io.StringIO()
    feedback = PhaseFeedback({"learning": 900.0}, lines=True, stream=stream)
    seen: list[tuple[str, dict]] = []

    def on_progress(name, event, state):
        seen.append((name, event))
        feedback.progress(name, event, state)

    config = {"events": [STEP, STEP, {**EVAL_2, "epochs": 3, "steps_per_epoch": 125, "step_in_epoch": 62}, EPOCH]}
    run_worker_phases(config, ["learning"], {"learning": 30.0}, {"PATH": os.environ["PATH"]}, tmp_path,
                      on_start=feedback.start, on_result=feedback.result, on_progress=on_progress,
                      worker_argv=_fake_worker(tmp_path))
    assert [event["kind"] for _, event in seen] == ["step", "step", "eval", "epoch"]
    assert {name for name, _ in seen} == {"learning"}
    assert stream.getvalue().splitlines() == [
        "smoke-train: learning phase started (limit 900 s)",
        "smoke-train: learning: epoch 1/3 step 62/125 val acc 0.742",
        "smoke-train: learning: epoch 1/3 ended, train loss 0.661, val acc 0.742, 305 img/s, 40.1 s",
        "smoke-train: learning phase: pass in 1.5 s",
    ]


# -- a phase that does not finish reports what it had reached --------------------------------------


def test_a_timed_out_phase_carries_its_last_figures_and_names_its_log(tmp_path):
    config = {"events": [STEP, EVAL_1, {"kind": "eval", "epoch": 1, "step": 40, "val_acc": 0.69}], "hang": True}
    start = time.monotonic()
    [result] = run_worker_phases(config, ["learning"], {"learning": 2.0}, {"PATH": os.environ["PATH"]}, tmp_path,
                                 worker_argv=_fake_worker(tmp_path))
    assert time.monotonic() - start < 2.0 + 10
    assert not result.passed and not result.skipped
    log = tmp_path / "worker-1.log"
    assert result.error.startswith("learning phase did not finish within 2 s; it reached epoch 1/3, step 40/125 "
                                   "(310 img/s; val acc last 0.690, best 0.710), last progress ")
    assert f"read {log} for where it stopped" in result.error and "--timeout" in result.error
    numbers = result.numbers
    assert numbers["timeout_s"] == 2.0 and numbers["log"] == str(log)
    assert (numbers["reached_epoch"], numbers["epochs"], numbers["reached_step_in_epoch"], numbers["steps_per_epoch"]) == (1, 3, 40, 125)
    assert numbers["last_images_per_sec"] == 310.4
    assert numbers["last_val_acc"] == 0.69 and numbers["best_val_acc"] == 0.71 and numbers["evaluations"] == 2
    assert 1.0 <= numbers["seconds_since_progress"] <= 10
    assert "smoke-worker: learning phase started" in log.read_text()


def test_a_timed_out_phase_in_a_deleted_run_folder_says_how_to_keep_the_log(tmp_path):
    [result] = run_worker_phases({"events": [], "hang": True}, ["learning"], {"learning": 1.0},
                                 {"PATH": os.environ["PATH"]}, tmp_path, worker_argv=_fake_worker(tmp_path), log_kept=False)
    assert result.error.startswith("learning phase did not finish within 1 s and reported no progress; ")
    assert "rerun with --out DIR to keep the worker's log (DIR/logs/worker-1.log)" in result.error
    assert str(tmp_path) not in result.error and "log" not in result.numbers
    assert result.numbers == {"timeout_s": 1.0}


def test_a_crashed_phase_says_what_it_had_reached_and_the_real_error(tmp_path):
    [result] = run_worker_phases({"events": [STEP], "crash": True}, ["learning"], {"learning": 30.0},
                                 {"PATH": os.environ["PATH"]}, tmp_path, worker_argv=_fake_worker(tmp_path))
    # The last line of the log is the worker's own progress line: the error is the line before it.
    assert result.error == ("learning phase crashed (worker exit code 9): boom: the driver fell over; "
                            "it had reached epoch 1/3, step 40/125 (310 img/s)")
    assert result.numbers["reached_step_in_epoch"] == 40


@pytest.mark.slow
def test_a_real_learning_run_that_hangs_mid_run_reports_its_figures(tmp_path):
    """The real worker and trainer: the learning phase hangs at its first evaluation (test hook);
    the check names the figures it had reached and the log, and both lines and log show progress."""
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), ENVCHECK_SMOKE_TEST_HANG="learning@eval=600")
    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", "--cpu", "--json", "--phase", "learning", "--out", str(out),
         "--learn-per-class", "16", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
         "--phase-timeout", "learning=15"],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 1, result.stderr
    [learning] = json.loads(result.stdout)["checks"]
    numbers = learning["numbers"]
    log = out / "logs" / "worker-1.log"
    assert learning["error"].startswith("learning phase did not finish within 15 s; it reached epoch 1/1, step 1/4")
    assert f"read {log}" in learning["error"]
    assert numbers["reached_epoch"] == 1 and numbers["reached_step"] == 1 and numbers["evaluations"] == 1
    assert 0.0 <= numbers["last_val_acc"] <= 1.0 and numbers["log"] == str(log)
    # Without a terminal: the evaluation is one line on stderr; the worker's log has every event.
    assert any(line.startswith("smoke-train: learning: epoch 1/1 step 1/4 val acc ") for line in result.stderr.splitlines())
    text = log.read_text()
    assert "smoke-worker: learning: epoch 1/1, step 1/4" in text and "smoke-worker: learning: epoch 1/1 step 1/4 val acc" in text


# -- a data set too small to judge learning and throughput -----------------------------------------


def test_minimum_data_is_six_steps_of_the_batch_size():
    import reference_train.train as train_module

    assert smoke_train.TRAIN_WARMUP_STEPS == train_module.WARMUP_STEPS
    assert smoke_train.MIN_STEPS_PER_EPOCH == 6
    reason, numbers = too_small_to_judge(48, 32)
    assert reason.startswith("the data set is too small to judge: 48 training images make 1 step of batch 32 an epoch")
    assert "192 training images (6 x --batch-size 32)" in reason
    assert numbers == {"train_images": 48, "batch_size": 32, "steps_per_epoch": 1, "min_steps_per_epoch": 6,
                       "min_train_images": 192}
    assert too_small_to_judge(191, 32) is not None
    assert too_small_to_judge(192, 32) is None and too_small_to_judge(48, 8) is None


def test_not_judged_is_neither_pass_nor_fail():
    skipped = not_judged("learning", "the data set is too small to judge: ...", {"min_train_images": 192})
    assert skipped.status == "skipped" and not skipped.failed
    doc = skipped.to_dict()
    assert doc["status"] == "skipped" and doc["passed"] is None and doc["summary"].startswith("not judged: ")
    passed = CheckResult("device", True)
    assert verdict([passed, skipped]) == "PASS"
    assert verdict([skipped]) == "FAIL"  # nothing judged is no evidence of a working stack
    assert verdict([CheckResult("numerics", False, error="x"), skipped]) == "FAIL"
    assert verdict_line([passed, skipped], "CPU") == "PASS: all 1 judged checks passed on CPU; 1 not judged (learning)."
    assert verdict_line([passed, timed_out("amp", 3), skipped], "CPU") == (
        "FAIL: 1 of 2 judged checks failed on CPU (amp); 1 not judged (learning).")
    assert verdict_line([passed], "CPU") == "PASS: all 1 checks passed on CPU."
    document = report_dict([passed, skipped], {"kind": "cpu"}, {}, {}, None, [])
    assert document["verdict"] == "PASS" and document["schema_version"] == 2
    assert [c["status"] for c in document["checks"]] == ["pass", "skipped"]
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, highlight=False)
    render_terminal(console, [passed, skipped], "CPU", [], None)
    table = console.file.getvalue()
    row = next(line for line in table.splitlines() if "Learning" in line)
    assert "skipped" in row and "not judged: the data set is too small to judge" in row and "FAIL" not in row


def _image_folder(root: Path, train: int, val: int) -> Path:
    from PIL import Image

    for split, count in (("train", train), ("val", val)):
        for name in ("cat", "dog"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (8, 8), (i * 40 % 255, 0 if name == "cat" else 200, 0)).save(folder / f"{i}.png")
    return root


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """smoke-train in-process with the phases, the synthetic data and the fingerprint stood in for."""
    import reference_train.synthetic

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID", "SLURM_STEPID"):
        monkeypatch.delenv(name, raising=False)
    calls: list[dict] = []

    def fake_phases(config, names, timeouts, env, work_dir, on_start=None, on_result=None, worker_argv=None, **kwargs):
        calls.append({"names": list(names), "config": config, **kwargs})
        return [CheckResult(name, True, summary="ok", seconds=1.0) for name in names]

    monkeypatch.setattr(phases, "run_worker_phases", fake_phases)
    monkeypatch.setattr(reference_train.synthetic, "cached_dataset", lambda **kw: tmp_path)
    monkeypatch.setattr(smoke_train, "fingerprint", lambda env, base=None: {})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    return calls


def test_a_data_set_too_small_skips_learning_and_throughput_and_passes(tmp_path, capsys, fake_run):
    data = _image_folder(tmp_path / "tiny", train=24, val=8)  # the scaffold's sample size: 48 + 16
    code, out, err = run_cli(["smoke-train", "--cpu", "--json", "--data", str(data)], capsys)
    assert code == 0, err
    [call] = fake_run
    assert call["names"] == ["device", "numerics", "determinism", "checkpoint", "amp"]
    doc = json.loads(out)
    assert doc["verdict"] == "PASS"
    by_name = {c["name"]: c for c in doc["checks"]}
    assert [c["name"] for c in doc["checks"]] == ["device", "numerics", "learning", "determinism", "checkpoint", "amp",
                                                  "throughput"]
    for name in ("learning", "throughput"):
        check = by_name[name]
        assert check["status"] == "skipped" and check["passed"] is None and check["error"] is None
        assert check["summary"].startswith("not judged: the data set is too small to judge: 48 training images")
        assert "192 training images" in check["summary"]
        assert check["numbers"]["min_train_images"] == 192 and check["numbers"]["train_images"] == 48
    # Said before the phases run, once for both.
    assert "smoke-train: learning and throughput phases skipped, not judged: the data set is too small" in err


def test_too_small_data_in_the_table_is_skipped_and_the_verdict_passes(tmp_path, capsys, fake_run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    data = _image_folder(tmp_path / "tiny", train=24, val=8)
    code, out, err = run_cli(["smoke-train", "--cpu", "--data", str(data)], capsys)
    assert code == 0, err
    assert "PASS: all 5 judged checks passed on CPU; 2 not judged (learning, throughput)." in out
    assert "skipped" in next(line for line in out.splitlines() if "Throughput" in line)


def test_a_large_enough_data_set_is_judged(tmp_path, capsys, fake_run):
    data = _image_folder(tmp_path / "enough", train=24, val=8)  # 48 images = 6 steps of 8
    code, out, err = run_cli(["smoke-train", "--cpu", "--json", "--data", str(data), "--batch-size", "8"], capsys)
    assert code == 0, err
    assert "learning" in fake_run[0]["names"] and "throughput" in fake_run[0]["names"]
    assert fake_run[0]["config"]["train_images"] == 48
    # Every phase is in the report and judged (all() over an empty list of checks would also pass).
    assert [(c["name"], c["status"]) for c in json.loads(out)["checks"]] == [
        (name, "pass") for name in ("device", "numerics", "learning", "determinism", "checkpoint", "amp", "throughput")]


@pytest.mark.slow
def test_too_small_data_end_to_end_exits_0(tmp_path):
    data = _image_folder(tmp_path / "tiny", train=24, val=8)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke-train", "--cpu", "--json", "--data", str(data),
         "--phase", "device", "--phase", "learning", "--phase", "throughput"],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "PASS"
    assert [(c["name"], c["status"]) for c in doc["checks"]] == [("device", "pass"), ("learning", "skipped"),
                                                                  ("throughput", "skipped")]


# -- a busy machine is said at the start -----------------------------------------------------------


def test_busy_machine_note_says_timings_will_be_slow():
    assert load_note(load=1.9, cpus=2, starting=True) is None
    note = load_note(load=5.25, cpus=2, starting=True)
    assert note and "load average 5.2 over the last minute on 2 CPUs" in note and "timings will be slow" in note


def test_busy_machine_note_is_printed_before_the_phases_run(tmp_path, capsys, fake_run, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (1000.0, 1000.0, 1000.0))
    before_phases: list[str] = []
    real = phases.run_worker_phases

    def capture_then_run(*args, **kwargs):
        before_phases.append(capsys.readouterr().err)
        return real(*args, **kwargs)

    monkeypatch.setattr(phases, "run_worker_phases", capture_then_run)
    code, out, err = run_cli(["smoke-train", "--cpu", "--json"], capsys)
    assert code == 0, err
    [early] = before_phases
    assert "smoke-train: note: The machine is busy before the run starts (load average 1000.0 over the last minute" in early
    assert "timings will be slow" in early
    notes = json.loads(out)["notes"]
    assert sum("load average" in note for note in notes) == 1  # the start note, not a second one at the end


def test_no_busy_note_on_an_idle_machine(tmp_path, capsys, fake_run):
    code, out, err = run_cli(["smoke-train", "--cpu", "--json"], capsys)
    assert code == 0, err
    assert "busy" not in err and not any("load average" in note for note in json.loads(out)["notes"])
