"""The `envcheck` command line: wires one module per command into a typer app.

Command modules are imported here, but each keeps heavy imports (torch) inside its function so
`envcheck --help` and `envcheck doctor` start fast and work where torch is missing.
"""

from __future__ import annotations

import sys

import typer

from envcheck import __version__
from envcheck.core.errors import UserError

app = typer.Typer(
    name="envcheck",
    help=(
        "The first thing to run on a Linux GPU box before training PyTorch models.\n\n"
        "Start with `envcheck doctor`; prove the GPU stack with `envcheck smoke-train --gpu 0`."
    ),
    no_args_is_help=True,
    add_completion=True,  # typer's own: --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"envcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    pass


def with_common_options(fn):
    """The command `fn` with -q/--quiet and --version added, so every command has them.

    typer builds options from the function's signature, so the wrapper's signature is fn's plus
    two keyword-only options, which the wrapper takes off before calling fn.
    """
    import functools
    import inspect

    from envcheck.util import progress

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.pop("_quiet", False):
            progress.set_quiet(True)
        kwargs.pop("_version", None)
        return fn(*args, **kwargs)

    signature = inspect.signature(fn)
    extra = [
        inspect.Parameter("_quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "-q", "--quiet", help="No progress lines or spinner on stderr; errors and results only.")),
        inspect.Parameter("_version", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit.")),
    ]
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    return wrapper


def _register() -> None:
    # Imported here, not at the top, so each command module stays independent of the others.
    from envcheck.commands import check_data, diff, doctor, explain, export, gpu_bench, scaffold, smoke_train

    # In the order users meet them.
    for name, module in (("doctor", doctor), ("smoke-train", smoke_train), ("gpu-bench", gpu_bench), ("export", export), ("diff", diff),
                         ("scaffold", scaffold), ("check-data", check_data), ("explain", explain)):
        app.command(name)(with_common_options(module.command))
    from envcheck.commands import fleet  # issue #13: the `fleet doctor|smoke-train` group
    app.add_typer(fleet.build_app(with_common_options), name="fleet")


_register()


def _hide_flag_placeholders(command) -> None:
    """On/off flags take no value, but typer's help shows `<bool>` beside them as if they did.

    An empty metavar makes the help show nothing there; options that take a value keep theirs.
    """
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    # -h/--help is not among `params`: click makes it per invocation, so it is fixed as it is made.
    make_help_option = command.get_help_option

    def help_option_without_placeholder(ctx):
        option = make_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    command.get_help_option = help_option_without_placeholder
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_placeholders(sub)


def _usage_error_line(exc: Exception) -> str:
    """click's usage error as one line, naming the command's --help (instead of typer's framed box)."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path} --help" if ctx is not None else "envcheck --help"
    return f"envcheck: error: {message.strip().rstrip('.')}; see `{where}`."


def main() -> None:
    # Not standalone: click's errors come back here to be printed as one line. typer.Exit comes back
    # as its exit code, and errors the user can fix arrive as UserError.
    command = typer.main.get_command(app)
    _hide_flag_placeholders(command)
    try:
        result = command.main(prog_name="envcheck", standalone_mode=False)
    except UserError as exc:
        print(f"envcheck: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("envcheck: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        # click's exceptions (vendored inside newer typer, so matched by shape): usage errors,
        # bad parameter values, missing arguments (exit 2); Abort is Ctrl-C at a prompt.
        if type(exc).__name__ == "Abort":
            print("envcheck: interrupted", file=sys.stderr)
            sys.exit(130)
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            if exc.format_message().strip():  # empty for `envcheck` alone, which has printed its help
                print(_usage_error_line(exc), file=sys.stderr)
            sys.exit(exc.exit_code)
        raise
    sys.exit(result if isinstance(result, int) else 0)
