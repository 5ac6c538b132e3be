"""`envcheck smoke-train`: prove the GPU stack end to end and give a PASS/FAIL verdict.

- selection.py: which GPU(s) or the CPU, from the flags, the nvidia facts and CUDA_VISIBLE_DEVICES (pure);
- phases.py: runs the checks in child processes, each phase under its own timeout;
- worker.py: the child: imports torch and runs the single-device phases, one JSON line per result;
- ddp_worker.py: one rank of the DDP check, launched by torch.distributed.run (or by the user's job);
- report.py: the table, the verdict line and the --json document.

Nothing here imports torch at module level: the parent process never loads it, so a broken CUDA
install can only hang or crash a child, which becomes a failed check instead of a dead command.
"""
