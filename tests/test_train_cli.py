"""`python -m reference_train`: settings that cannot train are refused before anything starts, in one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

import reference_train.synthetic  # noqa: E402
from reference_train.__main__ import main  # noqa: E402
from reference_train.checkpoint import save_checkpoint  # noqa: E402
from reference_train.synthetic import cached_dataset  # noqa: E402


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    return cached_dataset(seed=0, image_size=32, train_per_class=8, val_per_class=2, cache_dir=tmp_path_factory.mktemp("catdog"))


@pytest.fixture
def no_synthetic_drawing(monkeypatch):
    """Refusals must come before the synthetic set is drawn (which takes a while)."""

    def forbidden(**kwargs):
        raise AssertionError("the synthetic data set was drawn before the settings were checked")

    monkeypatch.setattr(reference_train.synthetic, "cached_dataset", forbidden)


def refused(capsys, argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("reference_train: error:"), captured.err
    assert captured.out == ""
    return lines[0]


@pytest.mark.parametrize("lr", ["-1", "0", "nan", "inf"])
def test_bad_learning_rate(capsys, no_synthetic_drawing, tmp_path, lr):
    assert "learning rate" in refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--lr", lr])


def test_out_dir_that_is_a_file(capsys, no_synthetic_drawing, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert "is a file" in refused(capsys, ["--synthetic", "--out-dir", str(a_file)])


@pytest.mark.parametrize("size", ["8", "0", "2000"])
def test_image_size_out_of_range(capsys, no_synthetic_drawing, tmp_path, size):
    line = refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--image-size", size])
    assert f"image size {size} is out of range" in line and "32 to 1024" in line


@pytest.mark.parametrize("batch", ["0", "100000"])
def test_batch_size_out_of_range(capsys, no_synthetic_drawing, tmp_path, batch):
    assert "batch size" in refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--batch-size", batch])


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_seed_out_of_range(capsys, no_synthetic_drawing, tmp_path, seed):
    assert "seed" in refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--seed", seed])


def test_resume_from_a_folder_names_the_checkpoint_inside(capsys, no_synthetic_drawing, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    line = refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--resume", str(run_dir)])
    assert "is a folder" in line and "checkpoint.pth file" in line
    save_checkpoint(run_dir / "checkpoint.pth", {"epoch": 0})
    line = refused(capsys, ["--synthetic", "--out-dir", str(tmp_path), "--resume", str(run_dir)])
    assert "is a folder" in line and f"pass {run_dir / 'checkpoint.pth'}" in line


def test_resume_from_a_text_file(capsys, tiny_data, tmp_path):
    text = tmp_path / "checkpoint.pth"
    text.write_text("epoch 3, step 120\n")
    line = refused(capsys, ["--data", str(tiny_data), "--image-size", "32", "--out-dir", str(tmp_path / "out"),
                            "--resume", str(text), "--device", "cpu"])
    assert "is a text file, not a PyTorch checkpoint" in line


def test_an_earlier_run_is_not_overwritten(capsys, no_synthetic_drawing, tmp_path):
    (tmp_path / "best_model.pth").write_bytes(b"earlier run")
    line = refused(capsys, ["--synthetic", "--out-dir", str(tmp_path)])
    assert "already holds an earlier run (best_model.pth)" in line and "--overwrite" in line
    assert (tmp_path / "best_model.pth").read_bytes() == b"earlier run"


def test_missing_data_folder(capsys, tmp_path):
    assert "does not exist" in refused(capsys, ["--data", str(tmp_path / "nope"), "--out-dir", str(tmp_path / "o")])


@pytest.mark.parametrize("argv", [["--synthetic", "--lr", "-1"], ["--synthetic", "--epochs", "0"],
                                  ["--data", "/no/such/folder"], ["--synthetic", "--image-size", "8"]])
def test_bad_arguments_are_refused_before_torch_is_imported(tmp_path, argv):
    # A typo should cost a fraction of a second, not the seconds `import torch` takes.
    import subprocess
    import sys

    probe = ("import sys; from reference_train.__main__ import main; code = main(sys.argv[1:]); "
             "print('torch imported' if 'torch' in sys.modules else 'torch not imported'); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, *argv, "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == "torch not imported"
    assert done.stderr.startswith("reference_train: error:")


def test_help_describes_every_option():
    from reference_train.__main__ import build_parser

    for action in build_parser()._actions:
        assert action.help, f"{action.option_strings} has no help text"
