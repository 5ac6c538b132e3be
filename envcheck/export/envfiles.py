"""Turn a package listing (from envcheck/target/pkginfo.py) into files that recreate the environment.

Pure functions over plain data: no subprocess, no environment reads, so every rule here is tested
with hand-written package lists. The command modules run pkginfo and gather facts, then call these.

Which packages need the PyTorch index (decided here, documented in docs/export-diff-scaffold.md):
any distribution whose version carries a PyTorch variant as its local label (`+cu118`, `+cpu`,
`+rocm6.2`, `+xpu`). Those builds exist only on https://download.pytorch.org/whl/<variant>; the
same rule covers torch, torchvision, torchaudio and the other packages that index hosts (xformers,
torchao, fbgemm-gpu, ...). A version without a local label (e.g. `torch==2.14.1`, `triton==3.8.0`)
is the PyPI build and needs no index line. pip records no index for index installs (PEP 610
direct_url.json is written only for direct URLs), so the local label is the only evidence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

import yaml

from envcheck.knowledge.versions import canonical_name
from envcheck.core.redact import redact_url

PYTORCH_INDEX = "https://download.pytorch.org/whl"

# pip freeze leaves these out too: every fresh venv already has them, and pinning pip itself
# from inside a requirements file is confusing. `--all` keeps them.
BOOTSTRAP_PACKAGES = {"pip", "setuptools", "wheel", "distribute"}

# Local version labels that name a PyTorch wheel variant, i.e. a folder under PYTORCH_INDEX.
_PYTORCH_VARIANT = re.compile(r"^(cu\d{2,3}|cpu|cpu\.cxx11\.abi|rocm\d+(\.\d+)*|xpu)$")
_CONDA_SUBDIR = re.compile(r"^(noarch|(linux|osx|win|zos)-[a-z0-9_]+)$")


def split_local_version(version: str) -> tuple[str, str | None]:
    """'2.1.2+cu118' -> ('2.1.2', 'cu118'); '1.0' -> ('1.0', None)."""
    public, sep, local = version.partition("+")
    return public, (local if sep else None)


def pytorch_index_url(version: str) -> str | None:
    """The download.pytorch.org index that hosts this exact build, or None for a PyPI build.

    Nightly builds (`.dev` in the public version) live under whl/nightly/<variant>.
    """
    public, local = split_local_version(version)
    if not local or not _PYTORCH_VARIANT.match(local):
        return None
    if ".dev" in public:
        return f"{PYTORCH_INDEX}/nightly/{local}"
    return f"{PYTORCH_INDEX}/{local}"


def cuda_from_variant(version: str) -> str | None:
    """'2.1.2+cu118' -> '11.8', '2.5.0+cu124' -> '12.4'; None when the label names no CUDA."""
    _, local = split_local_version(version)
    match = re.match(r"^cu(\d{2,3})$", local or "")
    if not match:
        return None
    digits = match.group(1)
    return f"{digits[:-1]}.{digits[-1]}"


def _file_url_path(url: str) -> str:
    return unquote(urlsplit(url).path)


@dataclass
class RequirementLine:
    """One distribution's entry in a requirements file."""

    name: str
    line: str | None  # what pip reads; None when the package cannot be reinstalled from a line
    comments: list[str] = field(default_factory=list)  # printed above the line, each without '#'
    index_url: str | None = None  # an index the line needs (PyTorch variants)
    other_index: bool = False  # local version from an index we cannot name


