"""scaffold, export and diff in Chinese (issue #11): their output and errors have no English
sentence left, the Chinese project's README and comments are Chinese and its own checks pass, the
English project and the machine-read output (files written, --json) are the same in both languages."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize

import jinja2
import pytest
from rich.cells import cell_len

from _cli import run_cli
from test_diff import snapshot, write
from test_i18n import COMMANDS, english_sentences
from test_scaffold import FAKE_REPORT, tiny_sample_data
from envcheck import i18n
from envcheck.commands import common, scaffold
from envcheck.core.errors import UserError

pytest.importorskip("babel")  # the catalog is compiled by the tooling the other i18n tests use

_CJK = re.compile(r"[\u4e00-\u9fff]")
# What these commands print that is never translated.
SCAFFOLD_COMMANDS = COMMANDS + ("pip install -r requirements.txt", "python train.py --epochs 1", "envcheck check-data",
                                "envcheck scaffold", "envcheck export", "envcheck diff", "run scaffold")
VARIABLES = dict(project_name="demo", classes=["cat", "dog"], data_dir="dataset", model_dir="model",
                 outputs_dir="outputs", log_file="outputs/train.log", session="demo", epochs=10, batch_size=32,
                 image_size=64, requirements="torch==2.1.2\nPyYAML>=6.0", envcheck_version="0.0")


@pytest.fixture(autouse=True)
def _reset_language(monkeypatch):
    monkeypatch.delenv("ENVCHECK_LANG", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    i18n.set_language(None)
    yield
    i18n.set_language(None)


@pytest.fixture
def fake_env(monkeypatch):
    monkeypatch.setattr(common, "read_packages", lambda ctx: FAKE_REPORT)
    monkeypatch.setattr(common, "runtime_facts", lambda ctx: {"torch": {}, "nvidia": {}})


def no_english(text: str, *extra: str) -> None:
    assert english_sentences(text, SCAFFOLD_COMMANDS + extra) == [], text


# --- the generated project ----------------------------------------------------------------------


def comments_and_docstrings(name: str, text: str) -> list[str]:
    """The human text of a generated file: Python comments and docstrings, '#' comments of the
    shell/YAML/gitignore files (the shebang left out), the README's prose outside code blocks."""
    if name.endswith(".py"):
        found = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                found.append(ast.get_docstring(node))
        return found
    if name == "README.md":
        return [part for index, part in enumerate(text.split("```")) if index % 2 == 0]
    return [line[line.index("#"):] for line in text.splitlines()
            if "#" in line and not line.startswith("#!") and not line.strip().startswith(("ARGS=", "if ["))]


def test_the_chinese_project_has_chinese_readme_and_comments():
    zh = scaffold.render_template("default", VARIABLES, "zh")
    en = scaffold.render_template("default", VARIABLES, "en")
    assert set(zh) == set(en)
    for name in ("README.md", "train.py", "run.sh", "config.yaml", ".gitignore"):
        texts = comments_and_docstrings(name, zh[name].decode())
        assert texts, name
        for text in texts:
            # Every comment line that has words is Chinese ("#   ./run.sh 1   # GPU 1" has none).
            if re.search(r"[A-Za-z]{3,}", text) and not re.fullmatch(r"#\s*\./run\.sh.*|#\s*", text.strip()):
                assert _CJK.search(text), (name, text)
            no_english(text, "Ctrl-b d", "tmux attach -t", "conda activate YOUR_ENV", "cuda:0", "import torch")
        english = comments_and_docstrings(name, en[name].decode())
        assert all(not _CJK.search(text) for text in english), name
    # Only the human text differs: the code, config values and commands are the same.
    code = {name: [line.split("#")[0].rstrip() for line in zh[name].decode().splitlines()] for name in ("run.sh", "config.yaml")}
    assert code == {name: [line.split("#")[0].rstrip() for line in en[name].decode().splitlines()] for name in code}
    assert ast.dump(_without_docstrings(zh["train.py"])) == ast.dump(_without_docstrings(en["train.py"]))
    assert zh["requirements.txt"] == en["requirements.txt"]


