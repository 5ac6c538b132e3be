"""Seeding and deterministic mode.

Seeds every random source a training run touches: Python's `random`, numpy, torch (CPU and every
CUDA device), the generator that shuffles the DataLoader, and each DataLoader worker (through
`worker_init_fn`, because workers are separate processes that would otherwise share numpy/random
state copied from the parent).
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings

import torch

# cuBLAS needs a fixed workspace to be deterministic (pytorch/pytorch PR #41377); `:4096:8` costs
# about 24 MiB of GPU memory (stas00/ml-engineering training/reproducibility/README.md).
CUBLAS_WORKSPACE = ":4096:8"


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy, torch and CUDA; return the generator to pass to DataLoader(generator=...)."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # numpy is optional for torch; nothing to seed then
        pass
    torch.manual_seed(seed)  # also seeds every CUDA device, lazily
    shuffle_generator = torch.Generator()
    shuffle_generator.manual_seed(seed)
    return shuffle_generator


def worker_init_fn(worker_id: int) -> None:
    """Give each DataLoader worker its own, reproducible python/numpy seed.

    torch already seeds each worker's torch RNG with base_seed + worker_id, where base_seed is drawn
    from the DataLoader's generator; we derive the other libraries' seeds from that same value.
    """
    worker_seed = torch.initial_seed() % 2**32
    random.seed(worker_seed)
    try:
        import numpy as np

        np.random.seed(worker_seed)
    except ImportError:
        pass


def enable_determinism() -> None:
    """Make kernels deterministic: same seed and inputs give bitwise the same result on one machine."""
    if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in (":4096:8", ":16:8"):
        if torch.cuda.is_initialized():
            # cuBLAS reads the variable when its handle is created, so setting it now changes nothing.
            warnings.warn(
                "CUDA was initialised before deterministic mode was enabled, so CUBLAS_WORKSPACE_CONFIG "
                "cannot take effect; set CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment before "
                "starting Python.",
                RuntimeWarning,
                stacklevel=2,
            )
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def preserved_torch_flags():
    """Leave torch's process-wide numeric switches as they were found, however the block exits.

    Saved and restored: deterministic algorithms (and warn_only), cudnn.deterministic,
    cudnn.benchmark, cudnn.allow_tf32, cuda.matmul.allow_tf32 and float32 matmul precision.
    train() runs inside this (envcheck smoke-train calls it in-process, several times), so a run
    that turns on deterministic mode or cuDNN autotuning does not leak it into the next one.
    """
    cudnn = torch.backends.cudnn
    saved = {
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": cudnn.deterministic,
        "cudnn_benchmark": cudnn.benchmark,
        "cudnn_allow_tf32": cudnn.allow_tf32,
        "matmul_precision": torch.get_float32_matmul_precision(),
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
    }
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["warn_only"])
        cudnn.deterministic = saved["cudnn_deterministic"]
        cudnn.benchmark = saved["cudnn_benchmark"]
        cudnn.allow_tf32 = saved["cudnn_allow_tf32"]
        # The precision setting also sets matmul.allow_tf32, so it goes first and the flag after it.
        torch.set_float32_matmul_precision(saved["matmul_precision"])
        torch.backends.cuda.matmul.allow_tf32 = saved["matmul_allow_tf32"]


def capture_rng_state(shuffle_generator: torch.Generator | None) -> dict:
    """Every RNG state needed to continue a run exactly, as plain types torch.load(weights_only=True) accepts."""
    state: dict = {
        "python": _python_state_to_plain(random.getstate()),
        "numpy": None,
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
        "dataloader": shuffle_generator.get_state() if shuffle_generator is not None else None,
    }
    try:
        import numpy as np

        kind, keys, pos, has_gauss, cached = np.random.get_state()
        # numpy arrays are not on the weights_only allowlist; a tensor and python scalars are.
        state["numpy"] = {
            "kind": str(kind),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        }
    except ImportError:
        pass
    return state


def restore_rng_state(state: dict, shuffle_generator: torch.Generator | None) -> None:
    """Inverse of capture_rng_state. The tensors in `state` must be on the CPU (load checkpoints with
    map_location="cpu"): torch.set_rng_state takes only a CPU ByteTensor and .numpy() refuses GPU tensors."""
    random.setstate(_python_state_from_plain(state["python"]))
    if state.get("numpy") is not None:
        import numpy as np

        numpy_state = state["numpy"]
        np.random.set_state(
            (
                numpy_state["kind"],
                numpy_state["keys"].numpy().astype(np.uint32),
                numpy_state["pos"],
                numpy_state["has_gauss"],
                numpy_state["cached_gaussian"],
            )
        )
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if state.get("dataloader") is not None and shuffle_generator is not None:
        shuffle_generator.set_state(state["dataloader"])


def _python_state_to_plain(python_state: tuple) -> list:
    version, internal, gauss_next = python_state
    return [version, list(internal), gauss_next]


def _python_state_from_plain(plain: list) -> tuple:
    version, internal, gauss_next = plain
    return (version, tuple(internal), gauss_next)
