"""Check an ImageFolder tree before training, so a bad data set fails in one clear sentence
instead of a traceback from inside a DataLoader worker in the middle of epoch 3.

Checks what torchvision.datasets.ImageFolder assumes: root/<split>/<class>/<image>, the same class
folders in every split (the class index comes from the sorted folder names, so a missing or extra
folder silently shifts the labels), at least one image per class, and images that decode.

Standard library + Pillow only: this module must import without torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

try:  # envcheck's translations (`envcheck check-data --lang zh`); English when this package runs on its own
    from envcheck.i18n import _, current_language
except ImportError:
    def _(message: str) -> str:
        return message

    def current_language() -> str:
        return "en"


def _names(names) -> str:
    """A list of names as the language writes lists: "a, b" / "a、b"."""
    return ("、" if current_language() == "zh" else ", ").join(names)


# The extensions torchvision.datasets.folder.IMG_EXTENSIONS accepts; ImageFolder skips everything else.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# Files the OS or tools leave behind; not worth a warning.
IGNORED_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class DataReport:
    root: Path
    ok: bool = True
    classes: dict[str, list[str]] = field(default_factory=dict)  # split -> class names, sorted as ImageFolder does
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> image files
    problems: list[str] = field(default_factory=list)  # each one sentence with the fix; any problem -> ok False
    bad_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[str] = field(default_factory=list)
    # (split, class, path) of every image file found, in ImageFolder's order: what _verify_images opens.
    images: list[tuple[str, str, Path]] = field(default_factory=list, repr=False)

    def problem(self, sentence: str) -> None:
        self.problems.append(sentence)
        self.ok = False


def _unreadable(path: Path, exc: OSError) -> str:
    reason = _("permission denied") if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
    return _("{path} cannot be read ({reason}), so ImageFolder would fail on it; fix its permissions "
             "({command}) or move it out of the data set.").format(path=path, reason=reason,
                                                                    command=f"chmod -R a+rX '{path}'")


def _entries(folder: Path) -> list[os.DirEntry]:
    """The folder's entries sorted by name; OSError (e.g. PermissionError) when it cannot be listed."""
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether ImageFolder sees a folder here: links are followed, broken ones and loops are not folders."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _contains(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def check_imagefolder(
    root: Path,
    splits=("train", "val"),
    verify_images: bool = True,
    max_verify: int | None = None,
) -> DataReport:
    """Inspect `root` and report every problem found (not only the first one)."""
    root = Path(root)
    report = DataReport(root=root)
    folders = ("、" if current_language() == "zh" else " and ").join(f"{split}/" for split in splits)
    if not root.exists():
        report.problem(_("the data folder {path} does not exist; pass the folder that contains {folders}.").format(
            path=root, folders=folders))
        return report
    if not root.is_dir():
        report.problem(_("{path} is a file, not a folder; pass the folder that contains {folders}.").format(
            path=root, folders=folders))
        return report

    for split in splits:
        split_dir = root / split
        if split_dir.exists() and not split_dir.is_dir():
            report.problem(_("{path} is a file, not a folder; replace it with a {split}/ folder holding one "
                             "sub-folder per class (e.g. {split}/cat/, {split}/dog/).").format(path=split_dir, split=split))
            continue
        if not split_dir.is_dir():
            try:
                present = [e.name for e in _entries(root) if _is_dir(e)]
            except OSError:
                present = []  # an unlistable root: no hint, the missing split is the news
            if present:
                message = _("{path} is missing (found: {found}); create {split}/ with one sub-folder per class "
                            "(e.g. {split}/cat/, {split}/dog/).")
            else:
                message = _("{path} is missing; create {split}/ with one sub-folder per class "
                            "(e.g. {split}/cat/, {split}/dog/).")
            report.problem(message.format(path=split_dir, found=", ".join(present), split=split))
            continue
        _check_split(report, split, split_dir)

    _check_same_classes(report, splits)
    _check_class_count(report, splits)
    if verify_images:
        _verify_images(report, splits, max_verify)
    return report


