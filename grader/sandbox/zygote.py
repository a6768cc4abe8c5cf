"""The warm parent: forks a fresh worker for each submission, inside the sandbox.

Started once per grading process as ``python -I -S -B zygote.py LIBDIR`` under
bubblewrap, as the sandbox's pid 1 (so nothing inside can kill or stop it:
the kernel drops signals to a namespace's init that it has no handler for),
with NumPy already imported, in control groups that cap the whole sandbox.
The judge asks it for a worker on the control socket (fd 3), sending the
worker's three pipes as file descriptors. It serves one worker at a time, so
those groups hold that worker's processes, and killing every process of the
namespace but itself (``kill(-1)`` from pid 1) ends the worker and anything it
started, however it detached. The child, before it runs any student code:

- gets a private, size-capped /tmp and /dev/shm in a mount namespace of its
  own, and System V IPC of its own (the rest of the file system is read-only),
  so nothing one submission leaves is seen by the next;
- takes its resource limits, sets no_new_privs and drops every capability
  (the parent keeps CAP_SYS_ADMIN only to make that /tmp);
- then becomes a ``worker.Worker`` on fds 3 and 4, its output on 1 and 2.

A fork costs a few milliseconds where a new sandbox, interpreter and NumPy
import cost a few hundred. The parent never runs student code and reads
nothing but the judge's requests.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys

CONTROL = 3
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
RLIMITS = {"cpu_seconds": resource.RLIMIT_CPU, "memory_bytes": resource.RLIMIT_AS,
           "processes": resource.RLIMIT_NPROC, "file_bytes": resource.RLIMIT_FSIZE}

_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def private_tmp(size_bytes: int) -> None:
    """Fresh /tmp and /dev/shm, and System V IPC of its own: the only writable places."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    options = f"size={size_bytes},mode=1777".encode()
    for target in (b"/tmp", b"/dev/shm"):
        _check(_libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options),
               f"mount {target.decode()}")


def drop_privileges() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(ctypes.byref(header), (_CapData * 2)()), "capset")


def become_worker(request: dict, fds: list[int], control: socket.socket) -> None:
    """In the forked child: isolate, limit, then serve the judge. Never returns."""
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        to_worker, from_worker, output = fds
        os.setsid()
        with open("/proc/self/oom_score_adj", "w") as adjust:  # out of memory: the worker goes
            adjust.write("1000")
        if request.get("tmp_bytes"):
            private_tmp(int(request["tmp_bytes"]))
        for name, value in request.get("limits", {}).items():
            resource.setrlimit(RLIMITS[name], (int(value), int(value)))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if request.get("drop_privileges"):
            drop_privileges()
        for fd, target in ((output, 1), (output, 2), (to_worker, 3), (from_worker, 4)):
            os.dup2(fd, target)
        os.closerange(5, 1 << 16)
        os.chdir("/tmp")
        worker.forbid_libraries()
        worker.Worker().serve()
    except BaseException as error:  # a set-up step failed: say so on the output pipe
        try:
            os.write(2, f"worker set-up failed: {error}\n".encode())
        except OSError:
            pass
        os._exit(70)
    os._exit(0)


class Parent:
    def __init__(self, control: socket.socket):
        self.control = control
        self.children: dict[int, int | None] = {}  # pid -> exit code once reaped

    def reap(self, *_signal) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:  # else an orphan that pid 1 inherited
                self.children[pid] = os.waitstatus_to_exitcode(status)

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, self.reap)
        while True:
            message, fds, _, _ = socket.recv_fds(self.control, 65536, 16)
            if not message:
                return  # the judge is gone
            request = json.loads(message)
            reply = getattr(self, f"op_{request['op']}")(request, fds)
            self.control.send(json.dumps(reply).encode())

    def op_fork(self, request: dict, fds: list[int]) -> dict:
        pid = os.fork()
        if pid == 0:
            become_worker(request, fds, self.control)
        for fd in fds:
            os.close(fd)
        self.children[pid] = None
        return {"pid": pid}

    def op_kill(self, request: dict, fds: list[int]) -> dict:
        """End the worker and everything it started; its exit code (negative: the signal)."""
        pid = int(request["pid"])
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])  # reap() would race us
        try:
            if os.getpid() == 1:
                self.kill_everyone()
            else:  # not the sandbox's init (no bubblewrap): the worker's session, as far as it goes
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                if self.children.get(pid, 0) is None:
                    self.children[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        self.reap()
        return {"code": self.children.pop(pid, None)}

    def kill_everyone(self) -> None:
        """As pid 1: SIGKILL all else in the namespace, and reap it, until none is left.

        Orphans come to pid 1, so once it has no children, nothing else lives;
        a fork racing the kill fails (the kernel refuses it to a dying parent).
        """
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                return
            while True:
                try:
                    pid, status = os.waitpid(-1, 0)
                except ChildProcessError:
                    break
                if pid in self.children:
                    self.children[pid] = os.waitstatus_to_exitcode(status)


def main() -> None:
    global worker
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import worker
    worker.prepare(sys.argv[1])
    # what every worker inherits is never collected there: no copy-on-write of it by the gc
    gc.freeze()
    Parent(socket.socket(fileno=CONTROL)).serve()


if __name__ == "__main__":
    main()