def _without_docstrings(source: bytes):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            node.body = node.body[1:]
    return tree


def test_the_chinese_readme_shows_the_same_commands():
    """The zh README is a whole translation: its code blocks must hold the English one's commands."""
    def commands(text):
        blocks = text.split("```")[1::2]
        return [line.split("#")[0].rstrip() for block in blocks for line in block.splitlines()[1:]
                if not line.startswith((" ", "train.py", "config.yaml", "run.sh", "requirements", "dataset", "model",
                                        "outputs"))]

    zh = scaffold.render_template("default", VARIABLES, "zh")["README.md"].decode()
    en = scaffold.render_template("default", VARIABLES, "en")["README.md"].decode()
    assert commands(zh) == commands(en) and len(commands(en)) > 8


def test_the_english_project_is_the_template_itself():
    """English reads no per-language file: each output is the plain Jinja rendering of the template."""
    root = scaffold._templates_root() / "default"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    rendered = scaffold.render_template("default", VARIABLES, "en")
    for entry in root.iterdir():
        if entry.name.endswith(".j2"):
            expected = env.from_string(entry.read_text(encoding="utf-8")).render(**VARIABLES).encode()
            assert rendered[scaffold._output_name(entry.name)] == expected, entry.name
    assert "_zh" not in scaffold.available_templates()


def test_a_stale_translation_block_is_an_error_not_a_half_translated_file(monkeypatch):
    pairs = scaffold.parse_translations("notes\n== en\n# old comment\n== zh\n# 旧注释\n\n== en\nx = 1  # one\n== zh\nx = 1  # 一\n")
    assert pairs == [("# old comment", "# 旧注释"), ("x = 1  # one", "x = 1  # 一")]
    assert scaffold.translate_source("# old comment\nx = 1  # one\n", pairs) == "# 旧注释\nx = 1  # 一\n"
    with pytest.raises(ValueError, match="no longer in the file"):
        scaffold.translate_source("# new comment\nx = 1  # one\n", pairs)
    with pytest.raises(ValueError, match="found 2 times"):
        scaffold.translate_source("# old comment\n# old comment\nx = 1  # one\n", pairs)
    with pytest.raises(ValueError):
        scaffold.parse_translations("== en\n# a\n== en\n# b\n")
    monkeypatch.setattr(scaffold, "translate_source", lambda source, pairs: (_ for _ in ()).throw(ValueError("stale")))
    i18n.set_language("zh")
    with pytest.raises(UserError, match=r"_zh/default/\S+\.j2\.comments：stale"):
        scaffold.render_template("default", VARIABLES, "zh")


def test_chinese_scaffold_report_and_project(tmp_path, capsys, fake_env):
    code, out, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--lang", "zh"], capsys)
    assert code == 0, err
    assert "已创建" in out and "接下来：" in out and "train.py" in out
    no_english(out, "./run.sh 0", "<class>")
    project = tmp_path / "demo"
    import shutil

    shutil.rmtree(project)
    code, en, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--lang", "en"], capsys)
    # Line for line no wider than the English report (in terminal cells), apart from the paths.
    assert len(out.splitlines()) == len(en.splitlines())
    assert all(cell_len(z) <= max(80, len(e)) for z, e in zip(out.splitlines(), en.splitlines()) if str(tmp_path) not in z)
    run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--force", "--lang", "zh"], capsys)
    assert "目录结构" in (project / "README.md").read_text()
    assert "# 由 envcheck scaffold" in (project / "requirements.txt").read_text()
    subprocess.run(["bash", "-n", str(project / "run.sh")], check=True)
    compile((project / "train.py").read_text(), "train.py", "exec")
    # The dry run and the English run of the same project.
    code, out, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--skip-existing", "--dry-run", "--lang", "zh"],
                             capsys)
    assert code == 0 and "试运行" in out and "内容相同" in out
    no_english(out)
    code, out, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--force", "--lang", "en"], capsys)
    assert code == 0 and "overwritten       README.md" not in out and "  overwritten      README.md" in out
    assert "  identical        model/.gitkeep" in out and "Next:" in out
    assert "## Layout" in (project / "README.md").read_text()


