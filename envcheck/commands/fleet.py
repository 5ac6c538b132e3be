"""`envcheck fleet doctor|smoke-train`: run doctor or the DDP check on every node of a cluster.

The nodes are reached through the launcher the cluster already has: srun inside a SLURM
allocation (or with --partition/--nodes), ssh to a host list, or a folder of reports collected
some other way (--from). The work lives in envcheck.fleet; this module parses flags, refuses bad
input in one line (exit 2) and picks the launcher.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from envcheck.core.errors import UserError
from envcheck.util import progress

DEFAULT_PARALLEL = 32
DEFAULT_TIMEOUT = 180.0
DEFAULT_CONNECT_TIMEOUT = 10.0

HOSTS_HELP = "Reach these hosts with ssh (comma-separated; your ~/.ssh/config applies)."
HOSTS_FILE_HELP = "Reach the hosts listed in FILE (one a line, # comments) with ssh."
REMOTE_HELP = ("How envcheck starts on the nodes, as a shell command, e.g. '~/venv/bin/envcheck' or 'python3 -m envcheck' "
               "(default: this interpreter's path with -m envcheck, for a shared filesystem).")


def _launcher(hosts: str | None, hosts_file: str | None, from_dir: str | None, partition: str | None,
              nodes: int | None, env: dict[str, str]) -> dict[str, Any]:
    """Which launcher reaches the nodes: {"launcher": "ssh", "hosts": [...]}, {"launcher": "slurm", ...}
    or {"launcher": "from", "dir": ...}; refuses missing or conflicting choices in one line."""
    from envcheck.fleet import launch

    ssh = hosts is not None or hosts_file is not None
    slurm = partition is not None or nodes is not None
    chosen = [name for name, on in (("--hosts/--hosts-file", ssh), ("--from", from_dir is not None),
                                    ("--partition/--nodes", slurm)) if on]
    if len(chosen) > 1:
        raise UserError(f"{' and '.join(chosen)} choose different ways to reach the nodes; give one.")
    if from_dir is not None:
        return {"launcher": "from", "dir": from_dir}
    if ssh:
        return {"launcher": "ssh", "hosts": launch.parse_hosts(hosts, hosts_file)}
    if nodes is not None and nodes < 1:
        raise UserError(f"--nodes {nodes}: give how many nodes to run on (1 or more).")
    if partition is not None and not partition.strip():
        raise UserError("--partition is empty; give a SLURM partition name, e.g. --partition gpu.")
    inside = bool(env.get("SLURM_JOB_ID"))
    if not slurm and not inside:
        raise UserError("no nodes given: use --hosts a,b,c or --hosts-file FILE (ssh), --partition P --nodes N (srun), "
                        "--from DIR (reports collected earlier), or run inside a SLURM allocation.")
    names: list[str] = []
    if inside and partition is None:
        names = launch.expand_hostlist(env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or "")
        in_job = _int(env.get("SLURM_JOB_NUM_NODES")) or _int(env.get("SLURM_NNODES")) or len(names)
        if nodes is None:
            nodes = in_job
        if not nodes:
            raise UserError("inside a SLURM allocation, but SLURM_JOB_NUM_NODES and SLURM_JOB_NODELIST are not set; "
                            "give --nodes N.")
        if in_job and nodes > in_job:
            raise UserError(f"--nodes {nodes}: this allocation has {in_job} node(s).")
        names = names[:nodes] if len(names) >= nodes else []
    elif nodes is None:
        raise UserError("--partition needs --nodes N: how many nodes srun should allocate.")
    return {"launcher": "slurm", "nodes": nodes, "partition": partition.strip() if partition else None,
            "names": names, "allocation": env.get("SLURM_JOB_ID") if partition is None else None}


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).split("(")[0])
    except (TypeError, ValueError):
        return None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", name)[:200] or "node"


def collect_doctor(how: dict[str, Any], remote: str, offline: bool, no_probe: bool, parallel: int, timeout: float,
                   connect_timeout: float) -> list[tuple[Any, dict | None]]:
    """Every node's (run, report or None)."""
    from envcheck.fleet import launch

    if how["launcher"] == "from":
        return launch.read_folder(how["dir"])
    command = f"{remote} {launch.doctor_remote_args(offline, no_probe)}"
    if how["launcher"] == "ssh":
        jobs = [(host, launch.ssh_argv(host, command, min(connect_timeout, timeout))) for host in how["hosts"]]
        with progress.status(f"fleet doctor: reaching {len(jobs)} hosts ...") as status:
            def done(run, finished, total):
                status.update(f"fleet doctor: {finished}/{total} hosts answered or failed ...")

            runs = launch.run_parallel(jobs, parallel, timeout, on_done=done)
        runs = [launch.ssh_failure(r) for r in runs]
    else:
        argv = launch.srun_argv(how["nodes"], how["partition"], command)
        with progress.status(f"fleet doctor: srun on {how['nodes']} nodes ..."):
            run = launch.run_one("srun", argv, timeout)
        runs = launch.srun_results(run, how["nodes"], how["names"], timeout)
    return [(run, launch.report_from_run(run)) for run in runs]


