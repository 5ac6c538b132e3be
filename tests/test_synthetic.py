"""The synthetic cat/dog generator: deterministic, cached, ImageFolder layout, importable without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reference_train import synthetic


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jpg"))}


def test_same_seed_gives_byte_identical_files(tmp_path):
    counts = synthetic.write_dataset(tmp_path / "a", train_per_class=3, val_per_class=2, image_size=32, seed=5)
    synthetic.write_dataset(tmp_path / "b", train_per_class=3, val_per_class=2, image_size=32, seed=5)
    assert counts == {"train": {"cat": 3, "dog": 3}, "val": {"cat": 2, "dog": 2}}
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(first) == 10
    assert first == second


def test_different_seed_gives_different_images(tmp_path):
    synthetic.write_dataset(tmp_path / "a", train_per_class=2, val_per_class=1, image_size=32, seed=1)
    synthetic.write_dataset(tmp_path / "b", train_per_class=2, val_per_class=1, image_size=32, seed=2)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first and first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_images_are_jpeg_of_the_requested_size(tmp_path):
    from PIL import Image

    synthetic.write_dataset(tmp_path / "d", train_per_class=1, val_per_class=1, image_size=48, seed=0)
    with Image.open(tmp_path / "d" / "train" / "dog" / "dog_00000.jpg") as image:
        assert image.format == "JPEG" and image.size == (48, 48) and image.mode == "RGB"


def test_cached_dataset_is_reused_not_regenerated(tmp_path, monkeypatch):
    root = synthetic.cached_dataset(seed=0, image_size=32, train_per_class=2, val_per_class=1, cache_dir=tmp_path)
    assert (root / "train" / "cat").is_dir() and str(synthetic.GENERATOR_VERSION) in root.name

    def must_not_run(*args, **kwargs):
        raise AssertionError("the cached data set was generated again")

    monkeypatch.setattr(synthetic, "write_dataset", must_not_run)
    again = synthetic.cached_dataset(seed=0, image_size=32, train_per_class=2, val_per_class=1, cache_dir=tmp_path)
    assert again == root
    # A different key is a different data set: generating it is what must_not_run reports.
    with pytest.raises(AssertionError, match="generated again"):
        synthetic.cached_dataset(seed=1, image_size=32, train_per_class=2, val_per_class=1, cache_dir=tmp_path)


def test_refuses_to_write_into_a_non_empty_folder_and_leaves_no_partial_dirs(tmp_path):
    target = tmp_path / "d"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synthetic.write_dataset(target, train_per_class=1, val_per_class=1, image_size=32)
    assert (target / "keep.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_extra_class_names_get_distinct_figure_kinds(tmp_path):
    kinds = synthetic._figure_kinds_for(["zebra", "dog", "cat", "owl", "a", "b", "c", "d"])
    assert kinds["cat"] == ("cat", 0) and kinds["dog"] == ("dog", 0)
    assert len(set(kinds.values())) == 8  # repeats past six kinds are told apart by forehead dots
    counts = synthetic.write_dataset(tmp_path / "d", classes=("owl", "cat", "fox"), train_per_class=1, val_per_class=1, image_size=32)
    assert sorted(counts["train"]) == ["cat", "fox", "owl"]


def test_synthetic_and_datacheck_import_without_torch():
    code = (
        "import sys; import reference_train.synthetic, reference_train.datacheck; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
