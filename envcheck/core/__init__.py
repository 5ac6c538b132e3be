"""The doctor's pipeline core: Context -> collectors (runner) -> Facts -> checks -> Findings -> render.

model: the data (FactResult, Facts, Finding, Status); context: what is being diagnosed; runner:
runs collectors in threads with timeouts, failures kept as data; render: terminal, JSON and
Markdown reports, through redact; settings: the user's config file and [tool.envcheck]; errors:
UserError, the one way a command reports a mistake the user can fix.
"""
