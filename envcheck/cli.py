"""The `envcheck` command line: wires one module per command into a typer app.

Nothing heavy is imported at the top: `envcheck doctor` starts the torch probe (envcheck/target/
probe.py, which imports torch in the target interpreter: the slowest part of the report) before
typer, rich or any collector is imported, then builds an app with the command being run alone.
Each command module keeps heavy imports (torch) inside its function so `envcheck --help` and
`envcheck doctor` start fast and work where torch is missing.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Optional

from envcheck import __version__
from envcheck.i18n import N_

# In the order users meet them: command name -> module in envcheck.commands.
COMMANDS = (("doctor", "doctor"), ("smoke-train", "smoke_train"), ("gpu-bench", "gpu_bench"), ("export", "export"), ("diff", "diff"),
            ("scaffold", "scaffold"), ("check-data", "check_data"), ("explain", "explain"))

HELP = N_(
    "The first thing to run on a Linux GPU box before training PyTorch models.\n\n"
    "Start with `envcheck doctor`; prove the GPU stack with `envcheck smoke-train --gpu 0`."
)
LANG_HELP = N_("Language of the output: zh (中文) or en; default: ENVCHECK_LANG, else English.")
# Help texts that are neither in a docstring nor in a typer.Option of ours: click's and typer's own,
# and the docstrings of converted commands (typer reads the docstring; extraction needs a literal).
# build_app translates every command's and option's help through the catalog (see _translate_help).
OTHER_HELP = (
    N_("Show this message and exit."),
    N_("Inspect this machine's PyTorch/CUDA environment and say how to fix each problem.\n\n"
       "Exit status: 0 when no check failed, 1 when at least one failed, 2 for usage errors."),
)
# typer's rich help panel titles (module constants in typer.rich_utils), English as typer has them.
PANEL_TITLES = {"ARGUMENTS_PANEL_TITLE": N_("Arguments"), "OPTIONS_PANEL_TITLE": N_("Options"),
                "COMMANDS_PANEL_TITLE": N_("Commands")}


def _version(value: bool) -> None:
    if value:
        import typer

        print(f"envcheck {__version__}")
        raise typer.Exit(0)


def _lang(value: str | None) -> str | None:
    if value is None:
        return None
    from envcheck import i18n

    if i18n.normalize(value) is None:
        import typer

        raise typer.BadParameter(i18n._("{value} is not a language envcheck speaks; use zh or en.").format(value=repr(value)))
    i18n.set_language(value)
    return value


# The commands' parameters that name a file or folder (the function's parameter name -> how the
# user wrote it). Each is checked before the command starts (fsutil.path_text_problem);
# tests/test_cli_paths.py fails when a command gains a path parameter that is not listed here.
PATH_PARAMETERS = {
    "python": "--python", "output_text": "--output", "hosts_file": "--hosts-file", "from_dir": "--from",
    "save": "--save", "directory_text": "--dir", "data_text": "--data", "out_text": "--out",
    "directory": "DIR", "a": "A", "b": "B",
}


def _check_paths(kwargs: dict) -> None:
    from envcheck.core.errors import UserError
    from envcheck.util.fsutil import path_text_problem

    for name, option in PATH_PARAMETERS.items():
        value = kwargs.get(name)
        if value is not None:
            problem = path_text_problem(option, str(value))
            if problem:
                raise UserError(problem)


def with_common_options(fn):
    """The command `fn` with -q/--quiet, --lang and --version added, so every command has them.

    typer builds options from the function's signature, so the wrapper's signature is fn's plus
    two keyword-only options, which the wrapper takes off before calling fn.
    """
    import functools
    import inspect

    import typer

    from envcheck.util import progress

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.pop("_quiet", False):
            progress.set_quiet(True)
        kwargs.pop("_version", None)
        kwargs.pop("_lang", None)  # applied by its callback (and by main() before the app is built)
        _check_paths(kwargs)
        return fn(*args, **kwargs)

    signature = inspect.signature(fn)
    extra = [
        inspect.Parameter("_quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "-q", "--quiet", help=N_("No progress lines or spinner on stderr; errors and results only."))),
        inspect.Parameter("_lang", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str], default=typer.Option(
            None, "--lang", metavar="zh|en", callback=_lang, is_eager=True, help=LANG_HELP)),
        inspect.Parameter("_version", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "--version", callback=_version, is_eager=True, help=N_("Print the version and exit.")),
        ),
    ]
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    return wrapper


def build_app(only: str | None = None):
    """The typer app. only: register that command alone (the one being run), so running
    `envcheck doctor` does not import the other commands' modules (explain's markdown renderer,
    smoke-train, scaffold): each command module stays independent of the others, and the help of
    one command does not list its siblings anyway."""
    import importlib

    import typer

    app = typer.Typer(
        name="envcheck",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,  # typer's own: --install-completion / --show-completion for bash, zsh, fish
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help=N_("Print the version and exit.")),
        lang: Optional[str] = typer.Option(None, "--lang", metavar="zh|en", callback=_lang, is_eager=True, help=LANG_HELP),
    ) -> None:
        pass

    for name, module_name in COMMANDS:
        if only is None or name == only:
            module = importlib.import_module(f"envcheck.commands.{module_name}")
            app.command(name)(with_common_options(module.command))
    if only is None or only == "fleet":
        from envcheck.commands import fleet  # issue #13: the `fleet doctor|smoke-train` group
        app.add_typer(fleet.build_app(with_common_options), name="fleet")
    return app


def __getattr__(name: str):
    # `envcheck.cli.app`, the whole app, is built on first use rather than at import.
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Options of `envcheck` itself that take a value, so may come before the command's name.
_ROOT_OPTIONS_WITH_VALUE = ("--lang",)


def _command_position(argv: list[str]) -> int | None:
    """Where the command's name is in argv (`envcheck doctor ...`, `envcheck --lang zh doctor
    ...`); None for anything else (`envcheck --help`, shell completion), which then gets every
    command."""
    import os

    if any(key.startswith("_ENVCHECK_COMPLETE") for key in os.environ):
        return None
    i = 0
    while i < len(argv):
        if argv[i] in _ROOT_OPTIONS_WITH_VALUE:
            i += 2
        elif any(argv[i].startswith(option + "=") for option in _ROOT_OPTIONS_WITH_VALUE):
            i += 1
        else:
            break
    if i < len(argv) and argv[i] in {name for name, _ in COMMANDS}:
        return i
    return None


def _command_being_run(argv: list[str]) -> str | None:
    position = _command_position(argv)
    return None if position is None else argv[position]


def _plain_coercion(command) -> None:
    """Let typer convert plain values (a str, a float default, a list of str) without pydantic.

    typer 0.2x coerces every option through a pydantic TypeAdapter, built when the command runs:
    importing pydantic and building the adapters took 0.2-0.4 s of `envcheck doctor`'s start-up
    on a 2-core machine, to hand back the very string or default it was given. Each option with a
    plain annotation gets a converter that returns those values as pydantic would, and builds
    typer's own adapter for anything else (a number typed on the command line, a bad value), so
    conversions and error messages stay typer's. Does nothing where typer works differently.
    """
    try:
        from dataclasses import dataclass, field
        from typing import Any, Union, get_args, get_origin

        from typer._coercion import RuntimeParam, build_runtime_param
    except Exception:  # noqa: BLE001 - another typer: keep its own behaviour
        return

    def kind_of(annotation: Any) -> str | None:
        if get_origin(annotation) is Union:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return None
            annotation = args[0]
        if annotation in (str, float, int, bool):
            return annotation.__name__
        if get_origin(annotation) is list and get_args(annotation) == (str,):
            return "list_of_str"
        return None

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        kind: str = "str"
        descriptor: Any = field(default=None, compare=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.kind
            info = self.parameter_info
            ranged = getattr(info, "min", None) is not None or getattr(info, "max", None) is not None
            if kind == "str" and type(value) is str:
                return value
            if kind == "list_of_str" and isinstance(value, (tuple, list)) and all(type(v) is str for v in value):
                return list(value)
            if kind in ("float", "int", "bool") and type(value).__name__ == kind and (not ranged or value == info.default):
                return value
            real = build_runtime_param(self.descriptor)
            param._runtime_param = real
            return real._coerce_value(value, param=param, ctx=ctx)

    def install(param) -> None:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", "missing") is not None:
            return
        info = descriptor.parameter_info
        if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None \
                or getattr(info, "click_type", None) is not None:
            return
        kind = kind_of(descriptor.annotation)
        if kind is None:
            return
        try:
            param._runtime_param = PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation,
                                                     kind=kind, descriptor=descriptor)
        except Exception:  # noqa: BLE001 - typer's RuntimeParam changed shape: leave the param as it is
            pass

    def walk(cmd) -> None:
        for param in getattr(cmd, "params", []):
            install(param)
        # -h/--help is made per invocation (see _hide_flag_placeholders), so it is fixed as it is made.
        make_help_option = getattr(cmd, "get_help_option", None)
        if make_help_option is not None:
            def help_option(ctx, make_help_option=make_help_option):
                option = make_help_option(ctx)
                if option is not None:
                    install(option)
                return option

            cmd.get_help_option = help_option
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)


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


def _fold_long_runs(rich_utils) -> None:
    """Chinese has no spaces between words, so a help text is one long "word" to rich, and the help
    table's columns crop it with an ellipsis (rich's column default). Give typer's help texts
    overflow="fold" so they break between characters instead."""
    make = getattr(rich_utils, "_make_rich_text", None)
    if make is None or getattr(make, "_envcheck_folds", False):
        return

    def make_folding(*args, **kwargs):
        text = make(*args, **kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    make_folding._envcheck_folds = True
    rich_utils._make_rich_text = make_folding


def _translate_help(command) -> None:
    """Every command's and option's help text through the catalog, in the language chosen before
    the app was built (typer reads help at definition time; the English texts are the msgids).
    Also typer's panel titles. Does nothing in English."""
    from envcheck.i18n import _, current_language

    english = current_language() == "en"
    # Imported only for Chinese (English start-up stays as fast); set back when it is loaded already.
    rich_utils = sys.modules.get("typer.rich_utils")
    if rich_utils is None and not english:
        try:
            from typer import rich_utils
        except Exception:  # noqa: BLE001 - typer without rich: only the texts below
            rich_utils = None
    if rich_utils is not None:
        for name, title in PANEL_TITLES.items():
            if hasattr(rich_utils, name):
                setattr(rich_utils, name, _(title))
    if english:
        return
    if rich_utils is not None:
        _fold_long_runs(rich_utils)

    def walk(cmd) -> None:
        if getattr(cmd, "help", None):
            cmd.help = _(cmd.help)
        for param in getattr(cmd, "params", []):
            if getattr(param, "help", None):
                param.help = _(param.help)
        make_help_option = cmd.get_help_option

        def help_option(ctx, make_help_option=make_help_option):
            option = make_help_option(ctx)
            if option is not None and option.help:
                option.help = _(option.help)
            return option

        cmd.get_help_option = help_option
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)


def _usage_error_line(exc: Exception, running: str | None = None) -> str:
    """click's usage error as one line, naming the command's --help (instead of typer's framed box),
    in the current language (click's English reworded by envcheck/i18n/usage.py)."""
    from envcheck.i18n import _, current_language

    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if current_language() != "en":
        from envcheck.i18n.usage import translate_usage

        message = translate_usage(message)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        where = f"{ctx.command_path} --help"
    else:  # e.g. an option missing its value: click has no context yet; name the command being run
        where = f"envcheck {running} --help" if running else "envcheck --help"
    return _("envcheck: error: {message}; see {help}.").format(message=message.strip().rstrip('.'), help=f"`{where}`")


def _tolerant_streams() -> None:
    """Where the terminal's encoding cannot show a character envcheck prints (a zh_CN.GBK locale has
    no ✓, an ASCII one no Chinese), print '?' for it instead of dying with UnicodeEncodeError. A
    stream that was closed when envcheck started (`envcheck doctor >&-`: Python then sets it to
    None) goes to /dev/null, so the exit status still tells the result."""
    import os

    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8":
            try:
                stream.reconfigure(errors="replace")
            except (AttributeError, ValueError, OSError):  # not a text stream of io's, or already in use
                pass


def main() -> None:
    _tolerant_streams()
    argv = sys.argv[1:]
    _choose_language(argv)
    running = _command_being_run(argv)
    # Called by the console script or `python -m envcheck` (not by a test calling main()).
    as_program = sys._getframe(1).f_globals.get("__name__") == "__main__"
    previous = _terminate_as_interrupt()
    try:
        try:
            if running == "doctor":
                _start_doctor_early(argv[_command_position(argv) + 1:])
            _main(running)
        except KeyboardInterrupt:
            # Before the command itself runs (start-up imports, building the app): _main reports
            # an interrupt once the command is running.
            from envcheck.core.errors import interrupted_line

            print(interrupted_line(), file=sys.stderr)
            sys.exit(130)
    except SystemExit as exc:
        if running == "doctor" and as_program:
            _leave_now(exc)
        raise
    finally:
        _end_children()
        _restore_signals(previous)


_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_interrupted: list[int] = []  # the signal that ended the command through _terminate_as_interrupt


def _terminate_as_interrupt() -> dict:
    """SIGTERM and SIGHUP (a closed ssh session) end a command the way Ctrl-C does: through
    KeyboardInterrupt, so its `finally` blocks run and its children are stopped (Python's default
    would end the process on the spot and leave them running). Ctrl-C is noted too, when Python
    handles it. Commands that handle signals themselves (smoke-train, gpu-bench) install their own
    handlers while they run, and report the interrupt in their own words."""
    def interrupt(signum, frame):
        if not _interrupted:
            threading.Thread(target=_leave_if_still_running, daemon=True, name="envcheck-interrupt").start()
        _interrupted.append(signum)
        raise KeyboardInterrupt

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in _ENDING_SIGNALS:
            previous[sig] = signal.signal(sig, interrupt)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    return previous


_GRACE_S = 5.0


def _leave_if_still_running() -> None:
    """The backstop of an interrupt: Python drops a KeyboardInterrupt raised inside some callbacks
    (an import lock's, a weakref's) and the command would go on. After a grace period for the
    command's own clean-up, stop its children and end the process."""
    import os
    import time

    time.sleep(_GRACE_S)
    from envcheck.core.errors import interrupted_line

    _end_children()
    try:
        print(interrupted_line(), file=sys.stderr, flush=True)
    finally:
        os._exit(130)


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _end_children() -> None:
    """Stop what the command started and did not finish waiting for: early doctor processes nothing
    adopted, and collectors' subprocesses (each in its own session, so Ctrl-C never reached them).
    Only modules already imported are asked: a command that used neither pays nothing."""
    runner = sys.modules.get("envcheck.core.runner")
    if runner is not None:
        runner.discard_early()
    context = sys.modules.get("envcheck.core.context")
    if context is not None:
        context.stop_children()


def _leave_now(exc: SystemExit) -> None:
    """End the doctor's process as soon as its report is out, with the exit status it would have.

    The interpreter's normal shutdown tears down every module typer, rich, psutil and the
    collectors imported: 0.1 s of a 0.7-0.8 s `doctor --no-torch-probe` on a 2-core machine. The
    doctor leaves nothing that shutdown would finish: no files, no atexit work; its collector
    threads are daemons, which a normal exit abandons too. Falls back to the normal exit when
    flushing the output fails (a closed pipe), so that case is reported as before."""
    import os

    code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        return  # sys.exit("message"): let Python print it
    _end_children()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - BrokenPipeError and the like: the normal exit reports them
        return
    os._exit(status)


def _choose_language(argv: list[str]) -> None:
    """--lang VALUE (read before typer builds the app, whose help texts are read at definition
    time), else ENVCHECK_LANG, else the locale (see envcheck.i18n). A bad --lang is left to typer,
    which refuses it as a usage error."""
    from envcheck import i18n

    args = argv[:argv.index("--")] if "--" in argv else argv
    i18n.set_language(i18n.normalize(_option_value(args, "--lang")) or None)


def _option_value(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` (the last one given), read without click."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


