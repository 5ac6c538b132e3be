"""The worker's phases with torch's CUDA functions monkeypatched: out-of-memory reports, the low
free memory note, early stop of the learning run, the phase registry, and which GPU a DDP rank
takes. No GPU and no training."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.smoke import phases
from envcheck.smoke.ddp_worker import NoGpuForRank, cuda_device_index, rank_cuda_device
from envcheck.smoke.worker import Worker

GIB = 2**30


def _worker(tmp_path: Path, device: str = "cuda:0", **config) -> tuple[Worker, list[dict]]:
    records: list[dict] = []
    base = {"out_dir": str(tmp_path), "device": device, "batch_size": 32, "image_size": 64, "amp": None, "seed": 0,
            "epochs": 3, "accuracy_threshold": 0.8, "data_dir": str(tmp_path), "small_data_dir": str(tmp_path),
            "small_batch_size": 8, "deterministic": False, "train_images": 2000, "throughput_steps": 20}
    base.update(config)
    return Worker(base, records.append), records


@pytest.fixture
def fake_cuda_memory(monkeypatch):
    torch = pytest.importorskip("torch")
    state = {"free": 1 * GIB, "total": 8 * GIB, "emptied": 0}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (state["free"], state["total"]))
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: state.__setitem__("emptied", state["emptied"] + 1))
    return state


def _oom_phase(monkeypatch, error: BaseException) -> None:
    def run(self):
        raise error

    monkeypatch.setitem(phases._REGISTRY, "learning", phases.Phase("learning", "Learning", 900, run))


def test_cuda_oom_is_one_line_with_free_and_total_memory_and_the_fix(tmp_path, monkeypatch, fake_cuda_memory):
    torch = pytest.importorskip("torch")
    raw = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 7.63 GiB of which " + "x" * 600
    _oom_phase(monkeypatch, torch.cuda.OutOfMemoryError(raw))
    worker, records = _worker(tmp_path)
    assert worker.run_phase("learning") is True  # an OOM does not poison the context: later phases run
    result = records[-1]
    assert result["passed"] is False
    error = result["error"]
    assert "\n" not in error and "x" * 50 not in error
    assert error.startswith("out of memory in the learning phase (1.00 GiB of 8.00 GiB free on cuda:0; batch 32, 64 px)")
    assert "--batch-size" in error and "--image-size" in error and "--gpu N" in error
    assert result["numbers"] == {"out_of_memory": True, "batch_size": 32, "image_size": 64, "free_mib": 1024, "total_mib": 8192}
    assert fake_cuda_memory["emptied"] >= 1  # measured with the failed step's cache released


def test_reference_train_out_of_memory_is_reported_the_same_way(tmp_path, monkeypatch, fake_cuda_memory):
    # Imported plainly: reference_train is part of this project, so a missing or renamed OutOfMemory
    # is a failure here, not a reason to skip (the skips made this test pass whatever happened).
    from reference_train.errors import OutOfMemory

    _oom_phase(monkeypatch, OutOfMemory("out of memory on cuda:0: 0.5 of 8 GiB free; lower --batch-size"))
    worker, records = _worker(tmp_path)
    worker.run_phase("learning")
    assert records[-1]["error"].startswith("out of memory in the learning phase (1.00 GiB of 8.00 GiB free")
    assert records[-1]["numbers"]["total_mib"] == 8192


def test_other_errors_keep_their_text(tmp_path, monkeypatch):
    _oom_phase(monkeypatch, ValueError("something else"))
    worker, records = _worker(tmp_path, device="cpu")
    worker.run_phase("learning")
    assert records[-1]["error"] == "ValueError: something else"


def test_low_free_memory_is_a_note_with_numbers(tmp_path, fake_cuda_memory):
    fake_cuda_memory["free"] = int(0.5 * GIB)
    worker, _ = _worker(tmp_path, batch_size=64, image_size=224)
    numbers: dict = {}
    note = worker.memory_note(numbers)
    assert note is not None and note.startswith("only 0.50 GiB of 8.00 GiB is free on this GPU")
    assert "--batch-size" in note and numbers["memory_note"] == note
    assert numbers["free_mib"] == 512 and numbers["total_mib"] == 8192 and numbers["learning_needs_mib"] > 512
    fake_cuda_memory["free"] = 70 * GIB
    plenty: dict = {}
    assert worker.memory_note(plenty) is None and "memory_note" not in plenty and plenty["free_mib"] == 70 * 1024
    cpu, _ = _worker(tmp_path, device="cpu")
    assert cpu.memory_note({}) is None  # the CPU has no device memory to read


def test_learning_run_stops_at_its_bar_and_says_so(tmp_path, monkeypatch):
    import reference_train.train as train_module

    seen = []

    def fake_train(cfg):
        seen.append(cfg)
        return SimpleNamespace(final_val_acc=0.85, best_val_acc=0.85, epochs=[{"train_loss": 0.7}], steps=84,
                               class_names=["cat", "dog"], plot_path=None, metrics_path=None, stopped_early=True,
                               target_reached_at_step=84, images_per_sec=100.0)

    monkeypatch.setattr(train_module, "train", fake_train)
    worker, _ = _worker(tmp_path, train_images=2000, batch_size=32, accuracy_threshold=0.8)
    numbers, summary = worker.phase_learning()
    [cfg] = seen
    # 2000 images / 32 = 63 steps an epoch: evaluated every 21 steps, the epochs stay the cap.
    assert cfg.target_accuracy == 0.8 and cfg.eval_every_steps == 21 and cfg.epochs == 3
    assert numbers["stopped_early"] is True and numbers["target_reached_at_step"] == 84
    assert numbers["eval_every_steps"] == 21 and numbers["max_epochs"] == 3
    assert "stopped early at step 84" in summary


def test_a_phase_is_one_registered_unit():
    names = [p.name for p in phases.registered()]
    assert names == ["device", "numerics", "learning", "determinism", "checkpoint", "amp", "throughput", "ddp"]
    assert phases.single_device_phases() == names[:-1]
    assert phases.title("amp") == "Mixed precision" and phases.default_timeouts()["learning"] == 900
    assert phases.get_phase("learning").run is Worker.phase_learning
    assert not hasattr(phases, "TITLES") and not hasattr(phases, "DEFAULT_TIMEOUTS")


@pytest.mark.parametrize(
    "local_rank, count, expected",
    [(0, 1, 0), (3, 1, 0), (1, 4, 1), (3, 4, 3)],
    ids=["one-gpu-rank0", "gpus-per-task-rank3", "node-of-4-rank1", "node-of-4-rank3"],
)
def test_rank_device(local_rank, count, expected):
    assert cuda_device_index(local_rank, count, "0") == expected


def test_rank_without_a_gpu_of_its_own_names_the_counts(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert rank_cuda_device(1) == 1
    with pytest.raises(NoGpuForRank) as err:
        rank_cuda_device(3)
    message = str(err.value)
    assert "CUDA_VISIBLE_DEVICES='0,1'" in message and "sees 2 GPU(s)" in message and "local rank 3" in message
    # SLURM --gpus-per-task=1: one GPU per task, so local rank 3 uses cuda:0 rather than an invalid ordinal.
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert rank_cuda_device(3) == 0


def test_memory_need_is_reference_train_estimate(tmp_path, fake_cuda_memory):
    import reference_train.train as train_module

    worker, _ = _worker(tmp_path)
    numbers: dict = {}
    worker.memory_note(numbers)
    # amp None means on for GPUs: the estimate is asked with AMP.
    expected = train_module.estimate_training_memory_bytes(batch_size=32, image_size=64, amp=True)
    assert numbers["learning_needs_mib"] == round(expected / 2**20)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"memory_format": "contiguous", "workers": 0, "cudnn_benchmark": False}, "NCHW, in-process loading,"),
        ({"memory_format": "channels_last", "workers": 8, "cudnn_benchmark": True}, "channels_last, 8 loader workers, cuDNN autotune,"),
    ],
)
def test_throughput_says_which_speed_settings_were_chosen(tmp_path, settings, expected):
    worker, _ = _worker(tmp_path, device="cpu")
    settings = {**settings, "why": "rule text"}
    worker.learning_result = SimpleNamespace(images_per_sec=58.0, amp_dtype=None, peak_memory_bytes=None, settings=settings)
    numbers, summary = worker.phase_throughput()
    assert expected in summary
    assert numbers["settings"] == settings
