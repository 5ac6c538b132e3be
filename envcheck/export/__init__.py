"""Writing an environment down and comparing it: requirements/environment.yml files (envfiles),
snapshots of the machine (snapshot), and the installed-package listing they share (packages).
"""
