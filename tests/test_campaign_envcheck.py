"""Hostile-input campaign for the envcheck commands (issue #8): 301 cases, one named test each.

Per command: doctor 26, export 43, diff 74, scaffold 53, check-data 51, smoke-train 54 (COUNTS;
test_case_counts_match_the_docstring keeps these numbers true). 42 of them are unusual but valid
inputs (paths with spaces or unicode, a byte order mark, symlinks, --force over a link...) that must
succeed. 0 are strict xfails (each would say why). The campaign for `python -m reference_train` and the generated project's train.py is in
test_campaign_train.py.

Every case runs `envcheck ARGS` in-process (tests/_cli.py) in a fresh temporary folder and asserts:

* no Python traceback on stdout or stderr;
* the exit status the command documents: 2 for bad input or usage (`diff` uses 1 only for "they
  differ"), 1 for check-data's "data set has problems" report, 0 (or diff's 1) for valid input;
* a refusal is exactly one line on stderr, `envcheck: error: ...`, containing a phrase that only the
  right message has (typer's own usage errors are a framed box: there the phrase must be inside it);
* no file in the folder is created, changed or removed by a refusal (every file is hashed before and
  after); a valid case may only create files and change the ones it names;
* refusals come before the slow work: package listing, fact collection (the torch probe),
  smoke-train's phases and data drawing are replaced by stand-ins that fail the case if called.
  Valid cases get canned packages and facts instead, so the whole table runs in seconds.

Unreadable files and folders are simulated (root reads everything): listing or opening the chosen
path raises PermissionError, as it does for a folder or file without read permission.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from envcheck.core import runner
from envcheck.commands import smoke_train
from envcheck.commands import common
from envcheck.core.model import Facts
from envcheck.export.snapshot import build_snapshot, dump_snapshot
from _cli import run_cli

# Cases per command; the docstring above and test_case_counts_match_the_docstring keep them honest.
COUNTS: dict[str, int] = {}


# --- canned environment for valid cases ---------------------------------------------------------


def _dist(name: str, version: str, requested: bool = True) -> dict:
    return {"name": name, "version": version, "installer": "pip", "requested": requested, "direct_url": None}


FAKE_REPORT = {
    "python": {"version": "3.11.7", "implementation": "CPython", "executable": "/env/bin/python", "is_venv": True,
               "prefix": "/env", "platform": "linux", "machine": "x86_64"},
    "conda": None,
    "distributions": [_dist("torch", "2.14.1"), _dist("numpy", "2.1.0"), _dist("PyYAML", "6.0.1"),
                      _dist("pip", "24.0", requested=False)],
}
FAKE_FACTS = {
    "torch": {"version": "2.14.1+cu130", "cuda": "13.0", "cudnn": 92400},
    "nvidia": {"driver_version": "590.48.01", "cuda_driver_version": "13.1",
               "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-0000"}]},
    "env": {"vars": {"CUDA_VISIBLE_DEVICES": "0"}},
    "python": {"target": {"version": "3.11.7"}},
}
FAKE_GPUS = [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-00000000-0000-0000-0000-000000000000"}]


def _facts(names=None) -> Facts:
    return Facts.of(**{k: json.loads(json.dumps(v)) for k, v in FAKE_FACTS.items() if names is None or k in names})


def snapshot_document(**changes) -> dict:
    """A snapshot as `envcheck export -f snapshot` writes it, with top-level keys replaced."""
    facts = _facts().to_dict()
    document = build_snapshot(FAKE_REPORT, facts, [], "/env/bin/python", created_at="2026-01-01T00:00:00+00:00")
    document.update(changes)
    return document


def _set(document: dict, dotted: str, value) -> dict:
    """document with the value at a dotted path ('facts.nvidia.data.gpus') replaced."""
    keys = dotted.split(".")
    node = document
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return document


# --- the lab: what a case's setup may do in its folder -------------------------------------------


def _png(size: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
# A PNG header that claims 100000 x 100000 pixels: Pillow must refuse it, not try to allocate 30 GB.
BOMB_PNG = PNG[:16] + (100000).to_bytes(4, "big") + (100000).to_bytes(4, "big") + PNG[24:]


class Lab:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root = root
        self.monkeypatch = monkeypatch
        self.denied: list[str] = []

    def path(self, rel: str) -> Path:
        return self.root / rel.replace("{t}", str(self.root))

    def write(self, rel: str, content, mode: int | None = None) -> None:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        if mode is not None:
            os.chmod(path, mode)

    def mkdir(self, rel: str) -> None:
        self.path(rel).mkdir(parents=True, exist_ok=True)

    def symlink(self, rel: str, target: str) -> None:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target.replace("{t}", str(self.root)), path)

    def deny(self, rel: str) -> None:
        """Listing or opening this path fails with EACCES, as for a folder or file without read permission."""
        self.denied.append(os.path.abspath(self.path(rel)))
        if len(self.denied) > 1:
            return
        real_open, real_scandir, real_listdir = io.open, os.scandir, os.listdir

        def blocked(target) -> bool:
            if isinstance(target, int):
                return False
            return os.path.abspath(os.fsdecode(target)) in self.denied

        def refuse(target):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(target))

        def guarded_open(file, *args, **kwargs):
            if blocked(file):
                refuse(file)
            return real_open(file, *args, **kwargs)

        def guarded_scandir(path="."):
            if blocked(path):
                refuse(path)
            return real_scandir(path)

        def guarded_listdir(path="."):
            if blocked(path):
                refuse(path)
            return real_listdir(path)

        self.monkeypatch.setattr(io, "open", guarded_open)
        self.monkeypatch.setattr(builtins, "open", guarded_open)
        self.monkeypatch.setattr(os, "scandir", guarded_scandir)
        self.monkeypatch.setattr(os, "listdir", guarded_listdir)

    def deny_write(self, rel: str) -> None:
        """os.access says this folder is not writable (root may write anywhere, so it is simulated)."""
        locked = str(self.path(rel))
        real_access = os.access
        self.monkeypatch.setattr(
            os, "access", lambda p, mode, **kw: False if str(p) == locked and mode & os.W_OK else real_access(p, mode, **kw)
        )


# Setup steps: each returns a function of the Lab.

def W(rel, content="x\n", mode=None):
    return lambda lab: lab.write(rel, content, mode)


def D(rel):
    return lambda lab: lab.mkdir(rel)


def L(rel, target):
    return lambda lab: lab.symlink(rel, target)


def DENY(rel):
    return lambda lab: lab.deny(rel)


def NOWRITE(rel):
    return lambda lab: lab.deny_write(rel)


def SNAP(rel="good.yaml", fmt="yaml", edits=(), **changes):
    """A snapshot file; edits are (dotted path, value) pairs applied after the top-level changes."""
    def make(lab):
        document = snapshot_document(**changes)
        for dotted, value in edits:
            _set(document, dotted, value)
        lab.write(rel, dump_snapshot(document, fmt))
    return make


def TREE(rel="data", layout=None, image=PNG, name="{i}.png"):
    """An ImageFolder tree: {split: {class: number of images}}."""
    layout = layout if layout is not None else {"train": {"cat": 2, "dog": 2}, "val": {"cat": 1, "dog": 1}}

    def make(lab):
        for split, classes in layout.items():
            lab.mkdir(f"{rel}/{split}")
            for class_name, count in classes.items():
                lab.mkdir(f"{rel}/{split}/{class_name}")
                for i in range(count):
                    lab.write(f"{rel}/{split}/{class_name}/{name.format(i=i)}", image)
    return make


def PATCH(target, attribute, value):
    return lambda lab: lab.monkeypatch.setattr(target, attribute, value)


# --- cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple
    expect: str  # a phrase only the right message (or, for a valid case, the right output) contains
    code: int = 2
    kind: str = "error"  # error | usage | report | ok
    setup: tuple = ()
    fakes: bool = False  # canned packages and facts instead of the stand-ins that fail on slow work
    absent: str | None = None  # a phrase the output must not contain
    changes: tuple = ()  # files a valid case may change (relative to the case folder)
    verify: Callable | None = None  # more checks of a valid case: verify(root, out, err)
    xfail: str | None = None


CASES: list[Case] = []


def case(command: str, id: str, args, expect: str, **kw) -> None:
    setup = kw.pop("setup", ())
    if callable(setup):
        setup = (setup,)
    kind = kw.get("kind", "error")
    if kind == "ok":
        kw.setdefault("fakes", True)
        kw.setdefault("code", 0)
    if kind == "report":
        kw.setdefault("code", 1)
        kw.setdefault("fakes", True)
    CASES.append(Case(f"{command}-{id}", (command, *args), expect, setup=tuple(setup), **kw))
    COUNTS[command] = COUNTS.get(command, 0) + 1


# ---- doctor

case("doctor", "python-missing", ["--python", "{t}/nope/bin/python"], "no such file")
case("doctor", "python-folder-without-interpreter", ["--python", "{t}/env"], "that folder has no bin/python", setup=D("env"))
case("doctor", "python-not-on-path", ["--python", "no-such-python-3.99"], "no such command on PATH")
case("doctor", "python-not-executable", ["--python", "{t}/py"], "that file is not executable", setup=W("py", "#!/bin/sh\n", 0o644))
case("doctor", "python-empty", ["--python", ""], "--python is empty")
case("doctor", "python-blank", ["--python", "   "], "--python is empty")
case("doctor", "python-dangling-symlink", ["--python", "{t}/py"], "broken symbolic link", setup=L("py", "{t}/gone/python"))
case("doctor", "python-symlink-loop", ["--python", "{t}/py"], "broken symbolic link", setup=L("py", "{t}/py"))
case("doctor", "python-is-a-text-file-in-a-folder-path", ["--python", "{t}/notes.txt/python"], "no such file",
     setup=W("notes.txt"))
case("doctor", "only-unknown", ["--only", "nosuch"], "--only nosuch matches no area or check")
case("doctor", "only-unknown-beside-a-known-area", ["--only", "torch,nosuch"], "--only nosuch matches no area or check")
case("doctor", "only-empty", ["--only", ""], "--only is empty")
case("doctor", "only-commas", ["--only", ",,"], "--only is empty")
case("doctor", "json-and-markdown", ["--json", "--markdown"], "choose one of --json and --markdown")
case("doctor", "probe-timeout-zero", ["--probe-timeout", "0"], "--probe-timeout 0: give the torch probe at least 1 second")
case("doctor", "probe-timeout-negative", ["--probe-timeout", "-5"], "--probe-timeout -5: give the torch probe at least 1")
case("doctor", "probe-timeout-nan", ["--probe-timeout", "nan"], "--probe-timeout nan: give the seconds")
case("doctor", "probe-timeout-inf", ["--probe-timeout", "inf"], "--probe-timeout inf")
case("doctor", "probe-timeout-text", ["--probe-timeout", "soon"], "'--probe-timeout'", kind="usage")
case("doctor", "unknown-option", ["--bogus"], "No such option: --bogus", kind="usage")
case("doctor", "extra-argument", ["extra"], "unexpected extra argument", kind="usage")
case("doctor", "python-path-with-spaces-and-unicode", ["--python", "{t}/my env ü/bin/pythön"], "my env ü/bin/pythön",
     kind="ok", setup=L("my env ü/bin/pythön", sys.executable))
case("doctor", "python-environment-folder", ["--python", "{t}/my env"], "my env/bin/python", kind="ok",
     setup=L("my env/bin/python", sys.executable))
case("doctor", "only-with-spaces-around-names", ["--only", " torch , driver "], "envcheck doctor", kind="ok")
case("doctor", "list-checks", ["--list-checks"], "torch", kind="ok")

# ---- export

case("export", "output-empty", ["-o", ""], "-o is empty")
case("export", "output-blank", ["-o", "   "], "-o is empty")
case("export", "output-is-a-folder", ["-o", "{t}/out"], "is a folder; give a file name", setup=D("out"))
case("export", "output-folder-with-force", ["-o", "{t}/out", "--force"], "is a folder; give a file name", setup=D("out"))
case("export", "output-parent-missing", ["-o", "{t}/missing/reqs.txt"], "does not exist")
case("export", "output-parent-is-a-file", ["-o", "{t}/afile/reqs.txt"], "is a file, not a folder", setup=W("afile"))
case("export", "output-exists", ["-o", "{t}/requirements.txt"], "already exists; pass --force", setup=W("requirements.txt", "keep\n"))
case("export", "output-is-a-symlink", ["-o", "{t}/link.txt"], "already exists; pass --force",
     setup=(W("real.txt", "keep\n"), L("link.txt", "{t}/real.txt")))
case("export", "output-is-a-dangling-symlink", ["-o", "{t}/link.txt"], "already exists; pass --force",
     setup=L("link.txt", "{t}/nowhere.txt"))
case("export", "output-folder-not-writable", ["-o", "{t}/locked/reqs.txt"], "permission denied",
     setup=(D("locked"), NOWRITE("locked")))
case("export", "output-where-no-file-can-be-created", ["-o", "/proc/envcheck-reqs.txt"], "cannot create files in /proc")
case("export", "output-name-too-long", ["-o", "{t}/" + "r" * 300 + ".txt"], "304 bytes long, more than the 255")
case("export", "output-folder-name-too-long", ["-o", "{t}/" + "d" * 300 + "/reqs.txt"], "300 bytes long, more than the 255")
# The atomic write would put a regular file where the device was (as root: a new /dev/null).
case("export", "output-a-device", ["-o", "/dev/null"], "-o /dev/null is not a regular file")
case("export", "output-inside-a-symlink-loop", ["-o", "{t}/loop/reqs.txt"], "does not exist", setup=L("loop", "{t}/loop"))
case("export", "snapshot-output-exists", ["-f", "snapshot", "-o", "{t}/s.yaml"], "already exists", setup=W("s.yaml", "keep\n"))
case("export", "snapshot-output-is-a-folder", ["-f", "snapshot", "-o", "{t}/s"], "is a folder", setup=D("s"))
case("export", "format-unknown", ["-f", "pipfile"], "choose one of requirements, conda, snapshot")
case("export", "format-empty", ["-f", ""], "choose one of requirements, conda, snapshot")
case("export", "format-wrong-case", ["-f", "SNAPSHOT"], "choose one of requirements, conda, snapshot")
case("export", "snapshot-format-unknown", ["-f", "snapshot", "--snapshot-format", "xml"], "choose yaml or json")
case("export", "snapshot-format-without-snapshot", ["--snapshot-format", "json"], "applies only to -f snapshot")
case("export", "name-without-conda", ["--name", "demo"], "use it with -f conda")
case("export", "conda-name-empty", ["-f", "conda", "--name", ""], "not a valid conda environment name")
case("export", "conda-name-with-slash", ["-f", "conda", "--name", "a/b"], "not a valid conda environment name")
case("export", "conda-name-with-space", ["-f", "conda", "--name", "has space"], "not a valid conda environment name")
case("export", "conda-name-with-colon", ["-f", "conda", "--name", "x:y"], "not a valid conda environment name")
case("export", "conda-name-with-hash", ["-f", "conda", "--name", "#x"], "not a valid conda environment name")
case("export", "python-missing", ["--python", "{t}/nope/python"], "no such file")
case("export", "python-empty", ["--python", ""], "--python is empty")
case("export", "python-folder-without-interpreter", ["--python", "{t}"], "that folder has no bin/python")
case("export", "python-not-executable", ["--python", "{t}/py"], "not executable", setup=W("py", "#!/bin/sh\n", 0o644))
case("export", "unknown-option", ["--bogus"], "No such option: --bogus", kind="usage")
case("export", "only-requested-finds-nothing", ["--only-requested"], "--only-requested: no installed package records",
     fakes=True, setup=PATCH(common, "read_packages", lambda ctx: {**FAKE_REPORT, "distributions": [
         _dist("numpy", "2.1.0", requested=False)]}))
case("export", "to-a-path-with-spaces-and-unicode", ["-o", "{t}/dir with space/ünï codé.txt"], "Wrote",
     kind="ok", setup=D("dir with space"),
     verify=lambda root, out, err: "numpy==2.1.0" in (root / "dir with space" / "ünï codé.txt").read_text())
case("export", "snapshot-to-json", ["-f", "snapshot", "-o", "{t}/snap shot.json"], "Wrote", kind="ok",
     verify=lambda root, out, err: json.loads((root / "snap shot.json").read_text())["kind"] == "envcheck-snapshot")
case("export", "snapshot-json-to-a-yaml-name", ["-f", "snapshot", "--snapshot-format", "json", "-o", "{t}/s.yaml"], "Wrote",
     kind="ok", verify=lambda root, out, err: (root / "s.yaml").read_text().startswith("{"))
case("export", "conda-with-dotted-name", ["-f", "conda", "--name", "my-env_1.0", "-o", "{t}/environment.yml"], "Wrote",
     kind="ok", verify=lambda root, out, err: yaml.safe_load((root / "environment.yml").read_text())["name"] == "my-env_1.0")
case("export", "force-replaces-a-file", ["-o", "{t}/requirements.txt", "--force"], "Wrote", kind="ok",
     setup=W("requirements.txt", "old\n"), changes=("requirements.txt",),
     verify=lambda root, out, err: "numpy==2.1.0" in (root / "requirements.txt").read_text())
case("export", "force-replaces-a-symlink-not-its-target", ["-o", "{t}/link.txt", "--force"], "Wrote", kind="ok",
     setup=(W("outside.txt", "not yours\n"), L("link.txt", "{t}/outside.txt")), changes=("link.txt",),
     verify=lambda root, out, err: not (root / "link.txt").is_symlink() and (root / "outside.txt").read_text() == "not yours\n")
case("export", "relative-output-in-the-current-folder", ["-o", "reqs.txt"], "Wrote", kind="ok",
     verify=lambda root, out, err: (root / "reqs.txt").is_file())
case("export", "to-stdout", [], "numpy==2.1.0", kind="ok",
     verify=lambda root, out, err: "collecting" not in out.lower() and out.startswith("# Exported by envcheck"))
case("export", "python-with-spaces-and-unicode", ["--python", "{t}/my env ü/bin/pythön"], "numpy==2.1.0", kind="ok",
     setup=L("my env ü/bin/pythön", sys.executable))

# ---- diff

GOOD = "{t}/good.yaml"
case("diff", "a-missing", ["{t}/nope.yaml", GOOD], "no such snapshot file", setup=SNAP())
case("diff", "b-missing", [GOOD, "{t}/nope.yaml"], "no such snapshot file", setup=SNAP())
case("diff", "a-is-a-folder", ["{t}/snaps", GOOD], "is a folder; give a snapshot file", setup=(SNAP(), D("snaps")))
case("diff", "a-empty", ["{t}/empty.yaml", GOOD], "is empty", setup=(SNAP(), W("empty.yaml", "")))
case("diff", "a-only-whitespace", ["{t}/blank.yaml", GOOD], "is empty", setup=(SNAP(), W("blank.yaml", "\n   \n\t\n")))
case("diff", "a-only-a-comment", ["{t}/c.yaml", GOOD], "is empty", setup=(SNAP(), W("c.yaml", "# nothing here\n")))
case("diff", "a-dev-null", ["/dev/null", GOOD], "is empty", setup=SNAP())
case("diff", "a-binary-junk", ["{t}/junk.bin", GOOD], "is not a text file", setup=(SNAP(), W("junk.bin", bytes(range(256)) * 4)))
case("diff", "a-gzip-file", ["{t}/s.yaml.gz", GOOD], "is not a text file",
     setup=(SNAP(), W("s.yaml.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00")))
case("diff", "a-nul-bytes", ["{t}/nul.yaml", GOOD], "not valid YAML or JSON", setup=(SNAP(), W("nul.yaml", "kind: x\x00\x00\n")))
case("diff", "a-unreadable", ["{t}/secret.yaml", GOOD], "Permission denied",
     setup=(SNAP(), SNAP("secret.yaml"), DENY("secret.yaml")))
case("diff", "a-symlink-loop", ["{t}/loop.yaml", GOOD], "cannot read it", setup=(SNAP(), L("loop.yaml", "{t}/loop.yaml")))
case("diff", "a-dangling-symlink", ["{t}/gone.yaml", GOOD], "no such snapshot file",
     setup=(SNAP(), L("gone.yaml", "{t}/removed.yaml")))
case("diff", "a-json-list", ["{t}/l.json", GOOD], "not an envcheck snapshot", setup=(SNAP(), W("l.json", "[1, 2]\n")))
case("diff", "a-json-string", ["{t}/s.json", GOOD], "not an envcheck snapshot", setup=(SNAP(), W("s.json", '"snapshot"\n')))
case("diff", "a-json-number", ["{t}/n.json", GOOD], "not an envcheck snapshot", setup=(SNAP(), W("n.json", "42\n")))
case("diff", "a-mapping-without-kind", ["{t}/m.yaml", GOOD], "not an envcheck snapshot",
     setup=(SNAP(), W("m.yaml", "schema_version: 1\npackages: {}\n")))
case("diff", "a-wrong-kind", ["{t}/r.json", GOOD], "not an envcheck snapshot",
     setup=(SNAP(), W("r.json", json.dumps({"kind": "envcheck-report", "schema_version": 1}))))
case("diff", "a-requirements-file", ["{t}/requirements.txt", GOOD], "not an envcheck snapshot",
     setup=(SNAP(), W("requirements.txt", "# pinned\ntorch==2.14.1\nnumpy==2.1.0\n")))
case("diff", "a-requirements-file-with-index-line", ["{t}/requirements.txt", GOOD], "it holds plain text",
     setup=(SNAP(), W("requirements.txt", "--extra-index-url https://download.pytorch.org/whl/cu130\n"
                                             "torch==2.14.1+cu130\n- x\n")))
case("diff", "a-conda-environment-file", ["{t}/environment.yml", GOOD], "not an envcheck snapshot",
     setup=(SNAP(), W("environment.yml", "name: demo\nchannels: [conda-forge]\ndependencies: [python=3.11]\n")))
case("diff", "a-invalid-yaml", ["{t}/bad.yaml", GOOD], "not valid YAML or JSON", setup=(SNAP(), W("bad.yaml", "kind: [unclosed\n")))
case("diff", "a-yaml-with-tabs", ["{t}/tab.yaml", GOOD], "not valid YAML or JSON",
     setup=(SNAP(), W("tab.yaml", "kind: envcheck-snapshot\n\tschema_version: 1\n")))
case("diff", "a-invalid-json", ["{t}/bad.json", GOOD], "not valid YAML or JSON",
     setup=(SNAP(), W("bad.json", '{"kind": "envcheck-snapshot", "schema_version": 1,}\n')))
case("diff", "a-truncated-json", ["{t}/cut.json", GOOD], "not valid YAML or JSON",
     setup=(SNAP(), lambda lab: lab.write("cut.json", dump_snapshot(snapshot_document(), "json")[:200])))
case("diff", "a-yaml-python-tag", ["{t}/evil.yaml", GOOD], "not valid YAML or JSON",
     setup=(SNAP(), W("evil.yaml", "kind: !!python/object/apply:os.system ['touch {t}/pwned']\n")))
case("diff", "a-several-yaml-documents", ["{t}/two.yaml", GOOD], "not valid YAML or JSON",
     setup=(SNAP(), W("two.yaml", "kind: envcheck-snapshot\n---\nkind: envcheck-snapshot\n")))
case("diff", "a-json-nested-too-deeply", ["{t}/deep.json", GOOD], "nested too deeply",
     setup=(SNAP(), W("deep.json", '{"kind": ' + "[" * 100000 + "]" * 100000 + "}")))
case("diff", "a-yaml-nested-too-deeply", ["{t}/deep.yaml", GOOD], "nested too deeply",
     setup=(SNAP(), W("deep.yaml", "kind: " + "[" * 100000 + "]" * 100000 + "\n")))
case("diff", "a-yaml-alias-bomb", ["{t}/bomb.yaml", GOOD], "more than 1,000,000 values once its YAML aliases are expanded",
     setup=(SNAP(), lambda lab: lab.write("bomb.yaml", "".join(
         [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}" if i else "x"] * 9) + "]\n" for i in range(10)])
         + dump_snapshot(snapshot_document(), "yaml").replace("      vars:\n", "      vars:\n        LD_PRELOAD: *l9\n", 1))))
case("diff", "schema-version-as-a-string", ["{t}/v.yaml", GOOD], "schema_version is '1'", absent="upgrade envcheck",
     setup=(SNAP(), SNAP("v.yaml", schema_version="1")))
case("diff", "schema-version-999-as-a-string", ["{t}/v.yaml", GOOD], "schema_version is '999'", absent="upgrade envcheck",
     setup=(SNAP(), SNAP("v.yaml", schema_version="999")))
case("diff", "schema-version-from-the-future", ["{t}/v.yaml", GOOD], "upgrade envcheck", setup=(SNAP(), SNAP("v.yaml", schema_version=999)))
case("diff", "schema-version-huge", ["{t}/v.yaml", GOOD], "upgrade envcheck", setup=(SNAP(), SNAP("v.yaml", schema_version=10**30)))
case("diff", "schema-version-zero", ["{t}/v.yaml", GOOD], "schema_version is 0", absent="upgrade envcheck",
     setup=(SNAP(), SNAP("v.yaml", schema_version=0)))
case("diff", "schema-version-negative", ["{t}/v.yaml", GOOD], "schema_version is -1", absent="upgrade envcheck",
     setup=(SNAP(), SNAP("v.yaml", schema_version=-1)))
case("diff", "schema-version-float", ["{t}/v.yaml", GOOD], "schema_version is 1.0", setup=(SNAP(), SNAP("v.yaml", schema_version=1.0)))
case("diff", "schema-version-null", ["{t}/v.yaml", GOOD], "schema_version is None", setup=(SNAP(), SNAP("v.yaml", schema_version=None)))
case("diff", "schema-version-true", ["{t}/v.yaml", GOOD], "schema_version is True", setup=(SNAP(), SNAP("v.yaml", schema_version=True)))
case("diff", "schema-version-missing", ["{t}/v.yaml", GOOD], "schema_version is None",
     setup=(SNAP(), W("v.yaml", "kind: envcheck-snapshot\npackages: {}\n")))
case("diff", "packages-a-string", ["{t}/p.yaml", GOOD], "'packages' is a str, not a mapping",
     setup=(SNAP(), SNAP("p.yaml", packages="torch==2.1")))
case("diff", "packages-a-list", ["{t}/p.yaml", GOOD], "'packages' is a list, not a mapping",
     setup=(SNAP(), SNAP("p.yaml", packages=["torch==2.1"])))
case("diff", "packages-a-number", ["{t}/p.yaml", GOOD], "'packages' is a int, not a mapping",
     setup=(SNAP(), SNAP("p.yaml", packages=3)))
case("diff", "package-entry-a-list", ["{t}/p.yaml", GOOD], "'packages.numpy' is a list",
     setup=(SNAP(), SNAP("p.yaml", edits=[("packages.numpy", ["2.1.0"])])))
case("diff", "facts-a-list", ["{t}/f.yaml", GOOD], "'facts' is a list, not a mapping", setup=(SNAP(), SNAP("f.yaml", facts=["torch"])))
case("diff", "facts-a-string", ["{t}/f.yaml", GOOD], "'facts' is a str, not a mapping", setup=(SNAP(), SNAP("f.yaml", facts="torch")))
case("diff", "python-a-float", ["{t}/f.yaml", GOOD], "'python' is a float, not a mapping", setup=(SNAP(), SNAP("f.yaml", python=3.11)))
case("diff", "fact-a-string", ["{t}/f.yaml", GOOD], "'facts.torch' is a str, not a mapping",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.torch", "ok")])))
case("diff", "fact-data-a-list", ["{t}/f.yaml", GOOD], "'facts.torch.data' is a list, not a mapping",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.torch.data", ["2.14.1"])])))
case("diff", "gpus-a-number", ["{t}/f.yaml", GOOD], "'facts.nvidia.data.gpus' is a int, not a list",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.nvidia.data.gpus", 2)])))
case("diff", "gpus-a-string", ["{t}/f.yaml", GOOD], "'facts.nvidia.data.gpus' is a str, not a list",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.nvidia.data.gpus", "H100")])))
case("diff", "gpu-entry-a-string", ["{t}/f.yaml", GOOD], "'facts.nvidia.data.gpus[0]' is a str, not a mapping",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.nvidia.data.gpus", ["H100"])])))
case("diff", "gpu-name-a-list", ["{t}/f.yaml", GOOD], "'facts.nvidia.data.gpus[0].name' is a list",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.nvidia.data.gpus", [{"name": ["H100"]}])])))
case("diff", "env-vars-a-list", ["{t}/f.yaml", GOOD], "'facts.env.data.vars' is a list, not a mapping",
     setup=(SNAP(), SNAP("f.yaml", edits=[("facts.env.data.vars", ["CUDA_VISIBLE_DEVICES=0"])])))
case("diff", "python-target-a-string", ["{t}/f.yaml", GOOD], "'facts.python.data.target' is a str, not a mapping",
     setup=(SNAP(), SNAP("f.yaml", python={}, edits=[("facts.python.data.target", "3.11")])))
case("diff", "b-malformed-too", [GOOD, "{t}/f.yaml"], "'facts' is a list", setup=(SNAP(), SNAP("f.yaml", facts=[])))
case("diff", "python-with-two-snapshots", [GOOD, GOOD, "--python", sys.executable], "--python applies only", setup=SNAP())
case("diff", "no-arguments", [], "Missing argument", kind="usage")
case("diff", "three-arguments", [GOOD, GOOD, GOOD], "unexpected extra argument", kind="usage", setup=SNAP())
case("diff", "malformed-a-against-the-current-environment", ["{t}/f.yaml"], "'packages' is a str",
     setup=SNAP("f.yaml", packages="x"))
case("diff", "bad-python-against-the-current-environment", [GOOD, "--python", "{t}/nope/python"], "no such file", setup=SNAP())
case("diff", "same-snapshot-twice", [GOOD, GOOD], "Equivalent", kind="ok", setup=SNAP())
case("diff", "different-snapshots", [GOOD, "{t}/b.yaml"], "Not equivalent", kind="ok", code=1,
     setup=(SNAP(), SNAP("b.yaml", edits=[("packages.numpy.version", "1.26.4")])))
case("diff", "cudnn-shown-as-the-doctor-shows-it", ["{t}/old.yaml", GOOD], "cuDNN: 9.1.0 -> 9.24.0", absent="92400",
     kind="ok", code=1, setup=(SNAP(), SNAP("old.yaml", edits=[("facts.torch.data.cudnn", 90100)])))
# A hand-edited cuDNN of '²' (a digit to str.isdigit(), not to int()) is shown as written.
case("diff", "cudnn-a-superscript-digit", ["{t}/odd.yaml", GOOD], "cuDNN: \u00b2 -> 9.24.0", kind="ok", code=1,
     setup=(SNAP(), SNAP("odd.yaml", edits=[("facts.torch.data.cudnn", "\u00b2")])))
case("diff", "paths-with-spaces-and-unicode", ["{t}/my snaps ü/a b.yaml", "{t}/my snaps ü/ç d.yaml"], "Equivalent",
     kind="ok", setup=(SNAP("my snaps ü/a b.yaml"), SNAP("my snaps ü/ç d.yaml")))
case("diff", "json-against-yaml", ["{t}/a.json", GOOD], "Equivalent", kind="ok", setup=(SNAP(), SNAP("a.json", fmt="json")))
case("diff", "json-with-a-byte-order-mark", ["{t}/bom.json", GOOD], "Equivalent", kind="ok",
     setup=(SNAP(), lambda lab: lab.write("bom.json", b"\xef\xbb\xbf" + dump_snapshot(snapshot_document(), "json").encode())))
case("diff", "yaml-with-windows-line-ends", ["{t}/crlf.yaml", GOOD], "Equivalent", kind="ok",
     setup=(SNAP(), lambda lab: lab.write("crlf.yaml", dump_snapshot(snapshot_document(), "yaml").replace("\n", "\r\n").encode())))
case("diff", "minimal-hand-written-snapshot", ["{t}/min.yaml", "{t}/min.yaml"], "Equivalent", kind="ok",
     setup=W("min.yaml", "kind: envcheck-snapshot\nschema_version: 1\n"))
case("diff", "package-version-null", ["{t}/n.yaml", GOOD], "numpy unknown -> 2.1.0", kind="ok", code=1,
     setup=(SNAP(), SNAP("n.yaml", edits=[("packages.numpy", None)])))
case("diff", "against-the-current-environment", [GOOD], "current environment", kind="ok", setup=SNAP())
case("diff", "json-output-is-only-json", [GOOD, "{t}/b.yaml", "--json"], '"equivalent": false', kind="ok", code=1,
     setup=(SNAP(), SNAP("b.yaml", edits=[("packages.numpy.version", "1.26.4")])),
     verify=lambda root, out, err: json.loads(out)["equivalent"] is False)
case("diff", "json-against-the-current-environment", [GOOD, "--json"], '"equivalent"', kind="ok",
     setup=SNAP(), verify=lambda root, out, err: "b" in json.loads(out))

# ---- scaffold


def _project_exists(name):
    return lambda root, out, err: (root / name / "train.py").is_file() and (root / name / "config.yaml").is_file()


def _only_files(*names):
    return lambda root, out, err: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == sorted(names)


case("scaffold", "name-empty", [""], "the project name is empty")
case("scaffold", "name-blank", ["   "], "the project name is empty")
case("scaffold", "name-a-path", ["a/b"], "is a path; give a plain folder name")
case("scaffold", "name-climbs-out", ["../escape"], "is a path; give a plain folder name")
case("scaffold", "name-absolute", ["/tmp/x"], "is a path; give a plain folder name")
case("scaffold", "name-home", ["~root"], "is a path; give a plain folder name")
case("scaffold", "name-backslash", ["a\\b"], "is a path; give a plain folder name")
case("scaffold", "name-dot", ["."], "not a plain folder name")
case("scaffold", "name-dot-dot", [".."], "not a plain folder name")
case("scaffold", "name-hidden", [".hidden"], "not a plain folder name")
case("scaffold", "name-like-an-option", ["--", "-rf"], "not a plain folder name")
case("scaffold", "name-with-space", ["has space"], "not a plain folder name")
case("scaffold", "name-non-ascii", ["naïve"], "not a plain folder name")
case("scaffold", "name-with-colon", ["a:b"], "not a plain folder name")
case("scaffold", "name-with-tab", ["tab\tname"], "not a plain folder name")
case("scaffold", "name-with-newline", ["two\nlines"], "not a plain folder name")
case("scaffold", "name-too-long", ["x" * 300], "is 300 characters long")
case("scaffold", "existing-non-empty-folder", ["demo"], "already exists and is not empty",
     setup=W("demo/notes.txt", "mine\n"))
case("scaffold", "existing-file", ["demo"], "exists and is a file", setup=W("demo", "mine\n"))
case("scaffold", "existing-symlink-to-a-non-empty-folder", ["demo"], "already exists and is not empty",
     setup=(W("real/notes.txt"), L("demo", "{t}/real")))
case("scaffold", "dangling-symlink-in-the-way", ["demo"], "broken symbolic link", setup=L("demo", "{t}/gone"))
case("scaffold", "symlink-loop-in-the-way", ["demo"], "broken symbolic link", setup=L("demo", "{t}/demo"))
case("scaffold", "dir-is-a-file", ["demo", "--dir", "{t}/afile"], "is a file, not a folder", setup=W("afile"))
case("scaffold", "dir-missing", ["demo", "--dir", "{t}/missing"], "does not exist")
case("scaffold", "dir-empty", ["demo", "--dir", ""], "--dir is empty")
case("scaffold", "dir-not-writable", ["demo", "--dir", "{t}/locked"], "permission denied", setup=(D("locked"), NOWRITE("locked")))
case("scaffold", "dir-where-no-file-can-be-created", ["demo", "--dir", "/proc"], "cannot create files in /proc")
case("scaffold", "current-folder-not-writable", ["demo"], "the current folder", setup=NOWRITE("{t}"))
case("scaffold", "dir-symlink-loop", ["demo", "--dir", "{t}/loop"], "does not exist", setup=L("loop", "{t}/loop"))
case("scaffold", "classes-one", ["demo", "--classes", "cat"], "at least two classes")
case("scaffold", "classes-empty", ["demo", "--classes", ""], "at least two classes")
case("scaffold", "classes-only-commas", ["demo", "--classes", ",,,"], "at least two classes")
case("scaffold", "classes-twice", ["demo", "--classes", "cat,cat"], "each class may appear only once")
case("scaffold", "class-a-path", ["demo", "--classes", "cat,../dog"], "the class name '../dog' is a path")
case("scaffold", "class-hidden", ["demo", "--classes", "cat,.ipynb_checkpoints"], "not a plain folder name")
case("scaffold", "class-non-ascii", ["demo", "--classes", "cat,dög"], "not a plain folder name")
case("scaffold", "template-unknown", ["demo", "--template", "nope"], "no such template")
case("scaffold", "template-a-path", ["demo", "--template", "../default"], "no such template")
case("scaffold", "template-empty", ["demo", "--template", ""], "no such template")
case("scaffold", "force-and-skip-existing", ["demo", "--force", "--skip-existing"], "choose one of --force and --skip-existing")
case("scaffold", "python-missing", ["demo", "--python", "{t}/nope/python"], "no such file")
case("scaffold", "python-empty", ["demo", "--python", ""], "--python is empty")
case("scaffold", "force-with-a-file-where-a-folder-goes", ["demo", "--force"], "demo/model is a file",
     setup=(W("demo/train.py", "# mine\n"), W("demo/model", "my notes\n")))
case("scaffold", "skip-existing-with-a-file-where-a-folder-goes", ["demo", "--skip-existing"], "demo/dataset is a file",
     setup=W("demo/dataset", "my notes\n"))
case("scaffold", "force-with-a-symlink-loop-where-a-folder-goes", ["demo", "--force"], "demo/outputs is a",
     setup=(W("demo/train.py", "# mine\n"), L("demo/outputs", "{t}/demo/outputs")))
case("scaffold", "missing-name", [], "Missing argument", kind="usage")
case("scaffold", "into-a-folder-with-spaces-and-unicode", ["demo", "--dir", "{t}/my projects ü"], "Next:", kind="ok",
     setup=D("my projects ü"), verify=lambda root, out, err: (root / "my projects ü" / "demo" / "train.py").is_file())
case("scaffold", "name-with-dots-dashes-underscores", ["My.Project_2-b"], "Next:", kind="ok",
     verify=_project_exists("My.Project_2-b"))
case("scaffold", "into-an-empty-existing-folder", ["demo"], "Next:", kind="ok", setup=D("demo"), verify=_project_exists("demo"))
case("scaffold", "classes-with-spaces-around", ["demo", "--classes", " cat , dog "], "Next:", kind="ok",
     verify=lambda root, out, err: (root / "demo" / "dataset" / "train" / "dog").is_dir())
case("scaffold", "dry-run-writes-nothing", ["demo", "--force", "--dry-run"], "Dry run: nothing written", kind="ok",
     setup=W("demo/train.py", "# mine\n"), verify=_only_files("demo/train.py"))
case("scaffold", "force-replaces-a-symlink-not-its-target", ["demo", "--force"], "overwritten", kind="ok",
     setup=(W("outside.py", "# not yours\n"), W("demo/README.md", "mine\n"), L("demo/train.py", "{t}/outside.py")),
     changes=("demo/train.py", "demo/README.md"),
     verify=lambda root, out, err: (root / "outside.py").read_text() == "# not yours\n" and not (root / "demo" / "train.py").is_symlink())
case("scaffold", "skip-existing-keeps-the-users-files", ["demo", "--skip-existing"], "skipped", kind="ok",
     setup=W("demo/train.py", "# mine\n"), verify=_project_exists("demo"))

# ---- check-data

DATA = "{t}/data"
ONE_BAD = {"train": {"cat": 2, "dog": 2}, "val": {"cat": 1, "dog": 1}}
case("check-data", "missing-folder", ["{t}/nope"], "no such folder")
case("check-data", "a-file", ["{t}/afile"], "is a file; pass the folder", setup=W("afile"))
case("check-data", "dangling-symlink", ["{t}/link"], "broken symbolic link", setup=L("link", "{t}/gone"))
case("check-data", "symlink-loop", ["{t}/loop"], "broken symbolic link", setup=L("loop", "{t}/loop"))
case("check-data", "splits-empty", [DATA, "--splits", ""], "--splits is empty", setup=TREE())
case("check-data", "splits-only-commas", [DATA, "--splits", ",,"], "--splits is empty", setup=TREE())
case("check-data", "splits-climb-out", [DATA, "--splits", "../.."], "is not a folder name inside", setup=TREE())
case("check-data", "splits-parent", [DATA, "--splits", "train,.."], "is not a folder name inside", setup=TREE())
case("check-data", "splits-absolute", [DATA, "--splits", "/etc"], "is not a folder name inside", setup=TREE())
case("check-data", "splits-twice", [DATA, "--splits", "train,train"], "names a split twice", setup=TREE())
case("check-data", "splits-dot", [DATA, "--splits", "."], "is not a folder name inside", setup=TREE())
case("check-data", "splits-home", [DATA, "--splits", "~"], "is not a folder name inside", setup=TREE())
case("check-data", "splits-backslash", [DATA, "--splits", "a\\b"], "is not a folder name inside", setup=TREE())
case("check-data", "max-verify-zero", [DATA, "--max-verify", "0"], "--max-verify 0: open at least 1 image", setup=TREE())
case("check-data", "max-verify-negative", [DATA, "--max-verify", "-3"], "--max-verify -3: open at least 1 image",
     setup=TREE())
case("check-data", "max-verify-text", [DATA, "--max-verify", "all"], "'--max-verify'", kind="usage", setup=TREE())
case("check-data", "unknown-option", [DATA, "--bogus"], "No such option: --bogus", kind="usage", setup=TREE())
case("check-data", "no-folder-given", [], "Missing argument", kind="usage")
case("check-data", "empty-data-folder", [DATA], "data/train is missing", kind="report", setup=D("data"))
case("check-data", "split-is-a-file", [DATA], "data/val is a file", kind="report",
     setup=(TREE(layout={"train": {"cat": 1, "dog": 1}}), W("data/val")))
case("check-data", "val-missing", [DATA], "data/val is missing (found: train)", kind="report",
     setup=TREE(layout={"train": {"cat": 1, "dog": 1}}))
case("check-data", "no-class-folders", [DATA], "has no class folders", kind="report",
     setup=TREE(layout={"train": {}, "val": {}}))
case("check-data", "empty-class", [DATA], "data/train/dog has no images", kind="report",
     setup=TREE(layout={"train": {"cat": 1, "dog": 0}, "val": {"cat": 1, "dog": 1}}))
case("check-data", "one-class", [DATA], "has only one class folder", kind="report",
     setup=TREE(layout={"train": {"cat": 2}, "val": {"cat": 1}}))
case("check-data", "classes-differ", [DATA], "have different class folders", kind="report",
     setup=TREE(layout={"train": {"cat": 1, "dog": 1}, "val": {"cat": 1, "bird": 1}}))
case("check-data", "hidden-folder", [DATA], "is a hidden folder", kind="report",
     setup=(TREE(), W("data/train/.ipynb_checkpoints/x.png", PNG)))
case("check-data", "unreadable-class-folder", [DATA], "data/train/dog cannot be read", absent="has no images", kind="report",
     setup=(TREE(), DENY("data/train/dog")))
case("check-data", "unreadable-split-folder", [DATA], "data/val cannot be read", kind="report", setup=(TREE(), DENY("data/val")))
case("check-data", "unreadable-data-folder-without-val", [DATA], "data/val is missing", kind="report",
     setup=(TREE(layout={"train": {"cat": 1, "dog": 1}}), DENY("data")))
case("check-data", "unreadable-image", [DATA], "permission denied", kind="report", setup=(TREE(), DENY("data/train/cat/0.png")))
case("check-data", "corrupt-jpeg", [DATA], "cannot be decoded", kind="report", setup=(TREE(), W("data/train/cat/bad.jpg", b"\xff\xd8junk")))
case("check-data", "truncated-png", [DATA], "cannot be decoded", kind="report", setup=(TREE(), W("data/val/dog/cut.png", PNG[:40])))
case("check-data", "empty-png", [DATA], "cannot be decoded", kind="report", setup=(TREE(), W("data/val/dog/zero.png", b"")))
case("check-data", "text-named-png", [DATA], "cannot be decoded", kind="report",
     setup=(TREE(), W("data/train/dog/notes.png", "not a picture\n")))
case("check-data", "decompression-bomb", [DATA], "cannot be decoded", kind="report",
     setup=(TREE(), W("data/train/dog/huge.png", BOMB_PNG)))
case("check-data", "dangling-symlink-image", [DATA], "broken symbolic link", kind="report",
     setup=(TREE(), L("data/train/cat/gone.png", "{t}/deleted.png")))
case("check-data", "symlink-loop-image", [DATA], "broken symbolic link", kind="report",
     setup=(TREE(), L("data/train/cat/loop.png", "{t}/data/train/cat/loop.png")))
case("check-data", "folder-symlink-loop-inside-a-class", [DATA], "symbolic link loop", kind="report",
     setup=(TREE(), L("data/train/cat/again", "..")))
case("check-data", "class-folder-linking-to-its-split", [DATA], "symbolic link loop", kind="report",
     setup=(TREE(), L("data/train/zz", "."), L("data/val/zz", ".")))
case("check-data", "only-non-images", [DATA], "has no images", kind="report",
     setup=(TREE(layout={"train": {"cat": 1, "dog": 0}, "val": {"cat": 1, "dog": 1}}), W("data/train/dog/a.txt")))
case("check-data", "path-with-spaces-and-unicode", ["{t}/my data ü"], "OK: the data set", kind="ok", setup=TREE("my data ü"))
case("check-data", "stray-and-non-image-files-warn", [DATA], "not images", kind="ok",
     setup=(TREE(), W("data/train/cat/notes.txt"), W("data/train/readme.md"), W("data/val/.DS_Store")))
case("check-data", "upper-case-extensions", [DATA], "OK: the data set", kind="ok", setup=TREE(name="{i}.PNG"))
case("check-data", "class-folder-symlinked-from-elsewhere", [DATA], "OK: the data set", kind="ok",
     setup=(TREE(layout={"train": {"cat": 1}, "val": {"cat": 1, "dog": 1}}), TREE("elsewhere", {"dogs": {"x": 2}}),
            L("data/train/dog", "{t}/elsewhere/dogs/x")),
     verify=lambda root, out, err: re.search(r"dog\s+2\s+1", out) is not None)
case("check-data", "image-in-nested-subfolder", [DATA], "OK: the data set", kind="ok",
     setup=(TREE(), W("data/train/cat/2024/01/a.png", PNG)))
case("check-data", "no-verify-skips-decoding", [DATA, "--no-verify"], "OK: the data set", kind="ok",
     setup=(TREE(), W("data/train/cat/bad.jpg", b"junk")))
case("check-data", "max-verify-one", [DATA, "--max-verify", "1"], "only the first 1 of 6 images", kind="ok", setup=TREE())
case("check-data", "one-custom-split", [DATA, "--splits", "train"], "has only one class folder", kind="report",
     setup=TREE(layout={"train": {"cat": 1}}))
case("check-data", "custom-splits", [DATA, "--splits", "a,b"], "OK: the data set", kind="ok",
     setup=TREE(layout={"a": {"x": 1, "y": 1}, "b": {"x": 1, "y": 1}}))
case("check-data", "json-report-of-problems", [DATA, "--json"], '"ok": false', kind="ok", code=1,
     setup=TREE(layout={"train": {"cat": 1, "dog": 0}, "val": {"cat": 1, "dog": 1}}),
     verify=lambda root, out, err: json.loads(out)["ok"] is False)
case("check-data", "verbose-lists-everything", [DATA, "-v"], "Files that cannot be used (25)", kind="report",
     setup=(TREE(), lambda lab: [lab.write(f"data/train/cat/bad{i}.png", b"junk") for i in range(25)]))

# ---- smoke-train (its flags are checked in envcheck/commands/smoke_train.py and envcheck/smoke/)

case("smoke-train", "seed-2-to-the-70", ["--cpu", "--seed", str(2**70)], f"--seed {2**70} is out of range")
case("smoke-train", "seed-negative", ["--cpu", "--seed", "-1"], "--seed -1 is out of range")
case("smoke-train", "seed-text", ["--cpu", "--seed", "lucky"], "'--seed'", kind="usage")
case("smoke-train", "image-size-100000", ["--cpu", "--image-size", "100000"], "--image-size 100000 is too large")
case("smoke-train", "image-size-0", ["--cpu", "--image-size", "0"], "--image-size 0 is too small")
case("smoke-train", "image-size-negative", ["--cpu", "--image-size", "-1"], "--image-size -1 is too small")
case("smoke-train", "image-size-31", ["--cpu", "--image-size", "31"], "--image-size 31 is too small")
case("smoke-train", "batch-size-0", ["--cpu", "--batch-size", "0"], "--batch-size 0: use at least 1")
case("smoke-train", "batch-size-negative", ["--cpu", "--batch-size", "-3"], "--batch-size -3: use at least 1")
case("smoke-train", "batch-size-huge", ["--cpu", "--batch-size", "100000"], "--batch-size 100000 is too large")
case("smoke-train", "epochs-0", ["--cpu", "--epochs", "0"], "--epochs 0: train for at least 1 epoch")
case("smoke-train", "epochs-negative", ["--cpu", "--epochs", "-1"], "--epochs -1: train for at least 1 epoch")
case("smoke-train", "epochs-huge", ["--cpu", "--epochs", "100000"], "more than a smoke test needs")
case("smoke-train", "gpus-empty", ["--gpus", ""], "--gpus is empty")
case("smoke-train", "gpus-blank", ["--gpus", "  "], "--gpus is empty")
case("smoke-train", "gpus-twice", ["--gpus", "0,0"], "lists a GPU twice")
case("smoke-train", "gpus-names", ["--gpus", "a,b"], "give nvidia-smi GPU numbers")
case("smoke-train", "gpus-negative", ["--gpus", "-1"], "give nvidia-smi GPU numbers")
case("smoke-train", "gpus-empty-entry", ["--gpus", "0,,1"], "give nvidia-smi GPU numbers")
case("smoke-train", "gpu-negative", ["--gpu", "-1"], "GPU numbers start at 0")
case("smoke-train", "gpu-given-a-list", ["--gpu", "0,1"], "--gpu takes one; use --gpus 0,1 to test several")
case("smoke-train", "gpu-name", ["--gpu", "first"], "give one GPU number as nvidia-smi numbers it")
case("smoke-train", "gpu-superscript-digit", ["--gpu", "\u00b2"], "give one GPU number as nvidia-smi numbers it")
case("smoke-train", "gpus-superscript-digit", ["--gpus", "0,\u00b2"], "give nvidia-smi GPU numbers")
case("smoke-train", "gpu-not-there", ["--gpu", "5"], "GPU 5 does not exist")
case("smoke-train", "gpus-one-not-there", ["--gpus", "0,1"], "GPU 1 does not exist")
case("smoke-train", "gpu-and-cpu", ["--gpu", "0", "--cpu"], "--cpu cannot be combined")
case("smoke-train", "gpu-and-gpus", ["--gpu", "0", "--gpus", "0"], "cannot be used together")
case("smoke-train", "nproc-not-matching-gpus", ["--gpus", "0", "--nproc", "3"], "--nproc 3 does not match")
case("smoke-train", "timeout-nan", ["--cpu", "--timeout", "nan"], "--timeout nan")
case("smoke-train", "timeout-inf", ["--cpu", "--timeout", "inf"], "--timeout inf")
case("smoke-train", "timeout-zero", ["--cpu", "--timeout", "0"], "--timeout 0")
case("smoke-train", "timeout-negative", ["--cpu", "--timeout", "-5"], "--timeout -5")
case("smoke-train", "timeout-text", ["--cpu", "--timeout", "long"], "'--timeout'", kind="usage")
case("smoke-train", "phase-timeout-garbage", ["--cpu", "--phase-timeout", "learning=soon"], "write PHASE=SECONDS")
case("smoke-train", "phase-unknown", ["--cpu", "--phase", "bogus"], "choose from")
case("smoke-train", "learn-per-class-zero", ["--cpu", "--learn-per-class", "0"], "--learn-per-class 0")
case("smoke-train", "nproc-zero", ["--cpu", "--nproc", "0"], "--nproc 0: give at least 1 process")
case("smoke-train", "nproc-huge", ["--cpu", "--nproc", "100000"], "--nproc 100000")
case("smoke-train", "data-missing", ["--cpu", "--data", "{t}/nope"], "does not exist")
case("smoke-train", "data-a-file", ["--cpu", "--data", "{t}/afile"], "is a file", setup=W("afile"))
case("smoke-train", "data-one-class", ["--cpu", "--data", DATA], "has only one class folder",
     setup=TREE(layout={"train": {"cat": 2}, "val": {"cat": 1}}))
case("smoke-train", "data-empty-class", ["--cpu", "--data", DATA], "data/train/dog has no images",
     setup=TREE(layout={"train": {"cat": 1, "dog": 0}, "val": {"cat": 1, "dog": 1}}))
case("smoke-train", "data-corrupt-image", ["--cpu", "--data", DATA], "cannot be decoded",
     setup=(TREE(), W("data/train/cat/bad.png", b"junk")))
case("smoke-train", "data-unreadable-class-folder", ["--cpu", "--data", DATA], "data/train/dog cannot be read",
     setup=(TREE(), DENY("data/train/dog")))
case("smoke-train", "out-is-a-file", ["--cpu", "--out", "{t}/afile"], "--out", setup=W("afile"))
case("smoke-train", "out-not-empty", ["--cpu", "--out", "{t}/run"], "is not empty", setup=W("run/old.json", "{}\n"))
case("smoke-train", "unknown-option", ["--bogus"], "No such option: --bogus", kind="usage")
# Cases that once were strict xfails for smoke_train.py and cli.py, fixed there.
def NO_DATA_CHECK(lab):
    """smoke-train's check of --data opens every image: the stand-in fails the case if it starts."""
    names = [n for n in ("inspect_data_dir", "check_data_dir") if hasattr(smoke_train, n)]
    assert names, "smoke_train has neither inspect_data_dir nor check_data_dir: update this campaign"
    for name in names:
        lab.monkeypatch.setattr(smoke_train, name, lambda *a, **k: _forbidden("checking every image of --data")())

