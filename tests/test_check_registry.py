"""The check registry: every check module is found, ids match areas, and `explain` / `--list-checks`
lead from an id to its code and docs."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest

import envcheck.checks as checks_pkg
from envcheck.checks import AREAS, all_checks, check_modules, parse_doc
from _cli import run_cli

REPO = Path(__file__).resolve().parent.parent


def _ids_in_source() -> list[str]:
    """The ids of the @check decorators as written in envcheck/checks/*.py: read from the files, not
    from the registry, so a loop over the registry can be shown to have covered every check."""
    ids = []
    for path in sorted((REPO / "envcheck" / "checks").glob("*.py")):
        ids += re.findall(r'^@check\("([^"]+)"', path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return ids


def test_every_check_module_is_imported():
    on_disk = {m.name for m in pkgutil.iter_modules(checks_pkg.__path__) if not m.name.startswith("_")}
    assert on_disk, "no check modules found"
    assert {name.rsplit(".", 1)[1] for name in check_modules()} == on_disk
    registered_modules = {c.fn.__module__.rsplit(".", 1)[1] for c in all_checks().values()}
    assert registered_modules == on_disk, "a module holds no check, or a check lives outside envcheck/checks"


def test_ids_areas_and_module_names_agree():
    checks = list(all_checks().values())
    # An empty registry would make the loop below check nothing: it must hold every decorated check.
    assert _ids_in_source() and sorted(c.id for c in checks) == sorted(_ids_in_source())
    for c in checks:
        prefix = c.id.split(".")[0]
        assert prefix == c.area, c.id
        assert c.fn.__module__ == f"envcheck.checks.{prefix}", f"{c.id} lives in {c.fn.__module__}"
        assert c.area in AREAS


def test_a_check_in_the_wrong_area_is_refused_at_registration():
    with pytest.raises(ValueError, match="must start with 'proxy.'"):
        checks_pkg.check("path.something", "proxy", "misfiled")


def test_parse_doc_splits_sections():
    doc = parse_doc("""Looks at A.

        More on A.

        Why: B matters.

        Fix: run `c`.

        | t | u |
        |---|---|
        """)
    assert doc.looks_at == "Looks at A.\n\nMore on A."
    assert doc.why == "B matters."
    assert doc.fix.startswith("run `c`.\n\n| t | u |")
    assert parse_doc(None) == parse_doc("")


def test_statuses_and_source_come_from_the_code():
    c = all_checks()["proxy.https_scheme"]
    assert set(c.statuses) <= {"ok", "warn", "fail", "skip"} and "fail" in c.statuses
    path, line = c.source.rsplit(":", 1)
    assert path == "envcheck/checks/proxy.py"
    assert (REPO / path).read_text().splitlines()[int(line) - 1].startswith('@check("proxy.https_scheme"')


def test_explain_a_check(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    code, out, err = run_cli(["explain", "path.missing_dirs"], capsys)
    assert code == 0, err
    assert "path.missing_dirs" in out and "envcheck/checks/path" in out and "docs/checks/path.missing_dirs.md" in out
    assert "envcheck doctor --only path.missing_dirs" in out


def test_explain_an_area_lists_its_checks(capsys):
    code, out, _ = run_cli(["explain", "nvcc"], capsys)
    assert code == 0
    assert "nvcc.version" in out and "nvcc.cuda_home" in out


def test_explain_an_unknown_id_suggests_close_ones(capsys):
    code, out, err = run_cli(["explain", "proxy.https"], capsys)
    assert code == 2 and out == ""
    assert "no check 'proxy.https'" in err and "proxy.https_scheme" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_list_checks_shows_code_and_docs_for_every_check(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["doctor", "--list-checks"], capsys)
    assert code == 0
    checks = list(all_checks().values())
    assert len(checks) == len(_ids_in_source()) > 0, "the loop below must cover every decorated check"
    for c in checks:
        assert c.id in out
        assert c.docs_page in out
        assert c.source in out


def test_docs_pages_match_the_registry():
    # docs/checks/ is generated; regenerate with `python -m envcheck.checks._pages docs/checks`.
    from envcheck.checks._pages import pages

    folder = REPO / "docs" / "checks"
    wanted = pages()
    # One page per check (plus index pages): two empty listings would compare equal and prove nothing.
    assert len(wanted) > len(_ids_in_source()) > 0
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.md")}
    assert sorted(on_disk) == sorted(wanted), "a check was added or removed: regenerate docs/checks"
    stale = [name for name, text in wanted.items() if on_disk[name] != text]
    assert not stale, f"out of date (regenerate docs/checks): {stale}"


def test_every_check_is_documented():
    checks = list(all_checks().values())
    assert len(checks) == len(_ids_in_source()) > 0, "the loop below must cover every decorated check"
    for c in checks:
        assert c.doc.looks_at, f"{c.id}: its docstring says nothing about what it looks at"
        assert c.doc.why, f"{c.id}: its docstring has no 'Why:' paragraph"
