"""List the installed distributions of the interpreter that runs this file, as one JSON object.

envcheck runs this file with the TARGET interpreter (`envcheck export --python PATH`), which may
have neither envcheck nor any third-party package installed, and may be older than envcheck's own
Python. So (the rule of envcheck/target): standard library only, Python 3.6 syntax, and every failure becomes JSON
rather than a traceback, so the caller always has something to parse.

Output: {"pkginfo_version", "python": {...}, "distributions": [...], "conda": {...} | null,
         "errors": [...]}, or {"error": "...", "traceback": "..."} when nothing could be listed.
"""

import os
import sys

if __name__ == "__main__":
    # The rule of every script in envcheck/target: python puts the script's own folder first on
    # sys.path, and it is not the target's, so it goes before anything else is imported.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import json
import platform
import re
import traceback

PKGINFO_VERSION = 1


def canonical_name(name):
    """PEP 503 name (a stdlib copy of envcheck.knowledge.versions.canonical_name): what pip compares."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _read(dist, filename):
    try:
        return dist.read_text(filename)
    except Exception:  # noqa: BLE001 - a broken file is reported as missing
        return None


def _location(dist):
    try:
        return str(dist.locate_file(""))
    except Exception:  # noqa: BLE001
        return None


def list_distributions():
    """Every distribution visible on sys.path, first one wins (as for `import`)."""
    import importlib.metadata as metadata

    seen = set()
    found = []
    errors = []
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception as exc:  # noqa: BLE001
            errors.append("unreadable metadata at {}: {}".format(_location(dist), exc))
            continue
        if not name:
            errors.append("distribution without a name at {}".format(_location(dist)))
            continue
        key = canonical_name(name)
        if key in seen:
            # A second copy further down sys.path is shadowed; import never reaches it.
            continue
        seen.add(key)
        direct_url = None
        raw_direct_url = _read(dist, "direct_url.json")
        if raw_direct_url:
            try:
                direct_url = json.loads(raw_direct_url)
            except ValueError:
                errors.append("{}: direct_url.json is not valid JSON".format(name))
        installer = (_read(dist, "INSTALLER") or "").strip() or None
        found.append(
            {
                "name": name,
                "version": dist.version,
                "installer": installer,
                # pip writes REQUESTED when the user named the package (not pulled in as a dependency).
                "requested": _read(dist, "REQUESTED") is not None,
                "direct_url": direct_url,
                "location": _location(dist),
            }
        )
    found.sort(key=lambda d: canonical_name(d["name"]))
    return found, errors


def read_conda_meta(prefix):
    """Conda packages of an environment prefix from conda-meta/*.json, or None if it is not one."""
    meta_dir = os.path.join(prefix, "conda-meta")
    if not os.path.isdir(meta_dir):
        return None
    packages = []
    errors = []
    for filename in sorted(os.listdir(meta_dir)):
        if not filename.endswith(".json"):
            continue
        try:
            with open(os.path.join(meta_dir, filename), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError) as exc:
            errors.append("conda-meta/{}: {}".format(filename, exc))
            continue
        if not isinstance(record, dict) or not record.get("name"):
            errors.append("conda-meta/{}: not a package record".format(filename))
            continue
        packages.append(
            {
                "name": record.get("name"),
                "version": record.get("version"),
                "build": record.get("build"),
                "channel": record.get("channel") or record.get("schannel"),
                # requested_spec is what the user typed (`conda install X`), the conda analogue of REQUESTED.
                "requested_spec": record.get("requested_spec"),
            }
        )
    return {"prefix": prefix, "packages": packages, "errors": errors}


def describe_python():
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "is_venv": getattr(sys, "base_prefix", sys.prefix) != sys.prefix,
        "platform": sys.platform,
        "machine": platform.machine(),
    }


def main():
    report = {"pkginfo_version": PKGINFO_VERSION}
    try:
        report["python"] = describe_python()
        report["distributions"], report["errors"] = list_distributions()
        report["conda"] = read_conda_meta(sys.prefix)
    except Exception as exc:  # noqa: BLE001 - the caller needs JSON whatever happens
        report["error"] = "{}: {}".format(type(exc).__name__, exc)
        report["traceback"] = traceback.format_exc()
    sys.stdout.write(json.dumps(report))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
