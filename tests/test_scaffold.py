"""envcheck scaffold: names, existing folders, dry run, no half-written projects, requirements,
and the generated project training end to end on its sample data."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import yaml

from envcheck.commands import scaffold

from envcheck.commands import common
from _cli import run_cli




def dist(name, version):
    return {"name": name, "version": version, "installer": "pip", "requested": True, "direct_url": None}


FAKE_REPORT = {
    "python": {"version": "3.11.7", "executable": "/env/bin/python"},
    "distributions": [dist("torch", "2.1.2+cu118"), dist("torchvision", "0.16.2+cu118"), dist("PyYAML", "6.0.1")],
}


@pytest.fixture
def fake_env(monkeypatch):
    """The target interpreter's packages, without running pkginfo: a cu118 torch."""

    monkeypatch.setattr(common, "read_packages", lambda ctx: FAKE_REPORT)


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_new_project_layout(tmp_path, capsys, fake_env):
    code, out, err = run_cli(["scaffold", "catdog", "--dir", str(tmp_path), "--classes", "cat,dog,bird"], capsys)
    assert code == 0, err
    project = tmp_path / "catdog"
    for split in ("train", "val"):
        for c in ("cat", "dog", "bird"):
            assert (project / "dataset" / split / c / ".gitkeep").is_file()
    for name in ("train.py", "config.yaml", "run.sh", "README.md", "requirements.txt", ".gitignore",
                 "model/.gitkeep", "outputs/.gitkeep"):
        assert (project / name).is_file(), name
    assert os.stat(project / "run.sh").st_mode & stat.S_IXUSR
    ignored = (project / ".gitignore").read_text().splitlines()
    assert {"dataset/", "model/", "outputs/"} <= set(ignored)
    config = yaml.safe_load((project / "config.yaml").read_text())
    assert config["seed"] == 0 and config["data_dir"] == "dataset" and config["epochs"] > 0
    requirements = (project / "requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cu118" in requirements
    assert "torch==2.1.2+cu118" in requirements and "torchvision==0.16.2+cu118" in requirements
    assert "PyYAML==6.0.1" in requirements
    run_sh = (project / "run.sh").read_text()
    assert "tmux new -d -s" in run_sh and "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=$GPU" in run_sh
    assert "tee -a outputs/train.log" in run_sh
    assert 'GPU="${1:-0}"' in run_sh
    # The generated script stands alone.
    assert "envcheck" not in (project / "train.py").read_text().split('"""', 2)[2]
    assert "created" in out and "train.py" in out
    # No staging folder left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catdog"]
    subprocess.run(["bash", "-n", str(project / "run.sh")], check=True)


@pytest.mark.parametrize("name", ["../x", "/abs", "", "a/b", ".", "..", ".hidden", "a b"])
def test_invalid_names_are_refused(tmp_path, capsys, fake_env, name):
    code, out, err = run_cli(["scaffold", name, "--dir", str(tmp_path)], capsys)
    assert code == 2, (out, err)
    assert err.startswith("envcheck: error:") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bad_classes_and_template(tmp_path, capsys, fake_env):
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--classes", "cat"], capsys)
    assert code == 2 and "at least two classes" in err
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--classes", "cat,../dog"], capsys)
    assert code == 2
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--template", "nope"], capsys)
    assert code == 2 and "available: default" in err
    assert list(tmp_path.iterdir()) == []


def test_existing_non_empty_folder_is_refused(tmp_path, capsys, fake_env):
    project = tmp_path / "p"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path)], capsys)
    assert code == 2 and "--skip-existing" in err and "--force" in err
    assert files_under(project) == ["notes.txt"]


def test_empty_existing_folder_is_used(tmp_path, capsys, fake_env):
    (tmp_path / "p").mkdir()
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path)], capsys)
    assert code == 0, err
    assert (tmp_path / "p" / "train.py").is_file()


def test_skip_existing_and_force(tmp_path, capsys, fake_env):
    project = tmp_path / "p"
    project.mkdir()
    (project / "train.py").write_text("# my own training script\n")
    (project / "notes.txt").write_text("mine")

    code, out, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--skip-existing"], capsys)
    assert code == 0, err
    assert (project / "train.py").read_text() == "# my own training script\n"
    assert (project / "config.yaml").is_file()
    assert any(line.split() == ["skipped", "train.py"] for line in out.splitlines())
    assert any(line.split() == ["created", "config.yaml"] for line in out.splitlines())

    code, out, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--force"], capsys)
    assert code == 0, err
    assert "my own" not in (project / "train.py").read_text()
    assert any(line.split() == ["overwritten", "train.py"] for line in out.splitlines())
    assert any(line.split() == ["identical", "config.yaml"] for line in out.splitlines())
    assert (project / "notes.txt").read_text() == "mine"  # files the template does not make are never touched

    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--force", "--skip-existing"], capsys)
    assert code == 2 and "choose one" in err


def test_dry_run_writes_nothing(tmp_path, capsys, fake_env):
    code, out, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--dry-run", "--sample-data"], capsys)
    assert code == 0, err
    assert list(tmp_path.iterdir()) == []
    assert "would create" in out and "train.py" in out and "sample images" in out

    project = tmp_path / "q"
    project.mkdir()
    (project / "train.py").write_text("old\n")
    code, out, err = run_cli(["scaffold", "q", "--dir", str(tmp_path), "--dry-run", "--force"], capsys)
    assert code == 0, err
    assert any(line.split() == ["would", "overwrite", "train.py"] for line in out.splitlines())
    assert files_under(project) == ["train.py"] and (project / "train.py").read_text() == "old\n"


