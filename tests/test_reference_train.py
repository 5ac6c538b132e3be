"""The trainer on the CPU: it learns, it is deterministic, it resumes exactly, and bad input is one clear error.

Sizes are tiny (32 px, a few dozen images) so the whole file runs in well under a minute or two on a
shared 2-core machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from reference_train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from reference_train.errors import TrainError  # noqa: E402
from reference_train.synthetic import cached_dataset  # noqa: E402
from reference_train.train import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    # 12 training images per class at batch 8 -> 3 steps per epoch.
    return cached_dataset(seed=0, image_size=32, train_per_class=12, val_per_class=4, cache_dir=tmp_path_factory.mktemp("catdog"))


def tiny_config(data_dir: Path, **overrides) -> TrainConfig:
    cfg = TrainConfig(
        data_dir=data_dir, epochs=2, batch_size=8, image_size=32, workers=0, progress=False, plot=False, seed=3
    )
    return dataclasses.replace(cfg, **overrides)


def _weights_digest(state_dict: dict) -> str:
    """sha256 over a state_dict's names and raw tensor bytes in order, as TrainResult.state_digest is documented."""
    digest = hashlib.sha256()
    for name, tensor in state_dict.items():
        digest.update(name.encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def test_two_runs_with_the_same_seed_are_identical(tiny_data):
    first = train(tiny_config(tiny_data))
    second = train(tiny_config(tiny_data))
    assert len(first.step_losses) == 6 and first.steps == 6
    assert first.step_losses == second.step_losses
    assert first.state_digest == second.state_digest
    different_seed = train(tiny_config(tiny_data, seed=4, max_steps=2))
    assert different_seed.step_losses != first.step_losses[:2]
    # Equal digests above prove something only if the digest follows the weights.
    assert different_seed.state_digest != first.state_digest


def test_data_loader_workers_do_not_change_the_result(tiny_data):
    in_process = train(tiny_config(tiny_data, epochs=1))
    with_worker = train(tiny_config(tiny_data, epochs=1, workers=1))
    assert with_worker.step_losses == in_process.step_losses
    assert with_worker.state_digest == in_process.state_digest


def test_resume_at_epoch_boundary_matches_uninterrupted_run(tiny_data, tmp_path):
    # "step" has a fixed shape (cosine's depends on --epochs), so 1 then 2 epochs equals 2 at once.
    whole = train(tiny_config(tiny_data, epochs=2, scheduler="step"))
    first_part = train(tiny_config(tiny_data, epochs=1, scheduler="step", out_dir=tmp_path))
    resumed = train(tiny_config(tiny_data, epochs=2, scheduler="step", out_dir=tmp_path, resume=tmp_path / "checkpoint.pth"))
    assert first_part.step_losses + resumed.step_losses == whole.step_losses
    assert resumed.state_digest == whole.state_digest
    # ... and that digest is the one of the weights the run saved, computed here from the checkpoint:
    # a digest that ignored the weights (or was constant) would make the equality above meaningless.
    saved = load_checkpoint(tmp_path / "checkpoint.pth")
    assert saved["step"] == 6 and _weights_digest(saved["model"]) == resumed.state_digest
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [0, 1]


def test_resume_mid_epoch_via_max_steps_matches_uninterrupted_run(tiny_data, tmp_path):
    whole = train(tiny_config(tiny_data))
    stopped = train(tiny_config(tiny_data, max_steps=4, out_dir=tmp_path))  # stops after 1 of 3 batches of epoch 2
    assert stopped.steps == 4 and stopped.epochs[-1]["complete"] is False
    state = load_checkpoint(tmp_path / "checkpoint.pth")
    assert (state["epoch"], state["step"], state["batches_done"]) == (1, 4, 1)
    resumed = train(tiny_config(tiny_data, out_dir=tmp_path, resume=tmp_path / "checkpoint.pth"))
    assert stopped.step_losses + resumed.step_losses == whole.step_losses
    assert resumed.state_digest == whole.state_digest


def test_checkpoints_load_with_weights_only(tiny_data, tmp_path):
    result = train(tiny_config(tiny_data, epochs=1, out_dir=tmp_path, plot=True))
    state = torch.load(result.checkpoint_path, weights_only=True, map_location="cpu")
    assert state["step"] == 3 and state["config"]["batch_size"] == 8 and isinstance(state["config"]["data_dir"], str)
    best = torch.load(result.best_model_path, weights_only=True, map_location="cpu")
    assert best["fc.weight"].shape == (2, 512)
    from torchvision.models import resnet18

    model = resnet18(num_classes=2)
    model.load_state_dict(best)  # a plain state_dict that a user's own script can load
    assert result.plot_path is not None and result.plot_path.stat().st_size > 1000
    assert result.metrics_path is not None and len(result.metrics_path.read_text().splitlines()) == 1


def test_corrupt_truncated_or_foreign_checkpoints_raise_checkpoint_error(tiny_data, tmp_path):
    good = tmp_path / "good.pth"
    save_checkpoint(good, {"epoch": 1})  # readable, but not one of ours
    with pytest.raises(CheckpointError, match="missing step"):
        load_checkpoint(good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        load_checkpoint(truncated)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pth")
    with pytest.raises(TrainError, match="truncated, corrupt"):
        train(tiny_config(tiny_data, resume=truncated))


def test_resume_with_a_different_batch_size_is_refused(tiny_data, tmp_path):
    train(tiny_config(tiny_data, epochs=1, max_steps=1, out_dir=tmp_path))
    with pytest.raises(TrainError, match="--batch-size 8"):
        train(tiny_config(tiny_data, batch_size=4, resume=tmp_path / "checkpoint.pth"))


@pytest.mark.slow
def test_short_run_learns_above_chance(tmp_path_factory):
    data = cached_dataset(seed=0, image_size=32, train_per_class=60, val_per_class=20, cache_dir=tmp_path_factory.mktemp("learn"))
    result = train(TrainConfig(data_dir=data, epochs=4, batch_size=16, image_size=32, workers=0, progress=False, plot=False))
    assert result.epochs[-1]["train_loss"] < 0.8 * result.epochs[0]["train_loss"]
    assert result.best_val_acc >= 0.575  # 40 val images: chance is 0.5; see docs/reference-train.md for 64 px


def test_bad_inputs_are_one_train_error(tiny_data, tmp_path, monkeypatch):
    with pytest.raises(TrainError, match="does not exist"):
        train(tiny_config(tmp_path / "missing"))
    with pytest.raises(TrainError, match="unknown device"):
        train(tiny_config(tiny_data, device="tpu"))
    if not torch.cuda.is_available():
        with pytest.raises(TrainError, match="CUDA is not available"):
            train(tiny_config(tiny_data, device="cuda:0"))
    # Offline: make the hub download fail as it does without internet, so nothing is downloaded anywhere.
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(TrainError, match="cannot get the ImageNet weights.*leaving out --weights"):
        train(tiny_config(tiny_data, weights="imagenet"))


def test_tensorboard_missing_is_one_clear_error(tiny_data, tmp_path, monkeypatch):
    # Made unimportable here whether or not it is installed (the test used to skip itself wherever
    # tensorboard was installed, so it could not fail there).
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(TrainError, match="pip install tensorboard"):
        train(tiny_config(tiny_data, tensorboard=True, out_dir=tmp_path))


def test_cli_missing_data_dir_exits_2_with_one_line(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "reference_train", "--data", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reference_train: error:") and "does not exist" in lines[0]
    assert "Traceback" not in completed.stderr and completed.stdout == ""


def test_cpu_bf16_autocast_only_where_the_cpu_has_it():
    from reference_train.train import cpu_has_native_bf16

    # Flags lines as /proc/cpuinfo prints them (trimmed): an AVX512-BF16 EPYC (this dev box),
    # a Sapphire Rapids Xeon (AMX), and an older AVX2-only CPU.
    assert cpu_has_native_bf16("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_native_bf16("flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n")
    assert not cpu_has_native_bf16("flags\t\t: fpu sse sse2 avx avx2 fma\n")
    assert not cpu_has_native_bf16("")


def test_progress_listener_gets_steps_evaluations_and_epochs(tiny_data):
    events = []
    train(tiny_config(tiny_data, epochs=2, on_progress=events.append))
    kinds = [event["kind"] for event in events]
    assert kinds.count("epoch") == 2 and kinds.count("eval") == 2
    steps = [event for event in events if event["kind"] == "step"]
    # The last step of each epoch is always reported, so a reader sees each epoch finish.
    assert [(s["epoch"], s["step_in_epoch"]) for s in steps if s["step_in_epoch"] == 3] == [(1, 3), (2, 3)]
    assert all(s["steps_per_epoch"] == 3 and s["images_per_sec"] >= 0 and s["eta_s"] >= 0 for s in steps)
    assert steps[-1]["eta_s"] == 0
    assert 0 <= events[-1]["val_acc"] <= 1
