"""A terminal whose encoding is not UTF-8: a zh_CN.GBK locale (still found on older Chinese lab
servers) cannot show ✓ or ✗, an ASCII one cannot show Chinese. envcheck printed its first mark and
died with UnicodeEncodeError there; now an unencodable character prints as '?', and the doctor's
status marks fall back to ASCII ones that stay distinct (envcheck/core/render.py ASCII_MARKS)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from envcheck.core.model import Status
from envcheck.core.render import ASCII_MARKS, MARKS, marks_for


def _doctor(encoding: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ENVCHECK_LANG",)}
    env.update(PYTHONIOENCODING=encoding, COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "envcheck", *args, "doctor", "--no-torch-probe", "--offline",
                           "--only", "system,terminal"], env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("encoding, lang, words", [
    ("gbk", "zh", "[+] 系统"),
    ("ascii", "en", "[+] System"),
    ("latin-1", "en", "[+] System"),
])
def test_doctor_on_a_terminal_that_is_not_utf8(encoding, lang, words):
    done = _doctor(encoding, "--lang", lang)
    out, err = done.stdout.decode(encoding), done.stderr.decode(encoding)
    assert "Traceback" not in out + err and done.returncode in (0, 1), out + err
    assert words in out and "✓" not in out, out


def test_chinese_on_an_ascii_terminal_is_question_marks_not_a_crash():
    done = _doctor("ascii", "--lang", "zh")
    assert done.returncode in (0, 1) and b"Traceback" not in done.stdout + done.stderr
    assert b"[+] ??" in done.stdout


def test_marks_stay_distinct_where_the_encoding_lacks_them():
    assert marks_for("utf-8") == {status: mark for status, (mark, _colour) in MARKS.items()}
    for encoding in ("gbk", "ascii", "latin-1", "no-such-encoding"):
        marks = marks_for(encoding)
        assert marks == ASCII_MARKS and len(set(marks.values())) == len(Status)


@pytest.mark.parametrize("redirect", [">&-", "2>&-", ">&- 2>&-"])
def test_closed_output_streams_are_not_a_traceback(redirect, tmp_path):
    """`envcheck doctor >&-` (cron jobs and scripts do this): Python sets a stream closed at start to
    None, and the first print raised AttributeError. The exit status still tells the result."""
    done = subprocess.run(["bash", "-c", f'"$0" -m envcheck doctor --no-torch-probe --offline --only system '
                                         f'2>"$1" {redirect}', sys.executable, str(tmp_path / "err")],
                          capture_output=True, timeout=120)
    err = (tmp_path / "err").read_text() if (tmp_path / "err").exists() else ""
    assert done.returncode in (0, 1), (done, err)
    assert "Traceback" not in err + done.stderr.decode() + done.stdout.decode()
