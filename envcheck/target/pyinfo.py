"""Describe the Python interpreter that runs this file, as one JSON object on stdout.

envcheck runs this file with the interpreter being diagnosed (`--python`, e.g. a conda env's
bin/python), which does not have envcheck installed. So: standard library only, no import of
envcheck, Python 3.6 syntax (the rule of envcheck/target), and every failure is reported inside the
JSON (the "error" and "traceback" keys) rather than as a crash, so the caller always gets data.

Besides the interpreter and its distributions it reports where `import` really finds the key
packages ("import_origins": importlib.util.find_spec, which locates a top-level module without
importing it), which tool made the environment ("env_manager"), each distribution's Requires-Dist
lines and the marker environment to evaluate them in (a `pip check` computed by envcheck).
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

# Top-level module -> the distributions that install it (first = the usual one).
KEY_MODULES = (
    ("torch", ("torch",)),
    ("torchvision", ("torchvision",)),
    ("numpy", ("numpy",)),
    ("pynvml", ("nvidia-ml-py", "pynvml", "nvidia-ml-py3")),
)
# Distributions whose installer (pip, conda, uv) is reported.
INSTALLER_OF = ("torch", "torchvision", "numpy")
# conda package names (conda-meta/NAME-VERSION-BUILD.json) reported when present.
CONDA_PACKAGES = ("pytorch", "torchvision", "numpy", "pytorch-cuda", "cudatoolkit")
# At most this many other duplicated distributions get their import origin looked up.
MAX_DUPLICATES = 20


def _normalize(name):
    # PEP 503 normalised project name; a stdlib copy of envcheck.knowledge.versions.canonical_name.
    return re.sub(r"[-_.]+", "-", name).lower()


def _norm(path):
    try:
        return os.path.normcase(os.path.abspath(path or "."))
    except Exception:
        return path


def _headers(dist):
    """dist.metadata's headers, without parsing the long description after them.

    importlib.metadata hands the whole METADATA file to the email parser, which walks the long
    description line by line (torch's is thousands of lines): half the time of this script. The
    headers end at the first empty line, so the parser is given the text up to there and returns
    the same Name, Version and Requires-Dist. Anything unusual takes the standard path.
    """
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    except Exception:
        text = None
    if not text:
        return dist.metadata
    end = text.find("\n\n")
    if end >= 0:
        text = text[:end + 1]
    import email

    return email.message_from_string(text)


def _iter_distributions():
    """(name, version, location, requires, dist) for every installed distribution, in sys.path order."""
    try:
        from importlib import metadata
    except ImportError:
        metadata = None
    if metadata is not None:
        for dist in metadata.distributions():
            # One broken metadata folder must not hide every other package.
            try:
                # Read METADATA once: dist.version and dist.requires would each parse it again.
                meta = _headers(dist)
                name = meta["Name"]
                version = meta["Version"]
            except Exception:
                continue
            if not name:
                continue
            try:
                requires = meta.get_all("Requires-Dist") or []
            except Exception:
                requires = []
            try:
                location = str(dist.locate_file(""))
            except Exception:
                location = ""
            yield name, version, location, requires, dist
        return
    # Python < 3.8: read the metadata folders ourselves (no Requires-Dist).
    pattern = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+?)(-py[^-]*)?\.(dist-info|egg-info)$")
    for entry in sys.path:
        if not os.path.isdir(entry):
            continue
        for child in sorted(os.listdir(entry)):
            match = pattern.match(child)
            if match:
                yield match.group("name"), match.group("version"), entry, [], None


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


def _read_pyvenv_cfg(prefix):
    """pyvenv.cfg as a dict (keys lower-case), or None when the prefix has none."""
    path = os.path.join(prefix, "pyvenv.cfg")
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return None
    config = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip().lower()] = value.strip()
    return config


def _env_manager(prefix, base_prefix, pyvenv_cfg):
    """uv | venv | virtualenv | conda | pixi | pyenv | system | None (unknown)."""
    real = os.path.realpath(prefix)
    marker = os.sep + ".pixi" + os.sep + "envs" + os.sep
    has_conda_meta = os.path.isdir(os.path.join(prefix, "conda-meta"))
    if marker in prefix + os.sep or marker in real + os.sep:
        return "pixi"
    if has_conda_meta and os.environ.get("PIXI_ENVIRONMENT_NAME") and \
            _norm(os.environ.get("CONDA_PREFIX") or "") == _norm(prefix):
        return "pixi"
    if has_conda_meta:
        return "conda"
    if pyvenv_cfg is not None:
        if "uv" in pyvenv_cfg:
            return "uv"
        if "virtualenv" in pyvenv_cfg:
            return "virtualenv"
        return "venv"
    if hasattr(sys, "real_prefix"):
        return "virtualenv"  # virtualenv < 20 has no pyvenv.cfg
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions = os.path.join(pyenv_root, "versions") + os.sep
    if (real + os.sep).startswith(os.path.realpath(versions) + os.sep) or \
            (os.sep + ".pyenv" + os.sep + "versions" + os.sep) in real + os.sep:
        return "pyenv"
    if real in ("/usr", "/usr/local") or _norm(prefix) in ("/usr", "/usr/local"):
        return "system"
    return None


def _conda_packages(prefix):
    """{conda package name: file stem} for the packages of CONDA_PACKAGES that conda-meta lists."""
    folder = os.path.join(prefix, "conda-meta")
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found = {}
    for file_name in names:
        if not file_name.endswith(".json"):
            continue
        stem = file_name[:-5]
        # NAME-VERSION-BUILD: the name is everything before the second-to-last dash.
        parts = stem.rsplit("-", 2)
        if len(parts) == 3 and parts[0] in CONDA_PACKAGES:
            found[parts[0]] = stem
    return found


def _marker_environment():
    """The PEP 508 marker variables for this interpreter (what packaging.markers.default_environment gives)."""
    impl = sys.implementation
    version = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
    if impl.version.releaselevel != "final":
        version += impl.version.releaselevel[0] + str(impl.version.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


class _Places(object):
    """Classifies a folder: the environment's site-packages, the user site, a PYTHONPATH entry, or other."""

    def __init__(self, site_packages, user_site, user_site_enabled):
        self.sys_path = [_norm(p) for p in sys.path]
        self.site_packages = set(_norm(p) for p in site_packages)
        self.site_packages |= set(os.path.realpath(p) for p in self.site_packages)
        self.user_site = _norm(user_site) if user_site and user_site_enabled else None
        raw = os.environ.get("PYTHONPATH") or ""
        self.pythonpath = set(_norm(p) for p in raw.split(os.pathsep) if p)

    def origin(self, directory):
        normal = _norm(directory)
        if normal in self.site_packages or os.path.realpath(normal) in self.site_packages:
            return "env"
        if self.user_site and normal == self.user_site:
            return "user_site"
        if normal in self.pythonpath:
            return "pythonpath"
        return "other"

    def entry_for(self, path):
        """The sys.path entry a module file was found under (the longest one that contains it)."""
        normal = _norm(path)
        best = None
        for entry in self.sys_path:
            if normal.startswith(entry.rstrip(os.sep) + os.sep) and (best is None or len(entry) > len(best)):
                best = entry
        return best


def _spec_file(name):
    """(file import would load for top-level module NAME, package folder) without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        return None, None
    if spec is None:
        return None, None
    origin = spec.origin if spec.origin not in (None, "namespace", "built-in", "frozen") else None
    locations = list(spec.submodule_search_locations or [])
    if origin is None and locations:
        return locations[0], locations[0]
    if origin is None:
        return None, None
    return origin, (os.path.dirname(origin) if locations else None)


def _import_origin(name, candidates, places, by_location, locations_of):
    """Where `import NAME` resolves, which sys.path entry that is, and the other copies of its distribution."""
    origin_file, package_dir = _spec_file(name)
    if origin_file is None:
        return None
    directory = places.entry_for(origin_file)
    if directory is None:
        # A module loaded by a custom finder (an editable install): the folder above the package.
        directory = os.path.dirname(package_dir or origin_file)
        if package_dir:
            directory = os.path.dirname(package_dir)
    here = by_location.get(_norm(directory), {})
    distribution = next((c for c in candidates if c in here), None)
    version = here.get(distribution) if distribution else None
    if distribution is None:
        # Not installed in that folder under any of the usual names: name the usual one.
        distribution = next((c for c in candidates if c in locations_of), candidates[0])
    others = []
    for location, other_version in locations_of.get(distribution, []):
        if location != _norm(directory):
            others.append({"dir": location, "version": other_version, "origin": places.origin(location)})
    return {
        "file": origin_file,
        "dir": directory,
        "origin": places.origin(directory),
        "version": version,
        "distribution": distribution,
        "others": others,
    }


def _top_level_module(name, dist):
    """The top-level import name of a distribution: top_level.txt, else the name with underscores."""
    guess = name.replace("-", "_")
    text = None
    if dist is not None:
        try:
            text = dist.read_text("top_level.txt")
        except Exception:
            text = None
    names = [n.strip() for n in (text or "").splitlines() if n.strip() and "/" not in n]
    if guess in names or not names:
        return guess
    useful = [n for n in names if not n.startswith("_") and n not in ("test", "tests")]
    return useful[0] if useful else guess


def describe():
    info = {
        "executable": sys.executable,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "prefix": sys.prefix,
        "prefix_real": os.path.realpath(sys.prefix),
        "base_prefix": getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix)),
        "sys_path": list(sys.path),
        "site_packages": _site_packages(),
    }
    info["is_venv"] = info["base_prefix"] != sys.prefix or hasattr(sys, "real_prefix")
    info["is_conda"] = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    info["base_is_conda"] = os.path.isdir(os.path.join(info["base_prefix"], "conda-meta"))
    pyvenv_cfg = _read_pyvenv_cfg(sys.prefix) if info["is_venv"] else None
    info["pyvenv_cfg"] = pyvenv_cfg
    info["env_manager"] = _env_manager(sys.prefix, info["base_prefix"], pyvenv_cfg)
    info["base_env_manager"] = _env_manager(info["base_prefix"], info["base_prefix"], None) \
        if info["is_venv"] else info["env_manager"]
    try:
        import site

        info["user_site"] = site.getusersitepackages()
        info["user_site_enabled"] = bool(site.ENABLE_USER_SITE)
    except Exception:
        info["user_site"] = None
        info["user_site_enabled"] = False

    places = _Places(info["site_packages"], info["user_site"], info["user_site_enabled"])
    user_site = places.user_site
    distributions = {}
    user_site_distributions = {}
    requires = {}
    first_dist = {}
    by_location = {}  # normalised folder -> {name: version}
    locations_of = {}  # name -> [(normalised folder, version)], in sys.path order
    for name, version, location, dist_requires, dist in _iter_distributions():
        key = _normalize(name)
        folder = _norm(location) if location else ""
        # The first one found on sys.path is the one pip and importlib.metadata see.
        if key not in distributions:
            distributions[key] = version
            first_dist[key] = dist
            if dist_requires:
                requires[key] = dist_requires
        if user_site and folder == user_site:
            user_site_distributions.setdefault(key, version)
        if folder:
            by_location.setdefault(folder, {}).setdefault(key, version)
            places_here = locations_of.setdefault(key, [])
            if folder not in [p for p, _ in places_here]:
                places_here.append((folder, version))
    info["distributions"] = distributions
    info["user_site_distributions"] = user_site_distributions
    info["requires"] = requires
    info["marker_environment"] = _marker_environment()

    origins = {}
    for module, candidates in KEY_MODULES:
        found = _import_origin(module, candidates, places, by_location, locations_of)
        if found is not None:
            origins[module] = found
    # Any other distribution installed in two places: which copy does import use?
    key_distributions = set(c for _, candidates in KEY_MODULES for c in candidates)
    duplicated = [k for k, where in locations_of.items() if len(where) > 1 and k not in key_distributions]
    for key in sorted(duplicated)[:MAX_DUPLICATES]:
        module = _top_level_module(key, first_dist.get(key))
        if module in origins:
            continue
        found = _import_origin(module, (key,), places, by_location, locations_of)
        if found is not None:
            origins[module] = found
    info["import_origins"] = origins
    info["duplicated_distributions"] = {k: [{"dir": d, "version": v} for d, v in locations_of[k]]
                                        for k in sorted(k for k, w in locations_of.items() if len(w) > 1)}
    # Installed in the user site AND elsewhere, where import really takes the user-site copy.
    info["shadowed_by_user_site"] = sorted(
        found["distribution"] for found in origins.values()
        if found["origin"] == "user_site" and found["others"]
    )
    info["pythonpath_entries"] = [
        {"dir": entry, "exists": os.path.isdir(entry), "distributions": sorted(by_location.get(_norm(entry), {}))}
        for entry in (os.environ.get("PYTHONPATH") or "").split(os.pathsep) if entry
    ]
    info["installers"] = {}
    for key in INSTALLER_OF:
        dist = first_dist.get(key)
        if dist is None:
            continue
        try:
            installer = (dist.read_text("INSTALLER") or "").strip() or None
        except Exception:
            installer = None
        info["installers"][key] = installer
    info["conda_packages"] = _conda_packages(sys.prefix) if info["is_conda"] else {}
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
