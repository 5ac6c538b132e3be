from __future__ import annotations

import os
import signal
from pathlib import Path

# The suite runs on two pytest-xdist workers (pyproject addopts); each torch, in-process or in a
# child, gets one thread, so two workers share 2 cores instead of fighting over them (with torch's
# default thread count a 3-step epoch took 15 s on a busy 2-core machine, with one thread under 1 s).
# Set before anything imports torch; children inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# The suite runs in English whatever the developer's locale: with LANG=zh_CN.UTF-8 envcheck speaks
# Chinese (issue #11), and most tests match English text. Tests of the language choice remove
# ENVCHECK_LANG and set the locale variables themselves (monkeypatch), children inherit this.
os.environ["ENVCHECK_LANG"] = "en"
for _name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_name, "").lower().startswith("zh"):
        os.environ[_name] = "C.UTF-8"

# The interrupt tests send SIGINT to their children and expect Python's KeyboardInterrupt there.
# A suite started in the background of a non-interactive shell (`bash -c 'pytest ...' &`, as some
# CI runners do) starts with SIGINT ignored, and an ignored signal stays ignored through exec, so
# those children would never see it. A handled one is reset to the default in the child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _language_from_the_environment_again():
    """Every test starts and ends with the language chosen from the environment (English here:
    ENVCHECK_LANG=en above), whatever a test set with --lang or set_language."""
    from envcheck import i18n

    i18n.set_language(None)
    yield
    i18n.set_language(None)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def clean_env(tmp_path) -> dict[str, str]:
    """A minimal environment for collectors: nothing inherited from the developer's shell."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def pytest_collection_modifyitems(session, config, items):
    """Slow tests first: with two xdist workers the minutes-long end-to-end runs then overlap the
    hundreds of quick tests instead of running alone at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1)
