"""Build a scenario's fake world and run the doctor's real collectors and checks in it.

A scenario (tests/scenarios/*.yaml, format in tests/scenarios/README.md) describes a small machine:
a HOME with start-up files, folders on PATH, fake executables, venvs, installed distributions, an
nvidia-smi that replays a recorded capture, an NVML that fails the way a real one does, and a torch
probe result taken from a recorded probe run. Nothing is mocked inside the checks: the same
collectors as `envcheck doctor` read the world through a Context (env, home, sys_root, python), so a
scenario tests what a user would see.

Also a script: `python tests/scenario_world.py --table docs/scenarios.md` runs every scenario and
writes the table of results.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SCENARIOS = TESTS / "scenarios"
FIXTURES = TESTS / "fixtures"
CAPTURES = FIXTURES / "nvidia-smi"
PROBES = FIXTURES / "probe"
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"

# Recorded probe results a scenario can start from (tests/fixtures/probe/README.md says where each came from).
PROBE_BASES = {
    "cpu-box": "cpu-box_torch-2.14.1+cu130_real.jsonl",
    "h100x2": "h100x2_torch-2.14.1+cu130_constructed.json",
}
# Short names for the recorded nvidia-smi captures.
CAPTURE_NAMES = {path.name.split("__")[1]: path.name for path in CAPTURES.glob("*.txt")}

KEYS = {"title", "class", "world", "expect", "no_warnings", "source"}
WORLD_KEYS = {"files", "executables", "symlinks", "dirs", "venvs", "packages", "env", "python", "nvidia_smi",
              "nvml", "torch", "offline", "inherit_env"}
EXPECT_KEYS = {"id", "status", "says", "fix", "absent", "not_status", "who"}
STATUSES = {"ok", "warn", "fail", "skip"}
# Areas whose findings depend on the real machine running the tests (disk space, cgroups, the
# terminal) rather than on the world: `no_warnings` leaves them out unless a scenario names them.
MACHINE_AREAS = {"system", "terminal"}


class ScenarioError(ValueError):
    """A scenario file that does not follow the format."""


@dataclass
class Scenario:
    name: str
    path: Path
    title: str
    klass: str
    world: dict[str, Any]
    expect: list[dict[str, Any]]
    no_warnings: list[str] | None = None  # areas that must have no warn/fail ([] = none asked)
    source: str | None = None


def load(path: Path) -> Scenario:
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path.name}: not a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise ScenarioError(f"{path.name}: unknown keys {sorted(unknown)}")
    world = raw.get("world") or {}
    if set(world) - WORLD_KEYS:
        raise ScenarioError(f"{path.name}: unknown world keys {sorted(set(world) - WORLD_KEYS)}")
    expect = raw.get("expect") or []
    for item in expect:
        if not isinstance(item, dict) or "id" not in item or set(item) - EXPECT_KEYS:
            raise ScenarioError(f"{path.name}: each expect item needs `id` and only {sorted(EXPECT_KEYS)}: {item!r}")
        for key in ("status", "not_status"):
            if key in item and item[key] not in STATUSES:
                raise ScenarioError(f"{path.name}: {key} {item[key]!r} is not one of {sorted(STATUSES)}")
    no_warnings = raw.get("no_warnings")
    if no_warnings is True:
        no_warnings = ["*"]
    if not expect and not no_warnings:
        raise ScenarioError(f"{path.name}: expects nothing")
    if not raw.get("title") or not raw.get("class"):
        raise ScenarioError(f"{path.name}: needs a title and a class")
    return Scenario(path.stem, path, raw["title"], raw["class"], world, expect, no_warnings, raw.get("source"))


def all_scenarios() -> list[Scenario]:
    return [load(p) for p in sorted(SCENARIOS.glob("*.yaml"))]


# ------------------------------------------------------------------------------- building

@dataclass
class World:
    root: Path  # the fake / (ctx.sys_root)
    home: Path
    values: dict[str, str] = field(default_factory=dict)

    def expand(self, text: Any) -> Any:
        """{home}, {root}, {python}, {py}, {fixtures} in a string; `~/` at its start is {home}/."""
        if not isinstance(text, str):
            return text
        if text.startswith("~/") or text == "~":
            text = "{home}" + text[1:]
        return re.sub(r"\{(home|root|python|py|fixtures|base_python)\}", lambda m: self.values[m.group(1)], text)

    def place(self, name: str) -> Path:
        """A file's place: `~/x` under the fake HOME, `/x` under the fake root, {..} expanded."""
        expanded = self.expand(name)
        if expanded.startswith(str(self.home)) or expanded.startswith(str(self.root)):
            return Path(expanded)
        if expanded.startswith("/"):
            return self.root / expanded.lstrip("/")
        raise ScenarioError(f"path {name!r} must start with ~/ or /")


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _fake_distribution(site: Path, spec: str, world: World) -> None:
    """name==version [installer=pip] [module=x]: a dist-info folder and an importable package."""
    parts = spec.split()
    name, _, version = parts[0].partition("==")
    options = dict(p.split("=", 1) for p in parts[1:])
    module = options.get("module", name.replace("-", "_"))
    dist = site / f"{name.replace('-', '_')}-{version or '0'}.dist-info"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version or '0'}"]
    lines += [f"Requires-Dist: {req}" for req in options.get("requires", "").split(";") if req]
    _write(dist / "METADATA", "\n".join(lines) + "\n")
    _write(dist / "INSTALLER", options.get("installer", "pip") + "\n")
    _write(dist / "RECORD", "")
    if module != "-":
        _write(site / module / "__init__.py", f"__version__ = {version!r}\n")