def requirement_for(dist: Mapping[str, Any], exists: Callable[[str], bool] = os.path.exists) -> RequirementLine:
    """How to reinstall one distribution, as precisely as the installed metadata allows.

    `dist` is one entry of pkginfo's "distributions". `exists` is injected so tests can say which
    local folders exist.
    """
    name = str(dist["name"])
    version = str(dist.get("version") or "")
    direct = dist.get("direct_url") or None
    if not direct:
        index_url = pytorch_index_url(version)
        result = RequirementLine(name, f"{name}=={version}", index_url=index_url)
        _, local = split_local_version(version)
        if local and not index_url:
            result.other_index = True
            result.comments.append(
                f"{name} {version} has a local version label: only the index it came from has it "
                "(add that --extra-index-url or --find-links line)."
            )
        return result

    url = str(direct.get("url") or "")
    safe_url = redact_url(url)
    credentials_removed = safe_url != url
    if "vcs_info" in direct:
        vcs = direct["vcs_info"] or {}
        kind = vcs.get("vcs") or "git"
        ref = vcs.get("commit_id") or vcs.get("requested_revision")
        spec = f"{kind}+{safe_url}" + (f"@{ref}" if ref else "")
        subdirectory = direct.get("subdirectory")
        if subdirectory:
            spec += f"#subdirectory={subdirectory}"
        result = RequirementLine(name, f"{name} @ {spec}")
        if not vcs.get("commit_id"):
            result.comments.append(f"{name}: no commit was recorded, so this follows the branch or tag, not the exact code.")
        if credentials_removed:
            result.comments.append(f"{name}: credentials were removed from the URL; supply them with ~/.netrc or a git credential helper.")
        return result

    dir_info = direct.get("dir_info")
    if dir_info is not None and url.startswith("file:"):
        path = _file_url_path(url)
        editable = bool((dir_info or {}).get("editable"))
        if not exists(path):
            what = "editable install" if editable else "install from a local folder"
            return RequirementLine(
                name,
                None,
                [f"{name} {version}: {what} from {path}, which no longer exists; reinstall it from its source."],
            )
        line = f"-e {path}" if editable else f"{name} @ file://{path}"
        what = "editable install" if editable else "installed from a local folder"
        return RequirementLine(name, line, [f"{name} {version}: {what}; this line works only where {path} exists."])

    if "archive_info" in direct:
        archive = direct.get("archive_info") or {}
        if url.startswith("file:"):
            path = _file_url_path(url)
            if not exists(path):
                return RequirementLine(
                    name, None, [f"{name} {version}: installed from the file {path}, which no longer exists."]
                )
            return RequirementLine(
                name, f"{name} @ file://{path}", [f"{name} {version}: installed from a local file; works only where {path} exists."]
            )
        hashes = archive.get("hashes") or {}
        digest = f"sha256={hashes['sha256']}" if "sha256" in hashes else archive.get("hash")
        line = f"{name} @ {safe_url}" + (f"#{digest}" if digest and "#" not in safe_url else "")
        result = RequirementLine(name, line)
        if credentials_removed:
            result.comments.append(f"{name}: credentials were removed from the URL; supply them with ~/.netrc or a keyring.")
        return result

    # A direct URL of a shape this code does not know: say so rather than guess.
    return RequirementLine(name, None, [f"{name} {version}: installed from {safe_url} in a way envcheck cannot reproduce."])


def select_distributions(
    distributions: Iterable[Mapping[str, Any]], only_requested: bool = False, include_bootstrap: bool = False
) -> list[Mapping[str, Any]]:
    chosen = []
    for dist in distributions:
        key = canonical_name(str(dist.get("name") or ""))
        if not key:
            continue
        if key in BOOTSTRAP_PACKAGES and not include_bootstrap:
            continue
        if only_requested and not dist.get("requested"):
            continue
        chosen.append(dist)
    return sorted(chosen, key=lambda d: canonical_name(str(d["name"])))


def requirement_lines(
    distributions: Iterable[Mapping[str, Any]], exists: Callable[[str], bool] = os.path.exists
) -> tuple[list[str], list[str]]:
    """(index option lines, requirement lines with their comments) for pip."""
    index_urls: list[str] = []
    body: list[str] = []
    for dist in distributions:
        req = requirement_for(dist, exists)
        if req.index_url and req.index_url not in index_urls:
            index_urls.append(req.index_url)
        body.extend(f"# {c}" for c in req.comments)
        body.append(req.line if req.line else f"# {req.name}=={dist.get('version')}  (not reinstallable from this file, see above)")
    # --extra-index-url, not --index-url: PyPI stays the source of everything else, and an exact
    # `==2.1.2+cu118` pin exists only on the PyTorch index, so pip cannot pick the wrong build.
    options = [f"--extra-index-url {url}" for url in index_urls]
    return options, body


