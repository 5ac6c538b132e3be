"""Scripts run by the *diagnosed* interpreter, not by envcheck's: `TARGET_PYTHON SCRIPT.py` prints JSON.

probe.py imports torch and reports it (the "torch" collector), pyinfo.py describes the interpreter
and its packages (the "python" collector), pkginfo.py lists installed distributions for `export`
and `diff`.

The one rule for every script here, since the target may be an old conda env without envcheck:
standard library only (torch and torchvision only inside probe.py, guarded), Python 3.6 syntax,
never an import of envcheck, every failure reported inside the JSON, and the script's own folder
dropped from sys.path before anything else is imported, so the target's real import order is what
is seen. tests/test_target_scripts.py holds each script to it.
"""
