#!/bin/sh
# One-command envcheck validation on a Linux machine with NVIDIA GPUs (docs/gpu-validation.md).
# Runs benchmarks/gpu_validation.py with the first python that imports torch ($PYTHON first);
# all arguments are passed on (--out DIR, --steps LIST, --budget SECONDS).
here=$(cd "$(dirname "$0")" && pwd)
for py in "${PYTHON:-}" python3 python /usr/bin/python3 /opt/conda/bin/python; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c "import torch" >/dev/null 2>&1; then
        exec "$py" "$here/gpu_validation.py" "$@"
    fi
done
# No python with torch: run anyway; the summary records torch as missing.
exec "${PYTHON:-python3}" "$here/gpu_validation.py" "$@"
