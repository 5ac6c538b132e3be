"""envcheck check-data on good and broken ImageFolder trees."""

from __future__ import annotations

import json

import pytest
from _cli import run_cli

pytest.importorskip("PIL")




@pytest.fixture
def good_tree(tmp_path):
    from reference_train.synthetic import write_dataset

    root = tmp_path / "data"
    write_dataset(root, classes=("cat", "dog"), train_per_class=3, val_per_class=2, image_size=16, seed=1)
    return root


def test_good_tree_passes_with_a_count_table(good_tree, capsys):
    code, out, err = run_cli(["check-data", str(good_tree)], capsys)
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ") and len(line.split()) == 3}
    assert rows["cat"] == ["3", "2"] and rows["dog"] == ["3", "2"] and rows["total"] == ["6", "4"]
    assert "OK" in out


def test_broken_tree_lists_problems_and_exits_1(good_tree, capsys):
    (good_tree / "val" / "dog").rename(good_tree / "val" / "dogs")  # class folders differ between splits
    (good_tree / "train" / "cat" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (good_tree / "train" / "rabbit").mkdir()  # empty class
    code, out, _ = run_cli(["check-data", str(good_tree)], capsys)
    assert code == 1
    assert "broken.jpg" in out and "rabbit" in out and "dogs" in out
    assert "Not usable yet" in out

    code, out, _ = run_cli(["check-data", str(good_tree), "--json"], capsys)
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["problems"]
    assert report["counts"]["train"]["rabbit"] == 0
    assert any(entry["path"].endswith("broken.jpg") for entry in report["bad_files"])


def test_no_verify_skips_decoding(good_tree, capsys):
    (good_tree / "train" / "cat" / "broken.jpg").write_bytes(b"not a jpeg at all")
    code, _, _ = run_cli(["check-data", str(good_tree), "--no-verify"], capsys)
    assert code == 0


def test_bad_usage_exits_2(tmp_path, capsys):
    code, _, err = run_cli(["check-data", str(tmp_path / "missing")], capsys)
    assert code == 2 and "no such folder" in err
    (tmp_path / "file.txt").write_text("x")
    code, _, err = run_cli(["check-data", str(tmp_path / "file.txt")], capsys)
    assert code == 2 and "is a file" in err
