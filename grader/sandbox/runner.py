"""The judge's side of the sandbox: start a worker, talk to it, kill it.

One ``Sandbox`` serves one submission. Its worker process is forked by the
grading process's warm parent (``Zygote``), which lives under bubblewrap (a
read-only view of the system holding only Python, NumPy and the harness; no
network; an unprivileged user; control groups capping its processes and
memory), one worker at a time; each worker gets its own /tmp and resource
limits, and is killed from outside, whole process tree, when a call runs past
its deadline. After a timeout or a crash the next call forks a
fresh worker, so one bad exercise costs only itself.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np

from grader.i18n import _
from grader.sandbox import protocol
from grader.sandbox.cgroups import ControlGroups

HARNESS_FILES = [Path(__file__).with_name(name) for name in ("zygote.py", "worker.py", "protocol.py")] \
    + [Path(__file__).parents[1] / "checks" / "exercises" / "in_worker.py"]
NOBODY = 65534
SANDBOX_PROCESSES = 2  # bubblewrap's monitor and the warm parent, in the sandbox's groups
PARENT_MEMORY = 128 * 2**20  # what the warm parent holds (NumPy), on top of a worker's limit


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 5.0
    load_seconds: float = 20.0
    cpu_seconds: int = 300
    memory_bytes: int = 2 * 2**30
    processes: int = 64
    file_bytes: int = 16 * 2**20
    tmp_bytes: int = 64 * 2**20
    output_bytes: int = 16 * 2**10
    restarts: int = 40


class StudentError(Exception):
    """The student's code did not produce a value: it raised, hung or died.

    ``kind`` is one of: not_implemented, missing, forbidden, exception,
    syntax, timeout, crashed, resource_limit, bad_output.
    """

    def __init__(self, kind: str, message: str, where: list[str] | None = None,
                 type_name: str = ""):
        super().__init__(message)
        self.kind, self.message, self.where, self.type_name = kind, message, where or [], type_name
        self.at_load = False  # raised while the submission itself was being run
        #: a stand-in (in_worker.Refused) turned down its arguments: (code, fields)
        self.refused: tuple[str, dict] | None = None


@dataclass
class Reply:
    """What one call of a student function sent back, decoded."""

    value: object
    mutated: list[int] = field(default_factory=list)  # positions of the inputs it changed
    cache_mutated: bool = False  # whether it changed a kept object it was passed
    echoed: dict[int, object] = field(default_factory=dict)  # position -> that input after
    logs: dict[str, object] = field(default_factory=dict)  # Local kind -> what it saw
    handle: protocol.Handle | None = None


@cache
def isolation() -> str:
    """'bubblewrap' where it works on this machine, else 'none' (loudly reported)."""
    if os.environ.get("GRADER_SANDBOX") == "none":
        return "none"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "none"
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--uid", str(NOBODY),
                            "--gid", str(NOBODY), "true"], capture_output=True)
    return "bubblewrap" if probe.returncode == 0 else "none"


@cache
def _numpy_paths() -> list[Path]:
    """NumPy and its bundled libraries: all of site-packages a worker may see."""
    root = Path(np.__file__).resolve().parent
    return [p for p in (root, root.with_name("numpy.libs")) if p.exists()]


@cache
def _fallback_libdir() -> str:
    """Without bubblewrap: a folder linking NumPy alone, so torch is not on the path."""
    libdir = tempfile.mkdtemp(prefix="grader-lib-")
    for path in _numpy_paths():
        os.symlink(path, os.path.join(libdir, path.name))
    return libdir


def _interpreter() -> str:
    """The base interpreter, not a virtual environment's: it runs with -I -S."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base if base.exists() else Path(sys.executable).resolve())


def _command(harness: str) -> list[str]:
    """How the warm parent is started: inside bubblewrap, as its pid 1, where it works."""
    python = _interpreter()
    if isolation() == "none":
        return [python, "-I", "-S", "-B", os.path.join(harness, "zygote.py"), _fallback_libdir()]
    base = sys.base_prefix
    site_packages = os.path.join(base, "lib", f"python{sys.version_info.major}."
                                              f"{sys.version_info.minor}", "site-packages")
    command = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
               "--new-session", "--as-pid-1",
               # kept by the parent alone, to give each worker its own /tmp; workers drop it
               "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN",
               "--uid", str(NOBODY), "--gid", str(NOBODY),
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
               "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
               "--ro-bind", base, base,
               # the interpreter's own site-packages may hold torch: hide all of it
               "--tmpfs", site_packages,
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
               "--ro-bind", harness, "/harness",
               "--chdir", "/tmp", "--setenv", "HOME", "/tmp"]
    for path in _numpy_paths():
        command += ["--ro-bind", str(path), f"/sandbox/lib/{path.name}"]
    # what bubblewrap made writable is shared by every worker: read-only it is
    # (each worker mounts its own /tmp and /dev/shm)
    for writable in ("/", "/dev", site_packages):
        command += ["--remount-ro", writable]
    return command + [python, "-I", "-S", "-B", "/harness/zygote.py", "/sandbox/lib"]