def _save_reports(folder: str, results: list[tuple[Any, dict | None]]) -> None:
    from envcheck.core.redact import redact_data
    from envcheck.fleet.render import render_json
    from envcheck.util.fsutil import atomic_write_text

    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"--save {folder} is a file; give a folder (it is created if missing).")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--save {folder} cannot be created ({exc.strerror}).") from None
    for run, report in results:
        if report is not None:
            atomic_write_text(path / f"{_safe_name(run.name)}.json", render_json(redact_data(report)) + "\n",
                              force=True, flag="--save")


def doctor_command(
    hosts: Optional[str] = typer.Option(None, "--hosts", metavar="A,B,C", help=HOSTS_HELP),
    hosts_file: Optional[str] = typer.Option(None, "--hosts-file", metavar="FILE", help=HOSTS_FILE_HELP),
    from_dir: Optional[str] = typer.Option(None, "--from", metavar="DIR", help="Merge the doctor --json reports in DIR (NODE.json each) instead of running anything."),
    partition: Optional[str] = typer.Option(None, "--partition", help="Let srun allocate --nodes nodes in this SLURM partition."),
    nodes: Optional[int] = typer.Option(None, "--nodes", help="How many nodes srun runs on (default inside an allocation: all of its nodes)."),
    parallel: int = typer.Option(DEFAULT_PARALLEL, "--parallel", help="ssh: how many hosts to reach at once."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", help="Seconds each node may take (srun: all of them together) before it counts as hung and is killed."),
    connect_timeout: float = typer.Option(DEFAULT_CONNECT_TIMEOUT, "--connect-timeout", help="ssh's ConnectTimeout, seconds."),
    remote_command: Optional[str] = typer.Option(None, "--remote-command", metavar="CMD", help=REMOTE_HELP),
    offline: bool = typer.Option(False, "--offline", help="Pass --offline to each node's doctor (no network probes)."),
    no_probe: bool = typer.Option(False, "--no-torch-probe", help="Pass --no-torch-probe to each node's doctor (faster; no torch facts)."),
    save: Optional[str] = typer.Option(None, "--save", metavar="DIR", help="Also keep each node's report (redacted) as DIR/NODE.json, for a later --from."),
    json_out: bool = typer.Option(False, "--json", help="Print the merged report as JSON (docs/fleet.md)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the merged report as Markdown."),
) -> None:
    """Run `envcheck doctor --json` on every node and show how the nodes differ.

    Exit status: 0 every node answered, no check failed and all nodes are alike; 1 some node
    failed, has a failing check or differs from the majority; 2 bad input.
    """
    from envcheck import __version__
    from envcheck.commands.smoke_train import RunGuard
    from envcheck.fleet import launch, merge, render

    if json_out and markdown:
        raise UserError("choose one of --json and --markdown.")
    launch.check_parallel(parallel)
    launch.check_timeout(timeout)
    launch.check_timeout(connect_timeout, "--connect-timeout")
    how = _launcher(hosts, hosts_file, from_dir, partition, nodes, dict(os.environ))
    remote = launch.remote_prefix(remote_command)
    with RunGuard():
        results = collect_doctor(how, remote, offline, no_probe, parallel, timeout, connect_timeout)
    if save is not None:
        _save_reports(save, results)
    source = {k: v for k, v in how.items() if k != "names"}
    if how["launcher"] != "from":
        source.update(remote_command=remote, timeout_s=timeout)
    doc = merge.merge(results, source=source, tool_version=__version__)
    if json_out:
        sys.stdout.write(render.render_json(doc) + "\n")
    elif markdown:
        sys.stdout.write(render.render_markdown(doc))
    else:
        render.render_terminal(Console(highlight=False, soft_wrap=not sys.stdout.isatty()), doc)
    raise typer.Exit(doc["exit_code"])


def build_app(wrap) -> typer.Typer:
    """The `fleet` command group; `wrap` adds the common options (cli.with_common_options)."""
    app = typer.Typer(name="fleet", no_args_is_help=True,
                      help="Run doctor or the multi-node DDP check on every node of a cluster (SLURM or ssh).")
    app.command("doctor")(wrap(doctor_command))
    return app
