"""Loss and accuracy curves as a PNG. matplotlib comes from the [train] extra; without it we skip with a note."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: list[dict], path: Path) -> Path | None:
    """Draw train/val loss and accuracy per epoch into `path`; return None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on a GPU server; never open a window
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [row["epoch"] + 1 for row in history]
    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    acc_axes.plot(epochs, [row["train_acc"] for row in history], marker="o", label="train")
    if any(row.get("val_loss") is not None for row in history):
        val_rows = [row for row in history if row.get("val_loss") is not None]
        loss_axes.plot([r["epoch"] + 1 for r in val_rows], [r["val_loss"] for r in val_rows], marker="o", label="val")
        acc_axes.plot([r["epoch"] + 1 for r in val_rows], [r["val_acc"] for r in val_rows], marker="o", label="val")
    loss_axes.set(title="loss", xlabel="epoch")
    acc_axes.set(title="accuracy", xlabel="epoch", ylim=(0, 1.02))
    for axes in (loss_axes, acc_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    tmp.replace(path)
    return path