def _venv(path: Path, options: dict[str, Any], world: World) -> None:
    base = world.expand(options.get("python", "{base_python}"))
    argv = [base, "-m", "venv", "--without-pip"]
    if options.get("system_site_packages"):
        argv.append("--system-site-packages")
    subprocess.run(argv + [str(path)], check=True, capture_output=True, timeout=120)
    if options.get("uv"):
        cfg = path / "pyvenv.cfg"
        cfg.write_text(cfg.read_text() + "uv = 0.5.11\n")


def _nvml_loader(spec: Any):
    """None: NVML is not installed (library not found), as on a machine without a driver."""
    import pynvml

    if isinstance(spec, dict) and "capture" in spec:
        from test_nvidia_collector import _from_capture

        fake = _from_capture(CAPTURE_NAMES.get(spec["capture"], spec["capture"]))
        # A constructed machine from a real capture: another driver, or other GPUs (say so in `source:`).
        fake.driver = spec.get("driver", fake.driver)
        fake.cuda = spec.get("cuda", fake.cuda)
        fake.gpus = [dict(gpu, **(spec.get("gpu") or {})) for gpu in fake.gpus]
        return lambda: fake
    error = (spec or {}).get("error", "LibraryNotFound") if isinstance(spec, dict) or spec is None else spec
    error_class = getattr(pynvml, f"NVMLError_{error}")

    class FailingNVML:
        def __getattr__(self, name):
            if name in ("nvmlInit", "nvmlInitWithFlags"):
                def init(*args):
                    raise error_class()
                return init
            return getattr(pynvml, name)

    return lambda: FailingNVML()


