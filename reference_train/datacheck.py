"""Check an ImageFolder tree before training, so a bad data set fails in one clear sentence
instead of a traceback from inside a DataLoader worker in the middle of epoch 3.

Checks what torchvision.datasets.ImageFolder assumes: root/<split>/<class>/<image>, the same class
folders in every split (the class index comes from the sorted folder names, so a missing or extra
folder silently shifts the labels), at least one image per class, and images that decode.

Standard library + Pillow only: this module must import without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def problem(self, sentence: str) -> None:
        self.problems.append(sentence)
        self.ok = False


def check_imagefolder(
    root: Path,
    splits=("train", "val"),
    verify_images: bool = True,
    max_verify: int | None = None,
) -> DataReport:
    """Inspect `root` and report every problem found (not only the first one)."""
    root = Path(root)
    report = DataReport(root=root)
    if not root.exists():
        report.problem(f"the data folder {root} does not exist; pass the folder that contains {'/ and '.join(splits)}/.")
        return report
    if not root.is_dir():
        report.problem(f"{root} is a file, not a folder; pass the folder that contains {'/ and '.join(splits)}/.")
        return report

    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            present = sorted(p.name for p in root.iterdir() if p.is_dir())
            hint = f" (found: {', '.join(present)})" if present else ""
            report.problem(
                f"{split_dir} is missing{hint}; create {split}/ with one sub-folder per class "
                f"(e.g. {split}/cat/, {split}/dog/)."
            )
            continue
        _check_split(report, split, split_dir)

    _check_same_classes(report, splits)
    _check_class_count(report, splits)
    if verify_images:
        _verify_images(report, splits, max_verify)
    return report


def _check_split(report: DataReport, split: str, split_dir: Path) -> None:
    class_dirs = sorted(p for p in split_dir.iterdir() if p.is_dir())
    for hidden in (p for p in class_dirs if p.name.startswith(".")):
        # ImageFolder turns every sub-folder into a class, hidden ones included (.ipynb_checkpoints!).
        report.problem(
            f"{hidden} is a hidden folder that ImageFolder would treat as an extra class; delete it "
            f"(rm -r '{hidden}')."
        )
    stray = [p for p in split_dir.iterdir() if p.is_file() and p.name not in IGNORED_FILES]
    if stray:
        report.warnings.append(
            f"{split_dir} has {len(stray)} file(s) outside any class folder (e.g. {stray[0].name}); "
            "ImageFolder ignores them: move them into a class folder if they are training data."
        )
    class_names = [p.name for p in class_dirs]
    report.classes[split] = class_names
    report.counts[split] = {}
    if not class_names:
        report.problem(f"{split_dir} has no class folders; put the images in one sub-folder per class, e.g. {split_dir}/cat/.")
        return
    for class_dir in class_dirs:
        images = 0
        for path in sorted(class_dir.rglob("*")):
            if not path.is_file() or path.name in IGNORED_FILES:
                continue
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                images += 1
            else:
                report.bad_files.append((str(path), f"not an image file type ({path.suffix or 'no extension'}); ImageFolder skips it"))
        report.counts[split][class_dir.name] = images
        if images == 0:
            report.problem(
                f"{class_dir} has no images ({'/'.join(IMAGE_EXTENSIONS)}); add images to it or delete the folder "
                "in every split."
            )
    skipped = [path for path, reason in report.bad_files if Path(path).is_relative_to(split_dir)]
    if skipped:
        report.warnings.append(
            f"{split_dir} has {len(skipped)} file(s) that are not images (e.g. {Path(skipped[0]).name}); "
            "ImageFolder skips them: convert them to JPEG/PNG or remove them."
        )


def _check_class_count(report: DataReport, splits) -> None:
    """One rule for every command: a classifier needs two classes or more. With one, every model
    scores 100% by always answering that class, which proves nothing."""
    for split in splits:
        classes = [c for c in report.classes.get(split) or [] if not c.startswith(".")]
        if len(classes) == 1:
            split_dir = report.root / split
            report.problem(
                f"{split_dir} has only one class folder ({classes[0]}); a classifier needs at least two "
                f"(e.g. {split_dir}/cat/ and {split_dir}/dog/), or it scores 100% by always answering {classes[0]}."
            )
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
                parts.append(f"only in {reference}/: {', '.join(only_ref)}")
            if only_split:
                parts.append(f"only in {split}/: {', '.join(only_split)}")
            report.problem(
                f"{reference}/ and {split}/ have different class folders ({'; '.join(parts)}), so the label "
                f"numbers would not match; give both the same class sub-folders."
            )


def _verify_images(report: DataReport, splits, max_verify: int | None) -> None:
    try:
        from PIL import Image
    except ImportError:
        report.warnings.append("Pillow is not installed, so images were not opened; install it with `pip install pillow`.")
        return
    candidates = []
    for split in splits:
        for class_name in report.classes.get(split, []):
            if class_name.startswith("."):
                continue
            class_dir = report.root / split / class_name
            candidates.extend(
                p for p in sorted(class_dir.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
    if max_verify is not None and len(candidates) > max_verify:
        report.warnings.append(f"only the first {max_verify} of {len(candidates)} images were opened to check them.")
        candidates = candidates[:max_verify]
    broken = []
    for path in candidates:
        reason = _image_problem(Image, path)
        if reason:
            broken.append(path)
            report.bad_files.append((str(path), reason))
    if broken:
        report.problem(
            f"{len(broken)} image(s) cannot be decoded (e.g. {broken[0]}: {_reason_for(report, broken[0])}); "
            "delete or replace them, they would crash the DataLoader mid-epoch."
        )


def _image_problem(Image, path: Path) -> str | None:
    """Why Pillow cannot decode `path`, or None. verify() checks structure; load() catches truncation."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
    except Exception as exc:  # Pillow raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        return f"cannot decode: {exc}".strip()
    return None


def _reason_for(report: DataReport, path: Path) -> str:
    for bad_path, reason in report.bad_files:
        if bad_path == str(path):
            return reason
    return "unknown"
