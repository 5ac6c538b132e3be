"""`envcheck scaffold NAME`: a new image-classification project in the layout PyTorch users know
(dataset/{train,val}/<class>/, train.py, model/, outputs/, requirements.txt), ready to run.

Safety rules: NAME is one plain folder name; an existing non-empty folder is left alone unless
--force or --skip-existing; everything is rendered into a staging folder beside the target first,
so a failure while rendering (or while drawing sample images) leaves nothing half-written.

Converted for translation (issue #11, docs/i18n.md): the per-file report, the next steps and every
error go through _(); the generated project speaks the run's language too: with zh, the files of
templates/_zh/<template>/ replace or translate the template's own (see render_template and
docs/export-diff-scaffold.md). Paths, commands, options and config keys stay English.
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
from envcheck.i18n import N_, _, current_language, join

TEMPLATE_PACKAGE = "envcheck.templates"
DEFAULT_TEMPLATE = "default"
# Per-language files of a template live in templates/_<language>/<template>/ (English, the source
# language, has none): a file named like one of the template's replaces it (the README: prose is
# translated as a whole), a file named like one of the template's plus LANGUAGE_SUFFIX holds
# "English text -> translated text" blocks applied to that file's source before it is rendered
# (comments and docstrings of code: the code itself is written once). See parse_translations.
LANGUAGE_SUFFIX = ".comments"
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


# One whole sentence per kind of name (never "the {what} ..." with a translated fragment).
_NAME_PROBLEMS = {
    "project name": {
        "empty": N_("the project name is empty; give a folder name such as catdog."),
        "path": N_("the project name {name} is a path; give a plain folder name, and --dir PARENT to create it elsewhere."),
        "plain": N_("the project name {name} is not a plain folder name; use letters, digits, '.', '_' and '-', "
                    "starting with a letter or digit."),
        "long": N_("the project name {name}... is {length} characters long; use at most {limit}."),
    },
    "class name": {
        "empty": N_("the class name is empty; give a folder name such as catdog."),
        "path": N_("the class name {name} is a path; give a plain folder name, and --dir PARENT to create it elsewhere."),
        "plain": N_("the class name {name} is not a plain folder name; use letters, digits, '.', '_' and '-', "
                    "starting with a letter or digit."),
        "long": N_("the class name {name}... is {length} characters long; use at most {limit}."),
    },
}


def validate_name(name: str, what: str = "project name") -> str:
    """A single folder name: no separators, no '..', no absolute path, nothing hidden.
    what: "project name" or "class name"."""
    problems = _NAME_PROBLEMS[what]
    if not name or not name.strip():
        raise UserError(_(problems["empty"]))
    if "/" in name or "\\" in name or name.startswith("~"):
        raise UserError(_(problems["path"]).format(name=repr(name)))
    if name in {".", ".."} or not _PLAIN_NAME.match(name):
        raise UserError(_(problems["plain"]).format(name=repr(name)))
    if len(name) > MAX_NAME:
        raise UserError(_(problems["long"]).format(name=name[:20], length=len(name), limit=MAX_NAME))
    return name


def parse_classes(text: str) -> list[str]:
    classes = [c.strip() for c in text.split(",") if c.strip()]
    for c in classes:
        validate_name(c, "class name")
    if len(classes) < 2:
        raise UserError(_("--classes {text}: a classifier needs at least two classes, e.g. --classes cat,dog.")
                        .format(text=repr(text)))
    if len(set(classes)) != len(classes):
        raise UserError(_("--classes {text}: each class may appear only once.").format(text=repr(text)))
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


def parse_translations(text: str) -> list[tuple[str, str]]:
    """The (English, translated) blocks of a LANGUAGE_SUFFIX file:

        == en
            # the English lines, exactly as in the template (indentation included)
        == zh
            # 译文，同样的缩进

    Lines before the first marker are the file's own notes; blank lines at the end of a block are
    left out, so entries may be separated by a blank line."""
    pairs: list[tuple[str, str]] = []
    english: list[str] | None = None
    current: list[str] | None = None
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line in ("== en", "== zh"):
            current = []
            blocks.append((line[3:], current))
        elif current is not None:
            current.append(line)
    for kind, lines in blocks:
        while lines and not lines[-1].strip():
            lines.pop()
        if kind == "en":
            if english is not None:
                raise ValueError("two '== en' blocks in a row: " + "\n".join(english)[:60])
            english = lines
        else:
            if english is None:
                raise ValueError("a '== zh' block without its '== en' block: " + "\n".join(lines)[:60])
            pairs.append(("\n".join(english), "\n".join(lines)))
            english = None
    if english is not None:
        raise ValueError("an '== en' block without its '== zh' block: " + "\n".join(english)[:60])
    return pairs


def translate_source(source: str, pairs: list[tuple[str, str]]) -> str:
    """source with each English block replaced by its translation; each block must occur exactly
    once (a template edited without its translation is an error, never a half-translated file)."""
    for english, translated in pairs:
        found = source.count(english)
        if found != 1:
            state = "no longer in the file" if found == 0 else f"found {found} times"
            raise ValueError(f"the block {english.strip()[:60]!r} is {state}")
        source = source.replace(english, translated)
    return source


def _language_files(template: str, language: str) -> dict[str, Any]:
    """A template's per-language files: name -> Traversable (none for English)."""
    if language == "en":
        return {}
    folder = _templates_root() / f"_{language}" / template
    found: dict[str, Any] = {}

    def walk(entry, prefix: str) -> None:
        for child in entry.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif not child.name.endswith(".pyc"):
                found[prefix + child.name] = child

    if folder.is_dir():
        walk(folder, "")
    return found