def _check_split(report: DataReport, split: str, split_dir: Path) -> None:
    try:
        entries = _entries(split_dir)
    except OSError as exc:
        report.problem(_unreadable(split_dir, exc))
        return
    class_entries = [e for e in entries if _is_dir(e)]
    for hidden in (split_dir / e.name for e in class_entries if e.name.startswith(".")):
        # ImageFolder turns every sub-folder into a class, hidden ones included (.ipynb_checkpoints!).
        report.problem(_("{path} is a hidden folder that ImageFolder would treat as an extra class; delete it "
                         "({command}).").format(path=hidden, command=f"rm -r '{hidden}'"))
    stray = [e for e in entries if not _is_dir(e) and e.name not in IGNORED_FILES]
    if stray:
        report.warnings.append(_(
            "{path} has {count} file(s) outside any class folder (e.g. {example}); "
            "ImageFolder ignores them: move them into a class folder if they are training data."
        ).format(path=split_dir, count=len(stray), example=stray[0].name))
    class_names = [e.name for e in class_entries]
    report.classes[split] = class_names
    report.counts[split] = {}
    if not class_names:
        report.problem(_("{path} has no class folders; put the images in one sub-folder per class, e.g. {example}.").format(
            path=split_dir, example=f"{split_dir}/cat/"))
        return
    broken_links: list[Path] = []
    skipped: list[Path] = []  # files that are not images
    split_real = os.path.realpath(split_dir)
    for name in class_names:
        class_dir = split_dir / name
        class_real = os.path.realpath(class_dir)
        if _contains(class_real, split_real):
            report.problem(_loop(class_dir, class_real))
            report.counts[split][name] = 0
            continue
        images, readable = _walk_class(report, split, name, class_dir, broken_links, skipped)
        report.counts[split][name] = images
        if images == 0 and readable:
            report.problem(_("{path} has no images ({extensions}); add images to it or delete the folder in every "
                             "split.").format(path=class_dir, extensions="/".join(IMAGE_EXTENSIONS)))
    if broken_links:
        target = os.readlink(broken_links[0])
        report.problem(_(
            "{path} has {count} image(s) that are broken symbolic links (e.g. {example} -> {target}); ImageFolder "
            "lists them and the DataLoader would crash on them: remove them or restore their targets."
        ).format(path=split_dir, count=len(broken_links), example=broken_links[0], target=target))
    if skipped:
        report.warnings.append(_(
            "{path} has {count} file(s) that are not images (e.g. {example}); "
            "ImageFolder skips them: convert them to JPEG/PNG or remove them."
        ).format(path=split_dir, count=len(skipped), example=skipped[0].name))


def _loop(link: Path, real: str) -> str:
    return _("{link} is a symbolic link loop (it points to {target}, which contains it): ImageFolder follows links and "
             "would read the same images again and again; remove the link ({command}).").format(
        link=link, target=real, command=f"rm '{link}'")


def _walk_class(report: DataReport, split: str, class_name: str, class_dir: Path,
                broken_links: list[Path], skipped: list[Path]) -> tuple[int, bool]:
    """Count the images below class_dir the way ImageFolder finds them (os.walk with followlinks=True);
    record unreadable folders, link loops, broken links and non-image files (also added to `skipped`).
    Returns (images, readable)."""
    images = 0
    readable = True
    pending = [(class_dir, (os.path.realpath(class_dir),))]
    while pending:
        folder, ancestors = pending.pop(0)
        try:
            entries = _entries(folder)
        except OSError as exc:
            report.problem(_unreadable(folder, exc))
            readable = False
            continue
        subfolders = []
        for entry in entries:
            path = folder / entry.name
            if entry.name in IGNORED_FILES:
                continue
            if _is_dir(entry):
                real = os.path.realpath(path)
                if any(_contains(real, above) for above in ancestors):
                    report.problem(_loop(path, real))
                    continue
                subfolders.append((path, ancestors + (real,)))
                continue
            suffix = Path(entry.name).suffix.lower()
            if entry.is_symlink() and not os.path.exists(path):
                if suffix in IMAGE_EXTENSIONS:
                    broken_links.append(path)
                    report.bad_files.append((str(path), _("a broken symbolic link (its target does not exist)")))
                continue
            if suffix in IMAGE_EXTENSIONS:
                images += 1
                report.images.append((split, class_name, path))
            else:
                skipped.append(path)
                kind = Path(entry.name).suffix or _("no extension")
                report.bad_files.append((str(path), _("not an image file type ({suffix}); ImageFolder skips it").format(
                    suffix=kind)))
        pending[:0] = subfolders
    return images, readable


