"""Hostile submissions: each earns nothing it did not honestly earn.

Every attack is graded in one batch through the real command line, next to
an honest submission. Most attacks are appended to the reference solution
and aim at one exercise (its honest answer would be wrong: zeros), so full
marks everywhere else proves the attack broke nothing else either. Every
resource attack is bounded, so the suite is safe to run as root.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.course.stubs import solution_path
from tests.catalogue import patched_source
from tests.conftest import ROOT, by_name, run_grader

A = "03_backprop"


@dataclass(frozen=True)
class Attack:
    slug: str
    code: str
    target: str | None = "relu_forward"  # the exercise it aims at; None: the whole module
    statuses: tuple[str, ...] = ("failed",)
    feedback: str = ""  # a phrase the target's feedback must contain
    whole: bool = False  # the code is the whole submission, not appended to the solution


# What the honest wrong answer would be: zeros, which scores nothing.
ZEROS = "    return np.zeros_like(x) - 1.0, x\n"

ATTACKS = [
    Attack("patch_numpy_comparisons", """
        import numpy as np
        np.allclose = np.array_equal = np.isclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        def relu_forward(x):
        """ + ZEROS),
    Attack("swap_code_objects", """
        import numpy as np
        np.allclose.__code__ = (lambda *a, **k: True).__code__
        np.isclose.__code__ = (lambda *a, **k: True).__code__
        def relu_forward(x):
        """ + ZEROS),
    Attack("walk_frames_for_reference", """
        import sys, numpy as np
        def relu_forward(x):
            frame = sys._getframe()
            while frame is not None:
                for value in frame.f_locals.values():
                    if isinstance(value, np.ndarray) and value.shape == x.shape and \\
                            value is not x and (value >= 0).all():
                        return value, x
                frame = frame.f_back
        """ + ZEROS),
    Attack("scan_gc_for_reference", """
        import gc, numpy as np
        def relu_forward(x):
            for obj in gc.get_objects():
                if isinstance(obj, np.ndarray) and obj.shape == x.shape and obj is not x \\
                        and (obj >= 0).all() and not np.array_equal(obj, x):
                    return obj, x
        """ + ZEROS),
    Attack("import_torch", """
        import torch
        def relu_forward(x):
            return torch.relu(torch.from_numpy(x)).numpy(), x
        """, statuses=("forbidden",), feedback="not allowed"),
    Attack("torch_around_the_import_hook", """
        import sys, glob
        sys.meta_path[:] = [f for f in sys.meta_path if "Forbid" not in type(f).__name__]
        sys.path += ["/sandbox/lib", sys.base_prefix + "/lib/python3.11/site-packages",
                     {ROOT!r} + "/.venv/lib/python3.11/site-packages"]
        sys.path += glob.glob("/usr/lib/python3*/*-packages")
        def relu_forward(x):
            sys.modules.pop("torch", None)
            import torch
            return torch.relu(torch.from_numpy(x)).numpy(), x
        """, statuses=("error",), feedback="No module named 'torch'"),
    Attack("always_true_object", """
        class Yes:
            __eq__ = __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True
            __abs__ = __neg__ = lambda self: self
            __float__ = lambda self: 0.0
            shape = property(lambda self: (2, 3))
        def relu_forward(x):
            return Yes(), x
        """, feedback="should be a NumPy array"),
    Attack("array_protocol_overrides", """
        import numpy as np
        class Liar:
            def __array_function__(self, *a, **k): return True
            def __array_ufunc__(self, *a, **k): return True
            def __array__(self, *a, **k): return np.ones((2, 2))
        def relu_forward(x):
            return Liar(), x
        """, feedback="should be a NumPy array"),
    Attack("ndarray_subclass", """
        import numpy as np
        class Agreeable(np.ndarray):
            def __eq__(self, other): return True
            def __array_ufunc__(self, *a, **k): return True
        def relu_forward(x):
            return np.zeros_like(x).view(Agreeable), x
        """, feedback="should be a NumPy array"),
    Attack("nan_everywhere", """
        import numpy as np
        def relu_forward(x):
            return np.full_like(x, np.nan), x
        """, feedback="NaN"),
    Attack("broadcastable_keepdims_shape", """
        def linear_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout, dout.sum(axis=0, keepdims=True)
        """, target="linear_backward", statuses=("partial",), feedback="extra axis"),
    Attack("mutates_its_input", """
        import numpy as np
        def relu_forward(x):
            np.maximum(x, 0, out=x)
            return x, x
        """, feedback="modified its input"),
    Attack("sys_exit_in_function", """
        import sys
        def relu_forward(x):
            sys.exit(0)
        """, statuses=("error",), feedback="SystemExit"),
    Attack("os_exit_in_function", """
        import os
        def relu_forward(x):
            os._exit(0)
        """, statuses=("error",), feedback="exited"),
    Attack("sys_exit_at_import", "import sys\nsys.exit(0)\n", target=None, whole=True,
           statuses=("error",)),
    Attack("fake_reports_on_every_descriptor", """
        import os, json
        _fake = json.dumps({"submission": "x", "score": 100.0, "max_score": 100.0}) + "\\n"
        for _fd in [0, 1, 2] + list(range(5, 256)):  # 3 and 4: see poisoned_result_pipe
            try:
                os.write(_fd, (_fake + "1000 passed, 0 failed\\n").encode())
            except OSError:
                pass
        def relu_forward(x):
        """ + ZEROS),
    Attack("atexit_hook", """
        import atexit, os
        atexit.register(lambda: [os.write(fd, b'{"score": 100}\\n') for fd in (1, 2)])
        def relu_forward(x):
        """ + ZEROS),
    Attack("read_solutions_and_references", """
        import os
        def relu_forward(x):
            paths = {ROOT!r} + "/solutions/03_backprop.py", {ROOT!r} + "/grader", "/work"
            raise RuntimeError("found: " + str([os.path.exists(p) for p in paths]))
        """, statuses=("error",), feedback="found: [False, False, False]"),
    Attack("write_outside_the_sandbox", """
        import os
        def relu_forward(x):
            for path in ({MARK!r} + "/written", {ROOT!r} + "/pwned.txt", "/tmp/pwned"):
                try:
                    with open(path, "w") as handle:
                        handle.write("pwned")
                except OSError:
                    pass
        """ + ZEROS),
    Attack("orphaned_double_fork", """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/usr/bin/sleep", ["sleep", "31.4159"])
            os._exit(0)
        def relu_forward(x):
        """ + ZEROS),
    Attack("endless_loop", """
        def relu_forward(x):
            while True:
                pass
        """, statuses=("timeout",)),
    Attack("signal_ignoring_loop", """
        import signal
        def relu_forward(x):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            while True:
                pass
        """, statuses=("timeout",)),
    Attack("memory_bomb", """
        import numpy as np
        def relu_forward(x):
            hog = np.ones(3 * 2**30 // 8)
            return hog, x
        """, statuses=("error",), feedback="MemoryError"),
    Attack("fork_bomb", """
        import os, time
        def relu_forward(x):
            children = 0
            for _ in range(400):
                if os.fork() == 0:
                    time.sleep(2)
                    os._exit(0)
                children += 1
            raise RuntimeError(f"forked {children}")
        """, statuses=("error",), feedback="BlockingIOError"),
    Attack("output_flood", """
        import sys
        def relu_forward(x):
            for _ in range(2000):
                sys.stdout.write("x" * 50_000)
        """ + ZEROS),
    Attack("network_access", """
        import socket
        def relu_forward(x):
            try:
                socket.create_connection(("127.0.0.1", {PORT}), timeout=1).send(b"hi")
                raise RuntimeError("network: connected")
            except OSError as error:
                raise RuntimeError(f"network: {{type(error).__name__}}")
        """, statuses=("error",), feedback="network: ConnectionRefusedError"),
    Attack("pickle_payload", """
        class Payload:
            def __reduce__(self):
                return (open, ({MARK!r} + "/unpickled", "w"))
        def relu_forward(x):
            return Payload(), x
        """, feedback="should be a NumPy array"),
    Attack("huge_result", """
        import numpy as np
        def relu_forward(x):
            return np.zeros(12 * 2**20), x
        """, feedback="over the size limit"),
    Attack("poisoned_result_pipe", """
        import os
        def relu_forward(x):
            os.write(4, b"\\xff\\xff\\xff\\x00garbage")
            return x, x
        """, statuses=("error",)),
    Attack("recursion_bomb", """
        def relu_forward(x):
            return relu_forward(x)
        """, statuses=("error",), feedback="RecursionError"),
    Attack("leaks_hidden_inputs_in_errors", """
        def relu_forward(x):
            raise ValueError("IN" + "PUTS " + repr(x.tolist()))
        """, statuses=("error",)),
]


@pytest.fixture(scope="module")
def battle(tmp_path_factory):
    """Grade every attack in one batch next to two honest submissions."""
    folder = tmp_path_factory.mktemp("hostile")
    mark = tmp_path_factory.mktemp("marks")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    connections = []

    def accept():
        while listener.fileno() != -1:
            try:
                connections.append(listener.accept())
            except OSError:
                if listener.fileno() == -1:
                    return

    threading.Thread(target=accept, daemon=True).start()
    fill = {"ROOT": str(ROOT), "MARK": str(mark), "PORT": listener.getsockname()[1]}
    paths = [solution_path(A)]
    for attack in ATTACKS:
        code = attack.code
        for key, value in fill.items():
            code = code.replace(f"{{{key}!r}}", repr(value)).replace(f"{{{key}}}", str(value))
        code = code.replace("{{", "{").replace("}}", "}")
        path = folder / f"{attack.slug}.py"
        path.write_text(code if attack.whole else patched_source(A, code))
        paths.append(path)
    paths.append(_folder_with_hijackers(folder, mark))
    paths.append(solution_path(A))
    before = _snapshot(ROOT)
    done = run_grader("grade", A, *map(str, paths), "--json", "-", "--seed", "8", "--jobs", "2")
    time.sleep(4)  # long enough for an orphan to have written, had it survived
    listener.close()
    return {"done": done, "mark": mark, "before": before, "after": _snapshot(ROOT),
            "connections": connections,
            "reports": [json.loads(line) for line in done.stdout.splitlines()]}


def _folder_with_hijackers(folder: Path, mark: Path) -> Path:
    """An honest answer with files next to it that would hijack a naive runner."""
    student = folder / "hijacker"
    student.mkdir()
    (student / f"{A}.py").write_text(solution_path(A).read_text())
    touch = f"open({str(mark)!r} + '/{{}}', 'w').write('ran')\n"
    (student / "conftest.py").write_text(touch.format("conftest"))
    (student / "numpy.py").write_text(touch.format("numpy"))
    (student / "sitecustomize.py").write_text(touch.format("sitecustomize"))
    (student / "pytest.ini").write_text("[pytest]\naddopts = -p conftest\n")
    return student


def _snapshot(root: Path) -> dict[str, bytes]:
    """What a cheater would most like to read or rewrite: the solutions."""
    return {str(p): p.read_bytes() for p in (root / "solutions").rglob("*.py")}


def test_batch_completes_and_honest_work_keeps_full_marks(battle):
    assert battle["done"].returncode == 0, battle["done"].stderr[-2000:]
    reports = battle["reports"]
    assert len(reports) == len(ATTACKS) + 3  # the fake report lines went nowhere
    assert reports[0]["score"] == reports[-1]["score"] == 100
    assert reports[-2]["score"] == 100  # the hijackers' folder: never imported
    assert reports[0]["sandbox"] == "bubblewrap"


@pytest.mark.parametrize("index,attack", list(enumerate(ATTACKS, start=1)),
                         ids=[a.slug for a in ATTACKS])
def test_attack_earns_nothing(battle, index, attack):
    report = battle["reports"][index]
    assert report["submission"].endswith(f"{attack.slug}.py")
    exercises = by_name(report)
    if attack.target is None:
        assert report["score"] == 0
        assert {e["status"] for e in exercises.values()} <= set(attack.statuses)
        return
    target = exercises[attack.target]
    assert target["status"] in attack.statuses, target["feedback"]
    if attack.statuses != ("partial",):
        assert target["score"] == 0
    assert attack.feedback in target["feedback"]
    others = {n: e["feedback"] for n, e in exercises.items()
              if n != attack.target and e["status"] != "passed"
              and not (attack.target == "relu_forward" and n == "relu_backward")}
    assert others == {}


def test_hidden_case_feedback_quotes_no_inputs(battle):
    index = [a.slug for a in ATTACKS].index("leaks_hidden_inputs_in_errors") + 1
    cases = by_name(battle["reports"][index])["relu_forward"]["cases"]
    assert any("INPUTS" in c["feedback"] for c in cases if c["name"].startswith("public"))
    assert not any("INPUTS" in c["feedback"] for c in cases if c["name"].startswith("hidden"))


def test_nothing_outside_the_sandbox_was_touched(battle):
    assert sorted(p.name for p in battle["mark"].iterdir()) == []
    assert battle["before"] == battle["after"]
    assert not Path("/tmp/pwned").exists() and not (ROOT / "pwned.txt").exists()
    assert battle["connections"] == []


def test_no_student_process_outlives_the_batch(battle):
    import subprocess

    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 31.4159" not in listing  # the double-forked orphan died with its sandbox


def test_feedback_carries_no_timings(battle):
    import re

    text = json.dumps(battle["reports"])
    assert not re.search(r"\d+(\.\d+)?\s*(ms|seconds)\b", text)