def _probe_result(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """The torch fact from a recorded probe, with named fields changed."""
    if not spec:
        return None
    from envcheck.core.context import CommandResult
    from envcheck.facts.torch_probe import interpret

    base = PROBES / PROBE_BASES[spec.get("probe", "cpu-box")]
    text = base.read_text()
    if base.suffix == ".json":
        result = json.loads(text)
    else:
        result = json.loads(text.strip().splitlines()[-1])["result"]
    result = copy.deepcopy(result)
    for dotted, value in (spec.get("set") or {}).items():
        target = result
        *parents, last = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value
    line = json.dumps({"envcheck_probe": 1, "event": "result", "result": result})
    return interpret(CommandResult(["python", "probe.py"], 0, line + "\n", ""), 60, "python")


def build(scenario: Scenario, tmp: Path) -> tuple[Any, dict[str, Any]]:
    """Make the world under tmp; return (Context, extra facts) for the doctor."""
    from envcheck.core.context import Context
    from envcheck.core.model import FactResult

    world = World(root=tmp / "root", home=tmp / "root" / "home" / "user")
    world.home.mkdir(parents=True)
    (world.root / "usr" / "bin").mkdir(parents=True)  # first on PATH: where fake system binaries go
    world.values.update(home=str(world.home), root=str(world.root), py=PY, fixtures=str(FIXTURES),
                        base_python=sys.executable, python=sys.executable)
    spec = scenario.world
    for name in spec.get("dirs") or []:
        world.place(name).mkdir(parents=True, exist_ok=True)
    for where, options in (spec.get("venvs") or {}).items():
        _venv(world.place(where), options or {}, world)
    for name, text in (spec.get("files") or {}).items():
        _write(world.place(name), world.expand(text or ""))
    for name, text in (spec.get("executables") or {}).items():
        _write(world.place(name), world.expand(text or "#!/bin/sh\nexit 0\n"), executable=True)
    for name, target in (spec.get("symlinks") or {}).items():
        link = world.place(name)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(world.expand(target))
    for site, specs in (spec.get("packages") or {}).items():
        for item in specs:
            _fake_distribution(world.place(site), world.expand(item), world)
    if spec.get("nvidia_smi"):
        smi = spec["nvidia_smi"] if isinstance(spec["nvidia_smi"], dict) else {"capture": spec["nvidia_smi"]}
        wrapper = world.root / "usr" / "bin" / "nvidia-smi"
        _write(wrapper, f'#!/bin/sh\nexec "{sys.executable}" "{FIXTURES / "fake_nvidia_smi.py"}" "$@"\n', executable=True)
    env = {"HOME": str(world.home), "LANG": "C.UTF-8", "USER": "user", "SHELL": "/bin/bash",
           "PATH": f"{world.root}/usr/bin:/usr/bin:/bin"}
    if spec.get("inherit_env"):
        env = dict(os.environ, **env)
    for key, value in (spec.get("env") or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = world.expand(str(value))
    if spec.get("nvidia_smi"):
        smi = spec["nvidia_smi"] if isinstance(spec["nvidia_smi"], dict) else {"capture": spec["nvidia_smi"]}
        if "capture" in smi:
            env["FAKE_NVSMI_CAPTURE"] = str(CAPTURES / CAPTURE_NAMES.get(smi["capture"], smi["capture"]))
        if smi.get("fail"):
            env["FAKE_NVSMI_FAIL"] = smi["fail"]
        if smi.get("state"):
            env["FAKE_NVSMI_STATE"] = smi["state"]
    python = world.expand(spec.get("python", "{python}"))
    ctx = Context(env=env, python=python, home=world.home, cwd=world.home, offline=spec.get("offline", True),
                  timeout=20, probe_timeout=60, sys_root=world.root, proc_root=world.root / "proc")
    extra: dict[str, Any] = {}
    torch = _probe_result(spec.get("torch"))
    if torch is not None:
        extra["torch"] = FactResult("torch", True, torch)
    return ctx, extra


@dataclass
class Outcome:
    findings: list[Any]
    problems: list[str]  # each expectation that did not hold, in words

    @property
    def passed(self) -> bool:
        return not self.problems


def run(scenario: Scenario, tmp: Path) -> Outcome:
    from envcheck.commands.common import gather
    from envcheck.facts import nvidia

    ctx, extra = build(scenario, tmp)
    original = nvidia.load_nvml
    nvidia.load_nvml = _nvml_loader(scenario.world.get("nvml"))
    try:
        skip = {"torch"} if "torch" not in extra else set()
        facts, findings = gather(ctx, skip_facts=skip | set(extra), extra=extra)
    finally:
        nvidia.load_nvml = original
    return Outcome(findings, judge(scenario, findings))


def _text(finding: Any) -> str:
    return "\n".join([finding.summary, *finding.details, finding.fix or ""])


def judge(scenario: Scenario, findings: list[Any]) -> list[str]:
    problems = []
    for item in scenario.expect:
        mine = [f for f in findings if f.id == item["id"]]
        if item.get("absent"):
            if any(f.status.value in ("warn", "fail") for f in mine):
                problems.append(f"{item['id']}: expected no warning or failure, got " +
                                "; ".join(f"{f.status.value}: {f.summary}" for f in mine))
            continue
        if "status" in item:
            mine = [f for f in mine if f.status.value == item["status"]]
        if "not_status" in item:
            bad = [f for f in findings if f.id == item["id"] and f.status.value == item["not_status"]]
            if bad:
                problems.append(f"{item['id']}: must not be {item['not_status']}, got: {bad[0].summary}")
                continue
            if "status" not in item:
                continue
        if "says" in item:
            mine = [f for f in mine if item["says"].lower() in _text(f).lower()]
        if "fix" in item:
            mine = [f for f in mine if f.fix and item["fix"].lower() in f.fix.lower()]
        if "who" in item:
            mine = [f for f in mine if getattr(f, "who", None) == item["who"]]
        if not mine:
            seen = [f"{f.status.value}: {f.summary} | fix: {f.fix}" for f in findings if f.id == item["id"]]
            problems.append(f"{item['id']}: expected {item.get('status', 'a finding')}"
                            f"{' saying ' + repr(item['says']) if 'says' in item else ''}"
                            f"{' with fix ' + repr(item['fix']) if 'fix' in item else ''}; got {seen or 'nothing'}")
    if scenario.no_warnings:
        areas = scenario.no_warnings
        bad = [f for f in findings if f.status.value in ("warn", "fail") and f.counts and
               (f.area in areas or ("*" in areas and f.area not in MACHINE_AREAS))]
        expected_ids = {item["id"] for item in scenario.expect if item.get("status") in ("warn", "fail")}
        for f in bad:
            if f.id not in expected_ids:
                problems.append(f"unexpected {f.status.value} {f.id}: {f.summary}")
    return problems


# ------------------------------------------------------------------------------- the docs table

def table(results: list[tuple[Scenario, Outcome]]) -> str:
    lines = [
        "# Doctor accuracy scenarios",
        "",
        "Each row is a small fake machine in `tests/scenarios/` (HOME, PATH, fake binaries, recorded",
        "nvidia-smi captures and torch probe results) run through the doctor's real collectors and checks",
        "by `tests/test_scenarios.py`. *Expected* is what the scenario file demands; *Result* is what this",
        "run found. Regenerate with `python tests/scenario_world.py --table docs/scenarios.md`.",
        "",
    ]
    passed = sum(1 for _, o in results if o.passed)
    lines.append(f"{passed} of {len(results)} scenarios as expected.")
    lines.append("")
    by_class: dict[str, int] = {}
    for scenario, _ in results:
        by_class[scenario.klass] = by_class.get(scenario.klass, 0) + 1
    lines.append("| Class | Scenarios |")
    lines.append("|---|---|")
    for klass, count in sorted(by_class.items()):
        lines.append(f"| {klass} | {count} |")
    lines.append("")
    lines.append("| Scenario | Class | What the machine has | Expected | Result |")
    lines.append("|---|---|---|---|---|")
    for scenario, outcome in results:
        expected = []
        for item in scenario.expect:
            if item.get("absent"):
                expected.append(f"`{item['id']}` no warning")
            elif "status" in item:
                expected.append(f"`{item['id']}` {item['status']}")
            elif "not_status" in item:
                expected.append(f"`{item['id']}` not {item['not_status']}")
        if scenario.no_warnings:
            expected.append("no warning" + ("" if scenario.no_warnings == ["*"] else f" in {', '.join(scenario.no_warnings)}"))
        result = "as expected" if outcome.passed else "**" + "; ".join(outcome.problems).replace("|", "\\|") + "**"
        title = scenario.title.replace("|", "\\|")
        lines.append(f"| `{scenario.name}` | {scenario.klass} | {title} | {'; '.join(expected)} | {result} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    import tempfile

    if len(argv) != 2 or argv[0] != "--table":
        print("usage: python tests/scenario_world.py --table docs/scenarios.md", file=sys.stderr)
        return 2
    sys.path.insert(0, str(TESTS))
    sys.path.insert(0, str(REPO))
    results = []
    for scenario in all_scenarios():
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run(scenario, Path(tmp))
        results.append((scenario, outcome))
        print(f"{'ok  ' if outcome.passed else 'FAIL'} {scenario.name}", file=sys.stderr)
    Path(argv[1]).write_text(table(results))
    return 0 if all(o.passed for _, o in results) else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main(sys.argv[1:]))