def render_template(template: str, variables: dict[str, Any], language: str = "en") -> dict[str, bytes]:
    """Relative output path -> content for every file of a template (.j2 files rendered by Jinja2,
    with StrictUndefined so a missing variable is an error, never an empty string), in a language:
    its files in templates/_<language>/<template>/ replace or translate the template's own."""
    import jinja2

    names = available_templates()
    if template not in names:
        raise UserError(_("--template {template}: no such template; available: {names}.").format(
            template=template, names=join(names)))
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False, trim_blocks=False
    )
    rendered: dict[str, bytes] = {}
    overlay = _language_files(template, language)
    used: set[str] = set()

    def bug(name: str, problem: str) -> UserError:
        return UserError(_("template {template}, file {file}: {problem}; please report this bug.").format(
            template=template, file=name, problem=problem))

    def source_of(entry, name: str) -> str:
        """The template file's text in the run's language."""
        if name in overlay:
            used.add(name)
            return overlay[name].read_text(encoding="utf-8")
        text = entry.read_text(encoding="utf-8")
        if name + LANGUAGE_SUFFIX in overlay:
            used.add(name + LANGUAGE_SUFFIX)
            try:
                pairs = parse_translations(overlay[name + LANGUAGE_SUFFIX].read_text(encoding="utf-8"))
                text = translate_source(text, pairs)
            except ValueError as exc:
                raise bug(f"_{language}/{template}/{name}{LANGUAGE_SUFFIX}", str(exc)) from None
        return text

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
                    text = env.from_string(source_of(entry, prefix + entry.name)).render(**variables)
                except jinja2.TemplateError as exc:
                    raise bug(prefix + entry.name, str(exc)) from None
                rendered[relative] = text.encode("utf-8")
            elif prefix + entry.name in overlay:
                used.add(prefix + entry.name)
                rendered[relative] = overlay[prefix + entry.name].read_bytes()
            else:
                rendered[relative] = entry.read_bytes()

    walk(_templates_root() / template, "")
    unused = sorted(set(overlay) - used)
    if unused:  # a file renamed or removed in the template but not in its translation
        raise bug(f"_{language}/{template}/{unused[0]}", "no such file in the template")
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
    # The comments at the top of the project's requirements.txt are in the run's language, like its
    # README; the requirement lines themselves are the same in every language.
    if python.get("executable"):
        header = [_("Made by envcheck scaffold {version} for {python}.").format(version=__version__, python=python["executable"])]
    else:
        header = [_("Made by envcheck scaffold {version} for this interpreter.").format(version=__version__)]
    extra: list[str] = []
    chosen = []
    torch = dists.get("torch")
    if torch:
        header.append(_("torch and torchvision are pinned to the build installed there, which matches this machine."))
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
                header.append(_("torchvision is not installed and its pairing with this torch is unknown: pick the matching release."))
                extra.append("torchvision")
    else:
        pair = _newest_known_pair()
        # TRANSLATORS: two comment lines of requirements.txt (keep the line break: each line gets its own '#').
        header += _("torch is not installed there; these are the newest torch/torchvision pair in envcheck's table\n"
                    "(source: pytorch/vision README). Run `envcheck doctor` after installing to confirm the GPU works.").split("\n")
        if pair:
            torch_minor, vision_minor = pair
            variant = None
            nvidia = nvidia or {}
            if nvidia.get("cuda_driver_version"):
                choice = knowledge.best_variant_for_driver(torch_minor, nvidia["cuda_driver_version"], nvidia.get("driver_version"))
                if choice and choice.variant != knowledge.pypi_default_variant(torch_minor):
                    variant = choice
            if variant:
                header.append(_("The NVIDIA driver here supports CUDA {cuda}: the {variant} build fits it.").format(
                    cuda=nvidia["cuda_driver_version"], variant=variant.variant))
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


