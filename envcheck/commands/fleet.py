"""`envcheck fleet doctor|smoke-train`: run doctor or the DDP check on every node of a cluster.

The nodes are reached through the launcher the cluster already has: srun inside a SLURM
allocation (or with --partition/--nodes), ssh to a host list, or a folder of reports collected
some other way (--from). The work lives in envcheck.fleet; this module parses flags, refuses bad
input in one line (exit 2) and picks the launcher.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from envcheck.core.errors import UserError
from envcheck.i18n import _, current_language, join
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
        options = " and ".join(chosen) if current_language() == "en" else join(chosen)
        raise UserError(_("{options} choose different ways to reach the nodes; give one.").format(options=options))
    if from_dir is not None:
        return {"launcher": "from", "dir": from_dir}
    if ssh:
        return {"launcher": "ssh", "hosts": launch.parse_hosts(hosts, hosts_file)}
    if nodes is not None and nodes < 1:
        raise UserError(_("--nodes {nodes}: give how many nodes to run on (1 or more).").format(nodes=nodes))
    if partition is not None and not partition.strip():
        raise UserError(_("--partition is empty; give a SLURM partition name, e.g. --partition gpu."))
    inside = bool(env.get("SLURM_JOB_ID"))
    if not slurm and not inside:
        raise UserError(_("no nodes given: use --hosts a,b,c or --hosts-file FILE (ssh), --partition P --nodes N (srun), "
                          "--from DIR (reports collected earlier), or run inside a SLURM allocation."))
    names: list[str] = []
    if inside and partition is None:
        names = launch.expand_hostlist(env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or "")
        in_job = _int(env.get("SLURM_JOB_NUM_NODES")) or _int(env.get("SLURM_NNODES")) or len(names)
        if nodes is None:
            nodes = in_job
        if not nodes:
            raise UserError(_("inside a SLURM allocation, but SLURM_JOB_NUM_NODES and SLURM_JOB_NODELIST are not set; "
                              "give --nodes N."))
        if in_job and nodes > in_job:
            raise UserError(_("--nodes {nodes}: this allocation has {count} node(s).").format(nodes=nodes, count=in_job))
        names = names[:nodes] if len(names) >= nodes else []
    elif nodes is None:
        raise UserError(_("--partition needs --nodes N: how many nodes srun should allocate."))
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
        with progress.status(_("fleet doctor: reaching {count} hosts ...").format(count=len(jobs))) as status:
            def done(run, finished, total):
                status.update(_("fleet doctor: {finished}/{total} hosts answered or failed ...").format(
                    finished=finished, total=total))

            runs = launch.run_parallel(jobs, parallel, timeout, on_done=done)
        runs = [launch.ssh_failure(r) for r in runs]
    else:
        argv = launch.srun_argv(how["nodes"], how["partition"], command)
        with progress.status(_("fleet doctor: srun on {count} nodes ...").format(count=how["nodes"])):
            run = launch.run_one("srun", argv, timeout)
        runs = launch.srun_results(run, how["nodes"], how["names"], timeout)
    return [(run, launch.report_from_run(run)) for run in runs]


def _save_reports(folder: str, results: list[tuple[Any, dict | None]]) -> None:
    from envcheck.core.redact import redact_data
    from envcheck.fleet.render import render_json
    from envcheck.util.fsutil import atomic_write_text

    path = Path(os.path.expanduser(folder))
    if path.exists() and not path.is_dir():
        raise UserError(_("--save {folder} is a file; give a folder (it is created if missing).").format(folder=folder))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(_("--save {folder} cannot be created ({error}).").format(folder=folder, error=exc.strerror)) from None
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
        raise UserError(_("choose one of --json and --markdown."))
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


def smoke_train_command(
    hosts: Optional[str] = typer.Option(None, "--hosts", metavar="A,B,C", help=HOSTS_HELP),
    hosts_file: Optional[str] = typer.Option(None, "--hosts-file", metavar="FILE", help=HOSTS_FILE_HELP),
    partition: Optional[str] = typer.Option(None, "--partition", help="Let srun allocate --nodes nodes in this SLURM partition."),
    nodes: Optional[int] = typer.Option(None, "--nodes", help="How many nodes (srun; default inside an allocation: all of its nodes)."),
    cpu: bool = typer.Option(False, "--cpu", help="Check gloo on the CPUs instead of NCCL on the GPUs."),
    nproc_per_node: Optional[int] = typer.Option(None, "--nproc-per-node", help="Ranks per node (default: one per GPU; 1 with --cpu)."),
    rdzv_endpoint: Optional[str] = typer.Option(None, "--rdzv-endpoint", metavar="HOST:PORT", help="torchrun's c10d rendezvous (default: the first node, --port)."),
    port: int = typer.Option(29400, "--port", help="Port of the rendezvous on the first node."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds the DDP run may take on each node before it counts as hung."),
    size_mb: Optional[float] = typer.Option(None, "--size-mb", help="all_reduce size for the bandwidth, MiB (default 64 on GPUs, 8 on CPUs)."),
    seed: int = typer.Option(0, "--seed", hidden=True),
    remote_command: Optional[str] = typer.Option(None, "--remote-command", metavar="CMD", help=REMOTE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON (docs/fleet.md)."),
) -> None:
    """Check NCCL (gloo with --cpu) all_reduce and a DDP step across nodes, through torchrun's c10d
    rendezvous started on every node by ssh or srun; names the node that fails or is slow.

    Exit status: 0 PASS, 1 FAIL, 2 bad input.
    """
    from envcheck import __version__
    from envcheck.commands.smoke_train import RunGuard
    from envcheck.fleet import ddp, launch

    how = _launcher(hosts, hosts_file, None, partition, nodes, dict(os.environ))
    launch.check_timeout(timeout)
    nproc_given = nproc_per_node if nproc_per_node is not None else (1 if cpu else None)
    size = size_mb if size_mb is not None else (8.0 if cpu else 64.0)
    ddp.check_numbers(nproc_given if nproc_given is not None else 1, port, size)
    if rdzv_endpoint is not None and not re.match(r"^[A-Za-z0-9._\-\[\]:]+:\d+$", rdzv_endpoint):
        raise UserError(_("--rdzv-endpoint {endpoint}: write HOST:PORT, e.g. node1:29400.").format(endpoint=repr(rdzv_endpoint)))
    remote = launch.remote_prefix(remote_command)
    nproc_text = str(nproc_given) if nproc_given is not None else "gpu"
    rdzv_id = ddp.new_rdzv_id()
    if how["launcher"] == "ssh":
        count = len(how["hosts"])
        endpoint = rdzv_endpoint or f"{ddp.endpoint_host(how['hosts'][0])}:{port}"
    else:
        count = how["nodes"]
        endpoint = rdzv_endpoint or f'"$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)":{port}'
    if count < 2:
        progress.note(_("fleet smoke-train: note: one node only; the check then covers that node's ranks, not the network."))
    command = ddp.node_command(remote, count, nproc_text, endpoint, rdzv_id, cpu, size, seed, timeout,
                               watch_stdin=how["launcher"] == "ssh")
    limit = timeout + ddp.START_MARGIN_S
    with RunGuard():
        if how["launcher"] == "ssh":
            # Every node at once: the rendezvous waits for all of them.
            jobs = [(host, launch.ssh_argv(host, command, min(DEFAULT_CONNECT_TIMEOUT, limit))) for host in how["hosts"]]
            with progress.status(_("fleet smoke-train: DDP across {count} nodes ...").format(count=count)):
                runs = launch.run_parallel(jobs, count, limit, keep_stdin=True)
        else:
            argv = launch.srun_argv(count, how["partition"], command)
            with progress.status(_("fleet smoke-train: DDP across {count} nodes (srun) ...").format(count=count)):
                run = launch.run_one("srun", argv, limit)
            runs = launch.srun_results(run, count, how["names"], limit)
    report = ddp.summarise(runs, count, nproc_given or 0)
    doc = {"schema_version": 1, "kind": "envcheck-fleet-smoke-train", "tool": {"name": "envcheck", "version": __version__},
           "source": {k: v for k, v in how.items() if k != "names"},
           "settings": {"nnodes": count, "nproc_per_node": nproc_text, "backend": "gloo" if cpu else "nccl",
                        "rdzv_endpoint": endpoint, "rdzv_id": rdzv_id, "timeout_s": timeout, "size_mib": size,
                        "remote_command": remote},
           **report, "exit_code": 0 if report["passed"] else 1}
    from envcheck.core.redact import redact_data

    doc = redact_data(doc)
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _render_smoke(Console(highlight=False, soft_wrap=not sys.stdout.isatty()), doc)
    raise typer.Exit(doc["exit_code"])


def _render_smoke(console: Console, doc: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    s = doc["settings"]
    if s["nproc_per_node"] == "gpu":
        head = _("envcheck fleet smoke-train: {nodes} nodes x gpu ranks, {backend}, rendezvous {endpoint}")
    else:
        head = _("envcheck fleet smoke-train: {nodes} nodes x {ranks} ranks, {backend}, rendezvous {endpoint}")
    console.print(Text(head.format(nodes=s["nnodes"], ranks=s["nproc_per_node"], backend=s["backend"],
                                   endpoint=s["rdzv_endpoint"]), style="bold"))
    table = Table(title=_("Nodes"), title_justify="left")
    for col in (_("node"), _("host"), _("state"), _("start-up s"), _("DDP s"), _("note")):
        table.add_column(col, overflow="fold")
    for r in doc["nodes"]:
        note = r.get("reason") or r.get("slow") or (_("rank 0 (reported the result)") if r.get("rank0") else "")
        state = _(r["state"]) if r["state"] in ("ok", "failed") else r["state"]
        table.add_row(r["name"], r.get("host") or "-", Text(state, style="red" if r["state"] != "ok" else "green"),
                      "-" if r.get("startup_s") is None else f"{r['startup_s']:.1f}",
                      "-" if r.get("seconds") is None else f"{r['seconds']:.1f}", note)
    console.print(table)
    ddp = doc["ddp"]
    if ddp["passed"]:
        # The summary is smoke-train's DDP phase's (envcheck/smoke/phases.py).
        console.print(_("DDP: {summary}").format(summary=ddp["summary"]))
    for problem in doc["problems"]:
        console.print(Text(f"- {problem}", style="red"))
    for warning in doc.get("warnings") or []:
        console.print(Text(f"- {warning}", style="yellow"))
    console.print(Text(_("PASS") if doc["passed"] else _("FAIL"), style="bold green" if doc["passed"] else "bold red"))


def node_ddp_command(
    nnodes: int = typer.Option(..., "--nnodes"),
    nproc_per_node: str = typer.Option("gpu", "--nproc-per-node"),
    rdzv_endpoint: str = typer.Option(..., "--rdzv-endpoint"),
    rdzv_id: str = typer.Option(..., "--rdzv-id"),
    cpu: bool = typer.Option(False, "--cpu"),
    size_mb: float = typer.Option(8.0, "--size-mb"),
    seed: int = typer.Option(0, "--seed"),
    timeout: float = typer.Option(300.0, "--timeout"),
    watch_stdin: bool = typer.Option(False, "--watch-stdin", help="Stop when stdin closes (ssh went away)."),
) -> None:
    """One node's part of `fleet smoke-train` (started there by ssh or srun): run torchrun, print one JSON line."""
    from envcheck.fleet import ddp, launch

    launch.check_timeout(timeout)
    raise typer.Exit(ddp.node_main(nnodes, nproc_per_node, rdzv_endpoint, rdzv_id, cpu, size_mb, seed, timeout, watch_stdin))


def build_app(wrap) -> typer.Typer:
    """The `fleet` command group; `wrap` adds the common options (cli.with_common_options)."""
    app = typer.Typer(name="fleet", no_args_is_help=True,
                      help="Run doctor or the multi-node DDP check on every node of a cluster (SLURM or ssh).")
    app.command("doctor")(wrap(doctor_command))
    app.command("smoke-train")(wrap(smoke_train_command))
    app.command("node-ddp", hidden=True)(wrap(node_ddp_command))
    return app
