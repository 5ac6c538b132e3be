"""Shell start-up file checks: settings that belong on a command line, PATH lines that hide
conda's python, conda init in the wrong file, login shells that skip ~/.bashrc.

Converted for translation (issue #11, docs/i18n.md): every summary, detail and fix goes through _()
or ngettext(), the descriptions are marked with N_(); paths, file:line, commands and variable names
are placeholders or stay literally inside the message.
"""

from __future__ import annotations

import os

from envcheck.checks import check, ok, warn
from envcheck.checks.cuda import select_gpus
from envcheck.core.model import Facts, Finding
from envcheck.i18n import N_, _, join, ngettext

_RC_FOR_SHELL = {"bash": ".bashrc", "zsh": ".zshrc"}


def _where(assignment: dict) -> str:
    return f"{_short(assignment['file'])}:{assignment['line']}"


def _short(path: str) -> str:
    # ~/.bashrc reads better than /home/alice/.bashrc and keeps $HOME out of pasted reports.
    name = os.path.basename(path)
    return f"~/{name}" if name.startswith(".") else path


def _assignments(facts: Facts):
    """Watched lines of the start-up files the shell really reads: a login bash reads only the first
    of ~/.bash_profile, ~/.bash_login and ~/.profile (the collector marks the others "read": False)."""
    for info in (facts.data("shell").get("files") or {}).values():
        if info.get("read") is False:
            continue
        for assignment in info.get("assignments") or []:
            yield info, assignment


@check("shell.cuda_visible_devices", "shell", N_("CUDA_VISIBLE_DEVICES set in a shell start-up file"),
       facts=("shell", "env", "nvidia"))
def cuda_visible_devices(facts: Facts) -> Finding | None:
    """`CUDA_VISIBLE_DEVICES` set in a start-up file, with file:line (warn).

    Why: Every new shell silently sees only those GPUs; weeks later "torch sees 1 GPU on an 8-GPU
    box".

    Fix: Delete the line; `CUDA_VISIBLE_DEVICES=0 python train.py` per command.
    """
    if not facts.data("shell"):
        return None
    hits = [a for _, a in _assignments(facts) if a["name"] == "CUDA_VISIBLE_DEVICES"]
    if not hits:
        return ok(_("CUDA_VISIBLE_DEVICES is not set in any shell start-up file"))
    # The per-command example must select the GPU it names: by index only where CUDA numbers GPUs
    # as nvidia-smi does (see select_gpus).
    nvidia = facts.data("nvidia")
    gpus = nvidia.get("gpus") or []
    first = next((g.get("index") for g in gpus if isinstance(g.get("index"), int)), 0)
    example = select_gpus([first], gpus, facts.data("env").get("vars") or {}, nvidia.get("gpu_errors"))
    return warn(
        _("CUDA_VISIBLE_DEVICES is set in {where}: every program in every new shell silently sees only those GPUs").format(
            where=join(_where(a) for a in hits)),
        fix=_("Delete that line, open a new shell, and choose GPUs per command instead:\n{command}").format(
            command=f"{example} python train.py"),
        details=[f"{_where(a)}: {a['text']}" for a in hits],
    )


@check("shell.proxy_exports", "shell", N_("Proxies set in shell start-up files (where a proxy comes from)"), facts=("shell",))
def proxy_exports(facts: Facts) -> Finding | None:
    """Proxy variables set in start-up files, with file:line (OK, informational).

    Why: Tells you where the proxy in the proxy area comes from.

    Fix: –.
    """
    if not facts.data("shell"):
        return None
    hits = [a for _, a in _assignments(facts) if a["name"].lower().endswith("_proxy")]
    if not hits:
        return ok(_("no proxy is set in shell start-up files"))
    return ok(
        _("proxy variables are set in {where} (every new shell uses them; see the proxy area)").format(
            where=join(_where(a) for a in hits)),
        details=[f"{_where(a)}: {a['text']}" for a in hits],
    )


