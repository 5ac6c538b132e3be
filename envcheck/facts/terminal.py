"""Whether this shell survives a dropped SSH connection: tmux/screen, installed and in use."""

from __future__ import annotations

from envcheck.core.context import Context
from envcheck.facts import collector


@collector("terminal", "Inside tmux or screen, whether they are installed, SSH session")
def collect_terminal(ctx: Context) -> dict:
    env = ctx.env
    in_tmux = bool(env.get("TMUX"))
    session = None
    session_error = None
    if in_tmux and ctx.which("tmux"):
        result = ctx.run(["tmux", "display-message", "-p", "#S"], timeout=2)
        if result.ok:
            session = result.stdout.strip() or None
        else:
            session_error = result.describe_failure()
    return {
        "in_tmux": in_tmux,
        "tmux_session": session,
        "tmux_session_error": session_error,
        "in_screen": bool(env.get("STY")),
        "screen_session": env.get("STY") or None,
        "tmux_installed": ctx.which("tmux") is not None,
        "screen_installed": ctx.which("screen") is not None,
        "over_ssh": bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT")),
        "term": env.get("TERM"),
    }
