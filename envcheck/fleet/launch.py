"""How `envcheck fleet` reaches the nodes: ssh (in parallel, bounded), srun (one task per node), or
a folder of reports collected earlier.

Every process started here is registered in envcheck.smoke.phases.CHILDREN and runs in a session
of its own, so a node that hangs is killed with everything below it when its time is up, and the
command's RunGuard (Ctrl-C, SIGTERM, SIGHUP, an exception) ends whatever is still running.
Nothing is written on the nodes: the command is run there and its stdout read back.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from envcheck.core.errors import UserError
from envcheck.i18n import N_, _

MARK = "@@envcheck-fleet"
MAX_HOSTS = 10_000
MAX_PARALLEL = 1024
MAX_REPORT_BYTES = 50 * 2**20
# A host name as ssh takes it: [user@]host, letters, digits, dots, dashes, underscores, an IPv6
# address in brackets or bare. Never starting with "-": ssh would read it as an option.
# Python's json module's own wording of the usual errors, translated where shown (others stay as they are).
JSON_ERRORS = {
    "Expecting value": N_("Expecting value"),
    "Expecting property name enclosed in double quotes": N_("Expecting property name enclosed in double quotes"),
    "Expecting ',' delimiter": N_("Expecting ',' delimiter"),
    "Expecting ':' delimiter": N_("Expecting ':' delimiter"),
    "Unterminated string starting at": N_("Unterminated string starting at"),
    "Invalid control character at": N_("Invalid control character at"),
}
_HOST = re.compile(r"^(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[?[0-9A-Fa-f:.]+\]?)$")


@dataclass
class NodeRun:
    """What one node answered: its output, or why it gave none.

    failure: None (it answered) or one of "timeout", "ssh" (ssh itself failed, exit 255),
    "exit" (the command exited with an unexpected code and no usable output), "no_output",
    "bad_json"; reason: one line saying what happened, for the report, in the run's language (the
    failure kind stays English: it is a value of the --json report)."""

    name: str
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    failure: str | None = None
    reason: str | None = None
    hostname: str | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Input: hosts, SLURM node lists, the remote command


def parse_hosts(hosts: str | None, hosts_file: str | None) -> list[str]:
    """The hosts of --hosts a,b,c and --hosts-file FILE (one or more a line, # comments), in order,
    without duplicates; a name ssh would misread is refused."""
    names: list[str] = []
    if hosts is not None:
        if not hosts.strip():
            raise UserError(_("--hosts is empty; give host names separated by commas, e.g. --hosts node1,node2."))
        names += [h.strip() for h in hosts.split(",") if h.strip()]
    if hosts_file is not None:
        path = Path(os.path.expanduser(hosts_file))
        # Not only regular files: `--hosts-file <(squeue ...)` is a pipe, /dev/stdin a terminal or pipe.
        if not path.exists():
            raise UserError(_("--hosts-file {file}: no such file; give a file with one host name a line.").format(file=hosts_file))
        if path.is_dir():
            raise UserError(_("--hosts-file {file} is a folder; give a file with one host name a line.").format(file=hosts_file))
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise UserError(_("--hosts-file {file} cannot be read ({error}).").format(file=hosts_file, error=exc.strerror)) from None
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            names += [part for part in re.split(r"[\s,]+", line) if part]
        if not names:
            raise UserError(_("--hosts-file {file} names no host; write one host name a line.").format(file=hosts_file))
    bad = [n for n in names if not _HOST.match(n)]
    if bad:
        raise UserError(_("host name {name} is not a host ssh can take (letters, digits, '.', '-', '_', "
                          "optionally user@ in front, never a leading '-').").format(name=repr(bad[0])))
    unique = list(dict.fromkeys(names))
    if len(unique) > MAX_HOSTS:
        raise UserError(_("{count} hosts is more than {most}; split the list.").format(count=len(unique), most=MAX_HOSTS))
    return unique


def expand_hostlist(text: str) -> list[str]:
    """SLURM's compressed node list ("gpu[01-03,07],login1") as names, in order."""
    names: list[str] = []
    for item in re.findall(r"[^,\[]+(?:\[[^\]]*\][^,\[]*)*", text or ""):
        item = item.strip().strip(",")
        if not item:
            continue
        names += _expand_one(item)
    return names


def _expand_one(item: str) -> list[str]:
    match = re.search(r"\[([^\]]*)\]", item)
    if not match:
        return [item]
    head, tail = item[:match.start()], item[match.end():]
    out = []
    for part in match.group(1).split(","):
        low, _sep, high = part.partition("-")
        if high:
            width = len(low)
            try:
                values = range(int(low), int(high) + 1)
            except ValueError:
                return [item]
            out += [f"{head}{str(v).zfill(width)}{rest}" for v in values for rest in _expand_one(tail)]
        else:
            out += [f"{head}{low}{rest}" for rest in _expand_one(tail)]
    return out


def remote_prefix(remote_command: str | None) -> str:
    """The shell words that run envcheck on a node. Default: this interpreter's path, which must
    exist at the same path there (a shared filesystem, or the same image on every node)."""
    if remote_command is not None:
        if not remote_command.strip():
            raise UserError(_("--remote-command is empty; give how envcheck starts on the nodes, e.g. "
                              "--remote-command '~/venv/bin/envcheck' or 'python3 -m envcheck'."))
        return remote_command.strip()
    return f"{shlex.quote(sys.executable)} -m envcheck"


def ssh_argv(host: str, command: str, connect_timeout: float) -> list[str]:
    """Plain `ssh` from PATH, so the user's ~/.ssh/config (jump hosts, users, keys) applies; never
    a password or host-key prompt (BatchMode)."""
    return ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(round(connect_timeout)))}",
            host, command]


