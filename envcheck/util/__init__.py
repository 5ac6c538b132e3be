"""Small helpers shared by commands: atomic file writes and path checks (fsutil), progress on
stderr (progress), the oldest torch supported (support).
"""
