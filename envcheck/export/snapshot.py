"""Environment snapshots (`envcheck export --format snapshot`) and comparing two of them
(`envcheck diff`).

A snapshot is the record of what a run needed: the doctor's facts and the installed packages,
redacted exactly as the doctor's --json output is. Its layout is versioned with SCHEMA_VERSION;
`load_snapshot` refuses files it does not understand instead of comparing garbage.

Converted for translation (issue #11, docs/i18n.md): load_snapshot's errors go through _(). The
snapshot file and the comparison's data (group titles, item names, values) stay English: they are
what --json shows; envcheck/commands/diff.py translates them for its text report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from envcheck import __version__
from envcheck.export.envfiles import canonical_name, cuda_from_variant, requirement_for
from envcheck.i18n import N_, _
from envcheck.core.errors import UserError
from envcheck.core.redact import redact_data

SCHEMA_VERSION = 1
KIND = "envcheck-snapshot"

# Variables whose change alters what a run sees. Proxy values pass through redaction.
DIFF_ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_HOME",
    "CUDA_PATH",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "PYTHONPATH",
    "PYTORCH_CUDA_ALLOC_CONF",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

# The packages `diff` shows in its first group; they are not repeated among the packages.
RUNTIME_PACKAGES = {"torch"}


def package_source(dist: Mapping[str, Any]) -> str:
    direct = dist.get("direct_url") or None
    if not direct:
        return "index"
    if "vcs_info" in direct:
        return "vcs"
    if (direct.get("dir_info") or {}).get("editable"):
        return "editable"
    if "dir_info" in direct:
        return "local"
    return "url"


def build_snapshot(
    pkg_report: Mapping[str, Any],
    facts: Mapping[str, Any],
    checks: Iterable[Mapping[str, Any]] = (),
    target_python: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The snapshot document, already redacted.

    facts is Facts.to_dict() (name -> {ok, data, error, duration_s}); checks are Finding.to_dict()s.
    """
    packages: dict[str, Any] = {}
    for dist in sorted(pkg_report.get("distributions") or [], key=lambda d: canonical_name(str(d["name"]))):
        entry: dict[str, Any] = {
            "version": dist.get("version"),
            "installer": dist.get("installer"),
            "requested": bool(dist.get("requested")),
            "source": package_source(dist),
        }
        if dist.get("direct_url"):
            entry["install_line"] = requirement_for(dist, exists=lambda _path: True).line
        packages[str(dist["name"])] = entry
    conda = pkg_report.get("conda") or None
    document = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "tool": {"name": "envcheck", "version": __version__},
        "created_at": created_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "target_python": target_python or (pkg_report.get("python") or {}).get("executable"),
        "python": dict(pkg_report.get("python") or {}),
        "packages": packages,
        "conda_packages": [
            {k: p.get(k) for k in ("name", "version", "build", "channel")} for p in (conda or {}).get("packages") or []
        ],
        "facts": dict(facts),
        "checks": list(checks),
    }
    return redact_data(document)


def dump_snapshot(document: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, default=str) + "\n"
    header = "# envcheck snapshot: compare it with `envcheck diff THIS_FILE` (schema in docs/export-diff-scaffold.md)\n"
    return header + yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False, allow_unicode=True)


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read a snapshot file; any problem is a UserError (exit 2) with one clear sentence."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(_("{path}: no such snapshot file; create one with `envcheck export --format snapshot -o {path}`.")
                        .format(path=path)) from None
    except IsADirectoryError:
        raise UserError(_("{path} is a folder; give a snapshot file written by `envcheck export --format snapshot`.")
                        .format(path=path)) from None
    except OSError as exc:
        raise UserError(_("{path}: cannot read it ({reason}); check the path and its permissions.").format(
            path=path, reason=exc.strerror or exc)) from None
    try:
        text = raw.decode("utf-8-sig")  # an editor on Windows may have added a byte order mark
    except UnicodeDecodeError:
        raise UserError(_("{path} is not a text file (it holds binary data); give a snapshot file written by "
                          "`envcheck export --format snapshot` (YAML or JSON).").format(path=path)) from None
    if not text.strip():
        raise UserError(_("{path} is empty; create a snapshot with `envcheck export --format snapshot -o {path}`.").format(path=path))
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except RecursionError:
        raise UserError(_("{path} is not valid YAML or JSON (nested too deeply); re-create it with "
                          "`envcheck export --format snapshot`.").format(path=path)) from None
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(_("{path} is not valid YAML or JSON ({error}); re-create it with "
                          "`envcheck export --format snapshot`.").format(path=path, error=first)) from None
    if document is None:
        raise UserError(_("{path} is empty; create a snapshot with `envcheck export --format snapshot -o {path}`.").format(path=path))
    if _more_values_than(document, MAX_VALUES):
        # YAML aliases can make a small file expand into billions of values ("billion laughs").
        raise UserError(_("{path} holds more than {count} values once its YAML aliases are expanded; "
                          "that is not a snapshot envcheck wrote: re-create it with `envcheck export --format snapshot`.")
                        .format(path=path, count=f"{MAX_VALUES:,}"))
    if not isinstance(document, dict) or document.get("kind") != KIND:
        if isinstance(document, str):
            raise UserError(_("{path} is not an envcheck snapshot (it holds plain text, e.g. a requirements file); "
                              "create one with `envcheck export --format snapshot -o FILE`.").format(path=path))
        raise UserError(_("{path} is not an envcheck snapshot; create one with `envcheck export --format snapshot -o FILE`.")
                        .format(path=path))
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UserError(_(
            "{path}: schema_version is {version}, but envcheck writes a whole number from 1 up there (no quotes); "
            "the file was edited or not written by envcheck: re-create it with `envcheck export --format snapshot`."
        ).format(path=path, version=repr(version)))
    if version > SCHEMA_VERSION:
        raise UserError(_(
            "{path} has snapshot schema version {version}, which this envcheck ({envcheck}) does not understand; "
            "upgrade envcheck.").format(path=path, version=repr(version), envcheck=__version__))
    problem = _shape_problem(document)
    if problem:
        part, found, expected = problem
        raise UserError(_(SHAPE_PROBLEMS[expected]).format(path=path, part=part, type=found))
    return document


