"""One module per CLI command. Each exposes `command`, a typer-compatible function; cli.py wires
them into the app."""
