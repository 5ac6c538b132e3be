"""`python -m reference_train --data DIR` or `--synthetic`: the trainer on its own, without envcheck."""

from __future__ import annotations

import argparse
import dataclasses
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
        description="Train a ResNet18 classifier on an ImageFolder tree (train/ and val/, one folder per class).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, dest="data_dir", help="folder with train/ and val/")
    source.add_argument("--synthetic", action="store_true", help="use the built-in synthetic cat/dog set (cached)")
    # 1000 per class: from random weights, 3 epochs of 200 per class stall near 0.7 val accuracy,
    # 1000 per class reach 0.93-0.98 (docs/reference-train.md).
    parser.add_argument("--synthetic-train-per-class", type=int, default=1000)
    parser.add_argument("--synthetic-val-per-class", type=int, default=100)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/reference_train"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=None, help="224 for --data, 64 for --synthetic")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--scheduler", choices=("cosine", "step", "none"), default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--amp", type=_bool, default=None, help="true/false (default: on for CUDA, and on a CPU with native bfloat16)")
    parser.add_argument("--channels-last", type=_bool, default=None,
                        help="true/false (default: by device: on for CUDA, off on a CPU without native bfloat16)")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: from the CPU count)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--weights", choices=("imagenet",), default=None)
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint.pth to continue from")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--eval-every-epoch", type=_bool, default=True)
    parser.add_argument("--target-accuracy", type=float, default=None,
                        help="stop as soon as validation accuracy reaches this (e.g. 0.8); --epochs stays the cap")
    parser.add_argument("--eval-every-steps", type=int, default=None,
                        help="with --target-accuracy: also evaluate every this many optimizer steps")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--tensorboard", action="store_true")
    parser.add_argument("--no-plot", dest="plot", action="store_false")
    parser.add_argument("--no-checkpoints", dest="save_checkpoints", action="store_false")
    parser.add_argument("--no-verify-data", dest="verify_data", action="store_false")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from reference_train.errors import TrainError

    try:
        from reference_train.train import TrainConfig, train, validate_config
    except ImportError as exc:
        print(f"reference_train: error: {exc}; install the trainer's dependencies with pip install 'envcheck[train]'.", file=sys.stderr)
        return 2
    # `is None`, not `or`: --image-size 0 is refused below rather than silently becoming the default.
    image_size = args.image_size if args.image_size is not None else (64 if args.synthetic else 224)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    values.update(image_size=image_size)
    try:
        # Every setting is checked before anything starts (the synthetic set takes a while to draw).
        validate_config(TrainConfig(**{**values, "data_dir": args.data_dir or Path(".")}))
        if args.synthetic:
            from reference_train.synthetic import cached_dataset

            if args.synthetic_train_per_class < 1 or args.synthetic_val_per_class < 1:
                raise TrainError("--synthetic-train-per-class and --synthetic-val-per-class must be at least 1.")
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
