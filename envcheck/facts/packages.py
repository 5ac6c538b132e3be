"""The "packages" collector (on demand: export, diff, scaffold): every distribution the target
interpreter sees, listed by envcheck/target/pkginfo.py run *with that interpreter*, so the list is
exactly what it imports (its sys.path, user site, .pth files), not what envcheck's own Python sees.

A listing that fails is data, like every collector's failure: {"problem": "one sentence"}; the
command that needed it turns that into its error line.
"""

from __future__ import annotations

import json

from envcheck.core.context import Context
from envcheck.facts import collector
from envcheck.i18n import _

PKGINFO_TIMEOUT = 60.0  # listing a big conda env on a network filesystem can take a while


@collector("packages", "installed distributions of the target interpreter (envcheck/target/pkginfo.py)",
           timeout=PKGINFO_TIMEOUT + 5, on_demand=True)
def packages(ctx: Context) -> dict:
    from envcheck.target import pkginfo

    result = ctx.run([ctx.python, pkginfo.__file__], timeout=PKGINFO_TIMEOUT)
    if not result.ok:
        return {"problem": _("could not list the packages of {python}: {reason}.").format(
            python=ctx.python, reason=result.describe_failure())}
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"problem": _("{python} printed no package list (is it a Python 3.8+ interpreter?).").format(python=ctx.python)}
    if report.get("error"):
        return {"problem": _("listing the packages of {python} failed: {error}.").format(python=ctx.python, error=report["error"])}
    return {"report": report}