case("smoke-train", "gpu-negative-with-data", ["--gpu", "-1", "--data", DATA], "GPU numbers start at 0",
     setup=(TREE(), NO_DATA_CHECK))
case("smoke-train", "out-a-file-with-data", ["--cpu", "--out", "{t}/afile", "--data", DATA], "--out",
     setup=(TREE(), W("afile"), NO_DATA_CHECK))
case("smoke-train", "timeout-beyond-what-python-can-wait", ["--cpu", "--timeout", "1e308"], "--timeout 1e+308")
case("smoke-train", "phase-timeout-beyond-what-python-can-wait", ["--cpu", "--phase-timeout", "learning=1e308"], "--phase-timeout")
case("smoke-train", "out-empty", ["--cpu", "--out", ""], "--out is empty")
case("smoke-train", "data-empty", ["--cpu", "--data", ""], "--data is empty")
case("doctor", "usage-error-in-one-line", ["--bogus"], "No such option: --bogus")


# --- running a case ------------------------------------------------------------------------------


_REAL_SCANDIR = os.scandir  # the tree is read past the simulated permission errors


def _tree(root: Path) -> dict[str, str]:
    """relative path -> what it is (a file's sha256, a link's target) for every file and link below root."""
    state = {}
    pending = [str(root)]
    while pending:
        with _REAL_SCANDIR(pending.pop()) as entries:
            for entry in entries:
                rel = os.path.relpath(entry.path, root)
                if entry.is_symlink():
                    state[rel] = "link -> " + os.readlink(entry.path)
                elif entry.is_dir():
                    pending.append(entry.path)
                else:
                    with io.FileIO(entry.path, "r") as handle:  # FileIO: not the simulated-permission open
                        state[rel] = hashlib.sha256(handle.read()).hexdigest()
    return state


