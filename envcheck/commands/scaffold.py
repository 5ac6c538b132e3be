"""`envcheck scaffold NAME`: a new image-classification project in the layout PyTorch users know
(dataset/{train,val}/<class>/, train.py, model/, outputs/, requirements.txt), ready to run.

Safety rules: NAME is one plain folder name; an existing non-empty folder is left alone unless
--force or --skip-existing; everything is rendered into a staging folder beside the target first,
so a failure while rendering (or while drawing sample images) leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from envcheck import __version__
from envcheck.core.context import Context
from envcheck.core.errors import UserError

TEMPLATE_PACKAGE = "envcheck.templates"
DEFAULT_TEMPLATE = "default"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Folder names longer than this are refused: the staging folder beside the project adds to the
# name, and a file system allows 255 bytes in all.
MAX_NAME = 100

DATA_DIR, MODEL_DIR, OUTPUTS_DIR = "dataset", "model", "outputs"
# Sample data: enough images per class for train.py to learn something visible in seconds on a
# CPU, small enough to commit nothing heavy (the data folder is git-ignored anyway).
SAMPLE_TRAIN_PER_CLASS, SAMPLE_VAL_PER_CLASS, SAMPLE_IMAGE_SIZE = 24, 8, 64


@dataclass
class Outcome:
    path: str  # relative to the project folder, '/'-separated
    action: str  # created | overwritten | skipped | identical


# --- names ---------------------------------------------------------------------------------------


def validate_name(name: str, what: str = "project name") -> str:
    """A single folder name: no separators, no '..', no absolute path, nothing hidden."""
    if not name or not name.strip():
        raise UserError(f"the {what} is empty; give a folder name such as catdog.")
    if "/" in name or "\\" in name or name.startswith("~"):
        raise UserError(
            f"the {what} {name!r} is a path; give a plain folder name, and --dir PARENT to create it elsewhere."
        )
    if name in {".", ".."} or not _PLAIN_NAME.match(name):
        raise UserError(
            f"the {what} {name!r} is not a plain folder name; use letters, digits, '.', '_' and '-', starting with a letter or digit."
        )
    if len(name) > MAX_NAME:
        raise UserError(f"the {what} {name[:20]}... is {len(name)} characters long; use at most {MAX_NAME}.")
    return name


def parse_classes(text: str) -> list[str]:
    classes = [c.strip() for c in text.split(",") if c.strip()]
    for c in classes:
        validate_name(c, "class name")
    if len(classes) < 2:
        raise UserError(f"--classes {text!r}: a classifier needs at least two classes, e.g. --classes cat,dog.")
    if len(set(classes)) != len(classes):
        raise UserError(f"--classes {text!r}: each class may appear only once.")
    return classes


# --- templates -----------------------------------------------------------------------------------


def _templates_root():
    from importlib.resources import files

    return files(TEMPLATE_PACKAGE)


def available_templates() -> list[str]:
    return sorted(
        entry.name
        for entry in _templates_root().iterdir()
        if entry.is_dir() and not entry.name.startswith(("_", "."))
    )


def _output_name(name: str) -> str:
    # Dot files are stored as dot_NAME: some packaging tools drop hidden files from wheels.
    if name.endswith(".j2"):
        name = name[:-3]
    if name.startswith("dot_"):
        name = "." + name[4:]
    return name


def render_template(template: str, variables: dict[str, Any]) -> dict[str, bytes]:
    """Relative output path -> content for every file of a template (.j2 files rendered by Jinja2,
    with StrictUndefined so a missing variable is an error, never an empty string)."""
    import jinja2

    names = available_templates()
    if template not in names:
        raise UserError(f"--template {template}: no such template; available: {', '.join(names)}.")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False, trim_blocks=False
    )
    rendered: dict[str, bytes] = {}

    def walk(folder, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name in {"__pycache__"} or entry.name.endswith(".pyc"):
                continue
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            relative = prefix + _output_name(entry.name)
            if entry.name.endswith(".j2"):
                try:
                    text = env.from_string(entry.read_text(encoding="utf-8")).render(**variables)
                except jinja2.TemplateError as exc:
                    raise UserError(f"template {template}, file {prefix}{entry.name}: {exc}; please report this bug.") from None
                rendered[relative] = text.encode("utf-8")
            else:
                rendered[relative] = entry.read_bytes()

    walk(_templates_root() / template, "")
    return rendered


# --- requirements --------------------------------------------------------------------------------


def _newest_known_pair() -> tuple[str, str] | None:
    from envcheck import knowledge

    for release in reversed(knowledge.known_torch_releases()):
        vision = knowledge.torchvision_for_torch(release)
        if vision:
            return release, vision
    return None


def scaffold_requirements(report: dict[str, Any], nvidia: dict[str, Any] | None) -> str:
    """requirements.txt for the new project: torch and torchvision exactly as installed in the
    target interpreter (with the PyTorch index line their build needs), plus pyyaml."""
    from envcheck.export import envfiles
    from envcheck import knowledge

    python = report.get("python") or {}
    dists = {envfiles.canonical_name(str(d["name"])): d for d in report.get("distributions") or []}
    header = [f"Made by envcheck scaffold {__version__} for {python.get('executable') or 'this interpreter'}."]
    extra: list[str] = []
    chosen = []
    torch = dists.get("torch")
    if torch:
        header.append("torch and torchvision are pinned to the build installed there, which matches this machine.")
        chosen.append(torch)
        if "torchvision" in dists:
            chosen.append(dists["torchvision"])
        else:
            vision = knowledge.torchvision_patch_pair(str(torch["version"]))
            minor = knowledge.torchvision_for_torch(str(torch["version"]))
            if vision:
                extra.append(f"torchvision=={vision}")
            elif minor:
                extra.append(f"torchvision=={minor}.*")
            else:
                header.append("torchvision is not installed and its pairing with this torch is unknown: pick the matching release.")
                extra.append("torchvision")
    else:
        pair = _newest_known_pair()
        header.append("torch is not installed there; these are the newest torch/torchvision pair in envcheck's table")
        header.append("(source: pytorch/vision README). Run `envcheck doctor` after installing to confirm the GPU works.")
        if pair:
            torch_minor, vision_minor = pair
            variant = None
            nvidia = nvidia or {}
            if nvidia.get("cuda_driver_version"):
                choice = knowledge.best_variant_for_driver(torch_minor, nvidia["cuda_driver_version"], nvidia.get("driver_version"))
                if choice and choice.variant != knowledge.pypi_default_variant(torch_minor):
                    variant = choice
            if variant:
                header.append(f"The NVIDIA driver here supports CUDA {nvidia['cuda_driver_version']}: the {variant.variant} build fits it.")
                extra.append(f"--extra-index-url {variant.index_url}")
            extra += [f"torch=={torch_minor}.*", f"torchvision=={vision_minor}.*"]
        else:
            extra += ["torch", "torchvision"]

    pyyaml = dists.get("pyyaml")
    options, body = envfiles.requirement_lines(chosen)
    lines = [f"# {h}" for h in header] + [""] + options + [line for line in extra if line.startswith("--")]
    lines += body + [line for line in extra if not line.startswith("--")]
    lines.append(f"PyYAML=={pyyaml['version']}" if pyyaml else "PyYAML>=6.0")
    return "\n".join(lines).rstrip("\n")


# --- planning and writing ------------------------------------------------------------------------


def plan_files(name: str, classes: list[str], template: str, requirements: str, sample_data: bool) -> dict[str, bytes]:
    session = re.sub(r"[^A-Za-z0-9_-]", "_", name)  # tmux forbids '.' and ':' in session names
    variables = {
        "project_name": name,
        "classes": classes,
        "data_dir": DATA_DIR,
        "model_dir": MODEL_DIR,
        "outputs_dir": OUTPUTS_DIR,
        "log_file": f"{OUTPUTS_DIR}/train.log",
        "session": session,
        "epochs": 10,
        "batch_size": 32,
        "image_size": SAMPLE_IMAGE_SIZE if sample_data else 224,
        "requirements": requirements,
        "envcheck_version": __version__,
    }
    files = render_template(template, variables)
    # git does not keep empty folders; .gitkeep makes the layout survive a clone.
    keep_dirs = [MODEL_DIR, OUTPUTS_DIR]
    if not sample_data:
        keep_dirs += [f"{DATA_DIR}/{split}/{c}" for split in ("train", "val") for c in classes]
    for folder in keep_dirs:
        files.setdefault(f"{folder}/.gitkeep", b"")
    return files


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _needed_folders(relatives, classes: list[str], sample_data: bool) -> list[str]:
    """Every folder (relative, '/'-separated) the project's files go into, parents first."""
    folders = set()
    paths = list(relatives)
    if sample_data:
        paths += [f"{DATA_DIR}/{split}/{c}/x" for split in ("train", "val") for c in classes]
    for relative in paths:
        parts = relative.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]))
    return sorted(folders, key=lambda f: (f.count("/"), f))