# The whole sentence for each kind of misshapen part ({part} is a {type}: a Python type name).
SHAPE_PROBLEMS = {
    "mapping": N_("{path}: {part} is a {type}, not a mapping; the file was edited or not written by envcheck: "
                  "re-create it with `envcheck export --format snapshot`."),
    "mapping or version": N_("{path}: {part} is a {type}, not a mapping or a version; the file was edited or not "
                             "written by envcheck: re-create it with `envcheck export --format snapshot`."),
    "list": N_("{path}: {part} is a {type}, not a list; the file was edited or not written by envcheck: "
               "re-create it with `envcheck export --format snapshot`."),
    "single value": N_("{path}: {part} is a {type}, not a single value; the file was edited or not written by "
                       "envcheck: re-create it with `envcheck export --format snapshot`."),
}


# A snapshot of a large environment holds tens of thousands of values; far more means a crafted file.
MAX_VALUES = 1_000_000


def _more_values_than(document: Any, limit: int) -> bool:
    """Whether the document, with shared (aliased) parts counted each time they occur, has more
    than `limit` values. Stops counting at the limit, so a "billion laughs" file costs no time."""
    count, stack = 0, [document]
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _type_name(value: Any) -> str:
    return type(value).__name__


def _shape_problem(document: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The first part of a snapshot whose type is not what envcheck writes (and diff reads), as
    (part, its type, what it should be: a key of SHAPE_PROBLEMS), or None.

    A string or list where a mapping belongs means a hand-edited or foreign file: comparing it
    would either crash or report nonsense, so it is refused, naming the part.
    """
    for key in ("facts", "packages", "python"):
        value = document.get(key)
        if value is not None and not isinstance(value, Mapping):
            return repr(key), _type_name(value), "mapping"
    for name, info in (document.get("packages") or {}).items():
        if not (info is None or isinstance(info, (Mapping, str, int, float))):
            return f"'packages.{name}'", _type_name(info), "mapping or version"
    for name, result in (document.get("facts") or {}).items():
        where = f"facts.{name}"
        if not isinstance(result, Mapping):
            return repr(where), _type_name(result), "mapping"
        data = result.get("data")
        if data is not None and not isinstance(data, Mapping):
            return f"'{where}.data'", _type_name(data), "mapping"
    nested = (("nvidia", "gpus", list), ("env", "vars", Mapping), ("python", "target", Mapping))
    for fact, key, kind in nested:
        value = (((document.get("facts") or {}).get(fact) or {}).get("data") or {}).get(key)
        if value is not None and not isinstance(value, kind):
            return f"'facts.{fact}.data.{key}'", _type_name(value), "list" if kind is list else "mapping"
    gpus = (((document.get("facts") or {}).get("nvidia") or {}).get("data") or {}).get("gpus") or []
    for index, gpu in enumerate(gpus):
        where = f"facts.nvidia.data.gpus[{index}]"
        if not isinstance(gpu, Mapping):
            return repr(where), _type_name(gpu), "mapping"
        for key in ("name", "index", "uuid"):
            if isinstance(gpu.get(key), (list, dict)):
                return f"'{where}.{key}'", _type_name(gpu[key]), "single value"
    return None


# --- comparing ---------------------------------------------------------------------------------

UNKNOWN = "unknown"
UNSET = "(unset)"
NOT_INSTALLED = "(not installed)"


@dataclass
class Change:
    key: str
    before: str | None  # None: absent in A (added)
    after: str | None  # None: absent in B (removed)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"

    def to_dict(self) -> dict[str, Any]:
        # "item", not "key": redaction hides the value of any field named like a secret (KEY).
        return {"item": self.key, "kind": self.kind, "a": self.before, "b": self.after}


@dataclass
class Group:
    id: str
    title: str
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "changes": [c.to_dict() for c in self.changes]}


def _fact_data(document: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A collector's data from a snapshot, or None when it failed or was not collected."""
    result = (document.get("facts") or {}).get(name)
    if not isinstance(result, Mapping) or not result.get("ok"):
        return None
    data = result.get("data")
    return dict(data) if isinstance(data, Mapping) else None


def _packages(document: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """canonical name -> (display name, version)."""
    result = {}
    for name, info in (document.get("packages") or {}).items():
        version = info.get("version") if isinstance(info, Mapping) else info
        result[canonical_name(str(name))] = (str(name), UNKNOWN if version is None else str(version))
    return result


def runtime_view(document: Mapping[str, Any]) -> dict[str, str]:
    """What decides whether a GPU run works: torch, its CUDA build, driver and GPUs."""
    torch = _fact_data(document, "torch")
    nvidia = _fact_data(document, "nvidia")
    packages = _packages(document)
    torch_pkg = packages.get("torch", (None, None))[1]
    if torch and torch.get("version"):
        torch_version = str(torch["version"])
    else:
        torch_version = torch_pkg or NOT_INSTALLED
    if torch and torch.get("version"):
        cuda = str(torch["cuda"]) if torch.get("cuda") else ("none (CPU-only build)" if "cuda" in torch else UNKNOWN)
    elif torch_pkg:
        cuda = cuda_from_variant(torch_pkg) or UNKNOWN
    else:
        cuda = NOT_INSTALLED
    view = {"torch version": torch_version, "torch CUDA build": cuda}
    if torch and torch.get("cudnn"):
        from envcheck.checks.torch import decode_cudnn

        cudnn = torch["cudnn"]
        # The doctor shows 92400 as 9.24.0; a hand-edited file may hold the number as text.
        number = int(cudnn) if isinstance(cudnn, str) and cudnn.strip().isascii() and cudnn.strip().isdigit() else cudnn
        view["cuDNN"] = decode_cudnn(number) or str(cudnn)
    if nvidia is None:
        view.update({"NVIDIA driver": UNKNOWN, "driver CUDA (newest supported)": UNKNOWN, "GPU count": UNKNOWN, "GPU models": UNKNOWN})
    else:
        gpus = [g.get("name") or "unknown GPU" for g in nvidia.get("gpus") or [] if isinstance(g, Mapping)]
        counts: dict[str, int] = {}
        for gpu in gpus:
            counts[gpu] = counts.get(gpu, 0) + 1
        view.update(
            {
                "NVIDIA driver": str(nvidia.get("driver_version") or "none"),
                "driver CUDA (newest supported)": str(nvidia.get("cuda_driver_version") or "none"),
                "GPU count": str(len(gpus)),
                "GPU models": ", ".join(f"{n} x {name}" for name, n in sorted(counts.items())) or "none",
            }
        )
    return view


def python_view(document: Mapping[str, Any]) -> dict[str, str]:
    python = document.get("python") or {}
    target = ((_fact_data(document, "python") or {}).get("target") or {}) if not python.get("version") else {}
    return {
        "Python version": str(python.get("version") or target.get("version") or UNKNOWN),
        "implementation": str(python.get("implementation") or UNKNOWN),
        "virtual environment": UNKNOWN if "is_venv" not in python else ("yes" if python["is_venv"] else "no"),
    }


def env_view(document: Mapping[str, Any]) -> dict[str, str] | None:
    env = _fact_data(document, "env")
    if env is None:
        return None
    variables = {str(k): str(v) for k, v in (env.get("vars") or {}).items()}
    view = {}
    for name in DIFF_ENV_VARS:
        # Proxy variables are honoured in either case by most tools; compare each spelling.
        spellings = [name, name.upper()] if name.islower() else [name]
        for spelling in spellings:
            view[spelling] = variables.get(spelling, UNSET)
    return view


def _compare(a: Mapping[str, str], b: Mapping[str, str]) -> list[Change]:
    changes = []
    for key in list(a) + [k for k in b if k not in a]:
        before, after = a.get(key), b.get(key)
        if before != after:
            changes.append(Change(key, before if before is not None else UNKNOWN, after if after is not None else UNKNOWN))
    return changes


def diff_snapshots(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Group]:
    """Differences grouped by how likely they are to break a run: runtime first, then Python,
    packages and environment variables."""
    groups = [
        Group("runtime", "PyTorch, CUDA, driver and GPUs", _compare(runtime_view(a), runtime_view(b))),
        Group("python", "Python", _compare(python_view(a), python_view(b))),
    ]

    pa, pb = _packages(a), _packages(b)
    package_changes = []
    for key in sorted(set(pa) | set(pb)):
        if key in RUNTIME_PACKAGES:
            continue
        if key not in pa:
            package_changes.append(Change(pb[key][0], None, pb[key][1]))
        elif key not in pb:
            package_changes.append(Change(pa[key][0], pa[key][1], None))
        elif pa[key][1] != pb[key][1]:
            package_changes.append(Change(pb[key][0], pa[key][1], pb[key][1]))
    groups.append(Group("packages", "Packages", package_changes))

    ea, eb = env_view(a), env_view(b)
    env_changes = _compare(ea, eb) if ea is not None and eb is not None else []
    groups.append(Group("env", "Environment variables", env_changes))
    return groups