def _forbidden(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} started before the input was refused")
    return fail


def _collect(ctx, names=None, on_done=None):
    return _facts(names)


def install_stand_ins(monkeypatch, fakes: bool) -> None:
    """Valid cases get canned packages and facts; refusals get stand-ins that fail the case if the
    slow work starts. smoke-train's phases and data drawing are never allowed here."""
    if fakes:
        monkeypatch.setattr(common, "read_packages", lambda ctx: json.loads(json.dumps(FAKE_REPORT)))
        monkeypatch.setattr(common, "runtime_facts", lambda ctx: {"torch": dict(FAKE_FACTS["torch"]), "nvidia": dict(FAKE_FACTS["nvidia"])})
        monkeypatch.setattr(common, "gather", lambda ctx, *args, **kwargs: (_facts(), []))
        monkeypatch.setattr(runner, "collect", _collect)
        monkeypatch.setattr(common, "collect", _collect)
    else:
        monkeypatch.setattr(common, "read_packages", _forbidden("listing the packages"))
        monkeypatch.setattr(common, "runtime_facts", _forbidden("collecting facts"))
        monkeypatch.setattr(common, "gather", _forbidden("collecting facts"))
        monkeypatch.setattr(runner, "collect", _forbidden("collecting facts"))
        monkeypatch.setattr(common, "collect", _forbidden("collecting facts"))
    import reference_train.synthetic

    monkeypatch.setattr(smoke_train, "_run_phases", _forbidden("smoke-train's phases"))
    monkeypatch.setattr(reference_train.synthetic, "cached_dataset", _forbidden("drawing the synthetic data set"))
    monkeypatch.setattr(smoke_train, "_nvidia_gpus", lambda: (json.loads(json.dumps(FAKE_GPUS)), None))
    for name in ("CUDA_VISIBLE_DEVICES", "RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS",
                 "SLURM_STEP_ID", "SLURM_STEPID"):
        monkeypatch.delenv(name, raising=False)


