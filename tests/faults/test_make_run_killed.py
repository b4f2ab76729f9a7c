"""`make run` killed outright (SIGKILL: no handler runs, nothing stops the children in turn) must not
leave its children running: each asks the kernel for SIGTERM when its parent dies (reviewqueue/local.py
spawn). A stand-in child (a sleeping Python) is started exactly as make run starts the web server,
the worker, beat and the sandboxes. Linux (/proc, prctl), as tests/test_local_stops_everything.py.
"""

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.livesystem import BASE_DIR, PYTHON, wait_for

pytestmark = pytest.mark.slow  # starts make run: the whole system

MAKE_RUN = """
import sys, time
from reviewqueue import local
child = local.spawn([sys.executable, "-c", "import time; time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_make_runs_children_die_when_it_is_killed_with_sigkill():
    parent = subprocess.Popen([PYTHON, "-c", MAKE_RUN], cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        assert _running(child)
        parent.kill()
        parent.wait()
        wait_for(lambda: not _running(child), timeout=30, what=f"make run's child {child} gone with it")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGKILL)  # only what this test started: the child leads its own group
        parent.stdout.close()
