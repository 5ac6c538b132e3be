"""The runner, the check registry, redaction and the renderers."""

from __future__ import annotations

import json
import time

import pytest

from rich.console import Console

from envcheck import facts as facts_mod
from envcheck.core import runner
from envcheck.checks import run_checks, Check
from envcheck.core.context import Context
from envcheck.core.model import Facts, Finding, Status
from envcheck.core.redact import is_secret_name, redact_data, redact_text
from envcheck.core.render import render_json, render_markdown, render_terminal


def test_runner_turns_exceptions_and_timeouts_into_facts(monkeypatch):
    def good(ctx):
        return {"x": 1}

    def broken(ctx):
        raise RuntimeError("boom")

    def hangs(ctx):
        time.sleep(30)
        return {}

    registry = {
        "good": facts_mod.Collector("good", good, "", None),
        "broken": facts_mod.Collector("broken", broken, "", None),
        "hangs": facts_mod.Collector("hangs", hangs, "", 0.3),
    }
    monkeypatch.setattr(runner, "all_collectors", lambda: registry)
    start = time.monotonic()
    facts = runner.collect(Context())
    assert time.monotonic() - start < 5
    assert facts["good"].ok and facts["good"].data == {"x": 1}
    assert not facts["broken"].ok and "RuntimeError: boom" in facts["broken"].error
    assert not facts["hangs"].ok and "timed out" in facts["hangs"].error


def test_context_run_times_out_and_kills(tmp_path):
    ctx = Context(timeout=0.5)
    start = time.monotonic()
    result = ctx.run(["sleep", "20"])
    assert result.timed_out and not result.ok
    assert time.monotonic() - start < 5
    missing = ctx.run(["definitely-not-a-command-xyz"])
    assert missing.error == "not found"


def test_crashing_check_is_reported_not_raised():
    def crash(facts):
        raise KeyError("gpu")

    def fine(facts):
        return Finding("", Status.OK, "fine")

    findings = run_checks(
        [Check("x.crash", "system", "", crash, ()), Check("x.fine", "system", "", fine, ())], Facts()
    )
    assert [f.status for f in findings] == [Status.FAIL, Status.OK]
    assert "crashed" in findings[0].summary
    assert findings[1].id == "x.fine" and findings[1].area == "system"


def test_secret_names():
    for name in ["HF_TOKEN", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "OPENAI_API_KEY"]:
        assert is_secret_name(name), name
    for name in ["PATH", "PWD", "TOKENIZERS_PARALLELISM", "KEYBOARD_LAYOUT", "CUDA_VISIBLE_DEVICES", "SSH_AUTH_SOCK"]:
        assert not is_secret_name(name), name


def test_redaction_of_urls_and_nested_data():
    assert redact_text("http://alice:s3cret@127.0.0.1:7890") == "http://***@127.0.0.1:7890"
    assert redact_text("socks5h://tok@proxy:1080/x") == "socks5h://***@proxy:1080/x"
    assert redact_text("http://127.0.0.1:7890") == "http://127.0.0.1:7890"
    data = redact_data({"env": {"HF_TOKEN": "hf_abc", "http_proxy": "http://u:p@h:1"}, "list": ["ftp://a:b@c"]})
    assert data == {"env": {"HF_TOKEN": "***", "http_proxy": "http://***@h:1"}, "list": ["ftp://***@c"]}


def _sample():
    facts = Facts.of(proxy={"http_proxy": "http://bob:hunter2@10.0.0.1:3128"})
    findings = [
        Finding("proxy.a", Status.WARN, "proxy http://bob:hunter2@10.0.0.1:3128 is odd", fix="unset http_proxy", area="proxy"),
        Finding("system.b", Status.OK, "fine", area="system"),
        Finding("torch.c", Status.FAIL, "broken", fix="pip install torch", details=["d1"], area="torch"),
    ]
    return facts, findings


def test_no_format_leaks_a_password():
    facts, findings = _sample()
    doc = render_json(facts, findings, "/usr/bin/python3")
    md = render_markdown(facts, findings, "/usr/bin/python3")
    console = Console(record=True, width=200)
    render_terminal(console, facts, findings, "/usr/bin/python3", verbose=True)
    term = console.export_text()
    for text in (doc, md, term):
        assert "hunter2" not in text and "bob" not in text
        assert "***@10.0.0.1:3128" in text
    parsed = json.loads(doc)
    assert parsed["schema_version"] == 1
    assert parsed["summary"] == {"ok": 1, "warn": 1, "fail": 1, "skip": 0, "silenced": 0}
    assert "Doctor found problems in 1 area" in term


