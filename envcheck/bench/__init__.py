"""`envcheck gpu-bench`: the measuring child (worker.py, imports torch), the torch-free parent
side that runs it under a time limit (run.py) and the verdicts against datasheet peaks (verdict.py)."""
