"""Compilers and build tools: what builds CUDA/C++ extensions (and what collect_env reports)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from envcheck.core.context import Context
from envcheck.facts import collector

# name -> (argv, regex for the version in its first lines)
_TOOLS = {
    "gcc": (["gcc", "--version"], r"(\d+\.\d+(?:\.\d+)?)"),
    "g++": (["g++", "--version"], r"(\d+\.\d+(?:\.\d+)?)"),
    "clang": (["clang", "--version"], r"version (\d+\.\d+(?:\.\d+)?)"),
    "cmake": (["cmake", "--version"], r"version (\d+\.\d+(?:\.\d+)?)"),
    "ninja": (["ninja", "--version"], r"(\d+\.\d+(?:\.\d+)?)"),
}


def _probe(ctx: Context, name: str) -> dict | None:
    argv, pattern = _TOOLS[name]
    path = ctx.which(argv[0])
    if path is None:
        return None
    result = ctx.run([path, *argv[1:]], timeout=5)
    if not result.ok:
        return {"path": path, "version": None, "error": result.describe_failure()}
    first = (result.stdout or result.stderr).strip().splitlines()[:1]
    match = re.search(pattern, first[0]) if first else None
    return {"path": path, "version": match.group(1) if match else None, "banner": first[0] if first else ""}


@collector("toolchain", "C/C++ compilers and build tools used to build CUDA extensions", timeout=15)
def collect_toolchain(ctx: Context) -> dict:
    with ThreadPoolExecutor(max_workers=len(_TOOLS)) as pool:
        results = dict(zip(_TOOLS, pool.map(lambda n: _probe(ctx, n), _TOOLS)))
    return {"tools": results}