def folder_in_the_way(target: Path, relatives, classes: list[str], sample_data: bool) -> str | None:
    """In an existing project folder: a file (or a broken link) where the template puts a folder,
    as one sentence; None when every folder can be used or created. Checked before anything is
    written, so the project is never left half-updated."""
    for relative in _needed_folders(relatives, classes, sample_data):
        path = target / relative
        try:
            if path.is_symlink() and not path.exists():
                return f"{path} is a broken symbolic link where the project needs a folder; remove it, then run scaffold again."
            if path.exists() and not path.is_dir():
                return f"{path} is a file where the project needs a folder; move it away, then run scaffold again."
        except OSError as exc:
            return f"{path} cannot be used ({exc.strerror}); move it away, then run scaffold again."
    return None


def _mode_for(relative: str) -> int:
    return 0o755 if relative.endswith(".sh") else 0o644


def _write_sample_data(staging: Path, classes: list[str]) -> list[str]:
    try:
        from reference_train.synthetic import write_dataset
    except ImportError as exc:
        raise UserError(f"--sample-data needs envcheck's reference_train package with Pillow ({exc}); install Pillow or drop --sample-data.") from None
    samples = staging.parent / f"{staging.name}-samples"
    try:
        write_dataset(samples, classes=classes, train_per_class=SAMPLE_TRAIN_PER_CLASS,
                      val_per_class=SAMPLE_VAL_PER_CLASS, image_size=SAMPLE_IMAGE_SIZE, seed=0)
        moved = []
        for path in sorted(p for p in samples.rglob("*") if p.is_file()):
            relative = f"{DATA_DIR}/{path.relative_to(samples).as_posix()}"
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)
            moved.append(relative)
        return moved
    finally:
        shutil.rmtree(samples, ignore_errors=True)


