"""Describe the Python interpreter that runs this file, as one JSON object on stdout.

envcheck runs this file with the interpreter being diagnosed (`--python`, e.g. a conda env's
bin/python), which does not have envcheck installed. So: standard library only, no import of
envcheck, Python 3.6 syntax (the rule of envcheck/target), and every failure is reported inside the
JSON (the "error" and "traceback" keys) rather than as a crash, so the caller always gets data.
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


def _normalize(name):
    # PEP 503 normalised project name; a stdlib copy of envcheck.knowledge.versions.canonical_name.
    return re.sub(r"[-_.]+", "-", name).lower()


def _iter_distributions():
    """(name, version, site_dir) for every installed distribution, in sys.path order."""
    try:
        from importlib import metadata
    except ImportError:
        metadata = None
    if metadata is not None:
        for dist in metadata.distributions():
            # One broken metadata folder must not hide every other package.
            try:
                name = dist.metadata["Name"]
                version = dist.version
            except Exception:
                continue
            if not name:
                continue
            try:
                location = str(dist.locate_file(""))
            except Exception:
                location = ""
            yield name, version, location
        return
    # Python < 3.8: read the metadata folders ourselves.
    pattern = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(-py[^-]*)?\.(dist-info|egg-info)$")
    for entry in sys.path:
        if not os.path.isdir(entry):
            continue
        for child in sorted(os.listdir(entry)):
            match = pattern.match(child)
            if match:
                yield match.group("name"), match.group("version"), entry


def _site_packages():
    try:
        import site

        return list(site.getsitepackages())
    except Exception:
        # virtualenv's old site.py has no getsitepackages
        return [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]


def _module_found(name):
    try:
        import importlib.util

        return importlib.util.find_spec(name) is not None
    except Exception:
        return False


def describe():
    info = {
        "executable": sys.executable,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix)),
        "sys_path": list(sys.path),
        "site_packages": _site_packages(),
    }
    info["is_venv"] = info["base_prefix"] != sys.prefix or hasattr(sys, "real_prefix")
    info["is_conda"] = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    info["base_is_conda"] = os.path.isdir(os.path.join(info["base_prefix"], "conda-meta"))
    try:
        import site

        info["user_site"] = site.getusersitepackages()
        info["user_site_enabled"] = bool(site.ENABLE_USER_SITE)
    except Exception:
        info["user_site"] = None
        info["user_site_enabled"] = False

    user_site = os.path.abspath(info["user_site"]) if info["user_site"] else None
    distributions = {}
    user_site_distributions = {}
    elsewhere = set()
    for name, version, location in _iter_distributions():
        key = _normalize(name)
        # The first one found on sys.path is the one `import` would use.
        distributions.setdefault(key, version)
        if user_site and location and os.path.abspath(location) == user_site:
            user_site_distributions.setdefault(key, version)
        else:
            elsewhere.add(key)
    info["distributions"] = distributions
    info["user_site_distributions"] = user_site_distributions
    # Installed both in the user site and in the environment: the user-site copy wins on import.
    info["shadowed_by_user_site"] = sorted(set(user_site_distributions) & elsewhere)
    info["socks_importable"] = _module_found("socks")
    info["pip"] = {"version": distributions.get("pip"), "importable": _module_found("pip")}
    return info


def main():
    try:
        result = describe()
    except Exception as exc:
        result = {
            "executable": sys.executable,
            "version": platform.python_version(),
            "error": "%s: %s" % (type(exc).__name__, exc),
            "traceback": traceback.format_exc(),
        }
    sys.stdout.write(json.dumps(result))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