def _start_doctor_early(args: list[str]) -> None:
    """Start the subprocesses `envcheck doctor ARGS` will run, before typer, rich and the
    collectors are imported: the torch probe (importing torch is by far the slowest part of the
    report, and the rest of the start-up hides behind it) and pyinfo.py in the target interpreter
    (the slowest of the other collectors), and the network collector's probes in a thread. Their
    collectors adopt them only when they would have
    started the very same processes; an unadopted one is stopped when the command ends, so a
    wrong guess here costs nothing but the process. Never raises."""
    if any(a in ("--list-checks", "-h", "--help", "--version") or a.startswith("--only") for a in args):
        return
    try:
        python = _option_value(args, "--python")
        if python is None:
            python = sys.executable
        else:
            from envcheck.commands.common import resolve_python

            python = resolve_python(python)
        from envcheck.facts import python_env, torch_probe

        if "--no-torch-probe" not in args:
            torch_probe.start_early(python)
        python_env.start_early(python)
        if "--offline" not in args:
            import threading

            # The network probes wait on the network: in a thread, behind the imports (facts/network.py).
            threading.Thread(target=_network_early, args=(python,), name="envcheck-network-early", daemon=True).start()
    except Exception:  # noqa: BLE001 - a bad --python (UserError): the doctor reports it in its turn
        return


