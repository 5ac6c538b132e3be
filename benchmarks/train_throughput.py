"""Training throughput of reference_train against the seed's beginner setting and the device's ceiling.

    .venv/bin/python benchmarks/train_throughput.py [--rounds 2] [--write-doc docs/benchmarks-train.md]

One process, one device (CUDA if available, else the CPU). Each round runs, one after the other:

- A, seed style: the beginner script's setting (seed_style_train.py), batch 4, fp32 NCHW;
- B, reference_train: train() with its defaults for this device (speed_settings), batch 32;
- C, ceiling: the same model, optimizer and AMP as B stepping on one batch already in memory (no
  loading at all), in NCHW and in channels_last; the faster of the two is the ceiling.

Rounds alternate A/B/C so that drift on a shared machine hits every side alike. Warm-up steps
are excluded from every window. Medians are reported, with the ratios B/A and B/C.

FLOPs: torchvision lists ResNet18 at 1.814 GFLOPs per 224x224 forward
(ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]); training is taken as 3x forward (backward about
twice the forward: the usual rule of thumb, e.g. Kaplan et al. 2020, "Scaling Laws", section 2.1).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
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

from reference_train.model import build_model  # noqa: E402
from reference_train.synthetic import cached_dataset  # noqa: E402
from reference_train.train import (  # noqa: E402
    WARMUP_STEPS,
    TrainConfig,
    amp_dtype_for,
    cpu_has_native_bf16,
    make_grad_scaler,
    train,
)

DOC_START, DOC_END = "<!-- train_throughput:start -->", "<!-- train_throughput:end -->"


def forward_gflops() -> float:
    from torchvision.models import ResNet18_Weights

    return float(ResNet18_Weights.IMAGENET1K_V1.meta.get("_ops", 1.814))


def reference_window(data_dir: Path, device: str, batch_size: int, timed_steps: int) -> tuple[float, dict]:
    """train() with its defaults; images_per_sec excludes its first WARMUP_STEPS steps, max_steps bounds the window."""
    result = train(TrainConfig(
        data_dir=data_dir, epochs=100, batch_size=batch_size, image_size=224, device=device, progress=False,
        plot=False, save_checkpoints=False, eval_every_epoch=False, verify_data=False,
        max_steps=WARMUP_STEPS + timed_steps,
    ))
    return result.images_per_sec, result.settings


def ceiling_window(device: torch.device, batch_size: int, channels_last: bool, steps: int, warmup: int = 2) -> float:
    """The reference model, optimizer and AMP stepping on one batch already in memory: compute only."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    amp_dtype = amp_dtype_for(device, None)
    model = build_model(2).to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = make_grad_scaler(enabled=amp_dtype == torch.float16)
    images = torch.randn(batch_size, 3, 224, 224, device=device).contiguous(memory_format=memory_format)
    labels = torch.randint(0, 2, (batch_size,), device=device)
    criterion = torch.nn.CrossEntropyLoss()

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext()

    def step():
        with autocast():
            loss = criterion(model(images).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    cudnn_benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"
    try:
        for _ in range(warmup):
            step()
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        return batch_size * steps / (time.perf_counter() - start)
    finally:
        torch.backends.cudnn.benchmark = cudnn_benchmark


def machine_description(device: torch.device) -> dict:
    cpu_model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    description = {
        "cpu": cpu_model,
        "cpu_native_bf16": cpu_has_native_bf16(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }
    if device.type == "cuda":
        description["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(device)))
    return description


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        DOC_START,
        f"Measured {report['date']} with `--rounds {report['rounds']}`. Machine: {m['device']} "
        f"({'compute capability ' + m['compute_capability'] + ', ' if 'compute_capability' in m else ''}"
        f"CPU {m['cpu']}, {m['cpus_usable']} usable CPUs, native bf16: {m['cpu_native_bf16']}), "
        f"torch {m['torch']} with {m['torch_threads']} threads; load average at start {m['load_average_at_start']:.2f}.",
        "",
        f"reference_train settings chosen: `{report['reference_train_settings']['why']}`.",
        "",
        "| round | seed style (img/s) | reference_train (img/s) | ceiling NCHW (img/s) | ceiling channels_last (img/s) |",
        "|---|---|---|---|---|",
    ]
    for index, (a, b, c, d) in enumerate(zip(report["seed_style_img_per_sec"], report["reference_train_img_per_sec"],
                                               report["ceiling_nchw_img_per_sec"], report["ceiling_channels_last_img_per_sec"])):
        lines.append(f"| {index + 1} | {a:.2f} | {b:.2f} | {c:.2f} | {d:.2f} |")
    lines += [
        f"| **median** | **{report['seed_style_median']:.2f}** | **{report['reference_train_median']:.2f}** | "
        f"**{report['ceiling_nchw_median']:.2f}** | **{report['ceiling_channels_last_median']:.2f}** |",
        "",
        f"- reference_train / ceiling: **{report['reference_train_vs_ceiling']:.2f}x** (ceiling = the faster format, "
        f"{report['ceiling_format']}, {report['ceiling_median']:.2f} img/s; goal >= 0.9x).",
        f"- reference_train / seed style: **{report['reference_train_vs_seed_style']:.2f}x** (goal: never below 1x).",
        f"- Achieved: {report['seed_style_gflop_per_sec']:.1f} GFLOP/s seed style, "
        f"{report['reference_train_gflop_per_sec']:.1f} GFLOP/s reference_train.",
        DOC_END,
    ]
    return "\n".join(lines)


def write_doc(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    if DOC_START in text and DOC_END in text:
        before, rest = text.split(DOC_START, 1)
        after = rest.split(DOC_END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="A/B/C rounds (timed windows per side)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed-steps", type=int, default=32, help="timed steps per seed-style window (batch 4)")
    parser.add_argument("--ref-steps", type=int, default=4, help="timed steps per reference_train window")
    parser.add_argument("--ceiling-steps", type=int, default=4, help="timed steps per ceiling window and format")
    parser.add_argument("--write-doc", type=Path, default=None, help="replace the result block in this markdown file")
    args = parser.parse_args()

    data_dir = cached_dataset(seed=0, image_size=224, train_per_class=100, val_per_class=4)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":  # enough steps for the GPU to leave launch overhead behind
        args.ref_steps, args.ceiling_steps, args.seed_steps = max(args.ref_steps, 30), max(args.ceiling_steps, 30), max(args.seed_steps, 200)
    machine = machine_description(device)
    seed_rates, ref_rates, nchw_rates, cl_rates = [], [], [], []
    settings: dict = {}
    for round_index in range(args.rounds):
        seed_rates.append(seed_style_train.measure(data_dir, timed_steps=args.seed_steps))
        rate, settings = reference_window(data_dir, str(device), args.batch_size, args.ref_steps)
        ref_rates.append(rate)
        nchw_rates.append(ceiling_window(device, args.batch_size, channels_last=False, steps=args.ceiling_steps))
        cl_rates.append(ceiling_window(device, args.batch_size, channels_last=True, steps=args.ceiling_steps))
        print(f"round {round_index + 1}: seed style {seed_rates[-1]:.2f}, reference_train {ref_rates[-1]:.2f}, "
              f"ceiling NCHW {nchw_rates[-1]:.2f}, channels_last {cl_rates[-1]:.2f} img/s", file=sys.stderr, flush=True)
    flops_per_image = 3 * forward_gflops()
    seed_median, ref_median = statistics.median(seed_rates), statistics.median(ref_rates)
    nchw_median, cl_median = statistics.median(nchw_rates), statistics.median(cl_rates)
    ceiling = max(nchw_median, cl_median)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": args.rounds,
        "machine": machine,
        "batch_size": args.batch_size,
        "reference_train_settings": settings,
        "seed_style_img_per_sec": seed_rates,
        "reference_train_img_per_sec": ref_rates,
        "ceiling_nchw_img_per_sec": nchw_rates,
        "ceiling_channels_last_img_per_sec": cl_rates,
        "seed_style_median": seed_median,
        "reference_train_median": ref_median,
        "ceiling_nchw_median": nchw_median,
        "ceiling_channels_last_median": cl_median,
        "ceiling_median": ceiling,
        "ceiling_format": "NCHW" if nchw_median >= cl_median else "channels_last",
        "reference_train_vs_ceiling": ref_median / ceiling if ceiling else None,
        "reference_train_vs_seed_style": ref_median / seed_median if seed_median else None,
        "gflops_per_training_image": flops_per_image,
        "seed_style_gflop_per_sec": seed_median * flops_per_image,
        "reference_train_gflop_per_sec": ref_median * flops_per_image,
    }
    print(json.dumps(report, indent=2))
    if args.write_doc is not None:
        write_doc(args.write_doc, markdown(report))


if __name__ == "__main__":
    main()
