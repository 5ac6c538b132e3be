"""datacheck on good and broken ImageFolder trees: each breakage is found and explained with a fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reference_train.datacheck import check_imagefolder
from reference_train.synthetic import write_dataset


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "data"
    write_dataset(root, train_per_class=3, val_per_class=2, image_size=32, seed=0)
    return root


def test_good_tree_is_ok(tree):
    report = check_imagefolder(tree)
    assert report.ok and report.problems == [] and report.bad_files == []
    assert report.classes == {"train": ["cat", "dog"], "val": ["cat", "dog"]}
    assert report.counts == {"train": {"cat": 3, "dog": 3}, "val": {"cat": 2, "dog": 2}}


def test_missing_root(tmp_path):
    report = check_imagefolder(tmp_path / "nope")
    assert not report.ok and "does not exist" in report.problems[0]


def test_missing_val(tree):
    shutil.rmtree(tree / "val")
    report = check_imagefolder(tree)
    assert not report.ok
    assert any("val" in p and "missing" in p for p in report.problems)


def test_class_mismatch_between_splits(tree):
    (tree / "val" / "dog").rename(tree / "val" / "dogs")
    report = check_imagefolder(tree)
    assert not report.ok
    mismatch = [p for p in report.problems if "different class folders" in p]
    assert len(mismatch) == 1 and "dogs" in mismatch[0] and "dog" in mismatch[0]


def test_empty_class(tree):
    for image in (tree / "train" / "cat").iterdir():
        image.unlink()
    report = check_imagefolder(tree)
    assert not report.ok and report.counts["train"]["cat"] == 0
    assert any("cat" in p and "no images" in p for p in report.problems)


def test_corrupt_and_truncated_jpeg(tree):
    truncated = tree / "train" / "dog" / "dog_00001.jpg"
    truncated.write_bytes(truncated.read_bytes()[:200])
    garbage = tree / "val" / "cat" / "cat_00000.jpg"
    garbage.write_bytes(b"this is not a jpeg at all")
    report = check_imagefolder(tree)
    assert not report.ok
    assert {path for path, _ in report.bad_files} == {str(truncated), str(garbage)}
    assert any("2 image(s) cannot be decoded" in p for p in report.problems)
    # Not opening images finds neither.
    assert check_imagefolder(tree, verify_images=False).ok


def test_non_image_file_is_reported_but_not_fatal(tree):
    note = tree / "train" / "cat" / "notes.txt"
    note.write_text("labels checked by hand")
    report = check_imagefolder(tree)
    assert report.ok  # ImageFolder skips it, training still works
    assert (str(note), "not an image file type (.txt); ImageFolder skips it") in report.bad_files
    assert any("not images" in w for w in report.warnings)


def test_hidden_folder_would_become_a_class(tree):
    (tree / "train" / ".ipynb_checkpoints").mkdir()
    report = check_imagefolder(tree)
    assert not report.ok and any(".ipynb_checkpoints" in p and "rm -r" in p for p in report.problems)


def test_max_verify_limits_decoding(tree):
    report = check_imagefolder(tree, max_verify=2)
    assert report.ok and any("only the first 2 of 10" in w for w in report.warnings)


def test_one_class_is_refused_by_the_one_shared_rule(tree, capsys):
    """check-data, reference_train and smoke-train all ask check_imagefolder: one answer for all."""
    for split in ("train", "val"):
        shutil.rmtree(tree / split / "dog")
    report = check_imagefolder(tree)
    assert not report.ok
    assert any("has only one class folder (cat)" in p and "at least two" in p for p in report.problems)

    from _cli import run_cli

    code, out, _ = run_cli(["check-data", str(tree)], capsys)
    assert code == 1 and "only one class folder" in out

    from reference_train.errors import TrainError
    from reference_train.train import TrainConfig, train

    with pytest.raises(TrainError, match="only one class folder"):
        train(TrainConfig(data_dir=tree, device="cpu", epochs=1, progress=False, plot=False))