@pytest.mark.parametrize("args", [
    ["a b"], ["../x"], [""], ["p", "--classes", "cat"], ["p", "--classes", "cat,cat"], ["p", "--classes", "a/b,c"],
    ["p", "--force", "--skip-existing"], ["p", "--template", "nope"], ["p", "--dir", " "], ["exists"], ["afile"],
])
def test_chinese_scaffold_errors(tmp_path, capsys, fake_env, args):
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "mine.txt").write_text("x")
    (tmp_path / "afile").write_text("x")
    extra = [] if "--dir" in args else ["--dir", str(tmp_path)]
    code, out, err = run_cli(["scaffold", *args, *extra, "--lang", "zh"], capsys)
    assert code == 2, (out, err)
    assert err.startswith("envcheck: 错误：") and len(err.strip().splitlines()) == 1, err
    no_english(err, "--dir PARENT", "--classes cat,dog")
    code, _out, en = run_cli(["scaffold", *args, *extra, "--lang", "en"], capsys)
    assert en.startswith("envcheck: error:") and english_sentences(en)


def test_a_file_in_the_way_in_chinese(tmp_path, capsys, fake_env):
    project = tmp_path / "p"
    project.mkdir()
    (project / "keep.txt").write_text("x")
    (project / "model").write_text("a file where a folder goes")
    code, _out, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--force", "--lang", "zh"], capsys)
    assert code == 2 and "是一个文件，而项目在这里需要一个目录" in err
    no_english(err)


def test_the_chinese_train_py_explains_bad_data_like_the_english_one(tmp_path, capsys, fake_env):
    pytest.importorskip("torchvision")
    code, _, err = run_cli(["scaffold", "p", "--dir", str(tmp_path), "--lang", "zh"], capsys)
    assert code == 0, err
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path / "p", capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no images in" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_chinese_project_trains_one_epoch(tmp_path, capsys, monkeypatch):
    import yaml

    tiny_sample_data(monkeypatch)
    code, out, err = run_cli(["scaffold", "demo", "--dir", str(tmp_path), "--sample-data", "--lang", "zh"], capsys)
    assert code == 0, err
    assert "dataset/（" in out and "个示例文件" in out
    project = tmp_path / "demo"
    config = yaml.safe_load((project / "config.yaml").read_text())
    config.update(epochs=1, batch_size=8, workers=0)
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "train.py"], cwd=project, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stdout and (project / "model" / "best.pt").is_file()


# --- export --------------------------------------------------------------------------------------


def test_chinese_export_progress_and_result(tmp_path, capsys, fake_env):
    target = tmp_path / "requirements.txt"
    code, out, err = run_cli(["export", "-o", str(target), "--lang", "zh"], capsys)
    assert code == 0, err
    assert "正在列出" in err and "已写入" in err
    no_english(err)
    chinese = target.read_text()
    code, _out, err = run_cli(["export", "-o", str(target), "--force", "--lang", "en"], capsys)
    assert code == 0 and "Wrote" in err
    # The file is the same in both languages (its header comments stay English, see the docs).
    assert target.read_text() == chinese and "# Exported by envcheck" in chinese


