"""The generated train.py against bad settings, bad checkpoints and a second run (issue #8).

Every case: a one-line message on stderr, a non-zero exit, no traceback, and no earlier result lost.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from envcheck.commands import scaffold


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    pytest.importorskip("torchvision")
    pytest.importorskip("PIL")
    tmp = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    mp.setattr(scaffold, "SAMPLE_TRAIN_PER_CLASS", 8)
    mp.setattr(scaffold, "SAMPLE_VAL_PER_CLASS", 4)
    mp.setattr(scaffold, "SAMPLE_IMAGE_SIZE", 32)
    try:
        from envcheck import cli

        old = sys.argv
        sys.argv = ["envcheck", "scaffold", "demo", "--dir", str(tmp), "--sample-data"]
        try:
            cli.main()
        except SystemExit as exc:
            assert not exc.code
        finally:
            sys.argv = old
    finally:
        mp.undo()
    root = tmp / "demo"
    config = yaml.safe_load((root / "config.yaml").read_text())
    config.update(epochs=1, batch_size=8, workers=0)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def run(project, *args, timeout=300):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "train.py", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout, env=env)


def refused(result, message):
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        (None, "does not exist"),
        ("epochs: [1, 2\n", "is not valid YAML"),
        ("- just\n- a list\n", "'name: value' settings"),
        ("seed: 0\n", "no 'data_dir' setting"),
    ],
)
def test_missing_corrupt_or_incomplete_config(project, tmp_path, config_text, message):
    path = tmp_path / "c.yaml"
    if config_text is not None:
        path.write_text(config_text)
    refused(run(project, "--config", str(path)), message)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"epochs": 0}, "epochs is 0"), ({"lr": -1}, "lr is -1"), ({"image_size": 8}, "image_size is 8"),
     ({"batch_size": "big"}, "must be a int"), ({"pretrained": "yes"}, "must be a bool"), ({"lr": float("nan")}, "lr is nan")],
)
def test_out_of_range_settings(project, tmp_path, change, message):
    config = yaml.safe_load((project / "config.yaml").read_text())
    config.update(change)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    refused(run(project, "--config", str(path)), message)


@pytest.mark.parametrize("epochs", ["0", "-2"])
def test_epochs_flag_below_one(project, epochs):
    refused(run(project, "--epochs", epochs), "at least 1 epoch")


@pytest.mark.slow
def test_bad_checkpoints(project, tmp_path):
    import torch

    truncated = tmp_path / "truncated.pt"
    torch.save({"model": torch.zeros(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    refused(run(project, "--resume", str(truncated)), "cannot be loaded as a checkpoint")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    malicious = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, malicious)
    refused(run(project, "--resume", str(malicious)), "cannot be loaded as a checkpoint")
    assert not (tmp_path / "pwned").exists()

    weights_only = tmp_path / "best.pt"
    torch.save({"fc.weight": torch.zeros(2, 512)}, weights_only)
    refused(run(project, "--resume", str(weights_only)), "not a checkpoint written by this train.py")

    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    refused(run(project, "--resume", str(text)), "cannot be loaded as a checkpoint")

    refused(run(project, "--resume", str(tmp_path)), "is a folder")


@pytest.mark.slow
def test_a_new_run_keeps_the_earlier_runs_results(project):
    import torch

    # An earlier run's results, as train.py leaves them in model/ (last.pt and best.pt). Marked so
    # that they cannot be mistaken for what the new run writes.
    model = project / "model"
    model.mkdir(exist_ok=True)
    best_before = {"fc.bias": torch.full((2,), 1000.0), "fc.weight": torch.zeros(2, 4)}
    torch.save(best_before, model / "best.pt")
    (model / "last.pt").write_bytes(b"the earlier run's last checkpoint")
    second = run(project)
    assert second.returncode == 0, second.stderr
    assert "were moved to" in second.stdout
    assert (project / "outputs" / "curves.png").stat().st_size > 1000  # matplotlib comes with [train]
    assert "curves in" in second.stdout
    archived = sorted(model.glob("earlier-*"))
    assert len(archived) == 1
    kept = torch.load(archived[0] / "best.pt", map_location="cpu", weights_only=True)
    assert set(kept) == set(best_before)
    assert all(torch.equal(kept[k], best_before[k]) for k in best_before)
    assert (archived[0] / "last.pt").read_bytes() == b"the earlier run's last checkpoint"
    fresh = torch.load(model / "best.pt", map_location="cpu", weights_only=True)
    assert not torch.equal(fresh["fc.bias"], best_before["fc.bias"])  # the new run's own result
    # A finished run asked to resume without more epochs says so instead of claiming success.
    refused(run(project, "--resume"), "already finished epoch 1 of 1")