def _same_content(path: Path, content: bytes) -> bool:
    try:
        return path.is_file() and path.read_bytes() == content
    except OSError:
        return False


def write_project(
    target: Path, files: dict[str, bytes], classes: list[str], sample_data: bool, existing: str
) -> list[Outcome]:
    """Render into a staging folder beside the target, then move into place.

    existing: "new" (target absent or empty: one rename), "force" (overwrite differing files) or
    "skip" (keep existing files). Files of the user's that the template does not produce are
    never touched.
    """
    parent = target.parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.scaffold-", dir=parent))
    except OSError as exc:
        raise UserError(f"cannot create the project in {parent} ({exc.strerror}); choose a folder you can write to with --dir.") from None
    # mkdtemp makes the folder 0700; the project gets the mode any new folder gets here (umask),
    # so teammates on a shared server can read it as they can read the user's other folders.
    from envcheck.util.fsutil import umask_mode

    os.chmod(staging, umask_mode(0o777))
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            os.chmod(path, _mode_for(relative))
        sample_files = _write_sample_data(staging, classes) if sample_data else []
        relatives = sorted(list(files) + sample_files)
        if existing == "new":
            if target.exists():
                target.rmdir()  # empty, checked by the caller; rename cannot replace it everywhere
            os.rename(staging, target)
            return [Outcome(r, "created") for r in relatives]
        outcomes = []
        for relative in relatives:
            source, destination = staging / relative, target / relative
            if destination.exists() or destination.is_symlink():
                if _same_content(destination, source.read_bytes()):
                    outcomes.append(Outcome(relative, "identical"))
                    continue
                if existing == "skip" or destination.is_dir():
                    outcomes.append(Outcome(relative, "skipped"))
                    continue
                action = "overwritten"
            else:
                action = "created"
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
            outcomes.append(Outcome(relative, action))
        return outcomes
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def dry_run_outcomes(target: Path, files: dict[str, bytes], existing: str) -> list[Outcome]:
    outcomes = []
    for relative in sorted(files):
        destination = target / relative
        if existing == "new" or not destination.exists():
            outcomes.append(Outcome(relative, "created"))
        elif _same_content(destination, files[relative]):
            outcomes.append(Outcome(relative, "identical"))
        else:
            outcomes.append(Outcome(relative, "skipped" if existing == "skip" else "overwritten"))
    return outcomes


def _print_report(outcomes: list[Outcome], dry_run: bool) -> None:
    verbs = {"created": "would create", "overwritten": "would overwrite", "skipped": "would skip", "identical": "identical"}
    images = [o for o in outcomes if o.path.startswith(f"{DATA_DIR}/") and not o.path.endswith(".gitkeep")]
    for outcome in outcomes:
        if outcome in images:
            continue
        verb = verbs[outcome.action] if dry_run else outcome.action
        print(f"  {verb:<16} {outcome.path}")
    for action in ("created", "overwritten", "skipped", "identical"):
        count = sum(1 for o in images if o.action == action)
        if count:
            print(f"  {(verbs[action] if dry_run else action):<16} {DATA_DIR}/ ({count} sample files)")