@pytest.mark.parametrize("args", [
    ["--format", "pipfile"], ["-o", " "], ["--snapshot-format", "xml", "-f", "snapshot"],
    ["--snapshot-format", "json"], ["--name", "x"], ["-f", "conda", "--name", "a b"],
])
def test_chinese_export_errors(capsys, fake_env, args):
    code, _out, err = run_cli(["export", *args, "--lang", "zh"], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：") and len(err.strip().splitlines()) == 1, err
    no_english(err, "--name catdog", "-f snapshot", "-f conda", "-o requirements.txt")


def test_only_requested_without_marks_in_chinese(capsys, monkeypatch, fake_env):
    report = {**FAKE_REPORT, "distributions": [dict(d, requested=False) for d in FAKE_REPORT["distributions"]]}
    monkeypatch.setattr(common, "read_packages", lambda ctx: report)
    code, _out, err = run_cli(["export", "--only-requested", "--lang", "zh"], capsys)
    assert code == 2 and "--only-requested：" in err and "pip" in err
    no_english(err.splitlines()[-1])


# --- diff ----------------------------------------------------------------------------------------


def test_chinese_diff_report_and_the_same_json(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", snapshot())
    b = write(tmp_path, "b.yaml", snapshot(torch="2.3.1+cu121", cuda="12.1", python="3.11.9", driver=None,
                                           packages={"torch": "2.3.1+cu121", "numpy": "2.0.0", "idna": "3.7"},
                                           env={"CUDA_VISIBLE_DEVICES": "1"}))
    code, out, _ = run_cli(["diff", str(a), str(b), "--lang", "zh"], capsys)
    assert code == 1
    assert "torch 的 CUDA 版本: 11.8 -> 12.1" in out and "不等价：" in out and "（未设置）" in out
    assert "NVIDIA 驱动: 535.104.05 -> 无" in out and "包（" in out
    no_english(out, "A =", "B =")
    assert all(cell_len(line) <= 80 for line in out.splitlines() if str(tmp_path) not in line), out
    code, en, _ = run_cli(["diff", str(a), str(b), "--lang", "en"], capsys)
    assert "torch CUDA build: 11.8 -> 12.1" in en and "Not equivalent:" in en and english_sentences(en)
    json_zh = run_cli(["diff", str(a), str(b), "--json", "--lang", "zh"], capsys)[1]
    json_en = run_cli(["diff", str(a), str(b), "--json", "--lang", "en"], capsys)[1]
    assert json.loads(json_zh) == json.loads(json_en)
    code, out, _ = run_cli(["diff", str(a), str(a), "--lang", "zh"], capsys)
    assert code == 0 and "等价：" in out
    no_english(out)


@pytest.mark.parametrize("content", [None, "", "torch==2.1\n", "{not json", "kind: envcheck-snapshot\nschema_version: '1'\n",
                                     "kind: envcheck-snapshot\nschema_version: 1\npackages: torch\n",
                                     "kind: envcheck-snapshot\nschema_version: 99\n", "folder"])
def test_chinese_diff_errors(tmp_path, capsys, content):
    path = tmp_path / "s.yaml"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    code, _out, err = run_cli(["diff", str(path), str(path), "--lang", "zh"], capsys)
    assert code == 2 and err.startswith("envcheck: 错误：") and len(err.strip().splitlines()) == 1, err
    no_english(re.sub(r"（[^）]*）", "", err))  # the parser's own reason, in brackets, is the json module's English


def test_diff_python_with_b_in_chinese(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", snapshot())
    code, _out, err = run_cli(["diff", str(a), str(a), "--python", sys.executable, "--lang", "zh"], capsys)
    assert code == 2 and "--python 只在" in err
    no_english(err)


# --- --help --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scaffold", "export", "diff"])
def test_help_in_chinese(capsys, command):
    code, out, _ = run_cli([command, "--help", "--lang", "zh"], capsys)
    assert code == 0 and all(cell_len(line) <= 80 for line in out.splitlines()), out
    # click's "Usage:" line and typer's [default: ...]/[required] are not this module's (docs/i18n.md).
    shown = "\n".join(re.sub(r"\[(default|required)[^\]]*\]?", " ", line) for line in out.splitlines()
                      if "Usage:" not in line)
    no_english(shown, "index line")
