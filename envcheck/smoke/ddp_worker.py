"""One rank of smoke-train's distributed check.

Launched by torch's own launcher (`python -m torch.distributed.run --nproc-per-node N -m
envcheck.smoke.ddp_worker ...`), or run inside a job someone else launched (torchrun, srun):
either way torch.distributed reads RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT from the
environment.

Every rank:
1. all_reduce(SUM) of a tensor filled with rank+1, CHECKED element by element against the
   expected n(n+1)/2 (nccl-tests' `#wrong` count; stas00's torch-distributed-gpu-test only prints it);
2. times all_reduce of a sized tensor and reports algbw = bytes/time and
   busbw = algbw * 2(n-1)/n (nccl-tests doc/PERFORMANCE.md);
3. takes one DDP training step on its own data and checks that every rank ends with the same
   gradients and the same weights, and that those gradients are the mean of the ranks' own gradients.
Rank 0 gathers every rank's result and writes the combined JSON to --result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

from envcheck.i18n import _

GRAD_TOLERANCE = 1e-5  # relative: DDP sums in buckets, so the mean differs from ours by rounding only

# Objects that must outlive run_rank: the process ends with os._exit, so they are never destroyed.
# On torch 2.1.2 (CI's oldest torch) freeing the DDP model at run_rank's return destroyed the gloo
# process group from the main thread, holding the GIL, while it joined gloo's worker thread, which
# was itself waiting for the GIL to free a finished all_gather's tensor: a deadlock that hung one
# rank in about 1 run of 3 on a busy 2-core machine (py-spy: ~ProcessGroupGloo -> std::thread::join
# on one thread, AsyncAllgatherWork::~AsyncAllgatherWork -> gil_scoped_acquire on the other).
_KEEP_ALIVE: list[Any] = []


def bus_bandwidth(nbytes: int, seconds: float, world_size: int) -> tuple[float, float]:
    """(algbw, busbw) in GB/s for an all_reduce of `nbytes` that took `seconds` (nccl-tests definition)."""
    algbw = nbytes / seconds / 1e9
    return algbw, algbw * 2 * (world_size - 1) / world_size


class NoGpuForRank(RuntimeError):
    """This rank cannot tell which GPU is its own."""


def cuda_device_index(local_rank: int, device_count: int, visible: str | None) -> int:
    """The CUDA device this rank uses.

    One visible GPU: it is this rank's, whatever its local rank (SLURM's --gpus-per-task=1 or
    --gpu-bind gives each task exactly one GPU, which is cuda:0 inside the task). Several: one per
    local rank, as torchrun does it. Fewer than the local rank needs: an error naming the counts.
    """
    if device_count == 1:
        return 0
    if 0 <= local_rank < device_count:
        return local_rank
    if visible is None:
        message = _("local rank {rank} has no GPU of its own: this process sees {count} GPU(s) (CUDA_VISIBLE_DEVICES "
                    "unset), and local ranks 0..{rank} need {need}; give each task one GPU (srun --gpus-per-task=1) or "
                    "each node as many GPUs as tasks on it")
    else:
        message = _("local rank {rank} has no GPU of its own: this process sees {count} GPU(s) "
                    "(CUDA_VISIBLE_DEVICES={value}), and local ranks 0..{rank} need {need}; give each task one GPU "
                    "(srun --gpus-per-task=1) or each node as many GPUs as tasks on it")
    raise NoGpuForRank(message.format(rank=local_rank, count=device_count, value=repr(visible), need=local_rank + 1))


def rank_cuda_device(local_rank: int) -> int:
    """cuda_device_index for this process: the GPUs torch sees and the CUDA_VISIBLE_DEVICES behind them."""
    import torch

    return cuda_device_index(local_rank, torch.cuda.device_count(), os.environ.get("CUDA_VISIBLE_DEVICES"))


def _test_hook_sleep() -> None:
    """ENVCHECK_SMOKE_TEST_SLEEP="ddp=60": make every rank hang, so tests can stop a live DDP run."""
    for item in os.environ.get("ENVCHECK_SMOKE_TEST_SLEEP", "").split(","):
        name, _, seconds = item.partition("=")
        if name.strip() == "ddp" and seconds:
            print(f"test hook: ddp rank sleeps {seconds} s", file=sys.stderr, flush=True)
            time.sleep(float(seconds))


def _small_model():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2)
    )


def run_rank(size_mb: float, seed: int) -> dict[str, Any]:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel

    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = os.environ.get("ENVCHECK_DDP_DEVICE", "cuda" if torch.cuda.is_available() else "cpu") == "cuda"
    if use_cuda:
        index = rank_cuda_device(local_rank)
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    result: dict[str, Any] = {"rank": rank, "local_rank": local_rank, "host": os.uname().nodename, "backend": backend,
                              "device": str(device), "problems": []}
    if use_cuda:
        result["device_name"] = torch.cuda.get_device_name(device)
    kwargs: dict[str, Any] = {"backend": backend, "timeout": timedelta(seconds=float(os.environ.get("ENVCHECK_DDP_PG_TIMEOUT", "120")))}
    if use_cuda:
        kwargs["device_id"] = device  # binds the communicator to this GPU up front
    try:
        dist.init_process_group(**kwargs)
    except TypeError:  # torch before 2.3 has no device_id
        kwargs.pop("device_id", None)
        dist.init_process_group(**kwargs)

    def sync() -> None:
        if use_cuda:
            torch.cuda.synchronize(device)

    # 1. A checked all_reduce: small integers are exact in float32, so == is the right test.
    numel = max(1, int(size_mb * 2**20 / 4))
    expected = world * (world + 1) / 2
    data = torch.full((numel,), float(rank + 1), dtype=torch.float32, device=device)
    dist.all_reduce(data, op=dist.ReduceOp.SUM)
    sync()
    wrong = int((data != expected).sum())
    result["allreduce_expected"] = expected
    result["allreduce_value"] = float(data[0])
    result["allreduce_wrong"] = wrong
    if wrong:
        result["problems"].append(_("all_reduce gave {wrong} wrong element(s) of {count} (expected {expected} "
                                    "everywhere)").format(wrong=wrong, count=numel, expected=f"{expected:g}"))

    # 2. Bandwidth: warm up (communicator set-up, first-use allocations), then time whole iterations.
    buffer = torch.zeros(numel, dtype=torch.float32, device=device)
    warmup, iterations = (5, 20) if use_cuda else (2, 5)
    for _step in range(warmup):
        dist.all_reduce(buffer)
    sync()
    dist.barrier()
    start = time.perf_counter()
    for _step in range(iterations):
        dist.all_reduce(buffer)
    sync()
    elapsed = torch.tensor([(time.perf_counter() - start) / iterations], dtype=torch.float64, device=device)
    dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)  # the slowest rank bounds the collective
    algbw, busbw = bus_bandwidth(numel * 4, float(elapsed), world)
    result.update(size_bytes=numel * 4, seconds_per_allreduce=float(elapsed), algbw_gbps=algbw, busbw_gbps=busbw)

    # 3. One DDP step. Same initial weights everywhere (seeded, and DDP broadcasts rank 0's anyway);
    # different data per rank, so only a working gradient all_reduce makes the ranks agree.
    torch.manual_seed(seed)
    model = _small_model().to(device)
    reference = _small_model().to(device)
    reference.load_state_dict(model.state_dict())
    ddp = DistributedDataParallel(model, device_ids=[device.index] if use_cuda else None)
    _KEEP_ALIVE.append(ddp)  # see _KEEP_ALIVE: never freed while the process group's threads run
    generator = torch.Generator().manual_seed(seed + 1000 + rank)
    images = torch.randn(8, 3, 16, 16, generator=generator).to(device)
    labels = torch.randint(0, 2, (8,), generator=generator).to(device)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1)
    loss = F.cross_entropy(ddp(images), labels)
    loss.backward()
    F.cross_entropy(reference(images), labels).backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    own = torch.cat([p.grad.reshape(-1) for p in reference.parameters()])
    dist.all_reduce(own)
    own /= world
    mean_error = float((grads - own).abs().max() / own.abs().max().clamp_min(1e-12))
    optimizer.step()
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    rank0_grads, rank0_params = grads.clone(), params.clone()
    dist.broadcast(rank0_grads, 0)
    dist.broadcast(rank0_params, 0)
    sync()
    result.update(
        ddp_loss=loss.item(),
        grads_equal_rank0=bool(torch.equal(grads, rank0_grads)),
        params_equal_rank0=bool(torch.equal(params, rank0_params)),
        grad_mean_rel_err=mean_error,
    )
    if not result["grads_equal_rank0"]:
        result["problems"].append(_("gradients after the DDP step differ from rank 0's"))
    if not result["params_equal_rank0"]:
        result["problems"].append(_("weights after the DDP step differ from rank 0's"))
    if not mean_error <= GRAD_TOLERANCE:
        result["problems"].append(_("DDP gradients are not the mean of the ranks' gradients (relative error {error})").format(
            error=f"{mean_error:.2g}"))

    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, result)
    # Every rank must be done with the group before any rank tears it down: rank 0 hosts the
    # TCP store, and destroying while a peer still uses it aborted rank 0 with SIGABRT
    # ("terminate called without an active exception") in about one run out of five.
    dist.barrier()
    dist.destroy_process_group()
    return {"world_size": world, "backend": backend, "ranks": gathered} if rank == 0 else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envcheck.smoke.ddp_worker")
    parser.add_argument("--result", required=True, help="file rank 0 writes the combined JSON to")
    parser.add_argument("--size-mb", type=float, default=64.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    _test_hook_sleep()
    try:
        combined = run_rank(args.size_mb, args.seed)
    except Exception as exc:  # noqa: BLE001 - reported as this rank's failure
        traceback.print_exc()
        message = " ".join(str(exc).split())[:400] or type(exc).__name__
        Path(f"{args.result}.rank{rank}.error").write_text(f"{type(exc).__name__}: {message}")
        return 1
    if rank == 0:
        tmp = Path(f"{args.result}.tmp")
        tmp.write_text(json.dumps(combined))
        os.replace(tmp, args.result)
    return 0


if __name__ == "__main__":
    code = main()
    # Leave without running C++ static destructors: after destroy_process_group, gloo's and the
    # TCP store's background threads could still be torn down at interpreter exit and abort the
    # process with SIGABRT ("terminate called without an active exception") in about one run of
    # five when rank 0 hosts the store (SLURM). Everything this process reports is already written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