def check_parallel(parallel: int) -> None:
    if not 1 <= parallel <= MAX_PARALLEL:
        raise UserError(_("--parallel {parallel}: give how many nodes to reach at once, 1 to {most}.").format(
            parallel=parallel, most=MAX_PARALLEL))


def check_timeout(timeout: float, flag: str = "--timeout") -> None:
    import math

    if not (math.isfinite(timeout) and 0 < timeout <= 24 * 3600):
        raise UserError(_("{flag} {timeout}: give the seconds each node may take, more than 0 and at most 86400.").format(
            flag=flag, timeout=f"{timeout:g}"))


# ---------------------------------------------------------------------------------------------
# Running: one process per node (ssh) or one srun for all


_START_LOCK = threading.Lock()


class _Stop:
    """Set when the command is unwinding: no new process may start after it."""

    def __init__(self) -> None:
        self.stopping = False


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _drain(stream, sink: list[str]) -> None:
    try:
        for chunk in iter(lambda: stream.read(65536), ""):
            sink.append(chunk)
    except (OSError, ValueError):
        pass


def run_one(name: str, argv: Sequence[str], timeout: float, stop: _Stop | None = None,
            env: dict | None = None, keep_stdin: bool = False) -> NodeRun:
    """Run argv with `timeout` seconds to finish; a process that overruns is killed with its whole
    tree and the node is a "timeout" row.

    keep_stdin: give the process a pipe on stdin that stays open while it runs and is closed when
    it ends or is killed (ssh then closes the remote command's stdin, which `fleet node-ddp
    --watch-stdin` takes as "the launcher went away")."""
    from envcheck.smoke.phases import CHILDREN

    start = time.monotonic()
    with _START_LOCK:
        if stop is not None and stop.stopping:
            return NodeRun(name, failure="no_output", reason=_("not started: the command was interrupted"))
        try:
            proc = CHILDREN.popen(list(argv), stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True,
                                  errors="replace", env=env)
        except OSError as exc:
            return NodeRun(name, failure="exit", reason=_("{program} could not be started ({error})").format(
                program=argv[0], error=exc.strerror or exc))
    out: list[str] = []
    err: list[str] = []
    readers = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # However it ended (an interrupt included), nothing of it outlives this call.
        CHILDREN.stop(proc, grace=1.0)
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
    for reader in readers:
        reader.join(timeout=2)
    run = NodeRun(name, "".join(out), "".join(err), None if timed_out else proc.returncode,
                  round(time.monotonic() - start, 2))
    if timed_out:
        run.failure, run.reason = "timeout", _("timeout: no answer within {seconds} s; killed").format(seconds=f"{timeout:g}")
    return run


