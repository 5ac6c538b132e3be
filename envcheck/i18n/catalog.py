"""Catalog maintenance with Babel (a `test`-extra dependency; the runtime needs only stdlib gettext).

    python -m envcheck.i18n extract   # every _()/ngettext()/N_() message of envcheck/ into the .po,
                                      # keeping the translations already there
    python -m envcheck.i18n compile   # .po -> .mo (committed, shipped in the wheel)
    python -m envcheck.i18n check     # untranslated, fuzzy or stale entries, placeholder mismatches,
                                      # a .mo out of date: one line each, exit 1
    python -m envcheck.i18n update FRAGMENT.po ...
                                      # extract, take the translations of the fragments, compile;
                                      # under a lock, so several people (or agents) converting
                                      # different modules can share the one catalog

Besides the _()/ngettext()/N_() calls found by Babel, two kinds of text are extracted from the live
objects, since Python has no call to mark them with:
- each doctor check's docstring sections (what it looks at, Why:, Fix:), shown by `envcheck explain`
  and rendered into docs/checks/ and docs/checks/zh/;
- every help text of the command-line tree (command docstrings, option and argument help), which
  typer reads when the app is built; envcheck/cli.py translates them after building it.
"""

from __future__ import annotations

import io
import string
from pathlib import Path

from envcheck.i18n import CATALOGS, DOMAIN, catalog_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
SOURCE_DIRS = (PACKAGE_DIR, PACKAGE_DIR.parent / "reference_train")
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}
COMMENT_TAGS = ("TRANSLATORS:",)


def extract_template():
    """A Babel Catalog of every message marked in envcheck/ (the .pot, in memory)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="envcheck", domain=DOMAIN, charset="utf-8")
    # envcheck/, and reference_train/ for the sentences check-data and smoke-train show from it
    # (reference_train/datacheck.py: it falls back to English when envcheck is not importable).
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
                folder, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
                strip_comment_tags=True, directory_filter=lambda d: "__pycache__" not in d):
            template.add(message, None, [(f"{folder.name}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    for message, location, comment in live_texts():
        if message not in template:
            template.add(message, None, [location], auto_comments=[comment])
    return template


def live_texts():
    """(text, (file, line), translator comment) of the texts no _() call marks: check docstring
    sections and the command-line tree's help texts."""
    from envcheck.checks import all_checks

    for check in all_checks().values():
        file, _, line = check.source.rpartition(":")
        sections = (("looks_at", "what it looks at"), ("why", "Why:"), ("fix", "Fix:"))
        for key, name in sections:
            text = getattr(check.doc, key)
            if text:
                yield text, (file, int(line)), (f"Docstring of check {check.id}, section '{name}' (Markdown: keep "
                                                "`code`, links and line breaks between paragraphs).")
    import typer

    from envcheck import cli

    modules = dict(cli.COMMANDS, fleet="fleet")

    def walk(command, path):
        name = path.split(" ")[1] if " " in path else None
        where = (f"envcheck/commands/{modules[name]}.py" if name in modules else "envcheck/cli.py", 0)
        if command.help:
            yield command.help, where, f"--help of `{path}` (the command's docstring)."
        for param in command.params:
            if getattr(param, "help", None):
                yield param.help, where, f"--help of `{path}`: option {'/'.join(param.opts)}."
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(cli.build_app()), "envcheck")


def read(language: str):
    from babel.messages.pofile import read_po

    with open(catalog_path(language, ".po"), "rb") as fp:
        return read_po(fp, locale=CATALOGS[language], domain=DOMAIN)


def write(language: str, catalog) -> None:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    # No line numbers: a moved line does not rewrite the catalog.
    write_po(buffer, catalog, width=100, ignore_obsolete=True, include_lineno=False, sort_output=False)
    catalog_path(language, ".po").write_bytes(buffer.getvalue())


def extract() -> list[str]:
    """Update every language's .po from the code; returns the languages' new-message counts."""
    from babel.messages.catalog import Catalog

    template = extract_template()
    report = []
    for language in CATALOGS:
        path = catalog_path(language, ".po")
        if path.exists():
            catalog = read(language)
            template.creation_date = catalog.creation_date  # stable header: no churn per run
            before = {m.id for m in catalog if m.id}
            catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=CATALOGS[language], domain=DOMAIN, project="envcheck", charset="utf-8")
            catalog.update(template)
            before = set()
        write(language, catalog)
        new = [m.id for m in catalog if m.id and m.id not in before]
        report.append(f"{path.relative_to(PACKAGE_DIR.parent)}: {len(list(catalog)) - 1} messages, {len(new)} new")
    return report


