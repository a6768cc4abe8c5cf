"""The judge's side of the sandbox: start a worker, talk to it, kill it.

One ``Sandbox`` serves one submission. Its worker process is started under
bubblewrap (a private, read-only view of the system holding only Python,
NumPy, the harness and the submission; no network; a private /tmp; an
unprivileged user) with resource limits, and killed from outside, whole
process tree, when a call runs past its deadline. After a timeout or a crash
the next call starts a fresh worker, so one bad exercise costs only itself.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
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

HARNESS_FILES = [Path(__file__).with_name("worker.py"), Path(__file__).with_name("protocol.py")]
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 5.0
    load_seconds: float = 20.0
    cpu_seconds: int = 300
    memory_bytes: int = 2 * 2**30
    processes: int = 64
    file_bytes: int = 16 * 2**20
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


@dataclass
class Reply:
    """What one call of a student function sent back, decoded."""

    value: object
    args_after: list = field(default_factory=list)
    kwargs_after: dict = field(default_factory=dict)
    kept_before: list = field(default_factory=list)
    kept_after: list = field(default_factory=list)
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


def _command(workdir: str) -> list[str]:
    python = _interpreter()
    if isolation() == "none":
        harness = os.path.join(workdir, "harness")
        return [python, "-I", "-S", "-B", os.path.join(harness, "worker.py"), _fallback_libdir(),
                os.path.join(workdir, "submission", "submission.py")]
    base = sys.base_prefix
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               "--uid", str(NOBODY), "--gid", str(NOBODY),
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
               "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
               "--ro-bind", base, base,
               # the interpreter's own site-packages may hold torch: hide all of it
               "--tmpfs", os.path.join(base, "lib", f"python{sys.version_info.major}."
                                                    f"{sys.version_info.minor}", "site-packages"),
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
               "--ro-bind", os.path.join(workdir, "harness"), "/harness",
               "--ro-bind", os.path.join(workdir, "submission"), "/submission",
               "--chdir", "/tmp", "--setenv", "HOME", "/tmp"]
    for path in _numpy_paths():
        command += ["--ro-bind", str(path), f"/sandbox/lib/{path.name}"]
    return command + [python, "-I", "-S", "-B", "/harness/worker.py", "/sandbox/lib",
                      "/submission/submission.py"]


class Sandbox:
    """A submission's worker process, restarted on demand."""

    def __init__(self, source: str, limits: Limits = Limits()):
        self.limits = limits
        self.workdir = tempfile.mkdtemp(prefix="grader-sandbox-")
        os.chmod(self.workdir, 0o755)
        for sub in ("harness", "submission"):
            os.mkdir(os.path.join(self.workdir, sub), 0o755)
        for path in HARNESS_FILES:
            shutil.copy(path, os.path.join(self.workdir, "harness", path.name))
        with open(os.path.join(self.workdir, "submission", "submission.py"), "w",
                  encoding="utf-8") as handle:
            handle.write(source)
        self.groups = ControlGroups(limits.processes, limits.memory_bytes)
        self.process: subprocess.Popen | None = None
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
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        output_r, output_w = os.pipe()
        limits = self.limits

        groups = self.groups

        def in_child() -> None:
            groups.join()
            os.dup2(to_worker_r, 3)
            os.dup2(from_worker_w, 4)
            for name, value in ((resource.RLIMIT_CPU, limits.cpu_seconds),
                                (resource.RLIMIT_AS, limits.memory_bytes),
                                (resource.RLIMIT_NPROC, limits.processes),
                                (resource.RLIMIT_FSIZE, limits.file_bytes),
                                (resource.RLIMIT_CORE, 0)):
                resource.setrlimit(name, (value, value))

        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            _command(self.workdir), stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w,
            pass_fds=(3, 4), close_fds=True, start_new_session=True, preexec_fn=in_child,
            env=env, cwd=self.workdir)
        for fd in (to_worker_r, from_worker_w, output_w):
            os.close(fd)
        self.to_worker, self.from_worker = to_worker_w, from_worker_r
        threading.Thread(target=self._drain, args=(output_r,), daemon=True).start()
        try:
            reply = self._exchange({"op": "load"}, {}, self.limits.load_seconds)
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

    def kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.groups.kill_all()  # whatever escaped the process group
        self.process.wait()
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None

    def close(self) -> None:
        self.kill()
        self.groups.remove()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests -------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Start the worker if none runs; raise the load error, if any."""
        if self.load_error is None and self.process is None:
            self._spawn()
        if self.load_error is not None:
            raise self.load_error

    def request(self, message: dict, callbacks: dict[str, Callable] | None = None) -> dict:
        self.ensure_loaded()
        reply = self._exchange(message, callbacks or {}, self.limits.call_seconds)
        if "error" in reply:
            raise _student_error(reply["error"])
        return reply

    def call(self, function: str, *args, keep: bool = False,
             substitute: dict[str, tuple[str, bool]] | None = None,
             callbacks: dict[str, Callable] | None = None, **kwargs) -> Reply:
        reply = self.request({"op": "call", "function": function,
                              "args": [protocol.encode(a) for a in args],
                              "kwargs": {k: protocol.encode(v) for k, v in kwargs.items()},
                              "keep": keep, "substitute": substitute or {}}, callbacks)
        try:
            return Reply(value=protocol.decode(reply["result"]),
                         args_after=[protocol.decode(a) for a in reply["args_after"]],
                         kwargs_after={k: protocol.decode(v) for k, v in reply["kwargs_after"].items()},
                         kept_before=[_decode_optional(a) for a in reply["kept_before"]],
                         kept_after=[_decode_optional(a) for a in reply["kept_after"]],
                         handle=(protocol.Handle("worker", reply["handle"])
                                 if type(reply.get("handle")) is int else None))
        except (KeyError, TypeError, ValueError, protocol.ProtocolError) as error:
            self.kill()
            raise StudentError("bad_output", f"the worker sent a malformed reply ({error})") from None

    def _exchange(self, message: dict, callbacks: dict[str, Callable], seconds: float) -> dict:
        """Send one request; serve callbacks until its reply; enforce the deadline."""
        deadline = time.monotonic() + seconds
        try:
            protocol.write_frame(self.to_worker, message)
            while True:
                reply = protocol.read_frame(self.from_worker, deadline)
                if "callback" not in reply:
                    return reply
                started = time.monotonic()
                protocol.write_frame(self.to_worker, _serve_callback(reply, callbacks))
                deadline += time.monotonic() - started  # the judge's time is not the student's
        except protocol.Deadline:
            self.kill()
            raise StudentError("timeout", _("no answer within {seconds} s (an endless "
                                            "loop?)").format(seconds=f"{seconds:g}")) from None
        except (protocol.Closed, BrokenPipeError):
            code = self.process.poll() if self.process else None
            self.kill()
            raise StudentError("crashed", _death_message(code)) from None
        except protocol.ProtocolError as error:
            self.kill()
            raise StudentError("bad_output", _("the worker sent a malformed reply ({error})").format(
                error=error)) from None


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


def _decode_optional(data):
    return None if data is None else protocol.decode(data)


def _student_error(error: dict) -> StudentError:
    if not isinstance(error, dict):
        return StudentError("bad_output", "malformed error report")
    return StudentError(str(error.get("kind", "exception")), str(error.get("message", ""))[:400],
                        [str(w)[:200] for w in error.get("where", [])][:3]
                        if isinstance(error.get("where"), list) else [],
                        str(error.get("type", ""))[:80])


def _death_message(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code in (signal.SIGXCPU, signal.SIGKILL):
            return _("the process running your code was killed ({signal}): a resource "
                     "limit?").format(signal=name)
        return _("the process running your code died ({signal})").format(signal=name)
    return _("the process running your code exited (sys.exit or os._exit in graded code?)")
