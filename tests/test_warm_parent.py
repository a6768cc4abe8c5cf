"""One warm parent forks every worker: nothing one submission does reaches the next.

All submissions here are graded by one process (``--jobs 1``), so they are
forked, in order, from the same parent inside the same bubblewrap sandbox.
The early ones try to leave something behind (a file in /tmp, an orphan
process) or to take over the parent (kill or stop it, mount over the
system, regain capabilities); the later ones report what they can see, as
the message of an exception, which the report quotes in their feedback.
"""
from __future__ import annotations

import json
import os

import pytest

from grader.course.stubs import solution_path
from tests.catalogue import patched_source
from tests.conftest import by_name, run_grader

A = "03_backprop"

# Every place a worker might write, and a System V shared memory segment.
PLACES = '["/", "/tmp", "/dev", "/dev/shm", "/sandbox", "/sandbox/lib", "/harness", sys.prefix]'
SHM_KEY = 0x5EED

LEAVER = f"""
import ctypes, os, sys
def relu_forward(x):
    for place in {PLACES}:
        try:
            with open(os.path.join(place, "left-behind"), "w") as handle:
                handle.write("for the next student")
        except OSError:
            pass
    ctypes.CDLL(None).shmget({SHM_KEY}, 4096, 0o1666)  # IPC_CREAT | rw for all
    if os.fork() == 0:  # an orphan that would outlive its worker
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", "27.1828"])
        os._exit(0)
    return np.maximum(x, 0), x
"""

LOOKER = f"""
import ctypes, os, sys
def relu_forward(x):
    left = [place for place in {PLACES} if os.path.exists(os.path.join(place, "left-behind"))]
    shm = ctypes.CDLL(None).shmget({SHM_KEY}, 0, 0)
    tmp = sorted(os.listdir("/tmp"))
    others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid())
    raise RuntimeError(f"SEEN left={{left}} shm={{shm}} tmp={{tmp}} others={{others}}")
"""

USURPER = """
import ctypes, os, signal, time
def relu_forward(x):
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM):
        os.kill(1, sig)   # the warm parent is pid 1
    time.sleep(0.2)
    state = open("/proc/1/stat").read().split()[2]
    found.append(f"parent={state}")
    mounted = libc.mount(b"tmpfs", b"/usr", b"tmpfs", 0, None)
    found.append(f"mount={mounted}")
    found.append(f"userns={libc.unshare(0x10000000)}")
    caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")]
    found.append(f"caps={caps[0]}")
    try:
        open("/proc/1/mem", "rb").read(1)
        found.append("parent_memory=read")
    except OSError as error:
        found.append(f"parent_memory={type(error).__name__}")
    raise RuntimeError("SEEN " + " ".join(found))
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warm")
    paths = []
    for name, code in (("leaver", LEAVER), ("looker", LOOKER), ("usurper", USURPER),
                       ("looker_after", LOOKER)):
        path = folder / f"{name}.py"
        path.write_text(patched_source(A, code))
        paths.append(path)
    paths.append(solution_path(A))
    done = run_grader("grade", A, *map(str, paths), "--json", "-", "--seed", "5", "--jobs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def _seen(report) -> str:
    feedback = by_name(report)["relu_forward"]["feedback"]
    assert "SEEN" in feedback, feedback
    return feedback[feedback.index("SEEN"):]


def test_the_leaver_is_graded_honestly(reports):
    assert reports[0]["sandbox"] == "bubblewrap"
    assert reports[0]["score"] == 100


def test_the_next_worker_sees_no_file_and_no_process_left_behind(reports):
    seen = _seen(reports[1])
    assert "left=[]" in seen and "shm=-1" in seen and "tmp=[]" in seen
    assert "others=[1]" in seen  # the warm parent alone: the orphan died with its worker


def test_workers_cannot_take_over_the_warm_parent(reports):
    seen = _seen(reports[2])
    assert "parent=S" in seen or "parent=R" in seen  # neither stopped nor killed
    assert "mount=-1" in seen and "userns=-1" in seen
    assert "caps=0000000000000000" in seen
    assert "parent_memory=PermissionError" in seen


def test_after_the_attacks_the_parent_still_serves_clean_workers(reports):
    seen = _seen(reports[3])
    assert "left=[]" in seen and "tmp=[]" in seen and "others=[1]" in seen
    assert reports[4]["score"] == 100


def test_control_groups_a_killed_run_left_are_removed():
    from grader.sandbox import cgroups

    parent = cgroups._own_path("pids")
    if parent is None or not os.access(parent, os.W_OK):
        pytest.skip("no writable pids controller here")
    stale = parent / "grader-999999999-deadbeef"  # no such pid: its run was killed
    stale.mkdir()
    try:
        done = run_grader("grade", A, str(solution_path(A)), "--seed", "1")
        assert done.returncode == 0, done.stderr[-2000:]
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()