def test_failure_midway_leaves_nothing(tmp_path, capsys, fake_env, monkeypatch):
    def broken_sample_data(staging, classes):
        (staging / "dataset" / "train").mkdir(parents=True, exist_ok=True)
        raise OSError("disk full")

    monkeypatch.setattr(scaffold, "_write_sample_data", broken_sample_data)
    # The injected failure, not any OSError: one raised before the staging folder exists would leave
    # nothing behind either, without the clean-up this test is about ever running.
    with pytest.raises(OSError, match="disk full"):
        scaffold.write_project(tmp_path / "p", scaffold.plan_files("p", ["cat", "dog"], "default", "torch", True),
                               ["cat", "dog"], True, "new")
    assert list(tmp_path.iterdir()) == []


def test_requirements_when_torch_is_missing_or_alone():
    no_torch = scaffold.scaffold_requirements({"python": {}, "distributions": []}, None)
    lines = no_torch.splitlines()
    pins = [line for line in lines if line.startswith(("torch==", "torchvision=="))]
    assert len(pins) == 2 and all(line.endswith(".*") for line in pins)
    assert any("not installed" in line for line in lines if line.startswith("#"))
    assert "PyYAML>=6.0" in lines

    only_torch = scaffold.scaffold_requirements({"python": {}, "distributions": [dist("torch", "2.1.2+cpu")]}, None)
    lines = only_torch.splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert "torch==2.1.2+cpu" in lines and "torchvision==0.16.2" in lines


def test_templates_are_listed_from_the_package():
    assert "default" in scaffold.available_templates()
    files = scaffold.render_template("default", {
        "project_name": "x", "classes": ["a", "b"], "data_dir": "dataset", "model_dir": "model", "outputs_dir": "outputs",
        "log_file": "outputs/train.log", "session": "x", "epochs": 1, "batch_size": 2, "image_size": 32,
        "requirements": "torch", "envcheck_version": "0",
    })
    assert {"train.py", "config.yaml", "run.sh", ".gitignore", "README.md", "requirements.txt"} <= set(files)
    # StrictUndefined: a missing variable is an error, not silently empty text.
    from envcheck.core.errors import UserError

    with pytest.raises(UserError):
        scaffold.render_template("default", {"project_name": "x"})


def tiny_sample_data(monkeypatch) -> None:
    """--sample-data of 8 images per class at 32 px, so a generated project trains in seconds on a
    CPU (skips where torchvision or Pillow is missing)."""
    pytest.importorskip("torchvision")
    pytest.importorskip("PIL")
    monkeypatch.setattr(scaffold, "SAMPLE_TRAIN_PER_CLASS", 8)
    monkeypatch.setattr(scaffold, "SAMPLE_VAL_PER_CLASS", 4)
    monkeypatch.setattr(scaffold, "SAMPLE_IMAGE_SIZE", 32)


@pytest.mark.slow
def test_generated_project_trains_end_to_end_and_resumes(tmp_path, capsys, monkeypatch):
    """The real thing: scaffold with sample data, train one epoch on the CPU, resume to a second."""
    tiny_sample_data(monkeypatch)
    code, out, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--sample-data"], capsys)
    assert code == 0, err
    project = tmp_path / "demo"
    assert len(list((project / "dataset" / "train" / "cat").glob("*.jpg"))) == 8
    config_path = project / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    assert config["image_size"] == 32
    config.update(epochs=1, batch_size=8, workers=0)
    config_path.write_text(yaml.safe_dump(config))

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    first = subprocess.run([sys.executable, "train.py"], cwd=project, capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    assert "epoch 1/1" in first.stdout and "training on the CPU" in first.stdout

    import torch

    checkpoint = torch.load(project / "model" / "last.pt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["classes"] == ["cat", "dog"]
    assert {"model", "optimizer", "scheduler", "best_acc", "config"} <= set(checkpoint)
    best = torch.load(project / "model" / "best.pt", map_location="cpu", weights_only=True)
    assert set(best) == set(checkpoint["model"])
    assert not list((project / "model").glob("*.tmp"))

    second = subprocess.run([sys.executable, "train.py", "--resume", "--epochs", "2"], cwd=project,
                            capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == 0, second.stderr
    assert "resumed from" in second.stdout and "epoch 2/2" in second.stdout and "epoch 1/" not in second.stdout
    resumed = torch.load(project / "model" / "last.pt", map_location="cpu", weights_only=True)
    assert resumed["epoch"] == 2
    # Training went on from the checkpoint: the weights moved.
    assert any(not torch.equal(resumed["model"][k], checkpoint["model"][k]) for k in checkpoint["model"] if k.endswith("weight"))


def test_generated_train_py_explains_bad_data(tmp_path, capsys, fake_env):
    pytest.importorskip("torchvision")
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path)], capsys)
    assert code == 0, err
    # Fresh layout: class folders exist but hold no images yet.
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path / "p", capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no images in" in result.stderr and "Traceback" not in result.stderr
