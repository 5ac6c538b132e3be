"""Terminal checks: a long training run should not die when the SSH connection drops.

Converted for translation (issue #11, docs/i18n.md): every summary and fix goes through _(), the
descriptions are marked with N_(); commands are placeholders, never part of a translated text.
"""

from __future__ import annotations

from envcheck.checks import check, ok, warn
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _


@check("terminal.session", "terminal", N_("Running inside tmux or screen (survives a dropped SSH connection)"),
       facts=("terminal",))
def session(facts: Facts) -> Finding | None:
    """Not inside tmux or screen (warn; says so when over SSH).

    Why: A long run dies with the SSH connection or the terminal.

    Fix: `tmux new -s train` (Ctrl-b d to detach, `tmux attach -t train`).
    """
    data = facts.data("terminal")
    if not data:
        return None
    if data.get("in_tmux"):
        name = data.get("tmux_session")
        return ok(_("inside tmux (session {name})").format(name=repr(name)) if name else _("inside tmux"))
    if data.get("in_screen"):
        return ok(_("inside screen (session {name})").format(name=data.get("screen_session")))
    if data.get("over_ssh"):
        summary = _("not inside tmux or screen on an SSH connection: a training run started here dies when the "
                    "connection drops or the terminal closes")
    else:
        summary = _("not inside tmux or screen: a training run started here dies when the connection drops or the "
                    "terminal closes")
    return warn(
        summary,
        fix=_("{start}   (detach with Ctrl-b d, come back with: {attach})").format(
            start="tmux new -s train", attach="tmux attach -t train"),
    )


@check("terminal.tmux_installed", "terminal", N_("tmux is installed"), facts=("terminal",))
def tmux_installed(facts: Facts) -> Finding | None:
    """Tmux not on `PATH` (warn).

    Why: –.

    Fix: `sudo apt install tmux`, or without root `conda install -c conda-forge tmux`
    """
    data = facts.data("terminal")
    if not data:
        return None
    if data.get("tmux_installed"):
        return ok(_("tmux is installed"))
    return warn(
        _("tmux is not installed (screen is, and works too)") if data.get("screen_installed") else _("tmux is not installed"),
        fix=_("{apt}\nor, without root: {conda}").format(apt="sudo apt install tmux",
                                                         conda="conda install -c conda-forge tmux"),
    )