def plan_files(name: str, classes: list[str], template: str, requirements: str, sample_data: bool,
               language: str | None = None) -> dict[str, bytes]:
    """The project's files; language: of its README and code comments (default: the run's)."""
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
    files = render_template(template, variables, language or current_language())
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
                return _("{path} is a broken symbolic link where the project needs a folder; remove it, then run "
                         "scaffold again.").format(path=path)
            if path.exists() and not path.is_dir():
                return _("{path} is a file where the project needs a folder; move it away, then run scaffold again.").format(path=path)
        except OSError as exc:
            return _("{path} cannot be used ({reason}); move it away, then run scaffold again.").format(
                path=path, reason=exc.strerror)
    return None


def _mode_for(relative: str) -> int:
    return 0o755 if relative.endswith(".sh") else 0o644


def _write_sample_data(staging: Path, classes: list[str]) -> list[str]:
    try:
        from reference_train.synthetic import write_dataset
    except ImportError as exc:
        raise UserError(_("--sample-data needs envcheck's reference_train package with Pillow ({error}); install Pillow or "
                          "drop --sample-data.").format(error=exc)) from None
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
        raise UserError(_("cannot create the project in {folder} ({reason}); choose a folder you can write to with --dir.").format(
            folder=parent, reason=exc.strerror)) from None
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


# The word before each file of the report (the English words are the action names themselves).
DONE_WORDS = {"created": N_("created"), "overwritten": N_("overwritten"), "skipped": N_("skipped"),
              "identical": N_("identical")}
DRY_RUN_WORDS = {"created": N_("would create"), "overwritten": N_("would overwrite"), "skipped": N_("would skip"),
                 "identical": N_("identical")}


def _verb(action: str, dry_run: bool) -> str:
    """The report's first column: the translated word, padded to 16 terminal cells (a CJK
    character takes two)."""
    from rich.cells import cell_len

    word = _((DRY_RUN_WORDS if dry_run else DONE_WORDS)[action])
    return word + " " * max(0, 16 - cell_len(word))