@check("shell.path_exports", "shell", N_("PATH lines that hide conda's python or add folders that do not exist"),
       facts=("shell",))
def path_exports(facts: Facts) -> Finding | list[Finding] | None:
    """A `PATH` line that replaces `PATH` instead of extending it (warn); a `PATH` line after conda's
    init block that prepends a folder holding python/pip (warn); a `PATH` line adding a folder that
    does not exist (warn). Not reported: lines inside the conda block, lines guarded by
    `if [ -d DIR ]` (Debian's and Ubuntu's default `~/.profile` adds `~/bin` and `~/.local/bin` that
    way: they run only when the folder exists), the standard folders skeleton files add before they
    exist (`~/bin`, `~/.local/bin`, as Fedora's `~/.bashrc` does), lines of a login file bash never
    reads (`~/.profile` when `~/.bash_profile` or `~/.bash_login` exists). A missing `LD_LIBRARY_PATH` folder is only a
    note: the loader skips it.

    Why: A prepend after `conda initialize` hides the active env's python: the cause behind
    `python.conda_active_python`. A folder that does not exist is usually a typo or an uninstalled
    toolkit (the `nvcc` you think is on PATH is not).

    Fix: Move the line above the conda block, or append: `export PATH="$PATH:DIR"`
    """
    if not facts.data("shell"):
        return None
    findings = []
    notes = []
    checked = 0
    for info, assignment in _assignments(facts):
        if assignment["name"] not in ("PATH", "LD_LIBRARY_PATH") or assignment.get("in_conda_block"):
            continue
        checked += 1
        conda_lines = info.get("conda_init_lines")
        after_conda = conda_lines is not None and assignment["line"] > conda_lines[0]
        parts = assignment.get("parts") or []
        if assignment["name"] == "PATH" and parts and all(p.get("replaces_old_value") for p in parts):
            findings.append(warn(
                _("{where} replaces PATH instead of extending it: /usr/bin and conda's folders are lost for everything "
                  "after that line").format(where=_where(assignment)),
                fix=_("Keep the old value on line {line} of {file}: {command}").format(
                    line=assignment["line"], file=_short(assignment["file"]), command='export PATH="NEW_DIR:$PATH"'),
                details=[assignment["text"]],
            ))
        for part in parts:
            if part.get("exists") is False and not part.get("guarded") and not part.get("default_dir"):
                if assignment["name"] == "LD_LIBRARY_PATH":
                    notes.append(_("{where} adds {folder} to LD_LIBRARY_PATH, which does not exist (the loader skips it)")
                                 .format(where=_where(assignment), folder=part["dir"]))
                    continue
                findings.append(warn(
                    _("{where} adds {folder} to {variable}, but that folder does not exist").format(
                        where=_where(assignment), folder=part["dir"], variable=assignment["name"]),
                    fix=_("Remove {folder} from line {line} of {file}, or guard it: {guard}").format(
                        folder=part["dir"], line=assignment["line"], file=_short(assignment["file"]),
                        guard=f"if [ -d {part['dir']} ]; then ...; fi"),
                    details=[assignment["text"]],
                ))
            if assignment["name"] == "PATH" and after_conda and part.get("prepended") and part.get("python_executables"):
                findings.append(warn(
                    _("{where} puts {folder} (which has {programs}) in front of PATH after conda's init block: it hides "
                      "the active conda env's python and pip").format(
                        where=_where(assignment), folder=part["dir"], programs=join(part["python_executables"])),
                    fix=_("Move line {line} of {file} above the {marker} block, or append instead: {command}").format(
                        line=assignment["line"], file=_short(assignment["file"]), marker="'>>> conda initialize >>>'",
                        command='export PATH="$PATH:DIR"'),
                    details=[assignment["text"]],
                ))
    if not findings:
        return ok(ngettext("{count} PATH/LD_LIBRARY_PATH line in start-up files look fine",
                           "{count} PATH/LD_LIBRARY_PATH lines in start-up files look fine", checked).format(count=checked),
                  details=notes)
    return findings


