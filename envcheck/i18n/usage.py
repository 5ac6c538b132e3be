"""click's usage errors in the current language.

click (vendored inside newer typer, plain click in older ones) words its usage errors in English
and offers no catalog of its own in every version, so the line `envcheck: error: ...` would stay
English in a Chinese run. The messages' English wording has been stable since click 8.0; each
pattern below recognises one of them and rewords it through our catalog, keeping the names the
user typed (options, arguments, values) as placeholders. A message no pattern knows is kept as
click wrote it.
"""

from __future__ import annotations

import re

from envcheck.i18n import N_, _

# (pattern over click's message, our message with the pattern's named groups as placeholders)
PATTERNS = (
    (r"No such option: (?P<name>\S+?)\.? \(Possible options: (?P<options>[^)]*)\)",
     N_("no such option: {name} (options with a similar name: {options})")),
    (r"No such option: (?P<name>\S+?)\.? Did you mean (?P<options>.+?)\?",
     N_("no such option: {name} (options with a similar name: {options})")),
    (r"No such option: (?P<name>\S+?)\.?", N_("no such option: {name}")),
    (r"Option '(?P<name>[^']+)' requires an argument\.?", N_("option {name} needs a value")),
    (r"Option '(?P<name>[^']+)' requires (?P<count>\d+) arguments\.?", N_("option {name} needs {count} values")),
    (r"Option '(?P<name>[^']+)' does not take a value\.?", N_("option {name} takes no value")),
    (r"Missing argument '(?P<name>[^']+)'\.?", N_("missing argument {name}")),
    (r"Missing option '(?P<name>[^']+)'\.?", N_("missing option {name}")),
    (r"Missing command\.?", N_("missing command")),
    (r"No such command '(?P<name>[^']+)'\.?", N_("no such command: {name}")),
    (r"Got unexpected extra arguments? \((?P<args>.*)\)\.?", N_("unexpected extra arguments: {args}")),
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)\.?", N_("unexpected extra arguments: {args}")),
    (r"Invalid value for '(?P<name>[^']+)': (?P<reason>.*)", N_("invalid value for {name}: {reason}")),
    (r"Invalid value for (?P<name>\S+): (?P<reason>.*)", N_("invalid value for {name}: {reason}")),
)

# Why a value was refused (the {reason} above), as click and typer word it.
REASONS = (
    (r"Input should be a valid integer.*", N_("not a whole number")),
    (r"Input should be a valid number.*", N_("not a number")),
    (r"(?P<value>'.*') is not a valid integer( range)?\.?", N_("{value} is not a whole number")),
    (r"(?P<value>'.*') is not a valid float( range)?\.?", N_("{value} is not a number")),
    (r"(?P<value>'.*') is not (?:one of )?(?P<choices>.+)\.", N_("{value} is not one of {choices}")),
    (r"(?P<value>\S+) is not in the range (?P<range>.+)\.", N_("{value} is outside {range}")),
)


def _reword(text: str, table) -> str | None:
    for pattern, message in table:
        match = re.fullmatch(pattern, text.strip())
        if match:
            fields = match.groupdict(default="")
            if "reason" in fields:  # why a value was refused, when click or typer words it
                fields["reason"] = _reword(fields["reason"], REASONS) or fields["reason"]
            return _(message).format(**fields)
    return None


def translate_usage(message: str) -> str:
    """click's English usage message in the current language (itself when not recognised)."""
    return _reword(message, PATTERNS) or message.strip()
