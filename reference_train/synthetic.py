"""A deterministic synthetic cat/dog data set, drawn with Pillow and written as JPEG in ImageFolder layout.

Why drawn images and not random tensors (torchvision FakeData, pytorch/examples `--dummy`): their
labels are random, so a run cannot show that a model *learns*. Here the class is a shape a
convolutional net can see, while everything else is random nuisance:

- cat: pointed triangular ears standing up from the head, whiskers, a small nose;
- dog: long floppy ears hanging down beside the head, a wide snout with a big nose.

Colours of head, ears and background, the size, position and tilt of the figure, background
clutter and pixel noise are all random and drawn the same way for every class, so colour carries
no class information. The files go through the real JPEG decode / transform / DataLoader path.

Class names other than cat/dog get further figure kinds, in this order: rabbit (tall upright ears),
bear (round ears on top), mouse (huge round ears at the sides), bird (no ears, a beak). Names are
assigned in the order given: "cat" and "dog" always get their own figure, the remaining names take
the remaining kinds. With more than six classes the kinds repeat, marked with 1, 2, ... dots on
the forehead per repetition.

Standard library + Pillow only: this module must import without torch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

try:
    from PIL import Image, ImageDraw, ImageFilter
except ImportError as exc:  # Pillow comes with torchvision; say how to get it if it is missing
    raise ImportError(
        "reference_train.synthetic needs Pillow; install it with `pip install pillow` "
        "(or `pip install 'envcheck[train]'`)."
    ) from exc

# Bump whenever the drawing changes: it is part of the cache key, so old caches are not reused.
GENERATOR_VERSION = 2

FIGURE_KINDS = ("cat", "dog", "rabbit", "bear", "mouse", "bird")
SUPERSAMPLE = 2  # draw at 2x and downsample: Pillow's ImageDraw does not antialias
JPEG_QUALITY = 90


def write_dataset(
    root: Path,
    classes=("cat", "dog"),
    train_per_class: int = 200,
    val_per_class: int = 50,
    image_size: int = 64,
    seed: int = 0,
) -> dict[str, dict[str, int]]:
    """Write root/train/<class>/*.jpg and root/val/<class>/*.jpg; return the counts per split and class.

    Deterministic for (seed, GENERATOR_VERSION, sizes, classes). Written into a temporary folder
    beside `root` and renamed at the end, so an interrupted run leaves no half data set.
    """
    root = Path(root)
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be a non-empty list of distinct names, got {classes!r}.")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}.")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} already exists and is not empty; choose a new folder or delete it first.")
    root.parent.mkdir(parents=True, exist_ok=True)

    kinds = _figure_kinds_for(classes)
    counts: dict[str, dict[str, int]] = {"train": {}, "val": {}}
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".partial", dir=root.parent))
    try:
        for split, per_class in (("train", train_per_class), ("val", val_per_class)):
            for class_name in classes:
                class_dir = staging / split / class_name
                class_dir.mkdir(parents=True)
                for index in range(per_class):
                    # A string seed is hashed with SHA-512 by `random`, so it does not depend on
                    # PYTHONHASHSEED and every image is reproducible on its own.
                    rng = random.Random(f"catdog-v{GENERATOR_VERSION}-{seed}-{split}-{class_name}-{index}")
                    image = draw_figure(kinds[class_name], image_size, rng)
                    image.save(class_dir / f"{class_name}_{index:05d}.jpg", format="JPEG", quality=JPEG_QUALITY)
                counts[split][class_name] = per_class
        manifest = {
            "generator": "reference_train.synthetic",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "image_size": image_size,
            "figure_kinds": {name: list(kind) for name, kind in kinds.items()},
            "counts": counts,
        }
        (staging / "catdog.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if root.exists():
            root.rmdir()  # empty (checked above); os.rename cannot replace it on every platform
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "envcheck" / "catdog"


def cached_dataset(
    seed: int = 0,
    image_size: int = 64,
    train_per_class: int = 200,
    val_per_class: int = 50,
    cache_dir: Path | None = None,
) -> Path:
    """Return a ready cat/dog data set folder, generating it only when it is not cached yet."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = f"v{GENERATOR_VERSION}-seed{seed}-{image_size}px-train{train_per_class}-val{val_per_class}"
    root = cache_dir / key
    if (root / "catdog.json").is_file():
        return root
    try:
        write_dataset(root, train_per_class=train_per_class, val_per_class=val_per_class, image_size=image_size, seed=seed)
    except (FileExistsError, OSError):
        # Another process finished the same data set first: the rename is atomic, so theirs is complete.
        if (root / "catdog.json").is_file():
            return root
        raise
    return root


def _figure_kinds_for(classes: list[str]) -> dict[str, tuple[str, int]]:
    """Map each class name to (figure kind, repeat count): cat/dog keep theirs, others take the rest in order."""
    assigned: dict[str, tuple[str, int]] = {}
    for name in classes:
        if name in ("cat", "dog"):
            assigned[name] = (name, 0)
    free_kinds = [kind for kind in FIGURE_KINDS if kind not in assigned]
    slot = 0
    for name in classes:
        if name in assigned:
            continue
        # Kinds not already taken first, then all kinds again with forehead dots to tell repeats apart.
        if slot < len(free_kinds):
            assigned[name] = (free_kinds[slot], 0)
        else:
            extra = slot - len(free_kinds)
            assigned[name] = (FIGURE_KINDS[extra % len(FIGURE_KINDS)], 1 + extra // len(FIGURE_KINDS))
        slot += 1
    return assigned


# ---------------------------------------------------------------- drawing


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _distinct_colour(rng: random.Random, avoid: tuple[int, int, int], min_distance: int = 120) -> tuple[int, int, int]:
    """A random colour far enough from `avoid` that the figure stays visible against it."""
    for _ in range(50):
        colour = _random_colour(rng)
        if sum(abs(a - b) for a, b in zip(colour, avoid)) >= min_distance:
            return colour
    return tuple(255 - c for c in avoid)  # type: ignore[return-value]


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(c * factor))) for c in colour)  # type: ignore[return-value]


def _background(size: int, rng: random.Random) -> Image.Image:
    """A smooth two-colour gradient in a random direction with a few blobs that belong to no class."""
    top, bottom = _random_colour(rng), _random_colour(rng)
    # Rotate a larger gradient and crop the middle, so no hard corner edges appear.
    gradient = Image.linear_gradient("L").resize((size * 2, size * 2)).rotate(rng.uniform(0, 360))
    gradient = gradient.crop((size // 2, size // 2, size // 2 + size, size // 2 + size))
    image = Image.composite(Image.new("RGB", (size, size), bottom), Image.new("RGB", (size, size), top), gradient)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(0, 3)):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        radius = rng.uniform(0.03, 0.09) * size
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=_random_colour(rng))
    return image


def draw_figure(kind: tuple[str, int], image_size: int, rng: random.Random) -> Image.Image:
    """Draw one animal face of `kind` ((figure, forehead dots)) on a random background."""
    figure, dots = kind
    size = image_size * SUPERSAMPLE
    canvas = _background(size, rng)
    background_colour = canvas.getpixel((size // 2, size // 2))

    # The face is drawn on its own transparent layer, then tilted and pasted at a random place.
    layer_size = size
    layer = Image.new("RGBA", (layer_size, layer_size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    centre = layer_size / 2
    head_r = layer_size * rng.uniform(0.17, 0.23)
    head = _distinct_colour(rng, background_colour)
    ears = head if rng.random() < 0.5 else _shade(head, rng.uniform(0.45, 0.8))
    features = _distinct_colour(rng, head, min_distance=200)
    line_width = max(1, int(layer_size / 55))
    cx, cy = centre, centre

    def ellipse(x0, y0, x1, y1, fill):
        draw.ellipse([x0, y0, x1, y1], fill=fill)

    # Ears first, so the head overlaps their roots.
    if figure == "cat":
        for side in (-1, 1):
            base_in = cx + side * head_r * rng.uniform(0.05, 0.25)
            base_out = cx + side * head_r * rng.uniform(0.85, 1.0)
            tip_x = cx + side * head_r * rng.uniform(0.6, 1.05)
            tip_y = cy - head_r * rng.uniform(1.65, 2.0)
            draw.polygon([(base_in, cy - head_r * 0.55), (base_out, cy - head_r * 0.35), (tip_x, tip_y)], fill=ears)
    elif figure == "dog":
        for side in (-1, 1):
            ear_x = cx + side * head_r * rng.uniform(0.95, 1.15)
            ear_w = head_r * rng.uniform(0.35, 0.5)
            ellipse(ear_x - ear_w, cy - head_r * 0.85, ear_x + ear_w, cy + head_r * rng.uniform(1.1, 1.5), ears)
    elif figure == "rabbit":
        for side in (-1, 1):
            ear_x = cx + side * head_r * rng.uniform(0.3, 0.55)
            ear_w = head_r * rng.uniform(0.2, 0.3)
            ellipse(ear_x - ear_w, cy - head_r * rng.uniform(2.0, 2.4), ear_x + ear_w, cy - head_r * 0.3, ears)
    elif figure == "bear":
        for side in (-1, 1):
            ear_x, ear_y, ear_r = cx + side * head_r * 0.72, cy - head_r * 0.78, head_r * rng.uniform(0.32, 0.42)
            ellipse(ear_x - ear_r, ear_y - ear_r, ear_x + ear_r, ear_y + ear_r, ears)
    elif figure == "mouse":
        for side in (-1, 1):
            ear_x, ear_y, ear_r = cx + side * head_r * 1.05, cy - head_r * 0.45, head_r * rng.uniform(0.6, 0.75)
            ellipse(ear_x - ear_r, ear_y - ear_r, ear_x + ear_r, ear_y + ear_r, ears)

    ellipse(cx - head_r, cy - head_r, cx + head_r, cy + head_r, head)

    eye_dx, eye_y, eye_r = head_r * rng.uniform(0.3, 0.45), cy - head_r * rng.uniform(0.1, 0.3), head_r * rng.uniform(0.1, 0.16)
    for side in (-1, 1):
        ellipse(cx + side * eye_dx - eye_r, eye_y - eye_r, cx + side * eye_dx + eye_r, eye_y + eye_r, features)

    nose_y = cy + head_r * rng.uniform(0.2, 0.35)
    if figure == "cat":
        nose = head_r * 0.13
        draw.polygon([(cx - nose, nose_y - nose * 0.6), (cx + nose, nose_y - nose * 0.6), (cx, nose_y + nose * 0.6)], fill=features)
        for side in (-1, 1):
            for slope in (-0.25, 0.0, 0.25):
                end_x = cx + side * head_r * rng.uniform(1.35, 1.6)
                draw.line([cx + side * head_r * 0.2, nose_y, end_x, nose_y + slope * head_r], fill=features, width=line_width)
    elif figure == "dog":
        muzzle = _shade(head, 1.35) if sum(head) < 380 else _shade(head, 0.7)
        mw, mh = head_r * rng.uniform(0.55, 0.7), head_r * rng.uniform(0.4, 0.5)
        ellipse(cx - mw, nose_y - mh * 0.6, cx + mw, nose_y + mh * 1.4, muzzle)
        nose = head_r * rng.uniform(0.22, 0.3)
        ellipse(cx - nose, nose_y - nose * 0.7, cx + nose, nose_y + nose * 0.7, features)
        draw.line([cx, nose_y, cx, nose_y + mh], fill=features, width=line_width)
    elif figure == "bird":
        beak = head_r * rng.uniform(0.35, 0.5)
        draw.polygon([(cx - beak * 0.5, nose_y - beak * 0.4), (cx + beak * 0.5, nose_y - beak * 0.4), (cx, nose_y + beak)], fill=features)
    else:
        nose = head_r * 0.12
        ellipse(cx - nose, nose_y - nose, cx + nose, nose_y + nose, features)

    for dot in range(dots):
        x = cx + (dot - (dots - 1) / 2) * head_r * 0.3
        r = head_r * 0.08
        ellipse(x - r, cy - head_r * 0.65 - r, x + r, cy - head_r * 0.65 + r, features)

    scale = rng.uniform(0.8, 1.35)
    scaled = max(8, int(layer_size * scale))
    layer = layer.resize((scaled, scaled), Image.BILINEAR).rotate(rng.uniform(-25, 25), resample=Image.BICUBIC)
    # The face spans about 0.5 of the layer; keep at least most of it inside the picture.
    margin = int(scaled * 0.2)
    x = rng.randint(-margin, max(-margin, size - scaled + margin))
    y = rng.randint(-margin, max(-margin, size - scaled + margin))
    canvas.paste(layer, (x, y), layer)

    # Pixel noise from our own RNG (Image.effect_noise uses the C library's rand(): not reproducible).
    noise = Image.frombytes("L", (size, size), rng.randbytes(size * size)).convert("RGB")
    canvas = Image.blend(canvas, noise, rng.uniform(0.04, 0.15))
    if rng.random() < 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * SUPERSAMPLE))
    return canvas.resize((image_size, image_size), Image.LANCZOS)