def run_parallel(jobs: Sequence[tuple[str, list[str]]], parallel: int, timeout: float,
                 on_done: Callable[[NodeRun, int, int], None] | None = None, keep_stdin: bool = False) -> list[NodeRun]:
    """Run each (name, argv), at most `parallel` at once, each under its own `timeout`; results in
    the order of `jobs`. An interrupt starts nothing more and lets the caller's guard stop the rest."""
    stop = _Stop()
    results: dict[int, NodeRun] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs) or 1)), thread_name_prefix="envcheck-fleet")
    try:
        futures = {pool.submit(run_one, name, argv, timeout, stop, None, keep_stdin): i for i, (name, argv) in enumerate(jobs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future]] = future.result()
                if on_done:
                    on_done(results[futures[future]], len(results), len(jobs))
    except BaseException:
        with _START_LOCK:
            stop.stopping = True
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]


def ssh_failure(run: NodeRun) -> NodeRun:
    """Name what went wrong with ssh itself: exit 255 is ssh's own (cannot connect, refused, host
    key, authentication), with its last stderr line as the reason."""
    if run.failure is None and run.exit_code == 255:
        run.failure = "ssh"
        run.reason = ssh_reason(run.stderr)
    return run


def ssh_reason(stderr: str) -> str:
    """Why ssh itself failed (exit 255): its last stderr line, as ssh wrote it."""
    message = last_line(stderr)
    if message:
        return _("ssh exit 255: {message}").format(message=message)
    return _("ssh exit 255 with no message")


def srun_wrapper(command: str) -> str:
    """The shell line each srun task runs: its host name, the command, its exit code, each marked
    so that the labelled, interleaved output of all tasks can be told apart."""
    # The blank echo ends a last line the command left unterminated, so the marker starts a line.
    return f'echo "{MARK} host $(hostname)"; {command}; rc=$?; echo; echo "{MARK} exit $rc"'


_LABELLED = re.compile(r"^\s*(\d+): ?(.*)$")


def split_labelled(text: str) -> tuple[dict[int, list[str]], list[str]]:
    """srun --label output: lines per task number, and lines with no label (srun's own)."""
    tasks: dict[int, list[str]] = {}
    other: list[str] = []
    for line in text.splitlines():
        match = _LABELLED.match(line)
        if match:
            tasks.setdefault(int(match.group(1)), []).append(match.group(2))
        else:
            other.append(line)
    return tasks, other


def srun_results(run: NodeRun, count: int, names: list[str] | None, timeout: float) -> list[NodeRun]:
    """One NodeRun per srun task from srun's labelled output (a task that never reported its exit
    code is a failure row: timeout if srun had to be killed, otherwise srun's reason)."""
    out, _unlabelled = split_labelled(run.stdout)
    err, srun_err = split_labelled(run.stderr)
    results = []
    general = last_line("\n".join(srun_err))
    for task in range(count):
        lines = out.get(task, [])
        host = next((line.split(" ", 2)[2].strip() for line in lines if line.startswith(f"{MARK} host ")), None)
        code_text = next((line.split(" ", 2)[2].strip() for line in lines if line.startswith(f"{MARK} exit ")), None)
        payload = "\n".join(line for line in lines if not line.startswith(MARK))
        name = host or (names[task] if names and task < len(names) else f"task{task}")
        node = NodeRun(name, payload, "\n".join(err.get(task, [])), None, run.seconds, hostname=host)
        if code_text is not None:
            try:
                node.exit_code = int(code_text)
            except ValueError:
                node.exit_code = None
        elif run.failure == "timeout":
            node.failure, node.reason = "timeout", _("timeout: no answer within {seconds} s; srun was killed").format(
                seconds=f"{timeout:g}")
        else:
            why = last_line(node.stderr) or general or (run.reason or "")
            node.failure = "no_output"
            if why:
                node.reason = _("srun task {task} gave no answer (srun exit {code}): {message}").format(
                    task=task, code=run.exit_code, message=why)
            else:
                node.reason = _("srun task {task} gave no answer (srun exit {code})").format(task=task, code=run.exit_code)
        results.append(node)
    return results