_BOX = re.compile(r"[│╭╮╰╯─]")
PROGRESS = re.compile(r"^envcheck (export|diff): (listing|collecting) .*\.\.\.$")


def _params():
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        yield pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("c", list(_params()))
def test_hostile_input(c: Case, tmp_path, monkeypatch, capsys):
    root = tmp_path / "case"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "400")  # typer's error box: one phrase must not be split over lines
    install_stand_ins(monkeypatch, c.fakes)
    lab = Lab(root, monkeypatch)
    for step in c.setup:  # after the stand-ins: a case may replace one of them
        step(lab)
    args = [a.replace("{t}", str(root)) for a in c.args]
    before = _tree(root)
    started = time.monotonic()
    code, out, err = run_cli(args, capsys)
    seconds = time.monotonic() - started
    after = _tree(root)
    shown = f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"

    assert "Traceback" not in out + err, shown
    assert code == c.code, shown
    if c.kind == "error":
        lines = err.strip().splitlines()
        # A refusal that can only come after the packages were listed follows that step's status line.
        steps = [line for line in lines[:-1] if c.fakes and PROGRESS.match(line)]
        assert len(lines) == len(steps) + 1 and lines[-1].startswith("envcheck: error: "), shown
        assert c.expect in lines[-1], shown
        assert out == "", shown
    elif c.kind == "usage":
        # click's usage errors, as one line that names the command's --help.
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("envcheck: error: "), shown
        assert c.expect in lines[0] and "--help`" in lines[0], shown
        assert out == "", shown
    elif c.kind == "report":
        assert c.expect in out, shown
        assert "Not usable yet" in out, shown
    else:
        assert c.expect in out + err, shown
        if c.verify is not None:
            assert c.verify(root, out, err), shown
    if c.absent:
        assert c.absent not in out + err, shown
    if c.kind == "ok" or c.kind == "report":
        kept = {k: v for k, v in before.items() if k not in c.changes}
        assert {k: after.get(k) for k in kept} == kept, "a valid case changed a file it does not own"
    else:
        assert after == before, "a refused input changed, created or removed files"
    assert seconds < 10, f"took {seconds:.1f} s: refusals and canned runs must be quick"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_case_counts_match_the_docstring():
    doc = " ".join(__doc__.split())
    assert f": {len(CASES)} cases" in doc, (len(CASES), COUNTS)
    assert sum(COUNTS.values()) == len(CASES) >= 150
    for command, count in COUNTS.items():
        assert f"{command} {count}" in doc, (command, count)
    valid = sum(1 for c in CASES if c.kind == "ok")
    assert f"{valid} of them are unusual but valid" in doc, valid
    assert f"{sum(1 for c in CASES if c.xfail)} are strict xfails" in doc


