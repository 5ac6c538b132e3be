"""`python -m reference_train --data DIR` or `--synthetic`: the trainer on its own, without envcheck."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_train",
        description=(
            "Train a ResNet18 classifier on an ImageFolder tree (train/ and val/, one folder per\n"
            "class), or on a built-in synthetic cat/dog set. Writes checkpoint.pth (every epoch),\n"
            "best_model.pth, metrics.jsonl and curves.png into --out-dir."
        ),
        epilog=(
            "examples:\n"
            "  python -m reference_train --synthetic --epochs 3\n"
            "  python -m reference_train --data data/catdog --device cuda:0 --out-dir runs/exp1\n"
            "  python -m reference_train --data data/catdog --resume runs/exp1/checkpoint.pth --epochs 20"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=str, dest="data_dir", metavar="DIR",
                        help="folder with train/ and val/, one subfolder of images per class")
    source.add_argument("--synthetic", action="store_true",
                        help="use the built-in synthetic cat/dog set (drawn once, then cached)")
    # 1000 per class: from random weights, 3 epochs of 200 per class stall near 0.7 val accuracy,
    # 1000 per class reach 0.93-0.98 (docs/reference-train.md).
    parser.add_argument("--synthetic-train-per-class", type=int, default=1000, metavar="N",
                        help="synthetic training images per class (default: 1000)")
    parser.add_argument("--synthetic-val-per-class", type=int, default=100, metavar="N",
                        help="synthetic validation images per class (default: 100)")
    parser.add_argument("--out-dir", type=str, default="runs/reference_train", metavar="DIR",
                        help="where checkpoints, metrics and curves go; created if missing (default: runs/reference_train)")
    parser.add_argument("--epochs", type=int, default=10, metavar="N", help="passes over the training set (default: 10)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="images per optimizer step (default: 32)")
    parser.add_argument("--image-size", type=int, default=None, metavar="PX",
                        help="side of the square input in pixels, 32-1024 (default: 224 for --data, 64 for --synthetic)")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam", help="(default: adam)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default: 0.9)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="(default: 1e-4)")
    parser.add_argument("--scheduler", choices=("cosine", "step", "none"), default="cosine",
                        help="learning-rate schedule: cosine over all steps, step halves it every 2 epochs (default: cosine)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and augmentation, 0 to 2**63-1 (default: 0)")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic kernels: the same seed gives the same weights bit for bit (slower)")
    parser.add_argument("--amp", type=_bool, default=None, metavar="true|false",
                        help="mixed precision (default: on for CUDA, and on a CPU with native bfloat16)")
    parser.add_argument("--channels-last", type=_bool, default=None, metavar="true|false",
                        help="channels-last memory format (default: on for CUDA, off on a CPU without native bfloat16)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (slow first steps)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="DataLoader worker processes; 0 loads in the main process (default: from the CPU count)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto, a GPU when there is one)")
    parser.add_argument("--weights", choices=("imagenet",), default=None,
                        help="start from ImageNet weights (downloaded once) instead of random ones")
    parser.add_argument("--resume", type=str, default=None, metavar="FILE",
                        help="continue from a checkpoint.pth that an earlier run wrote into its --out-dir")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N",
                        help="stop after this many optimizer steps in all, also across --resume (default: no limit)")
    parser.add_argument("--eval-every-epoch", type=_bool, default=True, metavar="true|false",
                        help="evaluate on val/ after every epoch, not only the last (default: true)")
    parser.add_argument("--target-accuracy", type=float, default=None, metavar="ACC",
                        help="stop as soon as validation accuracy reaches this (e.g. 0.8); --epochs stays the cap")
    parser.add_argument("--eval-every-steps", type=int, default=None, metavar="N",
                        help="with --target-accuracy: also evaluate every this many optimizer steps")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar and no per-epoch lines")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs into --out-dir")
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="do not draw curves.png")
    parser.add_argument("--no-checkpoints", dest="save_checkpoints", action="store_false",
                        help="write no checkpoint.pth or best_model.pth")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results of an earlier run in --out-dir (without it such a run is refused)")
    parser.add_argument("--no-verify-data", dest="verify_data", action="store_false",
                        help="skip the check of the data folder before training")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from reference_train.config import TrainConfig, validate_config
    from reference_train.errors import TrainError

    # Paths arrive as text: an empty one would become Path("."), the current folder, silently.
    for flag, name, what in (("--data", "data_dir", "the folder that holds train/ and val/"),
                             ("--out-dir", "out_dir", "a folder for this run's results"),
                             ("--resume", "resume", "the checkpoint.pth to continue from")):
        text = getattr(args, name)
        if text is not None and not text.strip():
            print(f"reference_train: error: {flag} is empty; give {what}.", file=sys.stderr)
            return 2
        setattr(args, name, Path(os.path.expanduser(text)) if text is not None else None)

    # `is None`, not `or`: --image-size 0 is refused below rather than silently becoming the default.
    image_size = args.image_size if args.image_size is not None else (64 if args.synthetic else 224)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    values.update(image_size=image_size)
    try:
        # Every setting is checked before anything starts: before `import torch` (seconds) and before
        # the synthetic set is drawn (minutes).
        validate_config(TrainConfig(**{**values, "data_dir": args.data_dir or Path(".")}))
        if args.data_dir is not None and not args.data_dir.is_dir():
            what = "is a file" if args.data_dir.exists() else "does not exist"
            raise TrainError(f"--data {args.data_dir} {what}; pass the folder that holds train/ and val/.")
        if args.synthetic and not (1 <= args.synthetic_train_per_class <= 100_000 and 1 <= args.synthetic_val_per_class <= 100_000):
            raise TrainError("--synthetic-train-per-class and --synthetic-val-per-class must be 1 to 100000.")
    except TrainError as exc:
        print(f"reference_train: error: {exc}", file=sys.stderr)
        return 2
    try:
        from reference_train.train import train
    except ImportError as exc:
        print(f"reference_train: error: {exc}; install the trainer's dependencies with pip install 'envcheck[train]'.", file=sys.stderr)
        return 2
    try:
        if args.synthetic:
            from reference_train.synthetic import cached_dataset

            data_dir = cached_dataset(
                seed=args.seed,
                image_size=image_size,
                train_per_class=args.synthetic_train_per_class,
                val_per_class=args.synthetic_val_per_class,
            )
        else:
            data_dir = args.data_dir
        values.update(data_dir=data_dir)
        result = train(TrainConfig(**values))
    except TrainError as exc:
        print(f"reference_train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        checkpoint = Path(args.out_dir) / "checkpoint.pth"
        if checkpoint.is_file():
            # Checkpoints are written at the end of each epoch: that is where a resumed run continues.
            print(f"reference_train: interrupted; continue from the last finished epoch with --resume {checkpoint}",
                  file=sys.stderr)
        else:
            print("reference_train: interrupted before the first epoch ended, so there is no checkpoint to resume from",
                  file=sys.stderr)
        return 130
    print(
        f"done: {result.steps} steps on {result.device}, final val acc {result.final_val_acc:.3f} "
        f"(best {result.best_val_acc:.3f}), {result.images_per_sec:.1f} img/s"
    )
    print(f"settings: {result.settings.get('why', '')}")
    for label, path in (("checkpoint", result.checkpoint_path), ("best model", result.best_model_path),
                        ("metrics", result.metrics_path), ("curves", result.plot_path)):
        if path is not None:
            print(f"{label}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