def _print_report(outcomes: list[Outcome], dry_run: bool) -> None:
    images = [o for o in outcomes if o.path.startswith(f"{DATA_DIR}/") and not o.path.endswith(".gitkeep")]
    for outcome in outcomes:
        if outcome in images:
            continue
        print(f"  {_verb(outcome.action, dry_run)} {outcome.path}")
    for action in ("created", "overwritten", "skipped", "identical"):
        count = sum(1 for o in images if o.action == action)
        if count:
            # Always many (sample data: dozens of images per class), so no singular form.
            files = _("{folder} ({count} sample files)").format(folder=f"{DATA_DIR}/", count=count)
            print(f"  {_verb(action, dry_run)} {files}")


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
        raise UserError(_("choose one of --force and --skip-existing."))
    validate_name(name)
    classes = parse_classes(classes_text)
    if directory_text is not None and not directory_text.strip():
        # `--dir "$UNSET"` would otherwise mean the current folder without the user knowing.
        raise UserError(_("--dir is empty; give the folder to create the project in, or leave --dir out for the current folder."))
    directory = Path(directory_text) if directory_text is not None else None
    parent = Path(os.path.expanduser(directory)) if directory is not None else Path.cwd()
    from envcheck.util.fsutil import folder_problem

    # TRANSLATORS: {folder} is inserted into a sentence of envcheck/util/fsutil.py (folder_problem).
    problem = folder_problem(parent, f"--dir {parent}" if directory is not None else _("the current folder"))
    if problem:
        raise UserError(problem)
    target = parent.resolve() / name
    if target.is_symlink() and not target.exists():
        raise UserError(_("{path} is a broken symbolic link (to {link}); remove it or choose another name.").format(
            path=target, link=os.readlink(target)))
    if target.exists() and not target.is_dir():
        raise UserError(_("{path} exists and is a file; choose another name.").format(path=target))
    if target.is_dir() and not _is_empty_dir(target):
        if not (force or skip_existing):
            raise UserError(_(
                "{path} already exists and is not empty; pass --skip-existing to add only missing files, "
                "--force to overwrite the template's files, or choose another name.").format(path=target))
        existing = "force" if force else "skip"
    else:
        existing = "new"
    if template not in available_templates():
        raise UserError(_("--template {template}: no such template; available: {names}.").format(
            template=template, names=join(available_templates())))
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
        print(_("Dry run: nothing written. Project {path} (template {template}):").format(path=target, template=template))
        _print_report(dry_run_outcomes(target, files, existing), dry_run=True)
        if sample_data:
            total = (SAMPLE_TRAIN_PER_CLASS + SAMPLE_VAL_PER_CLASS) * len(classes)
            images = _("{folder} ({count} sample images and their catdog.json manifest)").format(
                folder=f"{DATA_DIR}/", count=total)
            print(f"  {_verb('created', dry_run=True)} {images}")
        return

    outcomes = write_project(target, files, classes, sample_data, existing)
    print(_("Project {path} (template {template}):").format(path=target, template=template))
    _print_report(outcomes, dry_run=False)
    shown = os.path.relpath(target) if not os.path.relpath(target).startswith("..") else str(target)
    print()
    print(_("Next:"))
    # Commands and their comments in columns: a comment starts at column 39 (cells, not characters).
    steps = [(f"cd {shown}", None),
             ("pip install -r requirements.txt", _("# if this environment lacks torch/torchvision/pyyaml"))]
    if not sample_data:
        steps.append((_("# put images in {train} and {val}, then:").format(
            train=f"{DATA_DIR}/train/<class>/", val=f"{DATA_DIR}/val/<class>/"), None))
    steps += [(f"envcheck check-data {DATA_DIR}", None),
              ("python train.py --epochs 1", _("# a quick try")),
              ("./run.sh 0", _("# the real run in tmux on GPU 0, log in outputs/train.log"))]
    for step, comment in steps:
        print(f"  {step:<36} {comment}" if comment else f"  {step}")
    sys.stdout.flush()