@pytest.mark.parametrize(
    ("args", "steps"),
    [
        (["export"], ["listing the installed packages of", "collecting the torch and NVIDIA facts for the header"]),
        (["export", "-f", "snapshot"], ["listing the installed packages of", "collecting the doctor's facts"]),
        (["export", "-f", "snapshot", "--snapshot-format", "json"], ["listing the installed packages of", "collecting the doctor's facts"]),
        (["diff", "{snap}"], ["listing the installed packages of", "collecting the torch, nvidia, env, python facts"]),
        (["diff", "{snap}", "--json"], ["listing the installed packages of", "collecting the torch, nvidia, env, python facts"]),
    ],
    ids=["export", "export-snapshot", "export-snapshot-json", "diff-current", "diff-current-json"],
)
def test_collection_steps_are_told_on_stderr_and_stdout_keeps_only_the_result(tmp_path, monkeypatch, capsys, args, steps):
    """export, export -f snapshot and diff A used to be silent for seconds: each collection step is
    now one line on stderr (a spinner on a terminal); stdout still parses as the file it is."""
    install_stand_ins(monkeypatch, fakes=True)
    snap = tmp_path / "a.yaml"
    snap.write_text(dump_snapshot(snapshot_document(), "yaml"))
    code, out, err = run_cli([a.replace("{snap}", str(snap)) for a in args], capsys)
    assert code in (0, 1), err
    lines = err.strip().splitlines()
    assert len(lines) == len(steps), err
    for line, step in zip(lines, steps):
        assert PROGRESS.match(line) and step in line, err
    assert "listing" not in out and "collecting" not in out
    if "--json" in args or "json" in args:
        json.loads(out)
    elif "snapshot" in args:
        assert yaml.safe_load(out)["kind"] == "envcheck-snapshot"


