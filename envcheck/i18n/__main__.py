"""`python -m envcheck.i18n extract|compile|check`: see envcheck/i18n/catalog.py and docs/i18n.md."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    usage = "usage: python -m envcheck.i18n extract|compile|check|update [FRAGMENT.po ...]"
    if not argv or argv[0] not in ("extract", "compile", "check", "update") or (argv[0] != "update" and len(argv) != 1):
        print(usage, file=sys.stderr)
        return 2
    try:
        from envcheck.i18n import catalog
    except ImportError:  # pragma: no cover
        raise
    try:
        import babel  # noqa: F401
    except ImportError:
        print("envcheck.i18n: needs Babel: pip install -e '.[test]'", file=sys.stderr)
        return 2
    from envcheck.i18n import CATALOGS

    if argv[0] == "extract":
        print("\n".join(catalog.extract()))
        return 0
    if argv[0] == "update":
        from pathlib import Path

        missing = [name for name in argv[1:] if not Path(name).is_file()]
        if missing:
            print(f"envcheck.i18n: no such file: {', '.join(missing)}", file=sys.stderr)
            return 2
        print("\n".join(catalog.update([Path(name) for name in argv[1:]])))
        return 0
    if argv[0] == "compile":
        print("\n".join(catalog.compile_all()))
        return 0
    found = [f"{language}: {p}" for language in CATALOGS for p in catalog.problems(language)]
    print("\n".join(found) if found else "catalogs complete and compiled")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