def test_hide_credentials_survives_a_malformed_port():
    from envcheck.core.redact import hide_credentials_in_url

    assert hide_credentials_in_url("http://u:p@host:78x0") == "http://***@host:78x0"
    assert hide_credentials_in_url("http://u:p@host:7890/") == "http://***@host:7890/"
    assert hide_credentials_in_url("http://host:7890") == "http://host:7890"


def test_collector_deadline_can_follow_the_context(monkeypatch):
    def slow(ctx):
        time.sleep(30)
        return {}

    registry = {"slow": facts_mod.Collector("slow", slow, "", lambda ctx: ctx.probe_timeout)}
    monkeypatch.setattr(runner, "all_collectors", lambda: registry)
    start = time.monotonic()
    facts = runner.collect(Context(probe_timeout=0.4))
    assert time.monotonic() - start < 5
    assert "timed out after" in facts["slow"].error


def test_torch_checks_skip_when_the_probe_is_not_run():
    from envcheck.checks import select

    findings = run_checks(select(["torch"]), Facts())
    # The filter alone could match nothing (a renamed or unselected check) and all() would still pass.
    [torch_import] = [f for f in findings if f.id == "torch.import"]
    assert torch_import.status is Status.SKIP
    assert not any(f.status is Status.FAIL for f in findings)


def test_package_listing_is_an_on_demand_collector(tmp_path):
    """export/diff/scaffold read packages through the collector registry, but a doctor report
    (collect with no names) does not run it."""
    import sys as _sys

    from envcheck.core.context import Context
    from envcheck.core.runner import collect
    from envcheck.facts import all_collectors, default_collectors

    assert all_collectors()["packages"].on_demand and "packages" not in default_collectors()
    listed = collect(Context(python=_sys.executable), ["packages"])["packages"]
    assert listed.ok and any(d["name"] == "pytest" for d in listed.data["report"]["distributions"])
    not_python = tmp_path / "python"
    not_python.write_text("#!/bin/sh\necho hello\n")
    not_python.chmod(0o755)
    failed = collect(Context(python=str(not_python)), ["packages"])["packages"]
    assert failed.ok and "printed no package list" in failed.data["problem"]


def test_safe_url_hides_credentials_and_conda_tokens_even_in_broken_urls():
    from envcheck.core.redact import redact_text, safe_url

    assert safe_url("https://alice:s3cret@mirror.example.cn/simple") == "https://***@mirror.example.cn/simple"
    assert safe_url("http://u:p@proxy:78x0") == "http://***@proxy:78x0"  # a bad port does not parse
    assert safe_url("https://conda.anaconda.org/t/tk-0123abcd/private") == "https://conda.anaconda.org/t/***/private"
    assert safe_url("proxy.lab:3128") == "proxy.lab:3128"
    # The renderers' redaction hides a conda token too, wherever it appears in text.
    assert "tk-0123abcd" not in redact_text("channel https://conda.anaconda.org/t/tk-0123abcd/private failed")
    assert redact_text("https://repo.lab/api/repo/t/abc123/ch x") == "https://repo.lab/api/repo/t/***/ch x"
    assert redact_text("no url here /t/abc") == "no url here /t/abc"


def test_collect_skips_and_runs_while_waiting_alongside_the_collectors(monkeypatch):
    import threading

    released = threading.Event()

    def waits(ctx):
        # Finishes only once while_waiting has run: it must run while the collectors do, not before.
        assert released.wait(10)
        return {"waited": True}

    registry = {
        "waits": facts_mod.Collector("waits", waits, "", 15),
        "skipped": facts_mod.Collector("skipped", lambda ctx: {"ran": True}, "", None),
        "on_demand": facts_mod.Collector("on_demand", lambda ctx: {}, "", None, on_demand=True),
    }
    monkeypatch.setattr(runner, "all_collectors", lambda: registry)
    facts = runner.collect(Context(), skip={"skipped"}, while_waiting=released.set)
    assert set(facts) == {"waits"} and facts["waits"].data == {"waited": True}

    def broken():
        raise RuntimeError("while waiting")

    with pytest.raises(RuntimeError, match="while waiting"):
        runner.collect(Context(), ["skipped"], while_waiting=broken)


def test_collect_starts_collectors_as_their_modules_import():
    # The real registry, imported module by module: every doctor collector is run exactly once.
    from envcheck.facts import default_collectors

    steps = list(runner._registry_steps())
    assert steps[-1] is facts_mod.COLLECTORS
    assert set(default_collectors()) <= set(steps[-1])