def header_lines(
    python: Mapping[str, Any] | None,
    torch: Mapping[str, Any] | None,
    nvidia: Mapping[str, Any] | None,
    tool_version: str,
    torch_dist_version: str | None = None,
) -> list[str]:
    """Comment lines (without '#') recording what the file was exported from.

    torch / nvidia are the doctor's fact data ({} or None when the collector failed or is absent):
    an unknown value is written as unknown, never guessed.
    """
    python = python or {}
    torch = torch or {}
    nvidia = nvidia or {}
    lines = [f"Exported by envcheck {tool_version} (envcheck export) from {python.get('executable') or 'unknown interpreter'}"]
    lines.append(
        f"Python {python.get('version') or 'unknown'}"
        + (f" ({python.get('implementation')}, {python.get('platform')} {python.get('machine')})" if python.get("implementation") else "")
    )

    torch_version = torch.get("version") or torch_dist_version
    if not torch_version:
        lines.append("torch: not installed")
    else:
        if torch.get("cuda"):
            build = f"built for CUDA {torch['cuda']}"
        elif "cuda" in torch and torch.get("version"):
            build = "CPU-only build (no CUDA)"
        elif cuda_from_variant(torch_version):
            build = f"built for CUDA {cuda_from_variant(torch_version)} (from its +cu label)"
        else:
            build = "CUDA build unknown"
        if torch_dist_version and "+" in torch_version and "+" not in torch_dist_version:
            # torch.__version__ says +cu130 but the installed distribution is plain 2.14.1: the
            # PyPI wheel, which is built for that CUDA. No index line is needed.
            build += f"; installed as {torch_dist_version}, the PyPI build"
        lines.append(f"torch {torch_version}, {build}")

    driver = nvidia.get("driver_version")
    if driver:
        text = f"NVIDIA driver {driver}"
        if nvidia.get("cuda_driver_version"):
            text += f" (supports CUDA up to {nvidia['cuda_driver_version']})"
        gpus = [g.get("name") or "unknown GPU" for g in nvidia.get("gpus") or [] if isinstance(g, Mapping)]
        if gpus:
            text += "; GPUs: " + describe_gpus(gpus)
        lines.append(text)
    else:
        lines.append("NVIDIA driver: unknown (no driver found or it could not be queried)")
    return lines


def describe_gpus(names: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} x {name}" for name, n in sorted(counts.items()))


def render_requirements(
    distributions: Iterable[Mapping[str, Any]],
    header: Iterable[str] = (),
    exists: Callable[[str], bool] = os.path.exists,
) -> str:
    options, body = requirement_lines(distributions, exists)
    lines = [f"# {h}" for h in header]
    if lines:
        lines.append("")
    if options:
        lines.append("# PyTorch builds with a +variant label are only on the PyTorch index:")
        lines.extend(options)
        lines.append("")
    lines.extend(body)
    return "\n".join(lines) + "\n"


# --- conda environment.yml ---------------------------------------------------------------------


def conda_channel_name(channel: str | None) -> str | None:
    """The channel as environment.yml wants it, from a conda-meta record's `channel` value.

    conda-meta stores full URLs with the platform subdir
    (https://conda.anaconda.org/conda-forge/linux-64) or, in newer conda, just the name.
    anaconda.org tokens (/t/<token>/) are secrets and are dropped; the user logs in again.
    """
    if not channel:
        return None
    text = re.sub(r"/t/[^/]+", "", channel.strip().rstrip("/"))
    parts = text.split("/")
    if _CONDA_SUBDIR.match(parts[-1]):
        parts.pop()
    text = "/".join(parts)
    if "://" in text:
        url = urlsplit(text)
        if url.hostname == "conda.anaconda.org":
            text = url.path.strip("/")
        elif url.hostname == "repo.anaconda.com" and url.path.startswith("/pkgs/"):
            return "defaults"
        else:
            return redact_url(text)
    if text.startswith("pkgs/"):
        return "defaults"
    return text or None


def default_env_name(prefix: str | None) -> str:
    if not prefix:
        return "env"
    path = prefix.rstrip("/")
    base = os.path.basename(path)
    # A project's ".venv" says nothing; the project folder's name does.
    if base in {".venv", "venv", "env", ".env", ".conda"}:
        base = os.path.basename(os.path.dirname(path)) or base
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.")
    return cleaned or "env"