@check("shell.conda_init", "shell", N_("conda's init block is in the start-up file of the shell you use"), facts=("shell",))
def conda_init(facts: Facts) -> Finding | None:
    """Conda installed but no init block anywhere; or the block only in a file the login shell
    (`$SHELL`) does not read, e.g. `.bashrc` with zsh (warn).

    Why: `conda activate` fails with "Run 'conda init' before 'conda activate'".

    Fix: `conda init zsh` (or bash).
    """
    data = facts.data("shell")
    if not data:
        return None
    files = data.get("files") or {}
    with_block = [name for name, info in files.items() if info.get("conda_init") and info.get("read") is not False]
    conda = data.get("conda") or {}
    shell_name = data.get("login_shell_name")
    wanted = _RC_FOR_SHELL.get(shell_name or "")
    if not conda.get("installed") and not with_block:
        return None
    # The full path works even where conda itself is not on PATH yet (no init block).
    conda_exe = conda.get("exe") or "conda"
    if wanted and wanted in with_block:
        return ok(_("conda's init block is in {file}, which your shell ({shell}) reads").format(
            file=f"~/{wanted}", shell=shell_name))
    if wanted and with_block:
        return warn(
            _("conda's init block is in {files} but your shell is {shell}, which reads {file}: {command} will not work "
              "in new shells").format(files=join("~/" + n for n in with_block), shell=shell_name, file=f"~/{wanted}",
                                      command="`conda activate`"),
            fix=f"{conda_exe} init {shell_name}",
        )
    if not with_block:
        return warn(
            _("conda is installed ({conda}) but no start-up file has its init block: {command} fails with {error}").format(
                conda=conda_exe, command="`conda activate`", error="'Run conda init before conda activate'"),
            fix=_("{command}\nthen open a new shell").format(command=f"{conda_exe} init {shell_name or 'bash'}"),
        )
    return ok(_("conda's init block is in {files}").format(files=join("~/" + n for n in with_block)))


@check("shell.login_reads_bashrc", "shell", N_("Login shells (ssh) also read ~/.bashrc"), facts=("shell",))
def login_reads_bashrc(facts: Facts) -> Finding | None:
    """The login file bash reads (the first of `~/.bash_profile`, `~/.bash_login`, `~/.profile`) does
    not source `~/.bashrc`, or none exists (warn).

    Why: Ssh starts a login shell, which reads the first of those and never `~/.bashrc`: conda init
    and PATH lines are skipped over ssh.

    Fix: `echo '[ -f ~/.bashrc ] &&. ~/.bashrc' >> ~/.bash_profile`
    """
    data = facts.data("shell")
    if not data:
        return None
    shell_name = data.get("login_shell_name")
    if shell_name and shell_name != "bash":
        return None
    files = data.get("files") or {}
    bashrc = files.get(".bashrc") or {}
    if not bashrc.get("exists"):
        return None
    # bash as a login shell reads the first of ~/.bash_profile, ~/.bash_login, ~/.profile and stops.
    for name in (".bash_profile", ".bash_login", ".profile"):
        info = files.get(name) or {}
        if not info.get("exists"):
            continue
        if info.get("sources_bashrc"):
            return ok(_("login shells read {file}, which sources ~/.bashrc").format(file=f"~/{name}"))
        return warn(
            _("{file} does not source ~/.bashrc: over ssh (a login shell) your ~/.bashrc settings, conda init included, "
              "are skipped").format(file=f"~/{name}"),
            fix=f"echo '[ -f ~/.bashrc ] && . ~/.bashrc' >> ~/{name}",
        )
    return warn(_("there is no ~/.bash_profile, ~/.bash_login or ~/.profile, so login shells (ssh) never read ~/.bashrc"),
                   fix="echo '[ -f ~/.bashrc ] && . ~/.bashrc' >> ~/.profile")
