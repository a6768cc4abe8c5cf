"""Control groups per submission's worker: a hard cap on its processes and its memory.

Rlimits are per process (and RLIMIT_NPROC does not bind root's user
namespace), so a fork bomb or many children that each stay under the memory
rlimit need a limit on the whole tree: the kernel's ``pids`` and ``memory``
controllers. Where they cannot be written (no permission, no such
controller) the sandbox runs without them and says so.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller: str) -> Path | None:
    """This process's cgroup folder for a v1 controller, if it is mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            mount = ROOT / controller
            if mount.is_dir():
                return mount / path.lstrip("/")
    return None


_swept: set[Path] = set()


def _sweep(parent: Path) -> None:
    """Once per process: remove the empty groups of grading processes that died (kill -9)."""
    if parent in _swept:
        return
    _swept.add(parent)
    for folder in parent.glob("grader-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                folder.rmdir()  # fails, harmlessly, while a process is still inside
            except OSError:
                pass


class ControlGroups:
    """The sandbox's groups under the pids and memory controllers."""

    def __init__(self, processes: int, memory_bytes: int):
        self.folders: list[Path] = []
        name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for controller, limit_file, value in (("pids", "pids.max", processes),
                                              ("memory", "memory.limit_in_bytes", memory_bytes)):
            parent = _own_path(controller)
            if parent is None:
                continue
            _sweep(parent)
            folder = parent / name
            try:
                folder.mkdir()
                (folder / limit_file).write_text(str(value))
                if controller == "memory":  # no swap to escape into
                    memsw = folder / "memory.memsw.limit_in_bytes"
                    if memsw.exists():
                        memsw.write_text(str(value))
            except OSError:
                try:
                    folder.rmdir()
                except OSError:
                    pass
                continue
            self.folders.append(folder)

    def procs_files(self) -> list[int]:
        """Open ``cgroup.procs`` files: a worker inside the sandbox writes "0" to join.

        The kernel checks the rights of whoever opened the file, so a process
        that cannot see the cgroup file system can still be put in its group.
        """
        return [os.open(folder / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
                for folder in self.folders]

    def kill_all(self) -> bool:
        """SIGKILL every member; False where there are no groups to do it with."""
        for folder in self.folders:
            for _ in range(20):  # a forking process may add members while we kill
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        return bool(self.folders)

    def remove(self) -> None:
        self.kill_all()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)
        self.folders = []