def srun_argv(nodes: int, partition: str | None, command: str) -> list[str]:
    argv = ["srun", "--label", f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1", "--kill-on-bad-exit=0"]
    if partition:
        argv.append(f"--partition={partition}")
    return argv + ["sh", "-c", srun_wrapper(command)]


# ---------------------------------------------------------------------------------------------
# Reading doctor reports


def parse_report(text: str) -> tuple[dict | None, str | None]:
    """A doctor --json report from a node's stdout (anything a login script printed before it is
    skipped), or why there is none."""
    stripped = (text or "").strip()
    if not stripped:
        return None, NO_OUTPUT
    start = stripped.find("{")
    if start < 0:
        return None, _("bad JSON: no JSON object in the output ({start})").format(start=repr(stripped.splitlines()[0][:120]))
    try:
        doc, _end = json.JSONDecoder().raw_decode(stripped[start:])
    except json.JSONDecodeError as exc:
        # exc.msg is Python's own wording ("Expecting value"): translated when it is one of the usual ones.
        error = _(JSON_ERRORS[exc.msg]) if exc.msg in JSON_ERRORS else exc.msg
        return None, _("bad JSON: {error} at line {line} column {column}").format(error=error, line=exc.lineno,
                                                                                 column=exc.colno)
    if not isinstance(doc, dict) or not isinstance(doc.get("checks"), list) or not isinstance(doc.get("facts"), dict):
        return None, _("bad JSON: not an envcheck doctor report (no facts and checks)")
    return doc, None


NO_OUTPUT = "no output"  # parse_report's problem for an empty stdout (report_from_run words it)


def report_from_run(run: NodeRun) -> dict | None:
    """The node's doctor report, or None with run.failure/run.reason set."""
    if run.failure is not None:
        return None
    doc, problem = parse_report(run.stdout)
    if doc is not None:
        # doctor exits 1 when a check fails: still a report.
        return doc
    if run.exit_code not in (0, 1, None):
        run.failure = "exit"
        if problem == NO_OUTPUT and not last_line(run.stderr):
            run.reason = _("exit {code}: no output").format(code=run.exit_code)
        else:
            run.reason = _("exit {code}: {message}").format(code=run.exit_code, message=last_line(run.stderr) or problem)
    elif problem == NO_OUTPUT:
        run.failure = "no_output"
        if last_line(run.stderr):
            run.reason = _("no output (exit {code}): {message}").format(code=run.exit_code, message=last_line(run.stderr))
        else:
            run.reason = _("no output (exit {code})").format(code=run.exit_code)
    else:
        run.failure = "bad_json"
        run.reason = problem
    return None


def read_folder(folder: str) -> list[tuple[NodeRun, dict | None]]:
    """--from DIR: every *.json file in DIR is one node (named after the file)."""
    path = Path(os.path.expanduser(folder))
    if not path.is_dir():
        raise UserError(_("--from {folder}: no such folder; give a folder of {command} reports (one NODE.json each).").format(
            folder=folder, command="`envcheck doctor --json`"))
    files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
    if not files:
        raise UserError(_("--from {folder} holds no .json file; save each node's {command} as NODE.json there.").format(
            folder=folder, command="`envcheck doctor --json`"))
    out = []
    for file in files:
        run = NodeRun(file.stem)
        try:
            if file.stat().st_size > MAX_REPORT_BYTES:
                run.failure, run.reason = "bad_json", _("bad JSON: {file} is larger than {size} MiB").format(
                    file=file.name, size=MAX_REPORT_BYTES // 2**20)
                out.append((run, None))
                continue
            run.stdout = file.read_text(errors="replace")
        except OSError as exc:
            run.failure, run.reason = "no_output", _("{file} cannot be read ({error})").format(file=file.name, error=exc.strerror)
            out.append((run, None))
            continue
        run.exit_code = 0
        doc = report_from_run(run)
        if run.failure == "bad_json":
            run.reason = _("{reason} ({file})").format(reason=run.reason, file=file.name)
        out.append((run, doc))
    return out


def doctor_remote_args(offline: bool, no_torch_probe: bool) -> str:
    return "doctor --json" + (" --offline" if offline else "") + (" --no-torch-probe" if no_torch_probe else "")


def names_of(runs: Iterable[NodeRun]) -> list[str]:
    return [r.name for r in runs]