def mo_bytes(language: str) -> bytes:
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, read(language), use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[str]:
    report = []
    for language in CATALOGS:
        path = catalog_path(language)
        path.write_bytes(mo_bytes(language))
        report.append(f"{path.relative_to(PACKAGE_DIR.parent)} written")
    return report


LOCK_FILE = Path(__import__("tempfile").gettempdir()) / "envcheck-i18n.lock"


def merge(language: str, fragments: list[Path]) -> list[str]:
    """Copy the translations of each fragment .po (msgid/msgstr pairs, any order, a subset of the
    catalog) into the language's catalog; a fragment's translation wins. Returns one line per
    fragment, naming msgids that the code does not have (yet)."""
    from babel.messages.pofile import read_po

    catalog = read(language)
    report = []
    for fragment in fragments:
        with open(fragment, "rb") as fp:
            part = read_po(fp, locale=CATALOGS[language], domain=DOMAIN)
        taken, unknown = 0, []
        for message in part:
            if not message.id or not all(s.strip() for s in _strings(message)):
                continue
            target = catalog.get(message.id)
            if target is None:
                unknown.append(_ids_text(message.id))
                continue
            target.string = message.string
            target.flags.discard("fuzzy")
            taken += 1
        report.append(f"{fragment}: {taken} translations taken" +
                      (f"; not in the code: {', '.join(unknown)}" if unknown else ""))
    write(language, catalog)
    return report


def update(fragments: list[Path], language: str = "zh") -> list[str]:
    """extract + merge(fragments) + compile, holding a lock on the catalog the whole time."""
    import fcntl

    with open(LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return [*extract(), *merge(language, fragments), *compile_all()]
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def placeholders(text: str) -> list[str]:
    """The sorted replacement fields of a str.format message; '' stands for a positional one."""
    return sorted(name or "" for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def problems(language: str) -> list[str]:
    """Everything wrong with one language's catalog, one line each (empty: all good)."""
    import gettext

    found = []
    catalog = read(language)
    extracted = {m.id for m in extract_template() if m.id}
    in_catalog = {m.id for m in catalog if m.id}
    for msgid in extracted - in_catalog:
        found.append(f"not in the catalog (run `python -m envcheck.i18n extract`): {_ids_text(msgid)}")
    for msgid in in_catalog - extracted:
        found.append(f"no longer in the code (run `python -m envcheck.i18n extract`): {_ids_text(msgid)}")
    for message in catalog:
        if not message.id:
            continue
        text = _ids_text(message.id)
        if message.fuzzy:
            found.append(f"fuzzy (check the translation, then remove the fuzzy flag): {text}")
        if not all(s.strip() for s in _strings(message)):
            found.append(f"untranslated: {text}")
            continue
        for msgid in _ids(message):
            try:
                names = placeholders(msgid)
            except ValueError as exc:
                found.append(f"not a valid format string ({exc}): {text}")
                continue
            if any(name == "" or name.isdigit() for name in names):
                found.append(f"positional placeholder (name it): {text}")
            for translated in _strings(message):
                try:
                    got = placeholders(translated)
                except ValueError as exc:
                    found.append(f"translation is not a valid format string ({exc}): {text}")
                    continue
                if set(got) != set(names):
                    found.append(f"placeholders differ ({sorted(set(names))} vs {sorted(set(got))}): {text}")
    try:
        with open(catalog_path(language), "rb") as fp:
            shipped = gettext.GNUTranslations(fp)._catalog
        fresh = gettext.GNUTranslations(io.BytesIO(mo_bytes(language)))._catalog
        if shipped != fresh:
            found.append(f"{catalog_path(language).name} is out of date with the .po (run `python -m envcheck.i18n compile`)")
    except OSError:
        found.append(f"{catalog_path(language)} is missing (run `python -m envcheck.i18n compile`)")
    return found


def _ids_text(msgid) -> str:
    return repr(msgid[0] if isinstance(msgid, tuple) else msgid)