def conda_environment(
    report: Mapping[str, Any],
    name: str | None = None,
    only_requested: bool = False,
    include_bootstrap: bool = False,
    exists: Callable[[str], bool] = os.path.exists,
) -> tuple[dict[str, Any], list[str]]:
    """The environment.yml document (a dict) for a pkginfo report, and notes for its header.

    Conda packages are listed `name=version` without build strings (builds are platform-specific,
    and `conda env create` then picks the right one); packages from a channel other than the
    main one are written `channel::name=version` so the solver cannot take them from elsewhere.
    Everything pip installed goes under `pip:`, with the PyTorch index line when needed.
    """
    python = report.get("python") or {}
    conda = report.get("conda") or None
    version = str(python.get("version") or "")
    python_spec = "python=" + ".".join(version.split(".")[:2]) if version else "python"

    conda_packages = list((conda or {}).get("packages") or [])
    if only_requested:
        conda_packages = [p for p in conda_packages if p.get("requested_spec")]
    conda_names = {canonical_name(str(p.get("name"))) for p in (conda or {}).get("packages") or []}

    channel_counts: dict[str, int] = {}
    for pkg in conda_packages:
        channel = conda_channel_name(pkg.get("channel"))
        if channel:
            channel_counts[channel] = channel_counts.get(channel, 0) + 1
    channels = sorted(channel_counts, key=lambda c: (-channel_counts[c], c)) or ["conda-forge"]
    main_channel = channels[0]

    dependencies: list[Any] = [python_spec]
    for pkg in sorted(conda_packages, key=lambda p: str(p.get("name"))):
        pkg_name = str(pkg.get("name"))
        if pkg_name in {"python", "pip"}:
            continue
        spec = f"{pkg_name}={pkg.get('version')}" if pkg.get("version") else pkg_name
        channel = conda_channel_name(pkg.get("channel"))
        if channel and channel != main_channel and "://" not in channel:
            spec = f"{channel}::{spec}"
        dependencies.append(spec)

    pip_dists = [
        d
        for d in select_distributions(report.get("distributions") or [], only_requested, include_bootstrap)
        if (d.get("installer") or "").lower() != "conda" and canonical_name(str(d["name"])) not in conda_names
    ]
    # pip itself must be a conda dependency for conda to run the pip section at all.
    dependencies.append("pip")
    notes: list[str] = []
    if pip_dists:
        options, body = requirement_lines(pip_dists, exists)
        # Comments cannot live inside a YAML list; they go to the file's header instead.
        notes = [line[2:] for line in body if line.startswith("# ")]
        dependencies.append({"pip": options + [line for line in body if not line.startswith("#")]})
    document = {"name": name or default_env_name(python.get("prefix")), "channels": channels, "dependencies": dependencies}
    return document, notes


def render_conda(document: Mapping[str, Any], header: Iterable[str] = ()) -> str:
    head = "".join(f"# {h}\n" for h in header)
    body = yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False, allow_unicode=True)
    return head + body


def validate_conda_environment(document: Any) -> list[str]:
    """Problems that would make `conda env create -f` reject or misread the file: a name, a list
    of channels, a list of dependencies whose only mapping is one {pip: [...]} section."""
    problems = []
    if not isinstance(document, dict):
        return ["the file is not a YAML mapping"]
    if not isinstance(document.get("name"), str) or not document["name"] or "/" in document["name"] or " " in document["name"]:
        problems.append("name must be a non-empty string without '/' or spaces")
    channels = document.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) and c for c in channels):
        problems.append("channels must be a list of channel names")
    deps = document.get("dependencies")
    if not isinstance(deps, list):
        return problems + ["dependencies must be a list"]
    pip_sections = 0
    for dep in deps:
        if isinstance(dep, str):
            if not dep or dep.startswith("-"):
                problems.append(f"dependency {dep!r} is not a package spec")
        elif isinstance(dep, dict):
            if set(dep) != {"pip"} or not isinstance(dep["pip"], list) or not all(isinstance(x, str) for x in dep["pip"]):
                problems.append("the only mapping allowed in dependencies is {pip: [strings]}")
            pip_sections += 1
        else:
            problems.append(f"dependency {dep!r} is neither a string nor a pip section")
    if pip_sections > 1:
        problems.append("there is more than one pip section")
    if pip_sections and not any(isinstance(d, str) and re.split(r"[=<>! ]", d.split("::")[-1])[0] == "pip" for d in deps):
        problems.append("a pip section needs pip itself in dependencies")
    return problems