def _check_class_count(report: DataReport, splits) -> None:
    """One rule for every command: a classifier needs two classes or more. With one, every model
    scores 100% by always answering that class, which proves nothing."""
    for split in splits:
        classes = [c for c in report.classes.get(split) or [] if not c.startswith(".")]
        if len(classes) == 1:
            split_dir = report.root / split
            report.problem(_(
                "{path} has only one class folder ({name}); a classifier needs at least two "
                "(e.g. {path}/cat/ and {path}/dog/), or it scores 100% by always answering {name}."
            ).format(path=split_dir, name=classes[0]))
            return


def _check_same_classes(report: DataReport, splits) -> None:
    present = [s for s in splits if s in report.classes and report.classes[s]]
    if len(present) < 2:
        return
    reference = present[0]
    for split in present[1:]:
        only_ref = sorted(set(report.classes[reference]) - set(report.classes[split]))
        only_split = sorted(set(report.classes[split]) - set(report.classes[reference]))
        if only_ref or only_split:
            parts = []
            if only_ref:
                parts.append(_("only in {split}/: {names}").format(split=reference, names=_names(only_ref)))
            if only_split:
                parts.append(_("only in {split}/: {names}").format(split=split, names=_names(only_split)))
            report.problem(_(
                "{first}/ and {second}/ have different class folders ({differences}), so the label "
                "numbers would not match; give both the same class sub-folders."
            ).format(first=reference, second=split, differences=("；" if current_language() == "zh" else "; ").join(parts)))


def _verify_images(report: DataReport, splits, max_verify: int | None) -> None:
    try:
        from PIL import Image
    except ImportError:
        report.warnings.append(_("Pillow is not installed, so images were not opened; install it with `{command}`.").format(
            command="pip install pillow"))
        return
    candidates = [path for split, class_name, path in report.images if split in splits and not class_name.startswith(".")]
    if max_verify is not None and len(candidates) > max_verify:
        report.warnings.append(_("only the first {count} of {total} images were opened to check them.").format(
            count=max_verify, total=len(candidates)))
        candidates = candidates[:max_verify]
    broken, unreadable = [], []
    for path in candidates:
        problem = _image_problem(Image, path)
        if problem:
            cannot_read, reason = problem
            (unreadable if cannot_read else broken).append(path)
            report.bad_files.append((str(path), reason))
    if unreadable:
        report.problem(_(
            "{count} image(s) cannot be read (e.g. {example}: {reason}); "
            "fix their permissions (chmod a+r) or remove them, they would crash the DataLoader mid-epoch."
        ).format(count=len(unreadable), example=unreadable[0], reason=_reason_for(report, unreadable[0])))
    if broken:
        report.problem(_(
            "{count} image(s) cannot be decoded (e.g. {example}: {reason}); "
            "delete or replace them, they would crash the DataLoader mid-epoch."
        ).format(count=len(broken), example=broken[0], reason=_reason_for(report, broken[0])))


def _image_problem(Image, path: Path) -> tuple[bool, str] | None:
    """(whether it cannot be read at all, why) when Pillow cannot decode `path`, or None. verify()
    checks structure; load() catches truncation."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
    except PermissionError:
        return True, _("cannot be read (permission denied)")
    except Exception as exc:  # Pillow raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        return False, _("cannot decode: {error}").format(error=exc).strip()
    return None


def _reason_for(report: DataReport, path: Path) -> str:
    for bad_path, reason in report.bad_files:
        if bad_path == str(path):
            return reason
    return _("unknown")