def _network_early(python: str) -> None:
    try:
        from envcheck.facts import network

        network.run_early(python)
    except Exception:  # noqa: BLE001 - the collector collects again
        pass


def _main(running: str | None) -> None:
    import typer

    from envcheck.core.errors import UserError, error_line, interrupted_line

    # Not standalone: click's errors come back here to be printed as one line. typer.Exit comes back
    # as its exit code, and errors the user can fix arrive as UserError.
    command = typer.main.get_command(build_app(running))
    _hide_flag_placeholders(command)
    _translate_help(command)
    _plain_coercion(command)
    try:
        result = command.main(prog_name="envcheck", standalone_mode=False)
    except UserError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print(interrupted_line(), file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        # click's exceptions (vendored inside newer typer, so matched by shape): usage errors,
        # bad parameter values, missing arguments (exit 2); Abort is Ctrl-C at a prompt.
        if type(exc).__name__ == "Abort":
            print(interrupted_line(), file=sys.stderr)
            sys.exit(130)
        if hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            if exc.format_message().strip():  # empty for `envcheck` alone, which has printed its help
                print(_usage_error_line(exc, running), file=sys.stderr)
            sys.exit(exc.exit_code)
        raise
    if result == 130 and _interrupted:
        # typer turns KeyboardInterrupt into exit status 130 without a word; say why it stopped.
        print(interrupted_line(), file=sys.stderr)
    sys.exit(result if isinstance(result, int) else 0)
