"""The environment variables that matter to a PyTorch/CUDA run (secrets are redacted on output)."""

from __future__ import annotations

import re

from envcheck.core.context import Context
from envcheck.facts import collector

_NAMES = {
    "PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE",
    "VIRTUAL_ENV", "HOME", "SHELL", "USER", "TERM", "TMUX", "TMUX_PANE", "STY",
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TMPDIR", "XDG_CACHE_HOME", "WSL_DISTRO_NAME", "WSL_INTEROP",
}
_PREFIXES = ("CUDA_", "NVIDIA_", "NCCL_", "TORCH_", "PYTORCH_", "CUBLAS_", "CUDNN_", "CONDA_", "MAMBA_",
             "PIP_", "SLURM_", "HF_", "TRANSFORMERS_", "UV_")
_PROXY = re.compile(r"^(http|https|ftp|all|no|socks)_proxy$", re.IGNORECASE)


def relevant(name: str) -> bool:
    return name in _NAMES or name.startswith(_PREFIXES) or bool(_PROXY.match(name))


@collector("env", "Environment variables that affect Python, CUDA, proxies and distributed runs")
def collect_env(ctx: Context) -> dict:
    return {"vars": {name: value for name, value in sorted(ctx.env.items()) if relevant(name)}}
