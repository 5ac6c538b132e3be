"""The doctor's accuracy suite: every scenario in tests/scenarios/ (format: tests/scenarios/README.md)
is a small fake machine run through the real collectors and checks; each must give the findings its
file expects. docs/scenarios.md is the table of these results and must list every scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

import scenario_world
from scenario_world import Scenario, ScenarioError, all_scenarios, judge, load, run

SCENARIOS = all_scenarios()
DOCS_TABLE = scenario_world.REPO / "docs" / "scenarios.md"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, tmp_path):
    outcome = run(scenario, tmp_path)
    assert outcome.problems == [], f"{scenario.path.name}: {scenario.title}"


def test_there_are_enough_scenarios_and_every_class_has_some():
    classes = {s.klass for s in SCENARIOS}
    assert len(SCENARIOS) >= 60, len(SCENARIOS)
    assert {"baseline", "false-alarm", "root-cause", "missed", "network"} <= classes, classes


def test_the_docs_table_lists_every_scenario():
    text = DOCS_TABLE.read_text()
    missing = [s.name for s in SCENARIOS if f"| `{s.name}` |" not in text]
    assert missing == [], "regenerate: python tests/scenario_world.py --table docs/scenarios.md"
    assert "**" not in text.split("| Scenario |", 1)[1], "the table records a scenario that did not pass"


def test_a_wrong_expectation_is_reported(tmp_path):
    # The judge itself: a scenario that expects a warning the world does not cause must fail.
    path = tmp_path / "wrong.yaml"
    path.write_text("title: t\nclass: baseline\nexpect:\n  - {id: path.missing_dirs, status: warn}\n")
    scenario = load(path)
    outcome = run(scenario, tmp_path / "w")
    assert outcome.problems and "path.missing_dirs: expected warn" in outcome.problems[0]


def test_no_warnings_catches_an_unexpected_warning(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("title: t\nclass: baseline\nno_warnings: true\nworld:\n  env:\n    PATH: '/nonexistent-dir:/usr/bin:/bin'\n")
    outcome = run(load(path), tmp_path / "w")
    assert any("path.missing_dirs" in p for p in outcome.problems), outcome.problems


@pytest.mark.parametrize("text, phrase", [
    ("title: t\nclass: c\n", "expects nothing"),
    ("title: t\nclass: c\nexpect:\n  - {status: warn}\n", "needs `id`"),
    ("title: t\nclass: c\nexpect:\n  - {id: a.b, status: bad}\n", "is not one of"),
    ("title: t\nclass: c\nworld: {nope: 1}\nexpect:\n  - {id: a.b}\n", "unknown world keys"),
])
def test_malformed_scenarios_are_refused(tmp_path, text, phrase):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=phrase.replace("`", ".")):
        load(path)