def command(
    name: str = typer.Argument(..., help="Folder name of the new project (created in the current folder, or in --dir)."),
    directory_text: Optional[str] = typer.Option(None, "--dir", help="Create the project inside this folder instead of the current one."),
    classes_text: str = typer.Option("cat,dog", "--classes", help="Comma-separated class names: one dataset folder each."),
    template: str = typer.Option(DEFAULT_TEMPLATE, "--template", help="Which project template to use."),
    sample_data: bool = typer.Option(False, "--sample-data", help="Fill dataset/ with small synthetic images so `python train.py` runs at once."),
    force: bool = typer.Option(False, "--force", help="Into an existing folder: overwrite files the template produces."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Into an existing folder: keep files that already exist, add the missing ones."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written; write nothing."),
    python: Optional[str] = typer.Option(None, "--python", help="Pin requirements.txt to this interpreter's torch (default: the one running envcheck)."),
) -> None:
    """Create a PyTorch image-classification project: data folders, train.py, config, tmux launcher.

    requirements.txt pins torch/torchvision to the build on this machine, with the index line it needs.
    """
    from envcheck.commands import common

    if force and skip_existing:
        raise UserError("choose one of --force and --skip-existing.")
    validate_name(name)
    classes = parse_classes(classes_text)
    if directory_text is not None and not directory_text.strip():
        # `--dir "$UNSET"` would otherwise mean the current folder without the user knowing.
        raise UserError("--dir is empty; give the folder to create the project in, or leave --dir out for the current folder.")
    directory = Path(directory_text) if directory_text is not None else None
    parent = (directory if directory is not None else Path.cwd()).expanduser()
    from envcheck.util.fsutil import folder_problem

    problem = folder_problem(parent, f"--dir {parent}" if directory is not None else "the current folder")
    if problem:
        raise UserError(problem)
    target = parent.resolve() / name
    if target.is_symlink() and not target.exists():
        raise UserError(f"{target} is a broken symbolic link (to {os.readlink(target)}); remove it or choose another name.")
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} exists and is a file; choose another name.")
    if target.is_dir() and not _is_empty_dir(target):
        if not (force or skip_existing):
            raise UserError(
                f"{target} already exists and is not empty; pass --skip-existing to add only missing files, "
                "--force to overwrite the template's files, or choose another name."
            )
        existing = "force" if force else "skip"
    else:
        existing = "new"
    if template not in available_templates():
        raise UserError(f"--template {template}: no such template; available: {', '.join(available_templates())}.")
    if existing != "new":
        # The template's layout does not depend on the requirements: plan it once now, before the
        # slow package listing, to find a file sitting where a folder must go.
        layout = plan_files(name, classes, template, "", sample_data)
        problem = folder_in_the_way(target, layout, classes, sample_data)
        if problem:
            raise UserError(problem)

    ctx = Context(python=common.resolve_python(python))
    report = common.read_packages(ctx)
    nvidia = None
    if not any(str(d.get("name")).lower() == "torch" for d in report.get("distributions") or []):
        from envcheck.core.runner import collect

        nvidia = collect(ctx, ["nvidia"]).data("nvidia")
    files = plan_files(name, classes, template, scaffold_requirements(report, nvidia), sample_data)

    if dry_run:
        print(f"Dry run: nothing written. Project {target} (template {template}):")
        _print_report(dry_run_outcomes(target, files, existing), dry_run=True)
        if sample_data:
            total = (SAMPLE_TRAIN_PER_CLASS + SAMPLE_VAL_PER_CLASS) * len(classes)
            print(f"  {'would create':<16} {DATA_DIR}/ ({total} sample images and their catdog.json manifest)")
        return

    outcomes = write_project(target, files, classes, sample_data, existing)
    print(f"Project {target} (template {template}):")
    _print_report(outcomes, dry_run=False)
    shown = os.path.relpath(target) if not os.path.relpath(target).startswith("..") else str(target)
    print()
    print("Next:")
    print(f"  cd {shown}")
    print("  pip install -r requirements.txt      # if this environment lacks torch/torchvision/pyyaml")
    if not sample_data:
        print(f"  # put images in {DATA_DIR}/train/<class>/ and {DATA_DIR}/val/<class>/, then:")
    print(f"  envcheck check-data {DATA_DIR}")
    print("  python train.py --epochs 1           # a quick try")
    print("  ./run.sh 0                           # the real run in tmux on GPU 0, log in outputs/train.log")
    sys.stdout.flush()
