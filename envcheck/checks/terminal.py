"""Terminal checks: a long training run should not die when the SSH connection drops."""

from __future__ import annotations

from envcheck.checks import check, ok, warn
from envcheck.core.model import Facts, Finding


@check("terminal.session", "terminal", "Running inside tmux or screen (survives a dropped SSH connection)",
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
        return ok("inside tmux" + (f" (session {name!r})" if name else ""))
    if data.get("in_screen"):
        return ok(f"inside screen (session {data.get('screen_session')})")
    over_ssh = data.get("over_ssh")
    return warn(
        "not inside tmux or screen" + (" on an SSH connection" if over_ssh else "")
        + ": a training run started here dies when the connection drops or the terminal closes",
        fix="tmux new -s train   (detach with Ctrl-b d, come back with: tmux attach -t train)",
    )


@check("terminal.tmux_installed", "terminal", "tmux is installed", facts=("terminal",))
def tmux_installed(facts: Facts) -> Finding | None:
    """Tmux not on `PATH` (warn).

    Why: –.

    Fix: `sudo apt install tmux`, or without root `conda install -c conda-forge tmux`
    """
    data = facts.data("terminal")
    if not data:
        return None
    if data.get("tmux_installed"):
        return ok("tmux is installed")
    also = " (screen is, and works too)" if data.get("screen_installed") else ""
    return warn(
        f"tmux is not installed{also}",
        fix="sudo apt install tmux\nor, without root: conda install -c conda-forge tmux",
    )