class ZygoteFailed(Exception):
    """The warm parent died or stopped answering: the judge starts another."""


class Zygote:
    """The warm parent of this grading process's workers (``zygote.py``).

    Started once and kept: every submission's worker is forked from it. If it
    dies (nothing a worker does should kill it, but the judge does not rely
    on that), the next request starts a new one.
    """

    REPLY_SECONDS = 10.0

    def __init__(self, limits: Limits = Limits()):
        self.harness = tempfile.mkdtemp(prefix="grader-harness-")
        os.chmod(self.harness, 0o755)
        for path in HARNESS_FILES:
            shutil.copy(path, os.path.join(self.harness, path.name))
        judge_end, parent_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1"}
        # the whole sandbox, parent and its one worker at a time, in control groups of its
        # own: joined once here, where one join costs a worker ~12 ms (an RCU sync)
        self.groups = ControlGroups()
        self.cap(limits)
        join = self.groups.procs_files()

        def in_child() -> None:
            for fd in join:
                os.write(fd, b"0")
            os.dup2(parent_end.fileno(), 3)

        try:
            self.process = subprocess.Popen(
                _command(self.harness), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(3,), close_fds=True,
                start_new_session=True, preexec_fn=in_child, env=env, cwd=self.harness)
        finally:
            for fd in join:
                os.close(fd)
        parent_end.close()
        self.control = judge_end
        self.control.settimeout(self.REPLY_SECONDS)
        self.lock = threading.Lock()
        self.closed = False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict, fds: list[int] = ()) -> dict:
        with self.lock:
            try:
                socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
                reply = self.control.recv(65536)
            except OSError as error:  # includes a timeout
                self.close()
                raise ZygoteFailed(str(error)) from None
        if not reply:
            self.close()
            raise ZygoteFailed("the warm parent exited")
        return json.loads(reply)

    def fork(self, limits: Limits) -> tuple[int, int, int, int]:
        """A new worker: its pid (in the sandbox) and the judge's ends of its pipes."""
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        output_r, output_w = os.pipe()
        self.cap(limits)
        sandboxed = isolation() == "bubblewrap"
        try:
            reply = self.ask({"op": "fork", "tmp_bytes": limits.tmp_bytes if sandboxed else 0,
                              "drop_privileges": sandboxed,
                              "limits": {"cpu_seconds": limits.cpu_seconds,
                                         "memory_bytes": limits.memory_bytes,
                                         "processes": limits.processes,
                                         "file_bytes": limits.file_bytes}},
                             [to_worker_r, from_worker_w, output_w])
        finally:
            for fd in (to_worker_r, from_worker_w, output_w):
                os.close(fd)
        return int(reply["pid"]), to_worker_w, from_worker_r, output_r

    def cap(self, limits: Limits) -> None:
        """The sandbox's groups hold one worker's limits, and what the parent needs besides."""
        self.groups.limit(limits.processes + SANDBOX_PROCESSES, limits.memory_bytes + PARENT_MEMORY)

    def kill(self, pid: int) -> int | None:
        """Kill the worker and everything it started; its exit code once it is reaped."""
        return self.ask({"op": "kill", "pid": pid}).get("code")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.control.close()
        self.groups.remove()
        shutil.rmtree(self.harness, ignore_errors=True)


_idle: list[Zygote] = []  # warm parents with no worker: one worker per parent at a time
_everyone: list[Zygote] = []
_pool_lock = threading.Lock()


def acquire_parent() -> Zygote:
    """A warm parent with no worker, started on first use and after a death.

    Its control groups and its kill hold one worker's process tree: a second
    sandbox alive at the same time gets a parent of its own.
    """
    with _pool_lock:
        while _idle:
            parent = _idle.pop()
            if parent.alive:
                return parent
            parent.close()
        parent = Zygote()
        if not _everyone:
            atexit.register(_close_all)
        _everyone.append(parent)
        return parent


def release_parent(parent: Zygote) -> None:
    with _pool_lock:
        if parent.alive and parent not in _idle:
            _idle.append(parent)


def _close_all() -> None:
    for parent in _everyone:
        parent.close()


