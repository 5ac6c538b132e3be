"""Training throughput of reference_train against the seed's beginner setting, same data, same machine.

    .venv/bin/python benchmarks/train_throughput.py [--rounds 3]

Alternates A (seed style) and B (reference_train) in one process, several timed windows each,
warm-up steps excluded from every window, and prints medians, the ratio and achieved GFLOP/s.
On a GPU it also measures reference_train against its own ceiling: the same model, optimizer
and AMP stepping on one batch already on the device (no data loading at all).

FLOPs: torchvision lists ResNet18 at 1.814 GFLOPs per 224x224 forward
(ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]); training is taken as 3x forward (backward about
twice the forward: the usual rule of thumb, e.g. Kaplan et al. 2020, "Scaling Laws", section 2.1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_style_train  # noqa: E402

from reference_train.synthetic import cached_dataset  # noqa: E402
from reference_train.train import TrainConfig, train  # noqa: E402


def forward_gflops() -> float:
    from torchvision.models import ResNet18_Weights

    return float(ResNet18_Weights.IMAGENET1K_V1.meta.get("_ops", 1.814))


def reference_window(data_dir: Path, device: str, batch_size: int, timed_steps: int) -> float:
    # train() excludes its first 3 steps from images_per_sec; max_steps bounds the window.
    result = train(TrainConfig(
        data_dir=data_dir, epochs=100, batch_size=batch_size, image_size=224, device=device, progress=False,
        plot=False, save_checkpoints=False, eval_every_epoch=False, verify_data=False, max_steps=3 + timed_steps,
    ))
    return result.images_per_sec


def device_ceiling(batch_size: int, steps: int = 30) -> float:
    """The same model stepping on a batch already on the GPU: what the loop could reach with free data."""
    from reference_train.model import build_model

    device = torch.device("cuda")
    model = build_model(2).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    images = torch.randn(batch_size, 3, 224, 224, device=device).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (batch_size,), device=device)
    criterion = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast("cuda", dtype=dtype):
            loss = criterion(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return batch_size * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="A/B pairs (timed windows per side)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed-steps", type=int, default=40, help="timed steps per seed-style window (batch 4)")
    parser.add_argument("--ref-steps", type=int, default=5, help="timed steps per reference_train window")
    args = parser.parse_args()

    data_dir = cached_dataset(seed=0, image_size=224, train_per_class=100, val_per_class=4)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    seed_rates, ref_rates = [], []
    for round_index in range(args.rounds):
        seed_rates.append(seed_style_train.measure(data_dir, timed_steps=args.seed_steps))
        ref_rates.append(reference_window(data_dir, device, args.batch_size, args.ref_steps))
        print(f"round {round_index + 1}: seed style {seed_rates[-1]:.2f} img/s, reference_train {ref_rates[-1]:.2f} img/s",
              file=sys.stderr, flush=True)
    flops_per_image = 3 * forward_gflops()
    seed_median, ref_median = statistics.median(seed_rates), statistics.median(ref_rates)
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpus_usable": len(os.sched_getaffinity(0)),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        },
        "seed_style_img_per_sec": seed_rates,
        "reference_train_img_per_sec": ref_rates,
        "seed_style_median": seed_median,
        "reference_train_median": ref_median,
        "ratio": ref_median / seed_median if seed_median else None,
        "gflops_per_training_image": flops_per_image,
        "seed_style_gflop_per_sec": seed_median * flops_per_image,
        "reference_train_gflop_per_sec": ref_median * flops_per_image,
    }
    if cuda:
        report["device_ceiling_img_per_sec"] = device_ceiling(args.batch_size)
        report["reference_train_vs_ceiling"] = ref_median / report["device_ceiling_img_per_sec"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
