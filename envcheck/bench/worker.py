"""The measuring child of `envcheck gpu-bench`: the only part that imports torch.

Run as `python -m envcheck.bench.worker SPEC_JSON`. It prints one JSON object per line on stdout:
{"event": "step", "step": NAME} when a measurement starts, {"event": "figure", ...} for each
figure (or its error), and {"event": "done"} at the end. The parent (envcheck/bench/run.py)
applies the time limit and ends this process, and any process it started, however the command ends.

Devices are cuda:0..N-1 as CUDA_VISIBLE_DEVICES (set by the parent to the chosen GPUs' UUIDs)
numbers them, or the CPU. No allocation is larger than a share of the memory free when the step
starts.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any, Callable

MIB = 1024 * 1024
# Share of the free device memory a single step may allocate in all (its tensors together).
FREE_SHARE = 0.25


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def figure(name: str, kind: str, device: Any, value: float | None = None, unit: str = "", error: str | None = None,
           **params: Any) -> None:
    emit("figure", name=name, kind=kind, device=device, value=None if value is None else round(float(value), 4),
         unit=unit, error=error, params=params)


def _sync(torch, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _timed(torch, device: str, fn: Callable[[], Any], iters: int, warmup: int = 2) -> float:
    """Seconds per call of fn, after warm-up (wall clock around synchronised batches)."""
    for _ in range(warmup):
        fn()
    _sync(torch, device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(torch, device)
    return (time.perf_counter() - start) / iters


def _free_bytes(torch, device: str) -> int:
    if device.startswith("cuda"):
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001
        return 2 * 1024 * MIB


def _matmul_size(torch, device: str, elem: int, quick: bool) -> int:
    if device == "cpu":
        n = 512 if quick else 2048
    else:
        n = 4096 if quick else 8192
    budget = _free_bytes(torch, device) * FREE_SHARE
    while n > 256 and 3 * n * n * elem > budget:
        n //= 2
    return n


def supported_dtypes(torch, device: str) -> list[str]:
    if device == "cpu":
        found = ["fp32"]
        try:
            a = torch.ones(8, 8, dtype=torch.bfloat16)
            (a @ a).float().sum().item()
            found.append("bf16")
        except Exception:  # noqa: BLE001
            pass
        return found
    major, minor = torch.cuda.get_device_capability(device)
    found = ["fp32", "fp16"]
    if major >= 8:
        found[1:1] = ["tf32"]
        found.append("bf16")
    if (major, minor) >= (8, 9) and hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm"):
        found.append("fp8")
    return found


def bench_matmul(torch, device: str, dtype_name: str, quick: bool, label: Any) -> None:
    dtypes = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16,
              "fp8": torch.float32}
    elem = 4 if dtype_name in ("fp32", "tf32", "fp8") else 2
    n = _matmul_size(torch, device, elem, quick)
    unit, scale = ("GFLOP/s", 1e9) if device == "cpu" else ("TFLOP/s", 1e12)
    try:
        if device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = dtype_name == "tf32"
        a = torch.randn(n, n, device=device, dtype=dtypes[dtype_name])
        b = torch.randn(n, n, device=device, dtype=dtypes[dtype_name])
        if dtype_name == "fp8":
            a8 = a.to(torch.float8_e4m3fn)
            b8 = b.t().contiguous().t().to(torch.float8_e4m3fn)  # _scaled_mm wants the second operand column-major
            one = torch.tensor(1.0, device=device)

            def step():
                return torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        else:
            def step():
                return a @ b
        iters = 3 if device == "cpu" else (10 if quick else 30)
        seconds = _timed(torch, device, step, iters)
        figure(f"matmul_{dtype_name}", "matmul", label, 2 * n ** 3 / seconds / scale, unit, dtype=dtype_name, n=n)
    except Exception as exc:  # noqa: BLE001 - a dtype this build cannot run is a figure with its error
        figure(f"matmul_{dtype_name}", "matmul", label, None, unit, error=f"{type(exc).__name__}: {exc}"[:300],
               dtype=dtype_name, n=n)
    finally:
        if device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.cuda.empty_cache()


def bench_memory(torch, device: str, quick: bool, label: Any) -> None:
    size = (64 if quick else 256) * MIB if device == "cpu" else (256 if quick else 1024) * MIB
    size = int(min(size, _free_bytes(torch, device) * FREE_SHARE / 2))
    try:
        src = torch.empty(size, dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        seconds = _timed(torch, device, lambda: dst.copy_(src), 3 if device == "cpu" else 20)
        # A copy reads and writes every byte (the convention of CUDA's bandwidthTest and STREAM copy).
        figure("memory_copy", "memory_bandwidth", label, 2 * size / seconds / 1e9, "GB/s", bytes=size)
    except Exception as exc:  # noqa: BLE001
        figure("memory_copy", "memory_bandwidth", label, None, "GB/s", error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        if device.startswith("cuda"):
            torch.cuda.empty_cache()


def bench_host_device(torch, device: str, quick: bool, label: Any) -> None:
    size = int(min((64 if quick else 256) * MIB, _free_bytes(torch, device) * FREE_SHARE))
    for pinned in (True, False):
        kind = "pinned" if pinned else "pageable"
        try:
            host = torch.empty(size, dtype=torch.uint8, pin_memory=pinned)
            dev = torch.empty(size, dtype=torch.uint8, device=device)
            for direction, fn in (("h2d", lambda: dev.copy_(host, non_blocking=pinned)),
                                  ("d2h", lambda: host.copy_(dev, non_blocking=pinned))):
                seconds = _timed(torch, device, fn, 5 if quick else 20)
                figure(f"{direction}_{kind}", f"{direction}_{kind}", label, size / seconds / 1e9, "GB/s", bytes=size)
            del host, dev
        except Exception as exc:  # noqa: BLE001
            figure(f"h2d_{kind}", f"h2d_{kind}", label, None, "GB/s", error=f"{type(exc).__name__}: {exc}"[:300])
    torch.cuda.empty_cache()


def bench_launch(torch, device: str, label: Any) -> None:
    x = torch.zeros(1, device=device)
    n = 2000
    try:
        seconds = _timed(torch, device, lambda: x.add_(1), n, warmup=50)
        figure("launch_latency", "launch_latency", label, seconds * 1e6, "us", launches=n)
    except Exception as exc:  # noqa: BLE001
        figure("launch_latency", "launch_latency", label, None, "us", error=f"{type(exc).__name__}: {exc}"[:300])


def bench_p2p(torch, count: int, quick: bool) -> None:
    size = (64 if quick else 256) * MIB
    for i in range(count):
        for j in range(count):
            if i == j:
                continue
            name = f"p2p_{i}_{j}"
            try:
                access = torch.cuda.can_device_access_peer(i, j)
                n = int(min(size, _free_bytes(torch, f"cuda:{i}") * FREE_SHARE, _free_bytes(torch, f"cuda:{j}") * FREE_SHARE))
                src = torch.empty(n, dtype=torch.uint8, device=f"cuda:{i}")
                dst = torch.empty(n, dtype=torch.uint8, device=f"cuda:{j}")

                def step():
                    dst.copy_(src, non_blocking=True)

                for _ in range(2):
                    step()
                torch.cuda.synchronize(i)
                torch.cuda.synchronize(j)
                iters = 5 if quick else 20
                start = time.perf_counter()
                for _ in range(iters):
                    step()
                torch.cuda.synchronize(i)
                torch.cuda.synchronize(j)
                seconds = (time.perf_counter() - start) / iters
                figure(name, "p2p", [i, j], n / seconds / 1e9, "GB/s", bytes=n, peer_access=access)
                del src, dst
            except Exception as exc:  # noqa: BLE001
                figure(name, "p2p", [i, j], None, "GB/s", error=f"{type(exc).__name__}: {exc}"[:300])
    torch.cuda.empty_cache()


def _allreduce_rank(rank: int, world: int, sizes: list[int], port: int, out: str, quick: bool) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world)
    results = []
    try:
        for size in sizes:
            t = torch.ones(size // 4, dtype=torch.float32, device=f"cuda:{rank}")
            for _ in range(3):
                dist.all_reduce(t)
            torch.cuda.synchronize()
            iters = 5 if quick else 20
            dist.barrier()
            start = time.perf_counter()
            for _ in range(iters):
                dist.all_reduce(t)
            torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / iters
            algbw = size / seconds / 1e9
            # nccl-tests' PERFORMANCE.md: all_reduce busbw = algbw * 2(n-1)/n.
            results.append({"bytes": size, "algbw": algbw, "busbw": algbw * 2 * (world - 1) / world, "seconds": seconds})
            del t
    finally:
        dist.destroy_process_group()
    if rank == 0:
        with open(out, "w") as handle:
            json.dump(results, handle)


def bench_allreduce(torch, count: int, quick: bool) -> None:
    import socket

    import torch.multiprocessing as mp

    sizes = [MIB, 16 * MIB, 64 * MIB] if quick else [MIB * 2 ** k for k in range(0, 10, 1)]  # 1 MiB .. 512 MiB
    free = min(_free_bytes(torch, f"cuda:{i}") for i in range(count))
    sizes = [s for s in sizes if 2 * s <= free * FREE_SHARE] or [MIB]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tempfile.mktemp(prefix="envcheck-allreduce-", suffix=".json")
    try:
        mp.spawn(_allreduce_rank, args=(count, sizes, port, out, quick), nprocs=count, join=True)
        with open(out) as handle:
            rows = json.load(handle)
        for row in rows:
            figure(f"allreduce_{row['bytes']}", "allreduce_busbw", list(range(count)), row["busbw"], "GB/s",
                   bytes=row["bytes"], algbw=round(row["algbw"], 3), world=count)
    except Exception as exc:  # noqa: BLE001
        figure("allreduce", "allreduce_busbw", list(range(count)), None, "GB/s", error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    quick = bool(spec.get("quick"))
    # The steps are shown to the user as they are: worded in the parent's language (it sets
    # ENVCHECK_LANG in this process's environment).
    from envcheck.i18n import _

    emit("step", step=_("importing torch"))
    import torch

    if spec["device"] == "cpu":
        devices = ["cpu"]
        emit("info", torch=torch.__version__, device="cpu", threads=torch.get_num_threads())
    else:
        count = torch.cuda.device_count()
        if count < spec.get("count", 1):
            emit("error", message=_("CUDA sees {count} device(s), {expected} expected (CUDA_VISIBLE_DEVICES={value})").format(
                count=count, expected=spec.get("count", 1), value=repr(os.environ.get("CUDA_VISIBLE_DEVICES"))))
            return 3
        devices = [f"cuda:{i}" for i in range(spec.get("count", 1))]
        emit("info", torch=torch.__version__, cuda=torch.version.cuda,
             names=[torch.cuda.get_device_name(i) for i in range(len(devices))])
    for position, device in enumerate(devices):
        label = "cpu" if device == "cpu" else position
        for dtype_name in supported_dtypes(torch, device):
            emit("step", step=_("matmul {dtype} on {device}").format(dtype=dtype_name, device=device))
            bench_matmul(torch, device, dtype_name, quick, label)
        emit("step", step=_("memory bandwidth on {device}").format(device=device))
        bench_memory(torch, device, quick, label)
        if device != "cpu":
            emit("step", step=_("host<->device bandwidth on {device}").format(device=device))
            bench_host_device(torch, device, quick, label)
        emit("step", step=_("launch latency on {device}").format(device=device))
        bench_launch(torch, device, label)
    if len(devices) > 1:
        emit("step", step=_("P2P bandwidth per pair"))
        bench_p2p(torch, len(devices), quick)
        emit("step", step=_("NCCL all_reduce sweep"))
        bench_allreduce(torch, len(devices), quick)
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