class Sandbox:
    """A submission's worker process, restarted on demand."""

    def __init__(self, source: str, limits: Limits = Limits()):
        self.limits = limits
        self.source = source
        self.pid: int | None = None
        self.parent: Zygote | None = None
        self.restarts = 0
        self.load_error: StudentError | None = None
        self.names: list[str] = []
        self.cell_errors: list[StudentError] = []  # notebook cells that raised on load
        self.output = bytearray()

    # -- lifecycle ------------------------------------------------------------

    def _spawn(self) -> None:
        if self.restarts > self.limits.restarts:
            raise StudentError("crashed", _("the submission crashed or hung too many times; "
                                            "the remaining checks were not run"))
        self.restarts += 1
        self.parent = acquire_parent()
        try:
            self.pid, self.to_worker, self.from_worker, output_r = self.parent.fork(self.limits)
        except ZygoteFailed:  # once more, from a fresh parent
            self.parent = acquire_parent()
            self.pid, self.to_worker, self.from_worker, output_r = self.parent.fork(self.limits)
        self.replies = protocol.FrameReader(self.from_worker)
        threading.Thread(target=self._drain, args=(output_r,), daemon=True).start()
        try:
            reply = self._exchange({"op": "load", "source": self.source}, {},
                                   self.limits.load_seconds)
        except StudentError as error:  # a hang or a death at import: no retry would help
            error.at_load, self.load_error = True, error
            raise
        if "error" in reply:
            self.load_error = _student_error(reply["error"])
            self.load_error.at_load = True
        else:
            self.names = [str(n) for n in reply.get("names", [])]
            errors = reply.get("cell_errors", [])
            self.cell_errors = [_student_error(e) for e in errors] if isinstance(errors, list) else []

    def _drain(self, fd: int) -> None:
        """Keep the first bytes a student prints; read and drop the rest."""
        with os.fdopen(fd, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                room = self.limits.output_bytes - len(self.output)
                if room > 0:
                    self.output += chunk[:room]

    def kill(self) -> int | None:
        """Kill the worker and everything it started; reap it; return its exit code."""
        if self.pid is None:
            return None
        pid, parent, self.pid = self.pid, self.parent, None
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            return parent.kill(pid)
        except ZygoteFailed:
            return None
        finally:
            release_parent(parent)

    def close(self) -> None:
        self.kill()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests -------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Start the worker if none runs; raise the load error, if any."""
        if self.load_error is None and self.pid is None:
            self._spawn()
        if self.load_error is not None:
            raise self.load_error

    def request(self, message: dict, callbacks: dict[str, Callable] | None = None,
                seconds: float | None = None) -> dict:
        self.ensure_loaded()
        reply = self._exchange(message, callbacks or {}, seconds or self.limits.call_seconds)
        if "error" in reply:
            raise _student_error(reply["error"])
        return reply

    def call(self, function: str, *args, keep: bool = False, watch: bool = True,
             echo: tuple[int, ...] = (), items: tuple[int, ...] | None = None,
             substitute: dict[str, "tuple[str, bool] | protocol.Local"] | None = None,
             callbacks: dict[str, Callable] | None = None, **kwargs) -> Reply:
        """Call a student function. ``watch``: report which inputs it changed;
        ``echo``: the positions of the arguments to send back as they are after it;
        ``items``: of a returned tuple, the items to send (the others come as Opaque);
        ``substitute``: the submission's functions to swap, for this call, for a
        callback (name, whether it updates its first argument in place) or a Local."""
        message = call_message(function, *args, keep=keep, watch=watch, echo=echo, items=items,
                               substitute=substitute, **kwargs)
        return self._reply(self.request(message, callbacks))

    def batch(self, calls: list[dict]) -> list["Reply | dict | StudentError"] | None:
        """Several requests in one: their replies, in order (a Reply for each call).

        Each is a ``call_message`` or a ``steps`` or ``value_graph`` request.

        A round trip costs more than most calls, and an exercise's cases are
        known before it is graded. A call may name what an earlier one of the
        batch kept (``Handle("batch", index, item)``). Each call has the usual
        time: the worker's alarm ends the batch at the first that overruns, whose
        entry is then a timeout, and the worker is killed. None where the batch
        as a whole failed (the submission did not load, the worker died, or it
        outlasted its alarm): the caller makes its calls one by one, which says
        which of them it was.
        """
        seconds = self.limits.call_seconds
        try:
            raw = self.request({"op": "batch", "calls": calls, "seconds": seconds},
                               seconds=seconds * len(calls) + 1.0)
        except StudentError:
            return None
        entries = raw.get("replies")
        if type(entries) is not list:
            self.kill()
            return None
        replies: list[Reply | StudentError] = []
        for entry, message in zip(entries, calls):
            if not isinstance(entry, dict) or entry.get("timeout") is True:
                self.kill()
                replies.append(_timeout(seconds))
                break
            try:
                if "error" in entry:
                    replies.append(_student_error(entry["error"]))
                else:
                    replies.append(self._reply(entry) if message["op"] == "call" else entry)
            except StudentError as error:  # malformed: the worker is gone with it
                replies.append(error)
                break
        return replies

    def _reply(self, reply: dict) -> Reply:
        try:
            mutated = reply["mutated"]
            if not (type(mutated) is list and all(type(i) is int for i in mutated)):
                raise ValueError("malformed list of changed inputs")
            return Reply(value=protocol.decode(reply["result"]), mutated=mutated,
                         cache_mutated=reply["cache_mutated"] is True,
                         echoed={int(i): protocol.decode(v) for i, v in reply["echo"].items()},
                         logs={str(k): protocol.decode(v)
                               for k, v in reply.get("logs", {}).items()},
                         handle=(protocol.Handle("worker", reply["handle"])
                                 if type(reply.get("handle")) is int else None))
        except (KeyError, TypeError, ValueError, AttributeError,
                protocol.ProtocolError) as error:
            self.kill()
            raise StudentError("bad_output", f"the worker sent a malformed reply ({error})") from None

    def _exchange(self, message: dict, callbacks: dict[str, Callable], seconds: float) -> dict:
        """Send one request; serve callbacks until its reply; enforce the deadline."""
        deadline = time.monotonic() + seconds
        try:
            protocol.write_frame(self.to_worker, message)
            while True:
                reply = self.replies.read(deadline)
                if "callback" not in reply:
                    return reply
                started = time.monotonic()
                protocol.write_frame(self.to_worker, _serve_callback(reply, callbacks))
                deadline += time.monotonic() - started  # the judge's time is not the student's
        except protocol.Deadline:
            self.kill()
            raise _timeout(seconds) from None
        except (protocol.Closed, BrokenPipeError):
            raise StudentError("crashed", _death_message(self.kill())) from None
        except protocol.ProtocolError as error:
            self.kill()
            raise StudentError("bad_output", _("the worker sent a malformed reply ({error})").format(
                error=error)) from None


def call_message(function: str, *args, keep: bool = False, watch: bool = True,
                 echo: tuple[int, ...] = (), items: tuple[int, ...] | None = None,
                 substitute: dict | None = None, **kwargs) -> dict:
    """The request that calls a student function (see Sandbox.call)."""
    return {"op": "call", "function": function,
            "args": [protocol.encode(a) for a in args],
            "kwargs": {k: protocol.encode(v) for k, v in kwargs.items()},
            "keep": keep, "watch": watch, "echo": list(echo),
            "items": None if items is None else list(items),
            "substitute": {name: protocol.encode(how) if isinstance(how, protocol.Local)
                           else list(how) for name, how in (substitute or {}).items()}}


def _timeout(seconds: float) -> StudentError:
    return StudentError("timeout", _("no answer within {seconds} s (an endless loop?)").format(
        seconds=f"{seconds:g}"))


def _serve_callback(request: dict, callbacks: dict[str, Callable]) -> dict:
    function = callbacks.get(str(request.get("callback")))
    if function is None:
        return {"error": _("no function {name} is offered here").format(
            name=repr(request.get("callback")))}
    try:
        args = [protocol.decode(a) for a in request.get("args", [])]
        kwargs = {k: protocol.decode(v) for k, v in request.get("kwargs", {}).items()}
        return {"result": protocol.encode(function(*args, **kwargs))}
    except Exception as error:  # its arguments came from student code: anything goes
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}


class CallbackRefused(Exception):
    """A judge-side function was called with arguments it cannot take."""


def _student_error(error: dict) -> StudentError:
    if not isinstance(error, dict):
        return StudentError("bad_output", "malformed error report")
    student_error = StudentError(
        str(error.get("kind", "exception")), str(error.get("message", ""))[:400],
        [str(w)[:200] for w in error.get("where", [])][:3]
        if isinstance(error.get("where"), list) else [], str(error.get("type", ""))[:80])
    refused = error.get("refused")
    if isinstance(refused, dict):
        try:
            fields = protocol.decode(refused.get("fields"))
        except protocol.ProtocolError:
            fields = None
        if isinstance(fields, dict):
            student_error.refused = (str(refused.get("code")), fields)
    return student_error


def _death_message(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code in (signal.SIGXCPU, signal.SIGKILL):
            return _("the process running your code was killed ({signal}): a resource "
                     "limit?").format(signal=name)
        return _("the process running your code died ({signal})").format(signal=name)
    return _("the process running your code exited (sys.exit or os._exit in graded code?)")