# --- the same refusals in Chinese (issue #11) -----------------------------------------------------

# Refusals that quote another program's own words (the OS's strerror, a parser's message), which
# stay as that program wrote them (docs/i18n.md); every other refusal has no English sentence.
QUOTES_ANOTHER_PROGRAM: dict[str, str] = {
    "diff-a-nul-bytes": "PyYAML's reason",
    "diff-a-invalid-yaml": "PyYAML's reason",
    "diff-a-yaml-with-tabs": "PyYAML's reason",
    "diff-a-yaml-python-tag": "PyYAML's reason",
    "diff-a-several-yaml-documents": "PyYAML's reason",
    "diff-a-invalid-json": "the json module's reason",
    "diff-a-truncated-json": "the json module's reason",
    "diff-a-symlink-loop": "the OS's strerror (Too many levels of symbolic links)",
    "smoke-train-data-corrupt-image": "Pillow's reason (cannot identify image file)",
}


def _refusals():
    for c in CASES:
        if c.kind in ("error", "usage") and not c.xfail:
            yield pytest.param(c, id=c.id)


@pytest.mark.parametrize("c", list(_refusals()))
def test_hostile_input_is_refused_in_chinese(c: Case, tmp_path, monkeypatch, capsys):
    from test_i18n import english_sentences

    root = tmp_path / "case"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "400")
    install_stand_ins(monkeypatch, c.fakes)
    lab = Lab(root, monkeypatch)
    for step in c.setup:
        step(lab)
    args = [a.replace("{t}", str(root)) for a in c.args]
    before = _tree(root)
    code, out, err = run_cli(["--lang", "zh", *args], capsys)
    shown = f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
    assert "Traceback" not in out + err, shown
    assert code == c.code and out == "", shown
    lines = [line for line in err.strip().splitlines() if not (c.fakes and line.startswith("envcheck ") and "…" in line)]
    assert len(lines) == 1 and lines[0].startswith("envcheck: 错误："), shown
    left = english_sentences(lines[0].replace(str(root), "DIR"))
    if c.id in QUOTES_ANOTHER_PROGRAM:
        assert left, f"{c.id} no longer quotes another program: take it out of QUOTES_ANOTHER_PROGRAM"
    else:
        assert left == [], shown
    assert _tree(root) == before
