"""Translations of user-facing text (issue #11): gettext catalogs, English as the source language.

    from envcheck.i18n import _, ngettext, N_

    _("{count} GPUs found").format(count=n)           # translated now, in the current language
    ngettext("{count} warning", "{count} warnings", n).format(count=n)
    TITLES = {"system": N_("System")}                   # marked for extraction, translated later
    _(TITLES["system"])

Placeholders are always named (`{name}`), never positional, and a sentence is one message: never
glue a sentence together from translated fragments. Commands, paths, package names, versions,
environment variable names, check ids, JSON keys and status values are never translated; they go in
as placeholders or stay literally inside the message.

The language: `--lang zh|en` (set_language, called by envcheck/cli.py before the app is built),
else ENVCHECK_LANG, else (only while LOCALE_AUTO is on) the POSIX locale variables in the order
gettext reads them. English costs nothing: the catalog (envcheck/locale/zh_CN/LC_MESSAGES/
envcheck.mo) is read only when Chinese is chosen, with the standard library's gettext.

Maintenance (needs Babel, in the `test` extra): `python -m envcheck.i18n extract|compile|check`;
see docs/i18n.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

# The locale (LANG=zh_CN.UTF-8 ...) chooses Chinese only when this is True. It is False while only
# part of the tool is translated (see docs/i18n.md, "Converted so far"), so that a Chinese locale
# does not get a half-Chinese report by surprise; until then Chinese is used when asked for with
# `--lang zh` or ENVCHECK_LANG=zh. Turn it on when the catalog covers every command's output.
LOCALE_AUTO = True

LANGUAGES = ("en", "zh")
# The catalog each language reads; English is the source language and has none.
CATALOGS = {"zh": "zh_CN"}
DOMAIN = "envcheck"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_language: str | None = None  # set by set_language(); None: chosen from the environment on first use
_translations = None  # gettext.GNUTranslations of the current language, loaded on first use


def normalize(value: str | None) -> str | None:
    """'zh', 'zh_CN', 'zh-TW', 'zh_CN.UTF-8' -> 'zh'; 'en', 'en_US.UTF-8', 'C' -> 'en' only for 'en*';
    None for anything else (a language we have no catalog for, an empty value)."""
    if not value:
        return None
    code = value.strip().lower().replace("-", "_")
    for sep in (".", "@", "_"):
        code = code.split(sep, 1)[0]
    # zh_CN, zh_SG: Simplified. zh_TW, zh_HK: Traditional, read as Simplified until a zh_TW catalog exists.
    return code if code in LANGUAGES else None


def _is_c_locale(value: str) -> bool:
    return value in ("C", "POSIX") or value.startswith("C.")


def from_locale(environ: Mapping[str, str]) -> str:
    """The language gettext would pick from the POSIX locale variables: LANGUAGE (a colon-separated
    list, first entry we have a catalog for, English included) unless the locale is C/POSIX, then the
    first set of LC_ALL, LC_MESSAGES, LANG. English when none names Chinese."""
    locale = next((environ[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(name)), "")
    language = environ.get("LANGUAGE", "")
    if language and locale and not _is_c_locale(locale):
        for entry in language.split(":"):
            chosen = normalize(entry)
            if chosen:
                return chosen
        return "en"
    return normalize(locale) or "en"


def choose_language(option: str | None = None, environ: Mapping[str, str] | None = None,
                    locale_auto: bool | None = None) -> str:
    """'zh' or 'en': --lang, else ENVCHECK_LANG, else the locale when locale_auto (default: LOCALE_AUTO)."""
    environ = os.environ if environ is None else environ
    for value in (option, environ.get("ENVCHECK_LANG")):
        chosen = normalize(value)
        if chosen:
            return chosen
    if LOCALE_AUTO if locale_auto is None else locale_auto:
        return from_locale(environ)
    return "en"


def set_language(language: str | None) -> str:
    """Use this language from now on ('zh', 'en', or a locale name such as zh_CN); None: choose from
    the environment again. Returns the language in use."""
    global _language, _translations
    _language = normalize(language) if language is not None else None
    _translations = None
    return current_language()


def current_language() -> str:
    global _language
    if _language is None:
        _language = choose_language()
    return _language


def catalog_path(language: str, suffix: str = ".mo") -> Path:
    return LOCALE_DIR / CATALOGS[language] / "LC_MESSAGES" / (DOMAIN + suffix)


def _catalog():
    """The translations of the current language, or None for English."""
    global _translations
    language = current_language()
    if language == "en":
        return None
    if _translations is None:
        import gettext

        try:
            with open(catalog_path(language), "rb") as fp:
                _translations = gettext.GNUTranslations(fp)
        except OSError:
            _translations = gettext.NullTranslations()
    return _translations


def _(message: str) -> str:
    """message in the current language (itself when untranslated)."""
    catalog = _catalog()
    return message if catalog is None else catalog.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for n, in the current language."""
    catalog = _catalog()
    if catalog is None:
        return singular if n == 1 else plural
    return catalog.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks message for extraction without translating it (translate it where it is shown: _(x))."""
    return message


def join(items) -> str:
    """A list of names or counts joined as the language writes lists ("a, b" / "a、b")."""
    return ("、" if current_language() == "zh" else ", ").join(items)


def join_clauses(items) -> str:
    """Clauses (each with its own colon or verb) joined as the language separates them ("a; b" / "a；b")."""
    return ("；" if current_language() == "zh" else "; ").join(items)


__all__ = ["_", "ngettext", "N_", "join", "join_clauses", "set_language", "current_language", "choose_language",
           "LOCALE_AUTO"]
