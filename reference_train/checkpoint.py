"""Checkpoints as plain dicts, written atomically, read back with torch.load(weights_only=True).

weights_only=True refuses arbitrary pickled objects, so a checkpoint from someone else cannot run
code on load (and it is the default since PyTorch 2.6). That only works when a checkpoint holds
plain types: tensors, dicts, lists, str/int/float/bool/None. So the config is stored as a dict,
never an argparse Namespace or dataclass.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# torch is imported inside the functions that need it: path_problem() runs while the command line
# is checked, before the slow `import torch`.

REQUIRED_KEYS = ("epoch", "step", "model", "optimizer", "scheduler", "scaler", "rng", "config", "best_val_acc")


class CheckpointError(Exception):
    """A checkpoint that cannot be used. The message is one sentence saying what to do."""


def save_checkpoint(path: Path, state: dict) -> None:
    """Write `state` to `path` via a temporary file and os.replace, so a crash never leaves half a file."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def path_problem(path: Path) -> str | None:
    """Why `path` cannot be a checkpoint file (a folder, or nothing there), as one sentence; None if it is a file."""
    path = Path(path)
    if path.is_dir():
        inside = path / "checkpoint.pth"
        hint = f"pass {inside}" if inside.is_file() else "pass the checkpoint.pth file a run wrote into its --out-dir"
        return f"checkpoint {path} is a folder, not a file; {hint}."
    if not path.is_file():
        return f"checkpoint {path} does not exist; check the --resume path."
    return None


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Load a training checkpoint written by save_checkpoint, or raise CheckpointError."""
    import torch

    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise CheckpointError(problem)
    with path.open("rb") as handle:
        magic = handle.read(4)
    # torch.save writes a zip archive (PK\x03\x04); files from torch < 1.6 are a pickle (\x80).
    if magic and not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\x80")):
        kind = "a text file" if _looks_like_text(path) else "not a PyTorch file"
        raise CheckpointError(
            f"checkpoint {path} is {kind}, not a PyTorch checkpoint; pass the checkpoint.pth a reference_train run "
            "wrote into its --out-dir."
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt/unsafe files
        # torch's messages run to paragraphs; the first clause says enough and keeps this one line.
        text = str(exc).strip()
        reason = text.splitlines()[0].split(". ")[0][:120] if text else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({reason}); it is truncated, corrupt or not a "
            "PyTorch checkpoint: resume from another checkpoint or start without --resume."
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{path} holds a {type(state).__name__}, not a training checkpoint; pass a checkpoint.pth "
            "written by reference_train (best_model.pth holds only model weights)."
        )
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} is not a reference_train checkpoint (missing {', '.join(missing)}); pass a "
            "checkpoint.pth written by reference_train (best_model.pth holds only model weights)."
        )
    return state


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(512)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head
